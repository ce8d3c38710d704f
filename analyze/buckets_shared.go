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

// sharedCellValues is cellValues from the shared values (nil where they
// do not apply).
func (d *DB) sharedCellValues(ctx context.Context, name string, sl *selection, start, end, b int64, m int) ([][]float64, error) {
	sv, rowOf, err := d.sharedValsFor(ctx, name, sl, start, end, b, m)
	if sv == nil || err != nil {
		return nil, err
	}
	out := make([][]float64, len(rowOf)*m)
	for g, r := range rowOf {
		copy(out[g*m:(g+1)*m], sv.vals[r*m:(r+1)*m])
	}
	return out, nil
}

// sharedCells is cells from the shared values, for the queries whose
// cells Go computes as DuckDB does (nil for the others, or where the
// shared values do not apply): buckets_sum's fsum and buckets_avg's favg
// (Kahan's sum, KahanAddInternal, over the values in scan order; favg
// value/n + err/n), with fsum(abs(value)), and buckets_count_le's count.
func (d *DB) sharedCells(ctx context.Context, qname, name string, sl *selection, start, end, b int64, m int, threshold float64) ([]cell, error) {
	switch qname {
	case "buckets_sum", "buckets_avg":
	case "buckets_count_le":
		if math.IsNaN(threshold) {
			return nil, nil
		}
	default:
		return nil, nil
	}
	sv, rowOf, err := d.sharedValsFor(ctx, name, sl, start, end, b, m)
	if sv == nil || err != nil {
		return nil, err
	}
	out := make([]cell, len(rowOf)*m)
	for g, r := range rowOf {
		for c := 0; c < m; c++ {
			vs := sv.vals[r*m+c]
			if len(vs) == 0 {
				continue
			}
			cl := &out[g*m+c]
			cl.ok, cl.n = true, int64(len(vs))
			if qname == "buckets_count_le" {
				le := 0
				for _, v := range vs {
					if v <= threshold {
						le++
					}
				}
				cl.v = float64(le)
				continue
			}
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
			if qname == "buckets_avg" {
				n := float64(len(vs))
				cl.v = sum/n + err/n
			} else {
				cl.v = sum
			}
		}
	}
	return out, nil
}
