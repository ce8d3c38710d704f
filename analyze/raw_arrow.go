//go:build duckdb_arrow

package analyze

import (
	"context"
	"fmt"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
)

// rawSamplesArrow reads raw_samples through Arrow, appending each row to
// its group in out. database/sql's Scan of a row (reflection, a
// conversion a column) was most of vigil serve's time over a day of
// 1,000 counter series (5.8M rows; docs/performance.md).
func (d *DB) rawSamplesArrow(ctx context.Context, out [][]RawSample, args []any) (bool, error) {
	err := d.eachArrowBatch(ctx, "raw_samples", args, func(rec arrow.RecordBatch) error {
		gc, ok1 := rec.Column(0).(*array.Int32)
		tc, ok2 := rec.Column(1).(*array.Int64)
		vc, ok3 := rec.Column(2).(*array.Float64)
		if !ok1 || !ok2 || !ok3 || gc.NullN()+tc.NullN()+vc.NullN() > 0 {
			return fmt.Errorf("raw_samples: unexpected columns %s", rec.Schema())
		}
		ts, vs := tc.Int64Values(), vc.Float64Values()
		for i, g := range gc.Int32Values() {
			if g < 0 || int(g) >= len(out) {
				return fmt.Errorf("raw_samples: group %d out of range", g)
			}
			out[g] = append(out[g], RawSample{TS: ts[i], Value: vs[i]})
		}
		return nil
	})
	return true, err
}
