//go:build !duckdb_arrow

package analyze

import "context"

// groupValues needs DuckDB's Arrow interface, which duckdb-go builds only
// with the duckdb_arrow tag (the Makefile sets it); without it percentiles
// fall back to quantile_cont, with the same answers, slower.
func (d *DB) groupValues(context.Context, int64, int64, int64, int) ([][]float64, bool, error) {
	return nil, false, nil
}

// arrowBuild says this build reads values through Arrow.
const arrowBuild = false

func (d *DB) groupValuesOf(context.Context, string, []any, int) ([][]float64, bool, error) {
	return nil, false, nil
}

// wholeCellRows is not called without Arrow (wholeCells reads the rows
// through database/sql).
func (d *DB) wholeCellRows(context.Context, []any, int, int, []cell) (bool, error) {
	return false, nil
}

// flatCells is not called without Arrow (SlidingMany reads nothing
// itself there).
func (d *DB) flatCells(context.Context, []any, int, bool) ([]int32, []float64, []int64, error) {
	return nil, nil, nil, nil
}
