package analyze

import (
	"math"
	"runtime"
	"sync"
)

// percentiles computes percentile7 of every non-empty group, the groups
// shared out over the cores (each group's selection is independent).
func percentiles(vals [][]float64, q float64) map[int]groupValue {
	res := make([]float64, len(vals))
	workers := min(runtime.GOMAXPROCS(0), len(vals))
	var wg sync.WaitGroup
	for w := 0; w < workers; w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for g := w; g < len(vals); g += workers {
				if len(vals[g]) > 0 {
					res[g] = percentile7(vals[g], q)
				}
			}
		}()
	}
	wg.Wait()
	out := make(map[int]groupValue, len(vals))
	for g, v := range vals {
		if len(v) > 0 {
			out[g] = groupValue{v: res[g], n: int64(len(v))}
		}
	}
	return out
}

// percentile7 is the Hyndman-Fan type 7 percentile of v at q, computed as
// DuckDB's quantile_cont computes it, to the bit: RN = (n-1)q, and between
// the order statistics at floor(RN) and ceil(RN), lo*(1-d) + hi*d. It
// reorders v.
func percentile7(v []float64, q float64) float64 {
	n := len(v)
	rn := float64(n-1) * q
	frn, crn := math.Floor(rn), math.Ceil(rn)
	k := int(frn)
	lo := selectKth(v, k)
	if crn == frn {
		return lo
	}
	// After selection everything right of k is >= v[k]: the next order
	// statistic is their minimum.
	hi := v[k+1]
	for _, x := range v[k+2:] {
		if x < hi {
			hi = x
		}
	}
	d := rn - frn
	// The conversions keep Go from fusing a multiply-add, which would round
	// differently from quantile_cont.
	return float64(lo*(1-d)) + float64(hi*d)
}

// selectKth reorders v so that v[k] is the k-th smallest (0-based), every
// element before it <= v[k] and every one after it >= v[k], and returns it
// (Hoare's quickselect with a median-of-three pivot; insertion sort for
// short runs).
func selectKth(v []float64, k int) float64 {
	lo, hi := 0, len(v)-1
	for hi-lo > 16 {
		mid := lo + (hi-lo)/2
		// Median of three into v[mid].
		if v[mid] < v[lo] {
			v[mid], v[lo] = v[lo], v[mid]
		}
		if v[hi] < v[lo] {
			v[hi], v[lo] = v[lo], v[hi]
		}
		if v[hi] < v[mid] {
			v[hi], v[mid] = v[mid], v[hi]
		}
		p := v[mid]
		i, j := lo, hi
		for i <= j {
			for v[i] < p {
				i++
			}
			for v[j] > p {
				j--
			}
			if i <= j {
				v[i], v[j] = v[j], v[i]
				i++
				j--
			}
		}
		switch {
		case k <= j:
			hi = j
		case k >= i:
			lo = i
		default:
			return v[k] // between j and i: equal to the pivot
		}
	}
	for i := lo + 1; i <= hi; i++ {
		for j := i; j > lo && v[j] < v[j-1]; j-- {
			v[j], v[j-1] = v[j-1], v[j]
		}
	}
	return v[k]
}
