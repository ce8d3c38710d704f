//go:build !duckdb_arrow

package analyze

import "context"

// eachValueBatch needs DuckDB's Arrow interface (values_noarrow.go): the
// pooled exact sums then come from agg_exact_parts.
func (d *DB) eachValueBatch(context.Context, int64, int64, int64, func([]int32, []float64)) (bool, error) {
	return false, nil
}
