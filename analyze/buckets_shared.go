package analyze

import (
	"context"
	"math"
)

// sharedBuckets lets Buckets and Sliding answer a selection whose every
// group is one series (a rule per service, as tuning has) from the values
// of all the metric's series, read from DuckDB once and kept (sharedVals):
// the samples are stored in time order, every series interleaved, so any
// one series' query reads the whole metric, and 100 rules over one metric
// would read it 100 times. A variable for the tests.
var sharedBuckets = true

// maxSharedCells bounds the (series, bucket) cells of one shared read,
// and maxSharedValues (a variable for the tests) the words (8 bytes) all
// the shared reads kept hold.
const maxSharedCells = 1 << 24

var maxSharedValues = 1 << 25

type sharedKey struct {
	name          string
	start, end, b int64
}

// sharedVals is every series of a metric over m buckets of b ms: vals[r*m
// + c] holds series r's values (r its index in seriesOf) in bucket c, in
// the order DuckDB scans them on one thread, which is the order Eval's
// one-thread aggregations (and the buckets_* queries) add them in, so the
// Kahan sums and means computed from them in Go are those queries' to the
// bit.
type sharedVals struct {
	asks   int
	failed bool
	index  map[[2]int64]int // (store, series id) -> series index
	vals   [][]float64
}

// sharedValsFor returns the shared values of selection sl's metric and,
// for each of sl's groups, its series' index; nil where the shared read
// does not apply (a group of several series, whose values interleave), is
// not worth it (the first ask of a metric and window: one rule pays for
// its own query only), or this build cannot read values in bulk.
func (d *DB) sharedValsFor(ctx context.Context, name string, sl *selection, start, end, b int64, m int) (*sharedVals, []int, error) {
	if !sharedBuckets || !arrowBuild || len(sl.selID) != len(sl.groups) {
		return nil, nil, nil
	}
	k := sharedKey{name: name, start: start, end: end, b: b}
	sv := d.memo.shared[k]
	if sv == nil {
		if len(d.memo.shared) >= 1024 {
			clear(d.memo.shared)
			d.memo.sharedSize = 0
		}
		sv = &sharedVals{}
		d.memo.shared[k] = sv
	}
	sv.asks++
	if sv.failed || (sv.vals == nil && sv.asks < 2) {
		return nil, nil, nil
	}
	if sv.vals == nil {
		series, err := d.seriesOf(ctx, name)
		if err != nil {
			return nil, nil, err
		}
		if len(series)*m > maxSharedCells {
			sv.failed = true
			return nil, nil, nil
		}
		st, id, grp := make([]int64, len(series)), make([]int64, len(series)), make([]int64, len(series))
		sv.index = make(map[[2]int64]int, len(series))
		for i, sr := range series {
			st[i], id[i], grp[i] = sr.store, sr.id, int64(i)
			sv.index[[2]int64{sr.store, sr.id}] = i
		}
		set, err := d.fillSelection(ctx, st, id, grp)
		if err != nil {
			return nil, nil, err
		}
		d.memo.shared[k] = sv // fillSelection may have dropped what was kept
		// One thread: the rows come in scan order, as the one-thread
		// aggregations add them.
		if err := d.oneThread(ctx, true); err != nil {
			return nil, nil, err
		}
		vals, ok, err := d.groupValuesOf(ctx, "buckets_values", []any{start, end, b, int64(m), set}, len(series)*m)
		if err != nil {
			return nil, nil, err
		}
		if !ok {
			sv.failed = true
			return nil, nil, nil
		}
		// What is kept is bounded: past maxSharedValues the other reads
		// are dropped (and read again when asked).
		size := 3 * len(vals) // in words: the slice headers, then the values
		for _, v := range vals {
			size += len(v)
		}
		if d.memo.sharedSize+size > maxSharedValues {
			for _, o := range d.memo.shared {
				if o != sv {
					o.vals, o.index = nil, nil
				}
			}
			d.memo.sharedSize = 0
		}
		sv.vals = vals
		d.memo.sharedSize += size
	}
	rowOf := make([]int, len(sl.groups))
	for i := range sl.selID {
		r, ok := sv.index[[2]int64{sl.selStore[i], sl.selID[i]}]
		if !ok {
			return nil, nil, nil
		}
		rowOf[sl.selGrp[i]] = r
	}
	return sv, rowOf, nil
}

// seriesSource is where a selection's cells take their values from: a
// metric's values by series row (vals[r*stride + c]), each of the query
// grid's cells being k consecutive source cells from off, and each group's
// series rows.
type seriesSource struct {
	vals   [][]float64
	ts     [][]int64 // the values' times, where the read has them
	stride int
	off, k int
	rows   [][]int
	pooled bool        // some group has several series
	many   *commonRead // the read it views, if SlidingMany's
	// flatOff, flatV, flatT: the values (and times) of a flat read
	// (commonRead's), in place of vals and ts.
	flatOff     []int32
	flatV       []float64
	flatT       []int64
	scratchCell []float64
	scratchTS   []int64
}

// cell is series row r's values in the query's cell c, in scan order
// (valid until the next call).
func (s *seriesSource) cell(r, c int) []float64 {
	i := r*s.stride + s.off + c*s.k
	if s.flatOff != nil {
		lo, hi := s.flatOff[i], s.flatOff[i+s.k]
		return s.flatV[lo:hi:hi]
	}
	if s.k == 1 {
		return s.vals[i]
	}
	s.scratchCell = s.scratchCell[:0]
	for _, v := range s.vals[i : i+s.k] {
		s.scratchCell = append(s.scratchCell, v...)
	}
	return s.scratchCell
}

// cellTS is series row r's values' times in the query's cell c, as
// cell gives the values (valid until the next call).
func (s *seriesSource) cellTS(r, c int) []int64 {
	i := r*s.stride + s.off + c*s.k
	if s.flatOff != nil {
		lo, hi := s.flatOff[i], s.flatOff[i+s.k]
		return s.flatT[lo:hi:hi]
	}
	if s.k == 1 {
		return s.ts[i]
	}
	s.scratchTS = s.scratchTS[:0]
	for _, t := range s.ts[i : i+s.k] {
		s.scratchTS = append(s.scratchTS, t...)
	}
	return s.scratchTS
}

// sourceFor is the source of selection sl's cells over m buckets of b ms
// from start: SlidingMany's read of the metric, else the shared values
// (sharedValsFor, groups of one series only); nil where neither applies.
func (d *DB) sourceFor(ctx context.Context, name string, sl *selection, start, end, b int64, m int) (*seriesSource, error) {
	if cr := d.memo.many[name]; cr != nil {
		if src := cr.view(sl, start, end, b); src != nil {
			return src, nil
		}
	}
	sv, rowOf, err := d.sharedValsFor(ctx, name, sl, start, end, b, m)
	if sv == nil || err != nil {
		return nil, err
	}
	rows := make([][]int, len(rowOf))
	for g, r := range rowOf {
		rows[g] = []int{r}
	}
	return &seriesSource{vals: sv.vals, stride: m, k: 1, rows: rows}, nil
}

// sharedCellValues is cellValues from the shared values (nil where they
// do not apply). A group of several series has its series' values one
// series after another: the percentiles and the pooled standard deviation
// do not depend on their order.
func (d *DB) sharedCellValues(ctx context.Context, name string, sl *selection, start, end, b int64, m int) ([][]float64, error) {
	src, err := d.sourceFor(ctx, name, sl, start, end, b, m)
	if src == nil || err != nil {
		return nil, err
	}
	out := make([][]float64, len(src.rows)*m)
	for g, rs := range src.rows {
		for c := 0; c < m; c++ {
			if len(rs) == 1 && src.k == 1 {
				out[g*m+c] = src.cell(rs[0], c)
				continue
			}
			var vs []float64
			for _, r := range rs {
				vs = append(vs, src.cell(r, c)...)
			}
			out[g*m+c] = vs
		}
	}
	return out, nil
}

// sharedCells is cells from the shared values, for the queries whose
// cells Go computes as DuckDB does (nil for the others, or where the
// shared values do not apply): buckets_sum's fsum and buckets_avg's favg
// (Kahan's sum, KahanAddInternal, over the values in scan order; favg
// value/n + err/n), with fsum(abs(value)), buckets_count_le's count, and
// (from SlidingMany's reads) buckets_min's, buckets_max's and
// buckets_last's. A group of
// several series (from SlidingMany's reads only, and not for
// buckets_avg) has its cells' sums exact, as exactCells gives them (and
// pooledDone says so); a non-finite value there gives nil.
func (d *DB) sharedCells(ctx context.Context, qname, name string, sl *selection, start, end, b int64, m int, threshold float64) (cells []cell, pooledDone bool, err error) {
	switch qname {
	case "buckets_sum", "buckets_avg":
	case "buckets_count_le":
		if math.IsNaN(threshold) {
			return nil, false, nil
		}
	case "buckets_min", "buckets_max", "buckets_last":
		if d.memo.many[name] == nil {
			return nil, false, nil
		}
	default:
		return nil, false, nil
	}
	src, err := d.sourceFor(ctx, name, sl, start, end, b, m)
	if src == nil || err != nil {
		return nil, false, err
	}
	if src.pooled && qname == "buckets_avg" || qname == "buckets_last" && src.flatT == nil {
		return nil, false, nil
	}
	if src.many == nil || src.k != 1 {
		out, ok := cellsFrom(src, qname, m, threshold)
		if !ok {
			return nil, false, nil
		}
		return out, src.pooled, nil
	}
	// From SlidingMany's read: the selection's cells over the whole read,
	// kept while its tables ask them (windows of several lengths and
	// offsets over one selection), each table's a part of them.
	cr := src.many
	k := manyCellKey{query: qname, set: sl.set, threshold: threshold}
	full, kept := cr.cells[k]
	if !kept {
		whole := *src
		whole.off = 0
		var ok bool
		if full, ok = cellsFrom(&whole, qname, cr.m, threshold); !ok {
			full = nil
		}
		if cr.cellCount+len(full) > maxManyKept {
			clear(cr.cells)
			cr.cellCount = 0
		}
		if cr.cells == nil {
			cr.cells = map[manyCellKey][]cell{}
		}
		cr.cells[k] = full
		cr.cellCount += len(full)
	}
	if full == nil {
		return nil, false, nil
	}
	out := make([]cell, len(src.rows)*m)
	for g := range src.rows {
		copy(out[g*m:(g+1)*m], full[g*cr.m+src.off:])
	}
	return out, src.pooled, nil
}

// maxManyKept bounds the cells SlidingMany's read keeps for the tables
// of one selection (32 bytes each): past it, those kept are dropped.
const maxManyKept = 1 << 20

type manyCellKey struct {
	query     string
	set       int64
	threshold float64
}

// cellsFrom computes query qname's cells (sharedCells') over src's m
// cells; false where a pooled group's sum meets a non-finite value.
func cellsFrom(src *seriesSource, qname string, m int, threshold float64) ([]cell, bool) {
	if qname == "buckets_last" {
		return lastCells(src, m), true
	}
	out := make([]cell, len(src.rows)*m)
	var buf []float64
	for g, rs := range src.rows {
		for c := 0; c < m; c++ {
			vs := src.cell(rs[0], c)
			if len(rs) > 1 {
				buf = buf[:0]
				for _, r := range rs {
					buf = append(buf, src.cell(r, c)...)
				}
				vs = buf
			}
			if len(vs) == 0 {
				continue
			}
			cl := &out[g*m+c]
			cl.ok, cl.n = true, int64(len(vs))
			switch qname {
			case "buckets_count_le":
				le := 0
				for _, v := range vs {
					if v <= threshold {
						le++
					}
				}
				cl.v = float64(le)
			case "buckets_min":
				cl.v = duckMin(vs)
			case "buckets_max":
				cl.v = duckMax(vs)
			default:
				if !kahanCell(cl, vs, qname == "buckets_avg", src.pooled) {
					return nil, false
				}
			}
		}
	}
	return out, true
}

// kahanCell sets a sum's (or avg's) cell from its values: Kahan's sum as
// DuckDB's fsum adds them (favg: value/n + err/n), or with exact (a
// pooled group, whose rows' order is the source's) the exact sum rounded
// once, as exactCells gives it; false for a non-finite value there.
func kahanCell(cl *cell, vs []float64, avg, exact bool) bool {
	var sum, err, asum, aerr float64
	for _, v := range vs {
		diff := v - err
		t := sum + diff
		err = (t - sum) - diff
		sum = t
		a := math.Abs(v)
		adiff := a - aerr
		at := asum + adiff
		aerr = (at - asum) - adiff
		asum = at
	}
	cl.x = asum
	switch {
	case exact:
		v, ok := exactSum(vs)
		if !ok {
			return false
		}
		cl.v = v
	case avg:
		n := float64(len(vs))
		cl.v = sum/n + err/n
	default:
		cl.v = sum
	}
	return true
}

// duckMin and duckMax are DuckDB's min and max, which order NaN above
// every number.
func duckMin(vs []float64) float64 {
	mn, num := math.NaN(), false
	for _, v := range vs {
		if !math.IsNaN(v) && (!num || v < mn) {
			mn, num = v, true
		}
	}
	return mn
}

func duckMax(vs []float64) float64 {
	mx := math.Inf(-1)
	for _, v := range vs {
		if math.IsNaN(v) {
			return math.NaN()
		}
		if v > mx {
			mx = v
		}
	}
	return mx
}

// exactSum is the sum of finite values rounded once to the nearest
// (ties to even), as exactGroup's value gives it, by Shewchuk's
// partials (Python's math.fsum); false for a non-finite value or an
// overflow on the way.
func exactSum(vs []float64) (float64, bool) {
	var stack [8]float64
	partials := stack[:0]
	for _, x := range vs {
		if math.IsNaN(x) || math.IsInf(x, 0) {
			return 0, false
		}
		i := 0
		for _, y := range partials {
			if math.Abs(x) < math.Abs(y) {
				x, y = y, x
			}
			hi := x + y
			lo := y - (hi - x)
			if lo != 0 {
				partials[i] = lo
				i++
			}
			x = hi
		}
		if math.IsInf(x, 0) {
			return 0, false
		}
		partials = append(partials[:i], x)
	}
	k := len(partials)
	if k == 0 {
		return 0, true
	}
	k--
	hi, lo := partials[k], 0.0
	for k > 0 {
		x := hi
		y := partials[k-1]
		k--
		hi = x + y
		lo = y - (hi - x)
		if lo != 0 {
			break
		}
	}
	// Round half to even across the partials left: where the rest has
	// lo's sign, hi + 2*lo decides.
	if k > 0 && ((lo < 0 && partials[k-1] < 0) || (lo > 0 && partials[k-1] > 0)) {
		y := lo * 2
		x := hi + y
		if y == x-hi {
			hi = x
		}
	}
	if hi == 0 {
		hi = 0 // +0, as the exact integer sums give
	}
	return hi, true
}

// lastCells is buckets_last's cells from src's values and times: the
// latest value, ties to the largest (NaN above every number, as DuckDB
// orders a struct of the time and the value), x the latest time.
func lastCells(src *seriesSource, m int) []cell {
	out := make([]cell, len(src.rows)*m)
	for g, rs := range src.rows {
		for c := 0; c < m; c++ {
			cl := &out[g*m+c]
			var lastTS int64
			for _, r := range rs {
				vs := src.cell(r, c)
				ts := src.cellTS(r, c)
				for i, v := range vs {
					t := ts[i]
					if !cl.ok || t > lastTS || t == lastTS && duckAbove(v, cl.v) {
						cl.ok, cl.v, lastTS = true, v, t
					}
				}
				cl.n += int64(len(vs))
			}
			cl.x = float64(lastTS)
		}
	}
	return out
}

// duckAbove reports whether DuckDB orders a above b (NaN above every
// number).
func duckAbove(a, b float64) bool {
	if math.IsNaN(b) {
		return false
	}
	return math.IsNaN(a) || a > b
}
