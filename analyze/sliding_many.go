package analyze

import (
	"context"
	"errors"
	"maps"
	"math"
	"slices"
	"strings"
	"time"

	"github.com/vigil-metrics/vigil/internal/metricpath"
	"github.com/vigil-metrics/vigil/internal/vtime"
)

// maxManyCells bounds the (series, cell) cells of SlidingMany's reads (a
// variable for the tests): past it, the metrics are read one by one, and
// a metric past it alone is read by each query.
var maxManyCells int64 = maxSharedCells

// SlideQuery is one Sliding call of SlidingMany: Expr's windows of
// length Window, the last ending at End.
type SlideQuery struct {
	Expr   *metricpath.Expr
	End    time.Time
	Window time.Duration
}

// SlidingMany answers each query as Sliding(q.Expr, q.End, step,
// q.Window, n) does, to the same bits (res[i] and errs[i] are query i's
// answer and error), reading the samples of every metric the queries name
// once for all of them instead of once per query: the store interleaves
// every series' samples in time order, so each Sliding read scans all the
// samples in its range whatever its selection, and a replay's tables
// (about a hundred windows and selections of a few metrics) read each
// sample a hundred times. The samples are read through Arrow into one flat
// slice by series and cell of a grid every query's cells are unions of
// (the gcd of the queries' bucket lengths and of the gaps between their
// ends), with their times where a query takes a last value; each query's
// sums, counts, minima, maxima, last values, counts at or below a
// threshold, percentiles (from ranks shared by a metric's percentile
// tables) and standard deviations are computed in Go from it, as the
// shared values of Buckets are (buckets_shared.go); a group of several
// series gets its cells' exact sums, as exactCells gives them. Where all
// the metrics' cells do not fit in one read (maxManyCells), each metric
// asked twice or more is read once on its own; the rest (a window as long
// as the step, a build without Arrow, a metric too large to hold) is asked
// of DuckDB as Sliding does.
func (d *DB) SlidingMany(ctx context.Context, qs []SlideQuery, step time.Duration, n int) (res [][]BucketSeries, errs []error) {
	res, errs = make([][]BucketSeries, len(qs)), make([]error, len(qs))
	reads := d.manyGrids(ctx, qs, step, n)
	if len(reads) > 0 {
		d.memo.many = map[string]*commonRead{}
		defer func() { d.memo.many = nil }()
	}
	// One read for every metric where it fits (the samples of all metrics
	// are interleaved: a read of one scans them all), else one a metric.
	names := slices.Sorted(maps.Keys(reads))
	groups := [][]string{names}
	if all := mergeGrids(reads, names); all != nil && d.seriesCount(ctx, names)*int64(all.m) <= maxManyCells {
		for _, name := range names {
			reads[name] = all
		}
	} else {
		groups = groups[:0]
		for _, name := range names {
			if reads[name].asks > 1 { // else its one query reads it as well
				groups = append(groups, []string{name})
			}
		}
	}
	for _, ns := range groups {
		cr := reads[ns[0]]
		if err := d.readCommon(ctx, ns, cr); err != nil {
			if ctx.Err() != nil {
				for i := range errs {
					errs[i] = ctx.Err()
				}
				return res, errs
			}
			continue // each query reads its own, and meets the error itself
		}
		if cr.off != nil {
			for _, name := range ns {
				d.memo.many[name] = cr
			}
		}
	}
	// The queries of one path one after another: its cells are kept
	// (sharedCells) while they ask them.
	order := make([]int, len(qs))
	keys := make([]string, len(qs))
	for i, q := range qs {
		order[i] = i
		if q.Expr != nil {
			keys[i] = q.Expr.String()
		}
	}
	slices.SortStableFunc(order, func(a, b int) int { return strings.Compare(keys[a], keys[b]) })
	for _, i := range order {
		q := qs[i]
		res[i], errs[i] = d.Sliding(ctx, q.Expr, q.End, step, q.Window, n)
		if err := ctx.Err(); err != nil {
			// Cancelled (a replay's SIGTERM): every query has its error,
			// none is left to read.
			for i := range errs {
				res[i], errs[i] = nil, err
			}
			return res, errs
		}
	}
	return res, errs
}

// commonRead is the values of one or more metrics by series row r and
// cell c of b ms over (start, end], cell r*m + c, each cell's values in
// scan order.
type commonRead struct {
	start, end, b int64
	m             int
	asks          int              // the selectors that read it
	index         map[[2]int64]int // (store, series id) -> series row
	// off, v: cell i's values are v[off[i]:off[i+1]] (i = r*m + c), their
	// times t[...] where needTS (a last asks them).
	off    []int32
	v      []float64
	t      []int64
	needTS bool
	// rows is each metric's series rows, [lo, hi); ranks[i][x] is
	// vals[i][x]'s place among its metric's distinct values in order,
	// filled for the metrics ranked (for the percentiles).
	rows  map[string][2]int
	ranks []int32 // by value, as v
	rank  map[string]*metricRanks
	// cells keeps selections' cells over the whole read (sharedCells),
	// cellCount of them in all.
	cells     map[manyCellKey][]cell
	cellCount int
	// set is the read's selection (every series, group = row); before
	// says which rows have a sample at or before start (asked once, for
	// the counters' silent windows), firstCell each row's first cell with
	// values (len(vals)/rows where none).
	set       int64
	before    []bool
	firstCell []int
}

// manyGrids is the grid each metric the queries' selectors ask would be
// read on: the gcd of their bucket lengths and of the
// gaps between their ends, over the union of their ranges. The metrics'
// ranges are loaded (Sliding's loadRange) on the way.
func (d *DB) manyGrids(ctx context.Context, qs []SlideQuery, step time.Duration, n int) map[string]*commonRead {
	stepMS := step.Milliseconds()
	if !arrowBuild || n <= 0 || stepMS <= 0 || step%time.Millisecond != 0 {
		return nil
	}
	type span struct{ b, start, end int64 }
	spans := map[string][]span{}
	last := map[string]bool{} // the metrics some query takes the last value of
	lastOf := func(sel *metricpath.Selector) {
		if sel.Agg.Kind == metricpath.Last {
			last[sel.Name] = true
		}
	}
	for _, q := range qs {
		winMS := q.Window.Milliseconds()
		if q.Expr == nil || winMS <= 0 || q.Window%time.Millisecond != 0 || q.Window == step {
			continue
		}
		endMS := vtime.UnixMilli(q.End)
		b := gcd(stepMS, winMS)
		m := int64(n-1)*(stepMS/b) + winMS/b
		sp := span{b: b, start: endMS - m*b, end: endMS}
		if d.loadRange(ctx, q.Expr, sp.start, sp.end) != nil {
			continue
		}
		spans[q.Expr.Num.Name] = append(spans[q.Expr.Num.Name], sp)
		lastOf(&q.Expr.Num)
		if q.Expr.Den != nil {
			spans[q.Expr.Den.Name] = append(spans[q.Expr.Den.Name], sp)
			lastOf(q.Expr.Den)
		}
	}
	out := map[string]*commonRead{}
	for name, sps := range spans {
		cr := &commonRead{start: sps[0].start, end: sps[0].end, b: sps[0].b, needTS: last[name], asks: len(sps)}
		for _, sp := range sps {
			cr.start, cr.end = min(cr.start, sp.start), max(cr.end, sp.end)
		}
		for _, sp := range sps {
			cr.b = gcd(cr.b, gcd(sp.b, cr.end-sp.end))
		}
		if (cr.end-cr.start)/cr.b > math.MaxInt32 {
			continue
		}
		cr.m = int((cr.end - cr.start) / cr.b)
		out[name] = cr
	}
	return out
}

// mergeGrids is one grid holding every metric's: the gcd of their cells
// and of the gaps between their ends, over the union of their ranges.
func mergeGrids(reads map[string]*commonRead, names []string) *commonRead {
	if len(names) < 2 {
		return nil
	}
	all := *reads[names[0]]
	for _, name := range names {
		cr := reads[name]
		all.start, all.end = min(all.start, cr.start), max(all.end, cr.end)
		all.needTS = all.needTS || cr.needTS
	}
	for _, name := range names {
		cr := reads[name]
		all.b = gcd(all.b, gcd(cr.b, all.end-cr.end))
	}
	if (all.end-all.start)/all.b > math.MaxInt32 {
		return nil
	}
	all.m = int((all.end - all.start) / all.b)
	return &all
}

// seriesCount is the number of series of the metrics names (MaxInt32
// where one cannot be listed: no shared read then).
func (d *DB) seriesCount(ctx context.Context, names []string) int64 {
	var n int64
	for _, name := range names {
		series, err := d.seriesOf(ctx, name)
		if err != nil {
			return math.MaxInt32
		}
		n += int64(len(series))
	}
	return n
}

// readCommon reads every series of the metrics names on cr's grid, as
// sharedValsFor does for one; cr.off stays nil where the read would be
// too large.
func (d *DB) readCommon(ctx context.Context, names []string, cr *commonRead) error {
	var series []seriesRow
	cr.rows = map[string][2]int{}
	for _, name := range names {
		ss, err := d.seriesOf(ctx, name)
		if err != nil {
			return err
		}
		cr.rows[name] = [2]int{len(series), len(series) + len(ss)}
		series = append(series, ss...)
	}
	if len(series) == 0 || int64(len(series))*int64(cr.m) > maxManyCells {
		return nil
	}
	st, id, grp := make([]int64, len(series)), make([]int64, len(series)), make([]int64, len(series))
	cr.index = make(map[[2]int64]int, len(series))
	for i, sr := range series {
		st[i], id[i], grp[i] = sr.store, sr.id, int64(i)
		cr.index[[2]int64{sr.store, sr.id}] = i
	}
	set, err := d.fillSelection(ctx, st, id, grp)
	if err != nil {
		return err
	}
	cr.set = set
	// One thread: the rows come in scan order, as the one-thread
	// aggregations add them.
	if err := d.oneThread(ctx, true); err != nil {
		return err
	}
	off, v, t, err := d.flatCells(ctx, []any{cr.start, cr.end, cr.b, int64(cr.m), set}, len(series)*cr.m, cr.needTS)
	if err != nil {
		return err
	}
	if off == nil {
		return errors.New("no Arrow read")
	}
	cr.off, cr.v, cr.t = off, v, t
	trimCHeap()
	d.memo.manyReads++
	return nil
}

// cell is cell i's values (cells i to i+k-1's, one after another).
func (cr *commonRead) cell(i, k int) []float64 {
	return cr.v[cr.off[i]:cr.off[i+k]:cr.off[i+k]]
}

// view is the source of selection sl's cells over buckets of b ms from
// start to end, nil where cr's grid does not hold them.
func (cr *commonRead) view(sl *selection, start, end, b int64) *seriesSource {
	if b%cr.b != 0 || start < cr.start || end > cr.end || (start-cr.start)%cr.b != 0 {
		return nil
	}
	src := &seriesSource{many: cr, flatOff: cr.off, flatV: cr.v, flatT: cr.t, stride: cr.m, off: int((start - cr.start) / cr.b), k: int(b / cr.b),
		rows: make([][]int, len(sl.groups))}
	for i := range sl.selID {
		r, ok := cr.index[[2]int64{sl.selStore[i], sl.selID[i]}]
		if !ok {
			return nil
		}
		g := sl.selGrp[i]
		src.rows[g] = append(src.rows[g], r)
		src.pooled = src.pooled || len(src.rows[g]) > 1
	}
	return src
}

// existsBefore says, for each group of the view src, whether it has a
// sample at or before start (the query grid's), from cr: its rows with a
// sample at or before cr.start (one query for every table of the metric,
// where zeroSilentWindows would ask one for each), or with values in a
// cell of cr before the view's first.
func (d *DB) existsBefore(ctx context.Context, cr *commonRead, src *seriesSource) (map[int]int64, error) {
	if cr.before == nil {
		first, err := d.firstSamples(ctx, cr.set, cr.start)
		if err != nil {
			return nil, err
		}
		rows := len(cr.index)
		cr.before, cr.firstCell = make([]bool, rows), make([]int, rows)
		for r := 0; r < rows; r++ {
			_, cr.before[r] = first[r]
			cr.firstCell[r] = cr.m
			for c := 0; c < cr.m; c++ {
				if cr.off[r*cr.m+c+1] > cr.off[r*cr.m+c] {
					cr.firstCell[r] = c
					break
				}
			}
		}
	}
	out := map[int]int64{}
	for g, rs := range src.rows {
		for _, r := range rs {
			if cr.before[r] || cr.firstCell[r] < src.off {
				out[g] = 0 // present; zeroSilentWindows asks no more
				break
			}
		}
	}
	return out, nil
}
