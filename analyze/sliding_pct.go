package analyze

import (
	"math"
	"slices"
)

// slidePercentiles fills group g's windows of a percentile at q from its
// cells' values (vals[c], c in [0, m); window j is the cells
// [j*perStep, j*perStep+perWin)), as percentile7 over each window's values
// gives them, to the bit, but without selecting afresh in every window: the
// group's values are ranked once, and a Fenwick tree over the ranks holds
// the window's values as the window slides (a cell's values in when it
// enters, out when it leaves), so that a window's order statistics cost
// O(log N) instead of a selection over all its values (a p90 over 100
// series and an hour of minutes selects among 6,000 values at each step).
// false, leaving out as it was, where the values hold a NaN or a negative
// zero, whose order selection leaves to the input's.
func slidePercentiles(vals [][]float64, q float64, n, perStep, perWin int, values []float64, samples []int64) bool {
	total := 0
	for _, vs := range vals {
		for _, v := range vs {
			if math.IsNaN(v) || (v == 0 && math.Signbit(v)) {
				return false
			}
		}
		total += len(vs)
	}
	if total == 0 {
		return true
	}
	// rank[i] is value i's place in the sorted values (i counts the cells'
	// values in cell order); sorted[r] the value at rank r.
	idx := make([]int32, total)
	flat := make([]float64, 0, total)
	for _, vs := range vals {
		flat = append(flat, vs...)
	}
	for i := range idx {
		idx[i] = int32(i)
	}
	slices.SortFunc(idx, func(a, b int32) int {
		switch {
		case flat[a] < flat[b]:
			return -1
		case flat[a] > flat[b]:
			return 1
		}
		return int(a - b)
	})
	rank := make([]int32, total)
	sorted := make([]float64, total)
	for r, i := range idx {
		rank[i], sorted[r] = int32(r), flat[i]
	}
	firstOf := make([]int, len(vals)+1) // cell c's values are flat[firstOf[c]:firstOf[c+1]]
	for c, vs := range vals {
		firstOf[c+1] = firstOf[c] + len(vs)
	}
	ft := fenwick{t: make([]int32, total+1)}
	cnt := 0
	move := func(c int, d int32) {
		for i := firstOf[c]; i < firstOf[c+1]; i++ {
			ft.add(int(rank[i]), d)
		}
		cnt += int(d) * (firstOf[c+1] - firstOf[c])
	}
	for c := 0; c < perWin; c++ {
		move(c, 1)
	}
	for j := 0; j < n; j++ {
		if j > 0 {
			for c := (j - 1) * perStep; c < j*perStep; c++ {
				move(c, -1)
			}
			for c := (j-1)*perStep + perWin; c < j*perStep+perWin; c++ {
				move(c, 1)
			}
		}
		if cnt == 0 {
			continue
		}
		// percentile7's formula, from the order statistics.
		rn := float64(cnt-1) * q
		frn, crn := math.Floor(rn), math.Ceil(rn)
		k := int(frn)
		lo := sorted[ft.kth(k)]
		v := lo
		if crn != frn {
			hi := sorted[ft.kth(k+1)]
			d := rn - frn
			v = float64(lo*(1-d)) + float64(hi*d)
		}
		values[j], samples[j] = v, int64(cnt)
	}
	return true
}

// fenwick counts ranks present: a binary indexed tree over [0, N).
type fenwick struct{ t []int32 }

func (f fenwick) add(r int, d int32) {
	for i := r + 1; i < len(f.t); i += i & -i {
		f.t[i] += d
	}
}

// kth is the rank of the k-th (0-based) present rank.
func (f fenwick) kth(k int) int {
	pos, rem := 0, int32(k+1)
	step := 1
	for step*2 < len(f.t) {
		step *= 2
	}
	for ; step > 0; step /= 2 {
		if next := pos + step; next < len(f.t) && f.t[next] < rem {
			pos, rem = next, rem-f.t[next]
		}
	}
	return pos // the tree's index pos+1, rank pos
}
