package analyze

import (
	"context"
	"errors"
	"fmt"
	"math"
	"slices"
	"time"

	"github.com/vigil-metrics/vigil/internal/metricpath"
	"github.com/vigil-metrics/vigil/internal/store"
	"github.com/vigil-metrics/vigil/internal/vtime"
)

// BucketSeries is one label set's values of a path over consecutive
// windows, oldest first: Values[i] is NaN (and Samples[i] 0) where the
// path has no result for the label set in window i.
type BucketSeries struct {
	Labels  map[string]string
	Values  []float64
	Samples []int64
}

// Buckets evaluates a path over n consecutive, tumbling windows of length
// bucket ending at end: window i (0 the oldest) is
// (end - (n-i)*bucket, end - (n-i-1)*bucket]. Each label set's value in
// window i is what Eval answers for that window, to the bit: one DuckDB
// query computes every window's aggregation (buckets_partials, grouped by
// group and bucket, on one thread as Eval's order-sensitive sums are, or
// on DuckDB's threads where every sum is of whole numbers, exact in any
// order (wholeCells); or
// buckets_values for percentiles, selected in Go as Eval does), and a
// window whose Kahan sum or mean Eval would replace by the exact one
// (exactWhereNeeded), or any stddev, is asked of Eval's own aggregation.
// Series are sorted by labels; a label set appears when it has a value in
// some window. When a metric and window are asked again for a selection
// whose every group is one series (tuning's rule per service), the
// metric's values are read once for all its series and the cells computed
// in Go (sharedValsFor), to the same bits.
func (d *DB) Buckets(ctx context.Context, e *metricpath.Expr, end time.Time, bucket time.Duration, n int) ([]BucketSeries, error) {
	return d.Sliding(ctx, e, end, bucket, bucket, n)
}

// Sliding evaluates a path over n windows of length window whose ends are
// step apart, the last ending at end: window j is (t_j - window, t_j],
// t_j = end - (n-1-j)*step (a replay of a rule evaluated every step).
//
// With step == window it is Buckets, and exact. Otherwise the samples are
// read once in buckets of gcd(step, window) and each window combines its
// buckets in Go: count, count_le, min, max and last exactly (last: the
// latest bucket's, whose ties were settled in SQL as agg_last settles
// them); percentiles exactly, from the windows' values (selected in Go
// over the concatenated buckets' values, as Eval's percentile7); sum,
// increase, rate and avg from the buckets' Kahan sums added with Neumaier's
// compensation (and divided by the count for avg), which agree with Eval
// to about 1e-15 relative except under heavy cancellation; stddev from the
// values by the two-pass formula, to about 1e-12 relative.
func (d *DB) Sliding(ctx context.Context, e *metricpath.Expr, end time.Time, step, window time.Duration, n int) ([]BucketSeries, error) {
	if step <= 0 || window <= 0 {
		return nil, errors.New("step and window must be positive")
	}
	if n <= 0 {
		return []BucketSeries{}, nil
	}
	if step%time.Millisecond != 0 || window%time.Millisecond != 0 {
		return nil, errors.New("step and window must be whole milliseconds")
	}
	endMS := vtime.UnixMilli(end)
	if err := d.loadRange(ctx, e, endMS-int64(n-1)*step.Milliseconds()-window.Milliseconds(), endMS); err != nil {
		return nil, err
	}
	num, numType, err := d.slideSelector(ctx, &e.Num, end, step, window, n)
	if err != nil {
		return nil, err
	}
	if e.Den == nil {
		return sortSeries(num), nil
	}
	den, _, err := d.slideSelector(ctx, e.Den, end, step, window, n)
	if err != nil {
		return nil, err
	}
	countsEvents := numType != "" && countsEvents(resolveAgg(e.Num.Agg, numType).Kind, numType)
	byKey := map[string]*BucketSeries{}
	for i := range num {
		byKey[store.CanonicalLabels(num[i].Labels)] = &num[i]
	}
	out := []BucketSeries{}
	for _, ds := range den {
		ns := byKey[store.CanonicalLabels(ds.Labels)]
		if ns == nil && !countsEvents {
			continue
		}
		r := newSeries(ds.Labels, n)
		seen := false
		for j := 0; j < n; j++ {
			dv := ds.Values[j]
			if math.IsNaN(dv) && ds.Samples[j] == 0 {
				continue // the denominator has no result in this window
			}
			nv, nn := 0.0, int64(0)
			switch {
			case ns != nil && !(math.IsNaN(ns.Values[j]) && ns.Samples[j] == 0):
				nv, nn = ns.Values[j], ns.Samples[j]
			case !countsEvents:
				continue
			}
			v := nv / dv
			if dv == 0 || math.IsNaN(v) || math.IsInf(v, 0) {
				continue
			}
			r.Values[j], r.Samples[j] = v, nn+ds.Samples[j]
			seen = true
		}
		if seen {
			out = append(out, r)
		}
	}
	return sortSeries(out), nil
}

func newSeries(labels map[string]string, n int) BucketSeries {
	s := BucketSeries{Labels: labels, Values: make([]float64, n), Samples: make([]int64, n)}
	for i := range s.Values {
		s.Values[i] = math.NaN()
	}
	return s
}

func sortSeries(ss []BucketSeries) []BucketSeries {
	rs := make([]Result, len(ss))
	for i, s := range ss {
		rs[i] = Result{Labels: s.Labels, Samples: int64(i)}
	}
	SortResults(rs)
	out := make([]BucketSeries, len(ss))
	for i, r := range rs {
		out[i] = ss[r.Samples]
	}
	return out
}

// Percentile is the Hyndman-Fan type 7 percentile (numpy's default) of v
// at q in [0, 1], as Eval computes a path's percentiles, to the bit; NaN
// for no values. It reorders v.
func Percentile(v []float64, q float64) float64 {
	if len(v) == 0 {
		return math.NaN()
	}
	return percentile7(v, q)
}

// cell is one group's aggregation over one bucket (the buckets_*
// queries): its value, its sample count, and x, the sum of magnitudes
// (buckets_sum, buckets_avg) or the latest sample's time (buckets_last).
type cell struct {
	ok bool
	v  float64
	n  int64
	x  float64
}

func gcd(a, b int64) int64 {
	for b != 0 {
		a, b = b, a%b
	}
	return a
}

// slideGrid is how Sliding reads a selection: m buckets of b ms ending at
// endMS (the first starting at start), window j (of n, winMS long) made of
// buckets [j*perStep, j*perStep+perWin).
type slideGrid struct {
	n, m, perStep, perWin  int
	b, start, endMS, winMS int64
}

// winEnd is window j's end in ms.
func (gr slideGrid) winEnd(j int) int64 { return gr.start + int64(j*gr.perStep+gr.perWin)*gr.b }

// slideSelector is Sliding for one selector. A window with no result for
// a group has NaN and 0 samples; a counter's group that exists by the
// window's end but has no sample in it has 0 (as evalSelector gives).
func (d *DB) slideSelector(ctx context.Context, s *metricpath.Selector, end time.Time, step, window time.Duration, n int) ([]BucketSeries, store.Type, error) {
	sl, err := d.selectionOf(ctx, s)
	if err != nil {
		return nil, "", err
	}
	if len(sl.groups) == 0 {
		return nil, sl.typ, nil
	}
	stepMS, winMS := step.Milliseconds(), window.Milliseconds()
	b := gcd(stepMS, winMS)
	perStep, perWin := int(stepMS/b), int(winMS/b)
	m := (n-1)*perStep + perWin // buckets read
	endMS := vtime.UnixMilli(end)
	gr := slideGrid{n: n, m: m, perStep: perStep, perWin: perWin, b: b, start: endMS - int64(m)*b, endMS: endMS, winMS: winMS}
	G := len(sl.groups)
	if int64(G)*int64(m) > math.MaxInt32 {
		return nil, "", fmt.Errorf("%d groups x %d buckets: too many cells; use a longer step", G, m)
	}
	agg := sl.agg
	exact := step == window
	out := make([]BucketSeries, G)
	for g := range out {
		out[g] = newSeries(sl.groups[g].labels, n)
	}
	var cells []cell
	switch {
	case agg.Kind == metricpath.Stddev && exact:
		err = d.eachWindowByEval(ctx, sl, n, gr.winEnd, winMS, out)
	case agg.Kind == metricpath.Percentile || agg.Kind == metricpath.Stddev:
		err = d.slideValues(ctx, s.Name, sl, gr, out)
	default:
		cells, err = d.slideCells(ctx, s.Name, sl, gr, exact, window.Seconds(), out)
	}
	if err != nil {
		return nil, "", err
	}
	if sl.typ == store.Counter && countsEvents(agg.Kind, sl.typ) {
		if err := d.zeroSilentWindows(ctx, s.Name, sl, gr, cells, out); err != nil {
			return nil, "", err
		}
	}
	kept := out[:0]
	for _, s := range out {
		for j := range s.Values {
			if !math.IsNaN(s.Values[j]) || s.Samples[j] > 0 {
				kept = append(kept, s)
				break
			}
		}
	}
	return kept, sl.typ, nil
}

// slideValues fills each window of a percentile or a standard deviation
// from the values of its buckets.
func (d *DB) slideValues(ctx context.Context, name string, sl *selection, gr slideGrid, out []BucketSeries) error {
	agg, G, n, m, perStep, perWin := sl.agg, len(sl.groups), gr.n, gr.m, gr.perStep, gr.perWin
	if agg.Kind == metricpath.Percentile && d.slidePercentilesShared(name, sl, gr, out) {
		return nil
	}
	vals, err := d.sharedCellValues(ctx, name, sl, gr.start, gr.endMS, gr.b, m)
	if err != nil {
		return err
	}
	if vals == nil {
		vals, err = d.cellValues(ctx, sl.set, gr.start, gr.endMS, gr.b, m, G)
		if err != nil {
			return err
		}
	}
	var scratch []float64
	var full, before []int32 // a group's cells with values, as sampledCells
	pool := agg.Kind == metricpath.Stddev && pooled(sl.selGrp)
	for g := 0; g < G; g++ {
		if err := ctx.Err(); err != nil {
			return err // a cancelled read stops at its next group
		}
		if agg.Kind == metricpath.Percentile && perWin > 1 &&
			slidePercentiles(vals[g*m:(g+1)*m], agg.Quantile, n, perStep, perWin, out[g].Values, out[g].Samples) {
			continue
		}
		full, before = full[:0], append(before[:0], 0)
		for c, vs := range vals[g*m : (g+1)*m] {
			if len(vs) > 0 {
				full = append(full, int32(c))
			}
			before = append(before, int32(len(full)))
		}
		for j := 0; j < n; j++ {
			scratch = scratch[:0]
			// Only the window's cells with values (the same values in
			// the same order): see slideCells.
			cs := full[before[j*perStep]:before[j*perStep+perWin]]
			d.memo.visited += int64(len(cs))
			for _, c := range cs {
				scratch = append(scratch, vals[g*m+int(c)]...)
			}
			if len(scratch) == 0 {
				continue
			}
			if agg.Kind == metricpath.Percentile {
				out[g].Values[j] = percentile7(scratch, agg.Quantile)
			} else if pool {
				// The values in one order whatever the source's (pooled.go).
				slices.Sort(scratch)
				out[g].Values[j] = stddevPop(scratch)
			} else {
				out[g].Values[j] = stddevPop(scratch)
			}
			out[g].Samples[j] = int64(len(scratch))
		}
	}
	return nil
}

// slideCells fills each window of the other aggregations by combining its
// buckets' cells (a rate divided by secs, the window's seconds); with
// exact (one bucket a window) the windows Eval would answer otherwise are
// asked of Eval.
func (d *DB) slideCells(ctx context.Context, name string, sl *selection, gr slideGrid, exact bool, secs float64, out []BucketSeries) ([]cell, error) {
	agg, G, n, m, perStep, perWin := sl.agg, len(sl.groups), gr.n, gr.m, gr.perStep, gr.perWin
	cells, pooledDone, err := d.sharedCells(ctx, cellQuery(agg.Kind, exact), name, sl, gr.start, gr.endMS, gr.b, m, agg.Threshold)
	if err != nil {
		return nil, err
	}
	if cells == nil {
		cells, err = d.cells(ctx, cellQuery(agg.Kind, exact), sl.set, gr.start, gr.endMS, gr.b, m, G, agg.Threshold)
		if err != nil {
			return nil, err
		}
	}
	if !pooledDone {
		if cells, err = d.pooledCells(ctx, sl, gr, cells, exact); err != nil {
			return nil, err
		}
	}
	// A window combines only its buckets with samples (combine skips the
	// others, so the answer is the same): at a step far finer than the
	// data (1 s over one sample a minute) nearly every bucket is empty,
	// and visiting all of a window's at every step made a step's cost
	// grow with window/step.
	var sampled []cell
	var before []int32
	for g := 0; g < G; g++ {
		// Checked once a group: a cancelled read (a replay's SIGTERM)
		// stops here, not after every group's windows.
		if err := ctx.Err(); err != nil {
			return nil, err
		}
		row := cells[g*m : (g+1)*m]
		if !exact {
			sampled, before = sampledCells(row, sampled, before)
		}
		for j := 0; j < n; j++ {
			cs := row[j*perStep : j*perStep+perWin]
			if !exact {
				cs = sampled[before[j*perStep]:before[j*perStep+perWin]]
			}
			d.memo.visited += int64(len(cs))
			v, cnt, ok := combine(agg.Kind, cs, exact)
			if !ok {
				continue
			}
			if agg.Kind == metricpath.Rate {
				v /= secs
			}
			out[g].Values[j], out[g].Samples[j] = v, cnt
		}
	}
	if exact {
		return cells, d.exactBuckets(ctx, sl, n, gr.winEnd, gr.winMS, cells, m, out)
	}
	return cells, nil
}

// sampledCells is row's cells that hold samples, in order, and before[c]
// the number of them before cell c (len(row)+1 entries): cells [lo, hi)
// hold sampled[before[lo]:before[hi]]. It reuses the slices given.
func sampledCells(row, sampled []cell, before []int32) ([]cell, []int32) {
	sampled = sampled[:0]
	before = append(before[:0], 0)
	for _, c := range row {
		if c.ok {
			sampled = append(sampled, c)
		}
		before = append(before, int32(len(sampled)))
	}
	return sampled, before
}

// zeroSilentWindows gives 0 to the windows where a counter's group has no
// sample but exists by the window's end (its first sample is at or before
// it), as evalSelector does. With the grid's cells (nil where there are
// none), only the samples before the grid are asked of DuckDB (the cache
// keeps samples in time order, so it skips the rest), or of SlidingMany's
// read of the metric where it holds the grid: a group with none
// there first exists in its first cell with samples, and a window ending at
// or after that cell's end has it.
func (d *DB) zeroSilentWindows(ctx context.Context, name string, sl *selection, gr slideGrid, cells []cell, out []BucketSeries) error {
	by := gr.endMS
	if cells != nil {
		by = gr.start
	}
	var first map[int]int64
	var err error
	if cr := d.memo.many[name]; cr != nil && cells != nil {
		if src := cr.view(sl, gr.start, gr.endMS, gr.b); src != nil {
			first, err = d.existsBefore(ctx, cr, src)
		}
	}
	if first == nil && err == nil {
		first, err = d.firstSamples(ctx, sl.set, by)
	}
	if err != nil {
		return err
	}
	// exists(g, j): group g has a sample at or before window j's end.
	exists := func(g, j int) bool {
		ts, ok := first[g]
		return ok && ts <= gr.winEnd(j)
	}
	var firstCell []int
	if cells != nil {
		firstCell = make([]int, len(out))
		for g := range out {
			firstCell[g] = gr.m // none
			for c := 0; c < gr.m; c++ {
				if cells[g*gr.m+c].ok {
					firstCell[g] = c
					break
				}
			}
		}
		exists = func(g, j int) bool {
			if _, ok := first[g]; ok {
				return true // before the grid: before every window's end
			}
			// Cell c's samples are in (start + c*b, start + (c+1)*b], at
			// or before window j's end, start + (j*perStep + perWin)*b,
			// exactly when c < j*perStep + perWin.
			return firstCell[g] < j*gr.perStep+gr.perWin
		}
	}
	for g := range out {
		for j := 0; j < gr.n; j++ {
			if out[g].Samples[j] == 0 && math.IsNaN(out[g].Values[j]) && exists(g, j) {
				out[g].Values[j] = 0
			}
		}
	}
	return nil
}

// cellQuery is the buckets_* query whose cells give aggregation k: with
// exact (one bucket a window) the mean is favg's, as agg_avg's; else means
// are combined from the buckets' sums.
func cellQuery(k metricpath.AggKind, exact bool) string {
	switch k {
	case metricpath.Avg:
		if exact {
			return "buckets_avg"
		}
		return "buckets_sum"
	case metricpath.Min, metricpath.Max, metricpath.Last, metricpath.CountLE:
		return "buckets_" + string(k)
	}
	return "buckets_sum" // sum, rate, increase, count
}

// combine aggregates a window's buckets (from cellQuery(k, exact)). With
// exact (one bucket a window) it gives the bucket's own value: Kahan's sum
// and mean as agg_sum and agg_avg give them.
func combine(k metricpath.AggKind, cs []cell, exact bool) (float64, int64, bool) {
	if exact {
		c := cs[0]
		if !c.ok {
			return 0, 0, false
		}
		if k == metricpath.Count {
			return float64(c.n), c.n, true
		}
		return c.v, c.n, true
	}
	var n int64
	var sum, comp float64
	mn, mx := math.Inf(1), math.Inf(-1)
	minNaN, maxNaN := false, false
	last, lastTS := 0.0, math.Inf(-1)
	for _, c := range cs {
		if !c.ok {
			continue
		}
		n += c.n
		switch k {
		case metricpath.Min:
			// DuckDB's min and max order NaN above every number.
			if math.IsNaN(c.v) {
				minNaN = true
			} else if c.v < mn {
				mn = c.v
			}
		case metricpath.Max:
			if math.IsNaN(c.v) {
				maxNaN = true
			} else if c.v > mx {
				mx = c.v
			}
		case metricpath.Last:
			if c.x > lastTS {
				last, lastTS = c.v, c.x
			}
		default: // sums (Neumaier's compensation) and count_le's counts
			t := sum + c.v
			if math.Abs(sum) >= math.Abs(c.v) {
				comp += (sum - t) + c.v
			} else {
				comp += (c.v - t) + sum
			}
			sum = t
		}
	}
	if n == 0 {
		return 0, 0, false
	}
	total := sum + comp
	if math.IsInf(sum, 0) || math.IsNaN(sum) {
		total = sum
	}
	switch k {
	case metricpath.Avg:
		return total / float64(n), n, true
	case metricpath.Count:
		return float64(n), n, true
	case metricpath.Min:
		if math.IsInf(mn, 1) && minNaN {
			mn = math.NaN()
		}
		return mn, n, true
	case metricpath.Max:
		if maxNaN {
			mx = math.NaN()
		}
		return mx, n, true
	case metricpath.Last:
		return last, n, true
	}
	return total, n, true // sum, rate, increase, count_le
}

// stddevPop is the population standard deviation, by two passes.
func stddevPop(v []float64) float64 {
	var mean float64
	for _, x := range v {
		mean += x
	}
	mean /= float64(len(v))
	var ss float64
	for _, x := range v {
		ss += (x - mean) * (x - mean)
	}
	return math.Sqrt(ss / float64(len(v)))
}

// exactBuckets asks Eval's aggregation again for every window (one bucket
// each) where Eval would have replaced Kahan's sum or mean by the exact one:
// where any group's value may be off (exactWhereNeeded's test), Eval
// replaces every group's.
func (d *DB) exactBuckets(ctx context.Context, sl *selection, n int, winEnd func(int) int64, winMS int64, cells []cell, m int, out []BucketSeries) error {
	k := sl.agg.Kind
	if k != metricpath.Sum && k != metricpath.Rate && k != metricpath.Increase && k != metricpath.Avg {
		return nil
	}
	G := len(sl.groups)
	for j := 0; j < n; j++ {
		need := false
		for g := 0; g < G && !need; g++ {
			c := cells[g*m+j]
			if !c.ok {
				continue
			}
			v := c.v
			need = math.IsInf(v, 0) || math.IsNaN(v) || (c.x > 0 && (v == 0 || c.x > 0x1p26*math.Abs(v)))
		}
		if need {
			if err := d.windowByEval(ctx, sl, j, winEnd(j), winMS, out); err != nil {
				return err
			}
		}
	}
	return nil
}

func (d *DB) eachWindowByEval(ctx context.Context, sl *selection, n int, winEnd func(int) int64, winMS int64, out []BucketSeries) error {
	for j := 0; j < n; j++ {
		if err := d.windowByEval(ctx, sl, j, winEnd(j), winMS, out); err != nil {
			return err
		}
	}
	return nil
}

// windowByEval fills window j from Eval's own aggregation.
func (d *DB) windowByEval(ctx context.Context, sl *selection, j int, end, winMS int64, out []BucketSeries) error {
	perSeries := len(sl.selID) == len(sl.groups)
	vals, err := d.aggregate(ctx, sl.agg, end-winMS, end, perSeries, sl.set, sl.selStore, sl.selID, sl.selGrp)
	if err != nil {
		return err
	}
	secs := float64(winMS) / 1000
	for g := range out {
		gv, ok := vals[g]
		if !ok {
			out[g].Values[j], out[g].Samples[j] = math.NaN(), 0
			continue
		}
		v := gv.v
		switch sl.agg.Kind {
		case metricpath.Rate:
			v /= secs
		case metricpath.Count:
			v = float64(gv.n)
		}
		out[g].Values[j], out[g].Samples[j] = v, gv.n
	}
	return nil
}

// cells runs query qname (a buckets_* query; threshold is count_le's):
// G groups x m buckets of b ms over (start, end], indexed g*m + bucket. The
// answer is kept (a few of them) for rules that share a selection.
func (d *DB) cells(ctx context.Context, qname string, set, start, end, b int64, m, ng int, threshold float64) ([]cell, error) {
	if qname != "buckets_count_le" {
		threshold = 0
	}
	k := cellKey{query: qname, set: set, start: start, end: end, b: b, threshold: threshold}
	if cs, ok := d.memo.cells[k]; ok {
		return cs, nil
	}
	if qname == "buckets_sum" && len(d.Stores) == 1 && parallelWholeSums {
		out, ok, err := d.wholeCells(ctx, start, end, b, set, m, ng)
		if err != nil {
			return nil, err
		}
		if ok {
			d.keepCells(k, out)
			d.memo.wholeKeys[k] = true
			return out, nil
		}
	}
	// Kahan's sums depend on the order rows are added in: one thread, as
	// Eval's agg_sum and agg_avg.
	if err := d.oneThread(ctx, qname == "buckets_sum" || qname == "buckets_avg"); err != nil {
		return nil, err
	}
	if len(d.Stores) > 1 && (qname == "buckets_sum" || qname == "buckets_avg") {
		out, err := d.cellsByStore(ctx, qname == "buckets_avg", start, end, b, set, m, ng)
		if err != nil {
			return nil, err
		}
		d.keepCells(k, out)
		return out, nil
	}
	args := []any{start, end, b, set}
	if qname == "buckets_count_le" {
		args = append(args, threshold)
	}
	rows, err := d.query(ctx, qname, args...)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	out := make([]cell, ng*m)
	for rows.Next() {
		var g, bk int
		var c cell
		if err := rows.Scan(&g, &bk, &c.v, &c.n, &c.x); err != nil {
			return nil, err
		}
		if g < 0 || g >= ng || bk < 0 || bk >= m {
			return nil, fmt.Errorf("%s: cell (%d, %d) out of range", qname, g, bk)
		}
		c.ok = true
		out[g*m+bk] = c
	}
	if err := rows.Err(); err != nil {
		return nil, err
	}
	d.keepCells(k, out)
	return out, nil
}

func (d *DB) keepCells(k cellKey, out []cell) {
	if len(out) <= maxCells {
		if d.memo.cellCount+len(out) > maxCells {
			clear(d.memo.cells)
			d.memo.cellCount = 0
		}
		d.memo.cells[k] = out
		d.memo.cellCount += len(out)
	}
}

// maxCells bounds the bucket answers kept, in cells (32 bytes each): past
// it they are dropped, and asked of DuckDB again when needed.
const maxCells = 1 << 21

type cellKey struct {
	query           string
	set, start, end int64
	b               int64
	threshold       float64
}

// cellValues reads the values of G groups x m buckets of b ms over
// (start, end], indexed g*m + bucket: through Arrow where the build has it,
// else through database/sql.
//
// The answer is kept (as cells keeps its own, up to maxSharedValues words
// in all) for the rules that share a selection and window: two
// percentiles of one path, or one rule's path at two severities. It is
// read-only once kept.
func (d *DB) cellValues(ctx context.Context, set, start, end, b int64, m, ng int) ([][]float64, error) {
	k := cellKey{query: "buckets_values", set: set, start: start, end: end, b: b}
	if vals, ok := d.memo.values[k]; ok {
		return vals, nil
	}
	if err := d.oneThread(ctx, false); err != nil {
		return nil, err
	}
	args := []any{start, end, b, int64(m), set}
	vals, ok, err := d.groupValuesOf(ctx, "buckets_values", args, ng*m)
	if err != nil {
		return nil, err
	}
	if ok {
		size := 3 * len(vals)
		for _, v := range vals {
			size += len(v)
		}
		if size <= maxSharedValues {
			if d.memo.valuesSize+size > maxSharedValues {
				clear(d.memo.values)
				d.memo.valuesSize = 0
			}
			d.memo.values[k] = vals
			d.memo.valuesSize += size
		}
		return vals, nil
	}
	rows, err := d.query(ctx, "buckets_values", args...)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	vals = make([][]float64, ng*m)
	for rows.Next() {
		var c int
		var v float64
		if err := rows.Scan(&c, &v); err != nil {
			return nil, err
		}
		if c < 0 || c >= ng*m {
			return nil, fmt.Errorf("buckets_values: cell %d out of range", c)
		}
		vals[c] = append(vals[c], v)
	}
	return vals, rows.Err()
}

// firstSamples gives each group's first sample time at or before end.
func (d *DB) firstSamples(ctx context.Context, set, end int64) (map[int]int64, error) {
	if len(d.remotes) == 0 {
		return d.firstSamplesKept(ctx, set, end)
	}
	// A source's samples come into the views as queries ask for them:
	// what is first there can change.
	rows, err := d.query(ctx, "buckets_first_ts", end, set)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	out := map[int]int64{}
	for rows.Next() {
		var g int
		var ts int64
		if err := rows.Scan(&g, &ts); err != nil {
			return nil, err
		}
		out[g] = ts
	}
	return out, rows.Err()
}

// firstSamplesKept is firstSamples from every series' first sample time,
// read once (memo.firstTS): a group's first sample at or before end is the
// least of its series' first times that are at or before end. Each of a
// replay's chunks asked it anew, each a scan of every sample before the
// chunk, a month of them by the last.
func (d *DB) firstSamplesKept(ctx context.Context, set, end int64) (map[int]int64, error) {
	if err := d.loadFirstTS(ctx); err != nil {
		return nil, err
	}
	st, id, grp := d.memo.lastSel.store, d.memo.lastSel.id, d.memo.lastSel.grp
	if d.memo.lastSel.set != set || id == nil {
		var err error
		if st, id, grp, err = d.selectionRows(ctx, set); err != nil {
			return nil, err
		}
	}
	out := map[int]int64{}
	for i := range id {
		ts, ok := d.memo.firstTS[[2]int64{st[i], id[i]}]
		if !ok || ts > end {
			continue
		}
		if cur, ok := out[int(grp[i])]; !ok || ts < cur {
			out[int(grp[i])] = ts
		}
	}
	return out, nil
}

// selectionRows reads selection set's (store, series, group) rows back.
func (d *DB) selectionRows(ctx context.Context, set int64) (st, id, grp []int64, err error) {
	rows, err := d.query(ctx, "buckets_selection_rows", set)
	if err != nil {
		return nil, nil, nil, err
	}
	defer rows.Close()
	for rows.Next() {
		var s, i, g int64
		if err := rows.Scan(&s, &i, &g); err != nil {
			return nil, nil, nil, err
		}
		st, id, grp = append(st, s), append(id, i), append(grp, g)
	}
	return st, id, grp, rows.Err()
}
