//go:build duckdb_arrow

package analyze

import (
	"context"
	"fmt"
	"math"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
)

// flatCells reads buckets_values (or with withTS buckets_values_ts, the
// values' times too) through Arrow into one flat slice in cell order:
// cell c's values are v[off[c]:off[c+1]] (times t[...]), in the order the
// rows come (a counting sort, as groupValuesOf places them, without a
// slice header a cell).
func (d *DB) flatCells(ctx context.Context, args []any, cells int, withTS bool) (off []int32, v []float64, t []int64, err error) {
	qname := "buckets_values"
	if withTS {
		qname = "buckets_values_ts"
	}
	type batch struct {
		c []int32
		v []float64
		t []int64
	}
	var kept []batch
	counts := make([]int, cells+1)
	var recs []arrow.RecordBatch
	defer func() { released(recs) }()
	err = d.eachArrowBatch(ctx, qname, args, func(rec arrow.RecordBatch) error {
		cc, ok1 := rec.Column(0).(*array.Int32)
		vc, ok2 := rec.Column(1).(*array.Float64)
		if !ok1 || !ok2 || cc.NullN()+vc.NullN() > 0 {
			return fmt.Errorf("unexpected columns %s", rec.Schema())
		}
		b := batch{c: cc.Int32Values(), v: vc.Float64Values()}
		if withTS {
			tc, ok3 := rec.Column(2).(*array.Int64)
			if !ok3 || tc.NullN() > 0 {
				return fmt.Errorf("unexpected columns %s", rec.Schema())
			}
			b.t = tc.Int64Values()
		}
		rec.Retain()
		recs = append(recs, rec)
		for _, c := range b.c {
			if c < 0 || int(c) >= cells {
				return fmt.Errorf("%s: cell %d out of range", qname, c)
			}
			counts[c+1]++
		}
		kept = append(kept, b)
		return nil
	})
	if err != nil {
		return nil, nil, nil, fmt.Errorf("read values: %w", err)
	}
	for c := 1; c <= cells; c++ {
		counts[c] += counts[c-1]
	}
	if counts[cells] > math.MaxInt32 {
		return nil, nil, nil, fmt.Errorf("read values: %d values: too many for one read", counts[cells])
	}
	v = make([]float64, counts[cells])
	if withTS {
		t = make([]int64, counts[cells])
	}
	next := append([]int(nil), counts[:cells]...)
	for _, b := range kept {
		for i, c := range b.c {
			v[next[c]] = b.v[i]
			if withTS {
				t[next[c]] = b.t[i]
			}
			next[c]++
		}
	}
	off = make([]int32, cells+1)
	for c := range off {
		off[c] = int32(counts[c])
	}
	return off, v, t, nil
}
