//go:build duckdb_arrow

package analyze

import (
	"context"
	"database/sql/driver"
	"fmt"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	duckdb "github.com/duckdb/duckdb-go/v2"

	"github.com/vigil-metrics/vigil/queries"
)

// cellValuesTS reads buckets_values_ts through Arrow: each cell's values
// and their times, in the order the rows come (a counting sort, as
// groupValuesOf places them).
func (d *DB) cellValuesTS(ctx context.Context, args []any, cells int) (vals [][]float64, ts [][]int64, err error) {
	if err := d.flushRemotes(ctx); err != nil {
		return nil, nil, err
	}
	err = d.conn.Raw(func(dc any) error {
		c, isDuck := dc.(driver.Conn)
		if !isDuck {
			return fmt.Errorf("not a DuckDB connection")
		}
		ar, err := duckdb.NewArrowFromConn(c)
		if err != nil {
			return err
		}
		rr, err := ar.QueryContext(ctx, queries.Get("buckets_values_ts"), args...)
		if err != nil {
			return err
		}
		defer rr.Release()
		var recs []arrow.RecordBatch
		defer func() {
			for _, r := range recs {
				r.Release()
			}
		}()
		type batch struct {
			c []int32
			v []float64
			t []int64
		}
		var kept []batch
		counts := make([]int, cells+1)
		for rr.Next() {
			rec := rr.RecordBatch()
			cc, ok1 := rec.Column(0).(*array.Int32)
			vc, ok2 := rec.Column(1).(*array.Float64)
			tc, ok3 := rec.Column(2).(*array.Int64)
			if !ok1 || !ok2 || !ok3 || cc.NullN()+vc.NullN()+tc.NullN() > 0 {
				return fmt.Errorf("unexpected columns %s", rec.Schema())
			}
			rec.Retain()
			recs = append(recs, rec)
			b := batch{cc.Int32Values(), vc.Float64Values(), tc.Int64Values()}
			for _, c := range b.c {
				if c < 0 || int(c) >= cells {
					return fmt.Errorf("buckets_values_ts: cell %d out of range", c)
				}
				counts[c+1]++
			}
			kept = append(kept, b)
		}
		if err := rr.Err(); err != nil {
			return err
		}
		for c := 1; c <= cells; c++ {
			counts[c] += counts[c-1]
		}
		flatV, flatT := make([]float64, counts[cells]), make([]int64, counts[cells])
		next := append([]int(nil), counts[:cells]...)
		for _, b := range kept {
			for i, c := range b.c {
				flatV[next[c]], flatT[next[c]] = b.v[i], b.t[i]
				next[c]++
			}
		}
		vals, ts = make([][]float64, cells), make([][]int64, cells)
		for c := range vals {
			vals[c] = flatV[counts[c]:counts[c+1]:counts[c+1]]
			ts[c] = flatT[counts[c]:counts[c+1]:counts[c+1]]
		}
		return nil
	})
	if err != nil {
		return nil, nil, fmt.Errorf("read values: %w", err)
	}
	return vals, ts, nil
}
