//go:build !duckdb_arrow

package analyze

import "context"

// rawSamplesArrow needs DuckDB's Arrow interface (the duckdb_arrow tag);
// without it RawSamples reads through database/sql, with the same rows.
func (d *DB) rawSamplesArrow(context.Context, [][]RawSample, []any) (bool, error) {
	return false, nil
}
