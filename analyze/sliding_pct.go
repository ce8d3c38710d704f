package analyze

import (
	"math"
	mbits "math/bits"
	"slices"
)

// slidePercentiles fills group g's windows of a percentile at q from its
// cells' values (vals[c], c in [0, m); window j is the cells
// [j*perStep, j*perStep+perWin)), as percentile7 over each window's values
// gives them, to the bit, but without selecting afresh in every window: the
// group's distinct values are ranked once, and a Fenwick tree over the
// ranks counts the window's values as the window slides (a cell's values in when it
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
	// sorted holds the distinct values in order; rank[i] is value i's
	// place there (i counts the cells' values in cell order), and the
	// tree counts each distinct value's copies in the window.
	flat := make([]float64, 0, total)
	for _, vs := range vals {
		flat = append(flat, vs...)
	}
	sorted := slices.Compact(slices.Sorted(slices.Values(flat)))
	rank := make([]int32, total)
	for i, v := range flat {
		r, _ := slices.BinarySearch(sorted, v)
		rank[i] = int32(r)
	}
	firstOf := make([]int, len(vals)+1) // cell c's values are flat[firstOf[c]:firstOf[c+1]]
	for c, vs := range vals {
		firstOf[c+1] = firstOf[c] + len(vs)
	}
	slideRanked(firstOf, rank, sorted, q, n, perStep, perWin, values, samples)
	return true
}

// slideRanked is slidePercentiles over ranked values: cell c's values are
// those of ranks rank[firstOf[c]:firstOf[c+1]], sorted[r] the value of
// rank r (sorted distinct).
func slideRanked(firstOf []int, rank []int32, sorted []float64, q float64, n, perStep, perWin int, values []float64, samples []int64) {
	ft := fenwick{t: make([]int32, len(sorted)+1)}
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
}

// metricRanks is one metric's distinct values in order; none where a
// NaN or a negative zero leaves the order to selection.
type metricRanks struct {
	distinct []float64
	none     bool
}

// ranked ranks metric name's values among its distinct values in cr (once
// per read: every percentile table of the metric shares them), nil where
// they cannot be.
func (cr *commonRead) ranked(name string) *metricRanks {
	if mr := cr.rank[name]; mr != nil {
		if mr.none {
			return nil
		}
		return mr
	}
	if cr.rank == nil {
		cr.rank, cr.ranks = map[string]*metricRanks{}, make([]int32, len(cr.v))
	}
	mr := &metricRanks{}
	cr.rank[name] = mr
	rows, ok := cr.rows[name]
	if !ok {
		mr.none = true
		return nil
	}
	// The metric's rows are consecutive: so are their values.
	lo, hi := cr.off[rows[0]*cr.m], cr.off[rows[1]*cr.m]
	vals := cr.v[lo:hi]
	for _, v := range vals {
		if math.IsNaN(v) || (v == 0 && math.Signbit(v)) {
			mr.none = true
			return nil
		}
	}
	mr.distinct = slices.Clip(slices.Compact(slices.Sorted(slices.Values(vals))))
	for i, v := range vals {
		r, _ := slices.BinarySearch(mr.distinct, v)
		cr.ranks[int(lo)+i] = int32(r)
	}
	return mr
}

// slidePercentilesShared is slideValues' percentiles from SlidingMany's
// read of the metric, with its shared ranks: each group's values are
// ranked among the group's own by a bitmap over the metric's ranks, not
// sorted again. false where the read does not hold the selection or has
// no ranks.
func (d *DB) slidePercentilesShared(name string, sl *selection, gr slideGrid, out []BucketSeries) bool {
	cr := d.memo.many[name]
	if cr == nil || gr.perWin <= 1 {
		return false
	}
	src := cr.view(sl, gr.start, gr.endMS, gr.b)
	if src == nil {
		return false
	}
	mr := cr.ranked(name)
	if mr == nil {
		return false
	}
	D := len(mr.distinct)
	bits := make([]uint64, D/64+1)
	prefix := make([]int32, len(bits)+1)
	firstOf := make([]int, gr.m+1)
	var grank, lrank []int32
	var lsorted []float64
	for g, rs := range src.rows {
		grank = grank[:0]
		for c := 0; c < gr.m; c++ {
			for _, r := range rs {
				i := r*src.stride + src.off + c*src.k
				grank = append(grank, cr.ranks[cr.off[i]:cr.off[i+src.k]]...)
			}
			firstOf[c+1] = len(grank)
		}
		if len(grank) == 0 {
			continue
		}
		for _, r := range grank {
			bits[r/64] |= 1 << (r % 64)
		}
		lsorted = lsorted[:0]
		for w, b := range bits {
			prefix[w+1] = prefix[w] + int32(mbits.OnesCount64(b))
			for b != 0 {
				lsorted = append(lsorted, mr.distinct[w*64+mbits.TrailingZeros64(b)])
				b &= b - 1
			}
		}
		lrank = lrank[:0]
		for _, r := range grank {
			lrank = append(lrank, prefix[r/64]+int32(mbits.OnesCount64(bits[r/64]&(1<<(r%64)-1))))
		}
		slideRanked(firstOf, lrank, lsorted, sl.agg.Quantile, gr.n, gr.perStep, gr.perWin, out[g].Values, out[g].Samples)
		for _, r := range grank {
			bits[r/64] = 0
		}
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
