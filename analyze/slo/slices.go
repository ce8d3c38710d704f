package slo

import (
	"context"
	"fmt"
	"math"
	"math/big"
	"math/bits"
	"sort"
	"strconv"
	"strings"
	"time"
	"unsafe"

	"github.com/vigil-metrics/vigil/analyze"
	"github.com/vigil-metrics/vigil/internal/metricpath"
	"github.com/vigil-metrics/vigil/internal/vtime"
)

// A sliced objective (Timeslices, RatioTimeslices) counts time slices as
// its events, so that Met, Consumption, BurnRate, Firing, the budgets and
// min_events apply to it unchanged:
//
//   - Timeslices: Good is the number of good slices, Total the number of
//     slices with data. A slice is good when its good/total ratio is at
//     least SliceTarget (compared exactly, as rationals), or, with a
//     Threshold, when the metric's value over the slice compares with the
//     threshold's value by its op (as doubles: the value is the double
//     nearest to it as written, as count_le reads one); with several series in a
//     slice, every one of them must pass.
//   - RatioTimeslices: Good is the sum of the slices' good/total ratios
//     (a Threshold's verdict counts 1 or 0), Total the number of slices
//     with data: Percent is the mean of the ratios.
//
// Within a slice good is clamped to total (two counters' scrapes a few
// seconds apart put good ahead of total in one slice and behind in the
// next): such a slice is all good, never more. Good outnumbering total
// summed over the SLO window's slices is still a CountError.
//
// A slice without data (no events: its total is 0 or absent; or no value
// of a threshold's metric) counts for neither: a quiet minute at night is
// no evidence of an outage, nor of health. The slices lie on a grid: a
// calendar window's start is a slice boundary; a rolling window's slices
// start at multiples of SliceWindow since the Unix epoch. Only complete
// slices count: those inside (at - length, at].
//
// Each path's slice values are read once per evaluator (one analyze
// Buckets query over the SLO window or the longest burn window, whichever
// is longer), and every window's events are summed from them.

// sliceGrid is a request's slices: n of width ms, the last ending at endMS.
type sliceGrid struct {
	width, endMS int64
	n            int
}

// grid is the complete slices of o inside (at - length, at].
func (ev *Evaluator) grid(o Objective, length time.Duration) sliceGrid {
	w := o.SliceWindow.Milliseconds()
	var origin int64 // a rolling window's grid: multiples of w since the epoch
	if calendarGrid(o.Window) {
		origin = vtime.UnixMilli(o.Window.Bounds(ev.At))
	}
	at := vtime.UnixMilli(ev.At)
	end := origin + floorMS(at-origin, w)*w
	start := origin - floorMS(origin-(at-length.Milliseconds()), w)*w // ceil to the grid
	g := sliceGrid{width: w, endMS: end}
	if end > start {
		g.n = int((end - start) / w)
	}
	return g
}

// calendarGrid reports whether w is a calendar window (whose start is a
// slice boundary) rather than a rolling one: calendar_month, or any window
// without a rolling length (OpenSLO's calendar windows, which Bounds
// anchors).
func calendarGrid(w Window) bool { return w.CalendarMonth || w.Rolling <= 0 }

func floorMS(a, b int64) int64 {
	q := a / b
	if a%b != 0 && (a < 0) != (b < 0) {
		q--
	}
	return q
}

// sliceData is one path's values per slice, oldest first, the last slice
// ending at endMS; derived are per-slice arrays computed from it (sums,
// one service's outcome counts, threshold verdicts), kept for the other
// windows and objectives of the run.
//
// A view (root set) is the first n slices of its root, a read: it shares
// the root's series and its derived arrays (a view's column is a prefix
// of the root's), so that it costs the same small struct whatever the
// length read. Views are not kept: a replay asks for one per step, 43,200
// over 30 days, and each holding its own columns of a 60-day read cost
// gigabytes.
type sliceData struct {
	endMS   int64
	n       int
	series  []analyze.BucketSeries // the root's: a view reads only its first n values
	derived map[string][]float64   // a root's; nil in a view
	root    *sliceData             // a view's read; nil for a read
}

// slices reads path's values over slices of g's width ending at g.endMS,
// need of them (kept: a later request for g.n slices that the kept ones
// hold, ending at g.endMS or earlier on the grid, is answered from them).
func (ev *Evaluator) slices(ctx context.Context, o Objective, path string, g sliceGrid, need int) (*sliceData, error) {
	e, err := metricpath.Parse(path)
	if err != nil {
		return nil, fmt.Errorf("%s:%d: objective %s: %w", o.File, o.Line, o.Name(), err)
	}
	return ev.slicesOf(ctx, o, e, g, need)
}

func (ev *Evaluator) slicesOf(ctx context.Context, o Objective, e *metricpath.Expr, g sliceGrid, need int) (*sliceData, error) {
	key := e.String() + "\xff" + strconv.FormatInt(g.width, 10)
	for _, d := range ev.sliced[key] {
		if v := d.view(g.endMS, g.width, g.n); v != nil {
			return v, nil
		}
	}
	ss, err := ev.Q.Buckets(ctx, e, time.UnixMilli(g.endMS).UTC(), time.Duration(g.width)*time.Millisecond, need)
	if err != nil {
		return nil, fmt.Errorf("%s:%d: objective %s: %w", o.File, o.Line, o.Name(), err)
	}
	d := &sliceData{endMS: g.endMS, n: need, series: ss, derived: map[string][]float64{}}
	ev.sliced[key] = append(ev.sliced[key], d)
	return d, nil
}

// view is d's slices up to the one ending at endMS, at least need of them
// (the request's, not its prefetch: an earlier time's whole SLO window may
// reach before d's start, and is read when asked),
// or nil when d does not hold them (its grid is another, it ends before
// endMS, or it starts too late). An evaluator at an earlier time of the
// same run (Evaluator.At's report points) reads its slices from there.
func (d *sliceData) view(endMS, width int64, need int) *sliceData {
	if endMS > d.endMS || (d.endMS-endMS)%width != 0 {
		return nil
	}
	k := int((d.endMS - endMS) / width)
	if d.n-k < need {
		return nil
	}
	if k == 0 {
		return d
	}
	return &sliceData{endMS: endMS, n: d.n - k, series: d.series, root: d}
}

// sliceSum is path's sum over its series per slice. A path that only adds
// (increase, sum, count, count_le, rate; no ratio) is read as its metric
// grouped by its matchers' labels and its own by labels, the matching
// groups summed here: the per-service paths of many objectives over one
// metric (and the reference SLI's "by (service, success)") then share one
// query, which a series' selection costs as much as (the samples of all
// series interleave in time).
//
// sibling is the objective's other path (total's good or bad, and the
// other way round): when it selects the same metric, both are grouped by
// the labels of both, so that good and total share the query too.
func (ev *Evaluator) sliceSum(ctx context.Context, o Objective, path, sibling string, g sliceGrid, need int) ([]float64, error) {
	e, err := metricpath.Parse(path)
	if err != nil {
		return nil, fmt.Errorf("%s:%d: objective %s: %w", o.File, o.Line, o.Name(), err)
	}
	var also []string
	if sib, err := metricpath.Parse(sibling); err == nil && sib.Den == nil && sib.Num.Name == e.Num.Name && sib.Num.Agg.Kind == e.Num.Agg.Kind {
		also = append(also, sib.Num.By...)
		for _, m := range sib.Num.Matchers {
			also = append(also, m.Label)
		}
	}
	shared, ok := sharedSelector(e, also)
	if !ok {
		d, err := ev.slicesOf(ctx, o, e, g, need)
		if err != nil {
			return nil, err
		}
		return d.sum(), nil
	}
	d, err := ev.slicesOf(ctx, o, &metricpath.Expr{Num: shared}, g, need)
	if err != nil {
		return nil, err
	}
	// The series matching e's matchers, found once (not per slice).
	var match []int
series:
	for j, x := range d.series {
		for _, m := range e.Num.Matchers {
			if !m.Matches(x.Labels[m.Label]) {
				continue series
			}
		}
		match = append(match, j)
	}
	return d.column("match\xff"+e.String(), func(i int) float64 {
		var s float64
		for _, j := range match {
			if v := d.series[j].Values[i]; !math.IsNaN(v) {
				s += v
			}
		}
		return s
	}), nil
}

// sharedSelector is e's metric without matchers, grouped by the labels of
// e's matchers and by, and also; ok is false where summing its groups
// would not give e's sum (a ratio, an aggregation that does not add
// across series).
func sharedSelector(e *metricpath.Expr, also []string) (metricpath.Selector, bool) {
	s := e.Num
	switch s.Agg.Kind {
	case metricpath.Increase, metricpath.Sum, metricpath.Count, metricpath.CountLE, metricpath.Rate:
	default:
		return s, false
	}
	if e.Den != nil || len(s.Matchers) == 0 {
		return s, false
	}
	by := map[string]bool{}
	for _, l := range append(append([]string{}, s.By...), also...) {
		if strings.HasPrefix(l, "__") {
			return s, false
		}
		by[l] = true
	}
	for _, m := range s.Matchers {
		if strings.HasPrefix(m.Label, "__") {
			return s, false
		}
		by[m.Label] = true
	}
	out := metricpath.Selector{Name: s.Name, Agg: s.Agg}
	for l := range by {
		out.By = append(out.By, l)
	}
	sort.Strings(out.By)
	return out, true
}

// prefetch is how many slices of g's width to read at once for o: enough
// for the SLO window and for the longest burn window (fixed or scaled
// to the whole window), so that a budget
// reads each path once.
func (ev *Evaluator) prefetch(o Objective, g sliceGrid) int {
	longest := o.Window.Length(ev.At)
	for _, d := range budgetWindows(o, o.Window.Full(ev.At)) {
		longest = max(longest, d)
	}
	n := max(g.n, int(longest.Milliseconds()/g.width)+1)
	if ev.from.IsZero() {
		return n
	}
	// PrepareRange: every instant t in [from, At] too. A window of t
	// starts at its SLO window's start (Bounds, which never moves back as
	// t grows) or t minus a burn or alert window, the longest of which
	// is the one scaled to the longest full window there can be.
	var burn time.Duration
	for _, d := range budgetWindows(o, maxFull(o.Window)) {
		burn = max(burn, d)
	}
	earliest := min(vtime.UnixMilli(o.Window.Bounds(ev.from)), vtime.UnixMilli(ev.from.Add(-burn)))
	return max(n, int((g.endMS-earliest)/g.width)+2)
}

// maxFull is the longest w.Full can be: a month is at most 31 days, and
// a calendar period in a time zone with daylight saving an hour more.
func maxFull(w Window) time.Duration {
	const day = 24 * time.Hour
	switch {
	case w.CalendarMonth:
		return 31 * day
	case w.Months > 0:
		return time.Duration(w.Months)*31*day + time.Hour
	case w.Days > 0:
		return time.Duration(w.Days)*day + time.Hour
	}
	return w.Rolling
}

// column is a derived array of d: f's value for each slice, computed once
// (a view's is its root's, cut to its n slices: f reads the series,
// which are the root's, so it answers every slice of the root). A view's
// column keeps the root's capacity: the root's whole column is
// c[:cap(c)] (prefix.go sums it once for every view).
func (d *sliceData) column(key string, f func(i int) float64) []float64 {
	if d.root != nil {
		return d.root.column(key, f)[:d.n]
	}
	if c, ok := d.derived[key]; ok {
		return c
	}
	c := make([]float64, d.n)
	for i := range c {
		c[i] = f(i)
	}
	d.derived[key] = c
	return c
}

// sum is each slice's sum over the series with a value there (0 where none
// has one), as Evaluator.ratio sums a window's results.
func (d *sliceData) sum() []float64 {
	return d.column("sum", func(i int) float64 {
		var s float64
		for _, x := range d.series {
			if v := x.Values[i]; !math.IsNaN(v) {
				s += v
			}
		}
		return s
	})
}

// outcome is one service's outcome counts per slice: all of them, or
// those whose label is truthy (Evaluator.outcomes per slice).
func (d *sliceData) outcome(service, label string, good bool) []float64 {
	return d.column(fmt.Sprintf("outcome\xff%s\xff%s\xff%t", service, label, good), func(i int) float64 {
		var s float64
		for _, x := range d.series {
			if v := x.Values[i]; !math.IsNaN(v) && x.Labels["service"] == service && (!good || Truthy(x.Labels[label])) {
				s += v
			}
		}
		return s
	})
}

// verdict is th's verdict per slice: 1 good, 0 bad, NaN without a value.
// A slice is good when every series with a value there passes.
func (d *sliceData) verdict(th *Threshold) []float64 {
	limit, _ := th.Value.Float64()
	return d.column("threshold\xff"+th.Op+"\xff"+th.Value.RatString(), func(i int) float64 {
		out := math.NaN()
		for _, x := range d.series {
			v := x.Values[i]
			if math.IsNaN(v) {
				continue
			}
			if !th.passes(v, limit) {
				return 0
			}
			out = 1
		}
		return out
	})
}

// passes compares v with limit, the threshold's value as the double
// nearest to it as written, by its op. As doubles, as count_le and alert
// rules compare thresholds: a sample stored as 499.9999 is the double
// nearest 499.9999, a hair above the rational 499.9999, and "lte
// 499.9999" must pass it.
func (th *Threshold) passes(v, limit float64) bool {
	switch th.Op {
	case "lt":
		return v < limit
	case "lte":
		return v <= limit
	case "gt":
		return v > limit
	case "gte":
		return v >= limit
	}
	return false
}

// atLeast reports whether good/total >= target, exactly: good x den >=
// num x total. Whole counts below 2^53 and a target of 64-bit terms (the
// usual case: counters' increments) compare in 128-bit integers; others
// as rationals.
func atLeast(good, total float64, target *big.Rat) bool {
	const whole = 1 << 53
	if good >= 0 && good < whole && good == math.Trunc(good) && total < whole && total == math.Trunc(total) &&
		target.Num().IsUint64() && target.Denom().IsUint64() {
		gh, gl := bits.Mul64(uint64(good), target.Denom().Uint64())
		th, tl := bits.Mul64(target.Num().Uint64(), uint64(total))
		return gh > th || (gh == th && gl >= tl)
	}
	return rat(good).Cmp(new(big.Rat).Mul(target, rat(total))) >= 0
}

// slicedEvents counts a sliced objective's slices over the length ending
// at the evaluator's time; strict: the window is judged (Events), and good
// events outnumbering all of them summed over its slices is a CountError.
func (ev *Evaluator) slicedEvents(ctx context.Context, o Objective, length time.Duration, strict bool) (Events, error) {
	if o.SliceWindow <= 0 || o.SliceWindow%time.Millisecond != 0 {
		return Events{}, fmt.Errorf("%s:%d: objective %s: time slice window %v: want a positive whole number of milliseconds",
			o.File, o.Line, o.Name(), o.SliceWindow)
	}
	if o.Threshold == nil && o.Method != RatioTimeslices && o.SliceTarget == nil {
		return Events{}, fmt.Errorf("%s:%d: objective %s: Timeslices without a time slice target", o.File, o.Line, o.Name())
	}
	g := ev.grid(o, length)
	if g.n == 0 {
		return Events{}, nil
	}
	need := ev.prefetch(o, g)
	if o.Threshold != nil {
		d, err := ev.slices(ctx, o, o.Threshold.Metric, g, need)
		if err != nil {
			return Events{}, err
		}
		v := d.verdict(o.Threshold)
		return ev.thresholdCounts(v).window(len(v)-g.n, len(v)), nil
	}
	good, total, err := ev.sliceCounts(ctx, o, g, need)
	if err != nil {
		return Events{}, err
	}
	e, err := ev.judge(o, g, good, total)
	if err == nil && strict {
		err = ev.overCount(o, g, good, total, length)
	}
	return e, err
}

// overCount is the CountError of good (or bad) events outnumbering all of
// them summed over g's slices with events (the SLO window's counts), nil
// when they do not: within one slice judge clamps, as two counters' scrapes
// a few seconds apart routinely put good ahead of total there.
func (ev *Evaluator) overCount(o Objective, g sliceGrid, good, total *sliceCol, length time.Duration) error {
	var c, t float64
	lo, hi := len(total.v)-g.n, len(total.v)
	if s := ev.overSums(good, total); s.ok {
		c, t = s.c[hi]-s.c[lo], s.t[hi]-s.t[lo]
	} else {
		for i := lo; i < hi; i++ {
			if total.v[i] > 0 || good.v[i] > 0 {
				c += good.v[i]
				t += total.v[i]
			}
		}
	}
	if !(c > t) {
		return nil
	}
	kind := "good"
	if good.bad {
		kind = "bad"
	}
	return &CountError{Objective: o, Kind: kind, Path: good.path, Count: c, TotalPath: total.path, Total: t, Window: length}
}

// sliceCounts are o's good and total events per slice (the same paths as
// Events reads for occurrences), the arrays aligned on the last n slices
// of the data read; for a bad path, good is total - bad.
func (ev *Evaluator) sliceCounts(ctx context.Context, o Objective, g sliceGrid, need int) (good, total *sliceCol, err error) {
	outcomes := func(metric, label string) (*sliceCol, *sliceCol, error) {
		d, err := ev.slices(ctx, o, metric+".increase by (service, "+label+")", g, need)
		if err != nil {
			return nil, nil, err
		}
		return &sliceCol{v: d.outcome(o.Service, label, true)}, &sliceCol{v: d.outcome(o.Service, label, false)}, nil
	}
	sum := func(path, sibling string) (*sliceCol, error) {
		v, err := ev.sliceSum(ctx, o, path, sibling, g, need)
		if err != nil {
			return nil, err
		}
		return &sliceCol{v: v, path: path}, nil
	}
	goodPath, badPath, totalPath := o.Good, o.Bad, o.Total
	switch {
	case o.SLI == Availability && o.Total == "":
		return outcomes(RequestsMetric, "success")
	case o.SLI == Latency && o.Histogram == "":
		return outcomes(LatencyRequestsMetric, "fast")
	case o.SLI == Latency:
		th := strconv.FormatFloat(o.ThresholdMS, 'f', -1, 64)
		goodPath, badPath, totalPath = o.Histogram+".count_le("+th+")", "", o.Histogram+".count"
	}
	if total, err = sum(totalPath, goodPath+badPath); err != nil {
		return nil, nil, err
	}
	if goodPath != "" {
		good, err = sum(goodPath, totalPath)
		return good, total, err
	}
	bad, err := sum(badPath, totalPath)
	if err != nil {
		return nil, nil, err
	}
	bad.bad = true
	return bad, total, nil
}

// sliceCol is a per-slice count and the path it came from (for errors);
// bad marks a bad path's counts (good is total - bad).
type sliceCol struct {
	v    []float64
	path string
	bad  bool
}

// judge counts the good slices (Timeslices) or sums the slices' ratios
// (RatioTimeslices) over g's slices.
func (ev *Evaluator) judge(o Objective, g sliceGrid, good, total *sliceCol) (Events, error) {
	if o.Method != RatioTimeslices {
		return ev.timesliceCounts(o, good, total).window(len(total.v)-g.n, len(total.v)), nil
	}
	k := judgeKey{good: unsafe.SliceData(good.v), total: unsafe.SliceData(total.v), off: len(total.v) - g.n, n: g.n,
		ratio: o.Method == RatioTimeslices, bad: good.bad}
	if !k.ratio {
		k.target = o.SliceTarget.RatString()
	}
	if e, ok := ev.judged[k]; ok {
		return e, nil
	}
	e, err := judgeSlices(o, g, good, total)
	if err == nil {
		if ev.judged == nil {
			ev.judged = map[judgeKey]Events{}
		}
		ev.judged[k] = e
	}
	return e, err
}

// judgeKey is what a judgement of slices depends on: the columns (kept
// for the evaluator's life, so that their addresses name them), the
// slices judged, the method and the slice target. A run asks for the SLO
// window's judgement twice (Prepare, then Events or BudgetOf), and a
// RatioTimeslices mean over 43,200 slices is the costliest thing a run
// does outside DuckDB.
type judgeKey struct {
	good, total *float64
	off, n      int
	ratio, bad  bool
	target      string
}

// judgeSlices is judge without the memo.
func judgeSlices(o Objective, g sliceGrid, good, total *sliceCol) (Events, error) {
	var e Events
	var mean *ratioMean // RatioTimeslices: the ratios' exact mean
	if o.Method == RatioTimeslices {
		mean = newRatioMean(g.n)
	}
	off := len(total.v) - g.n
	for j := 0; j < g.n; j++ {
		i := off + j
		v, t := good.v[i], total.v[i]
		v = min(v, t) // clamped: a slice is all good (or all bad), never more
		if !(t > 0) {
			continue // no events in this slice: neither good nor bad
		}
		e.Total++
		if mean != nil {
			mean.add(max(v, 0), t, good.bad)
			continue
		}
		if _, ok := sliceVerdict(good.v[i], t, good.bad, o); ok {
			e.Good++
		}
	}
	if mean != nil && e.Total > 0 {
		// Good, the sum of the ratios, as the nearest double to the exact
		// n x (1 - mean): 23.76 for 24 slices at 99/100, not a float
		// sum's 23.759999999999998.
		e.mean = mean.errRatio()
		g := new(big.Rat).Sub(big.NewRat(1, 1), e.mean)
		e.Good, _ = g.Mul(g, new(big.Rat).SetInt64(int64(e.Total))).Float64()
	}
	return e, nil
}
