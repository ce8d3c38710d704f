package slo

import (
	"math"
	"unsafe"
)

// A Timeslices or threshold objective's events over a window are counts
// of slices (good ones, and ones with data), so they are kept as prefix
// sums over a read's slices: any window of it, at any instant a view
// serves, is two subtractions instead of a pass over its slices. A replay
// asks each objective's events at every step (43,200 over 30 days) over
// windows of up to 43,200 one-minute slices. The counts are integers, so
// the differences are the loop's counts exactly. RatioTimeslices sums
// ratios and keeps its pass (judgeSlices).

// verdictKey names what a slice's verdict is computed from: the read's
// whole columns (their first elements' addresses: the columns are kept for
// the evaluator's life; total is nil for a threshold's verdict column),
// whether good counts bad events, and the slice target.
type verdictKey struct {
	good, total *float64
	bad         bool
	target      string
}

// sliceCounts are good[i] and data[i]: the good slices and the slices
// with data among a read's first i.
type sliceCountSums struct{ good, data []int64 }

// window is the events of slices [lo, hi).
func (c *sliceCountSums) window(lo, hi int) Events {
	return Events{Good: float64(c.good[hi] - c.good[lo]), Total: float64(c.data[hi] - c.data[lo])}
}

// root is a view's column as its read's whole column (sliceData.column
// keeps the capacity).
func root(c []float64) []float64 { return c[:cap(c)] }

// thresholdCounts are the prefix counts of a threshold's verdict column
// (1 good, 0 bad, NaN without a value), as slicedEvents counted them.
func (ev *Evaluator) thresholdCounts(v []float64) *sliceCountSums {
	full := root(v)
	return ev.countSums(verdictKey{good: unsafe.SliceData(full)}, len(full), func(i int) (data, good bool) {
		return !math.IsNaN(full[i]), full[i] == 1
	})
}

// timesliceCounts are the prefix counts of Timeslices verdicts over the
// good and total columns (sliceVerdict).
func (ev *Evaluator) timesliceCounts(o Objective, good, total *sliceCol) *sliceCountSums {
	g, t := root(good.v), root(total.v)
	k := verdictKey{good: unsafe.SliceData(g), total: unsafe.SliceData(t), bad: good.bad, target: o.SliceTarget.RatString()}
	return ev.countSums(k, len(t), func(i int) (data, ok bool) {
		return sliceVerdict(g[i], t[i], good.bad, o)
	})
}

func (ev *Evaluator) countSums(k verdictKey, n int, verdict func(i int) (data, good bool)) *sliceCountSums {
	if c, ok := ev.verdicts[k]; ok {
		return c
	}
	c := &sliceCountSums{good: make([]int64, n+1), data: make([]int64, n+1)}
	for i := range n {
		c.good[i+1], c.data[i+1] = c.good[i], c.data[i]
		if data, good := verdict(i); data {
			c.data[i+1]++
			if good {
				c.good[i+1]++
			}
		}
	}
	if ev.verdicts == nil {
		ev.verdicts = map[verdictKey]*sliceCountSums{}
	}
	ev.verdicts[k] = c
	return c
}

// sliceVerdict is a Timeslices slice's verdict from its good (or bad)
// and total counts: whether it has events, and whether it is good (its
// ratio, good clamped to total, at least the slice target).
func sliceVerdict(v, t float64, bad bool, o Objective) (data, good bool) {
	v = min(v, t) // clamped: a slice is all good (or all bad), never more
	if !(t > 0) {
		return false, false // no events in this slice: neither good nor bad
	}
	c := v
	if bad {
		c = t - v
	}
	return true, atLeast(c, t, o.SliceTarget)
}

// overSums are prefix sums of the good (or bad) and total counts of the
// slices with events (overCount's), kept where every such count is a
// whole number and their magnitudes add up to less than 2^53: then every
// partial sum, the loop's and the prefix's, is exact, and a window's sums
// are two subtractions equal to the loop's to the bit. !ok: overCount
// adds the window's slices up itself.
type overSums struct {
	c, t []float64
	ok   bool
}

func (ev *Evaluator) overSums(good, total *sliceCol) *overSums {
	g, t := root(good.v), root(total.v)
	k := verdictKey{good: unsafe.SliceData(g), total: unsafe.SliceData(t), bad: good.bad}
	if s, ok := ev.over[k]; ok {
		return s
	}
	s := &overSums{c: make([]float64, len(t)+1), t: make([]float64, len(t)+1), ok: true}
	var mag float64
	for i := range t {
		s.c[i+1], s.t[i+1] = s.c[i], s.t[i]
		if t[i] > 0 || g[i] > 0 {
			if g[i] != math.Trunc(g[i]) || t[i] != math.Trunc(t[i]) {
				s.ok = false
				break
			}
			s.c[i+1] += g[i]
			s.t[i+1] += t[i]
			mag += math.Abs(g[i]) + math.Abs(t[i])
		}
	}
	if !(mag < maxWhole) {
		s.ok = false
	}
	if !s.ok {
		s.c, s.t = nil, nil
	}
	if ev.over == nil {
		ev.over = map[verdictKey]*overSums{}
	}
	ev.over[k] = s
	return s
}

// maxWhole is 2^53: whole numbers whose magnitudes add up to less are
// summed exactly in any order.
const maxWhole = 0x1p53
