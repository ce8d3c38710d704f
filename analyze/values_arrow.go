//go:build duckdb_arrow

package analyze

import (
	"context"
	"fmt"
	"runtime"
	"sync"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
)

// groupValues reads every selected value in (start, end] through DuckDB's
// Arrow interface, in column batches (about 10 ns a row, where
// database/sql would cost a few hundred), into one slice per group. ok is
// false when this build has no Arrow support (see values_noarrow.go).
func (d *DB) groupValues(ctx context.Context, start, end, set int64, groups int) (vals [][]float64, ok bool, err error) {
	return d.groupValuesOf(ctx, "agg_values", []any{start, end, set}, groups)
}

// groupValuesOf is groupValues for any query whose rows are (group INTEGER,
// value DOUBLE) with groups in [0, groups): agg_values, or buckets_values,
// whose "group" is a (group, bucket) cell.
func (d *DB) groupValuesOf(ctx context.Context, qname string, args []any, groups int) (vals [][]float64, ok bool, err error) {
	// The Arrow batches are kept while groups are counted, then one
	// counting-sort pass places each group's values in one exactly sized
	// buffer: growing a slice per group, or copying the batches into Go
	// slices first, cost more in page faults than the query itself. Memory
	// at the peak is about 32 bytes a value (DuckDB's materialised result,
	// the Arrow batches, the buffer): 10M values peak near 500 MiB RSS, where
	// quantile_cont peaks near 390 MiB (docs/performance.md).
	type batch struct {
		g []int32
		v []float64
	}
	var kept []batch
	counts := make([]int, groups+1)
	var recs []arrow.RecordBatch
	defer func() { released(recs) }()
	err = d.eachArrowBatch(ctx, qname, args, func(rec arrow.RecordBatch) error {
		gc, ok1 := rec.Column(0).(*array.Int32)
		vc, ok2 := rec.Column(1).(*array.Float64)
		if !ok1 || !ok2 || gc.NullN() > 0 || vc.NullN() > 0 {
			return fmt.Errorf("unexpected columns %s", rec.Schema())
		}
		rec.Retain()
		recs = append(recs, rec)
		b := batch{gc.Int32Values(), vc.Float64Values()}
		for _, g := range b.g {
			counts[g+1]++
		}
		kept = append(kept, b)
		return nil
	})
	if err != nil {
		return nil, false, fmt.Errorf("read values: %w", err)
	}
	for g := 1; g <= groups; g++ {
		counts[g] += counts[g-1] // counts[g] is now where group g starts
	}
	flat := make([]float64, counts[groups])
	next := append([]int(nil), counts[:groups]...)
	// Each core places the values of its own range of groups (every
	// core reads all group ids; the writes, the costly part, split).
	workers := max(1, min(runtime.GOMAXPROCS(0), groups))
	var wg sync.WaitGroup
	for w := 0; w < workers; w++ {
		lo, hi := int32(w*groups/workers), int32((w+1)*groups/workers)
		wg.Add(1)
		go func() {
			defer wg.Done()
			for _, b := range kept {
				for i, g := range b.g {
					if g >= lo && g < hi {
						flat[next[g]] = b.v[i]
						next[g]++
					}
				}
			}
		}()
	}
	wg.Wait()
	vals = make([][]float64, groups)
	for g := range vals {
		vals[g] = flat[counts[g]:counts[g+1]:counts[g+1]]
	}
	return vals, true, nil
}

// arrowBuild says this build reads values through Arrow.
const arrowBuild = true

// wholeCellRows reads buckets_sum_int's rows (cell, sum, count, whole)
// through Arrow, where database/sql costs about 0.4 µs a row (1.7M cells:
// 0.7 s), into out, indexed g*m + bucket. ok is false as soon as a cell is
// not whole or its sum reaches maxExactWhole (see wholeCells).
func (d *DB) wholeCellRows(ctx context.Context, args []any, m, ng int, out []cell) (ok bool, err error) {
	ok = true
	err = d.eachArrowBatch(ctx, "buckets_sum_int", args, func(rec arrow.RecordBatch) error {
		cc, ok1 := rec.Column(0).(*array.Int64)
		vc, ok2 := rec.Column(1).(*array.Float64)
		nc, ok3 := rec.Column(2).(*array.Int64)
		wc, ok4 := rec.Column(3).(*array.Boolean)
		if !ok1 || !ok2 || !ok3 || !ok4 || cc.NullN()+vc.NullN()+nc.NullN()+wc.NullN() > 0 {
			return fmt.Errorf("unexpected columns %s", rec.Schema())
		}
		cs, vs, ns := cc.Int64Values(), vc.Float64Values(), nc.Int64Values()
		for i, c := range cs {
			if !wc.Value(i) || !(vs[i] < maxExactWhole) {
				ok = false
				return errStopBatches
			}
			if c < 0 || c >= int64(ng)*int64(m) {
				return fmt.Errorf("buckets_sum_int: cell %d out of range", c)
			}
			out[c] = cell{ok: true, v: vs[i], n: ns[i], x: vs[i]}
		}
		return nil
	})
	if err != nil {
		return false, fmt.Errorf("read cells: %w", err)
	}
	return ok, nil
}
