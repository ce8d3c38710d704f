//go:build !duckdb_arrow

package analyze

import (
	"context"
	"database/sql/driver"

	duckdb "github.com/duckdb/duckdb-go/v2"
)

// appendSamples inserts the rows into cat's samples table, in their
// order, by an appender (without the Arrow interface).
func appendSamples(_ context.Context, c driver.Conn, cat string, ids, ts []int64, vs []float64) error {
	a, err := duckdb.NewAppender(c, cat, "main", "samples")
	if err != nil {
		return err
	}
	for i := range ids {
		if err := a.AppendRow(ids[i], ts[i], vs[i]); err != nil {
			a.Close()
			return err
		}
	}
	return a.Close()
}
