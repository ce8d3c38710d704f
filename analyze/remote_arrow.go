//go:build duckdb_arrow

package analyze

import (
	"context"
	"database/sql/driver"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/arrow/memory"
	duckdb "github.com/duckdb/duckdb-go/v2"
)

var sampleRowsSchema = arrow.NewSchema([]arrow.Field{
	{Name: "series_id", Type: arrow.PrimitiveTypes.Int64},
	{Name: "ts", Type: arrow.PrimitiveTypes.Int64},
	{Name: "value", Type: arrow.PrimitiveTypes.Float64},
}, nil)

// appendSamples inserts the rows into cat's samples table, in their order,
// through DuckDB's Arrow interface: the slices are handed over as they
// are, where an appender's rows cost a cgo call a value.
func appendSamples(ctx context.Context, c driver.Conn, cat string, ids, ts []int64, vs []float64) error {
	if len(ids) == 0 {
		return nil
	}
	ar, err := duckdb.NewArrowFromConn(c)
	if err != nil {
		return err
	}
	col := func(t arrow.DataType, b []byte) arrow.Array {
		d := array.NewData(t, len(ids), []*memory.Buffer{nil, memory.NewBufferBytes(b)}, nil, 0, 0)
		defer d.Release()
		return array.MakeFromData(d)
	}
	cols := []arrow.Array{
		col(arrow.PrimitiveTypes.Int64, arrow.Int64Traits.CastToBytes(ids)),
		col(arrow.PrimitiveTypes.Int64, arrow.Int64Traits.CastToBytes(ts)),
		col(arrow.PrimitiveTypes.Float64, arrow.Float64Traits.CastToBytes(vs)),
	}
	rec := array.NewRecordBatch(sampleRowsSchema, cols, int64(len(ids)))
	for _, a := range cols {
		a.Release()
	}
	defer rec.Release()
	rr, err := array.NewRecordReader(sampleRowsSchema, []arrow.RecordBatch{rec})
	if err != nil {
		return err
	}
	defer rr.Release()
	release, err := ar.RegisterView(rr, "vigil_source_rows")
	if err != nil {
		return err
	}
	defer release()
	_, err = c.(driver.ExecerContext).ExecContext(ctx, "INSERT INTO "+cat+".main.samples SELECT series_id, ts, value FROM vigil_source_rows", nil)
	return err
}
