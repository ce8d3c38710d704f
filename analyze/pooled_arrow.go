//go:build duckdb_arrow

package analyze

import (
	"context"
	"fmt"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
)

// eachValueBatch streams agg_values' rows (group, value) over (start, end]
// through Arrow to fn, batch by batch, keeping none: the pooled exact sums
// (pooled_go.go) need every value once, not the values in memory.
func (d *DB) eachValueBatch(ctx context.Context, start, end, set int64, fn func(g []int32, v []float64)) (bool, error) {
	err := d.eachArrowBatch(ctx, "agg_values", []any{start, end, set}, func(rec arrow.RecordBatch) error {
		gc, ok1 := rec.Column(0).(*array.Int32)
		vc, ok2 := rec.Column(1).(*array.Float64)
		if !ok1 || !ok2 || gc.NullN() > 0 || vc.NullN() > 0 {
			return fmt.Errorf("unexpected columns %s", rec.Schema())
		}
		fn(gc.Int32Values(), vc.Float64Values())
		return nil
	})
	if err != nil {
		return false, fmt.Errorf("read values: %w", err)
	}
	return true, nil
}
