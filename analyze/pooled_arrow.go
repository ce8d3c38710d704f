//go:build duckdb_arrow

package analyze

import (
	"context"
	"database/sql/driver"
	"fmt"

	"github.com/apache/arrow-go/v18/arrow/array"
	duckdb "github.com/duckdb/duckdb-go/v2"

	"github.com/vigil-metrics/vigil/queries"
)

// eachValueBatch streams agg_values' rows (group, value) over (start, end]
// through Arrow to fn, batch by batch, keeping none: the pooled exact sums
// (pooled_go.go) need every value once, not the values in memory.
func (d *DB) eachValueBatch(ctx context.Context, start, end, set int64, fn func(g []int32, v []float64)) (bool, error) {
	// A source's rows held in Go (remote_held.go) must be in DuckDB
	// before agg_values reads the samples table.
	if err := d.flushRemotes(ctx); err != nil {
		return false, err
	}
	err := d.conn.Raw(func(dc any) error {
		c, isDuck := dc.(driver.Conn)
		if !isDuck {
			return fmt.Errorf("not a DuckDB connection")
		}
		ar, err := duckdb.NewArrowFromConn(c)
		if err != nil {
			return err
		}
		rr, err := ar.QueryContext(ctx, queries.Get("agg_values"), start, end, set)
		if err != nil {
			return err
		}
		defer rr.Release()
		for rr.Next() {
			rec := rr.RecordBatch()
			gc, ok1 := rec.Column(0).(*array.Int32)
			vc, ok2 := rec.Column(1).(*array.Float64)
			if !ok1 || !ok2 || gc.NullN() > 0 || vc.NullN() > 0 {
				return fmt.Errorf("unexpected columns %s", rec.Schema())
			}
			fn(gc.Int32Values(), vc.Float64Values())
		}
		return rr.Err()
	})
	if err != nil {
		return false, fmt.Errorf("read values: %w", err)
	}
	return true, nil
}
