package analyze

import (
	"context"
	"database/sql"
	"fmt"
	"math"
	"path/filepath"
	"sort"
	"testing"
	"time"

	_ "github.com/duckdb/duckdb-go/v2"

	"github.com/vigil-metrics/vigil/internal/demo"
	"github.com/vigil-metrics/vigil/internal/store"
)

var exportAt = time.Date(2026, 11, 29, 12, 0, 0, 0, time.UTC)

// storeRows are a store's samples in [since, until) as "ts_ms name type
// labels service value" lines, sorted, with their count and sum.
func storeRows(t *testing.T, p string, since, until int64) ([]string, int64, float64) {
	t.Helper()
	st, err := store.Open(context.Background(), p, store.Options{ReadOnly: true})
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	rows, err := st.DBForTest().Query(`SELECT s.ts, se.name, se.type, se.labels, se.service, s.value
		FROM samples s JOIN series se ON se.id = s.series_id WHERE s.ts >= ? AND s.ts < ?`, since, until)
	if err != nil {
		t.Fatal(err)
	}
	return scanRows(t, rows)
}

func scanRows(t *testing.T, rows *sql.Rows) ([]string, int64, float64) {
	t.Helper()
	defer rows.Close()
	var out []string
	var n int64
	var sum float64
	for rows.Next() {
		var ts int64
		var name, typ, labels, service string
		var v float64
		if err := rows.Scan(&ts, &name, &typ, &labels, &service, &v); err != nil {
			t.Fatal(err)
		}
		out = append(out, fmt.Sprintf("%d %s %s %s %q %v", ts, name, typ, labels, service, v))
		n++
		sum += v
	}
	if err := rows.Err(); err != nil {
		t.Fatal(err)
	}
	sort.Strings(out)
	return out, n, sum
}

// exportedRows reads an export back with DuckDB, as a user would.
func exportedRows(t *testing.T, dir, format string) ([]string, int64, float64, []string) {
	t.Helper()
	db, err := sql.Open("duckdb", "")
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	if _, err := db.Exec("SET TimeZone = 'UTC'"); err != nil {
		t.Fatal(err)
	}
	src := fmt.Sprintf("read_parquet(%s, hive_partitioning = true)", sqlString(filepath.Join(dir, "*", "*.parquet")))
	if format == "csv" {
		src = fmt.Sprintf("read_csv(%s, hive_partitioning = true, header = true, allow_quoted_nulls = false)", sqlString(filepath.Join(dir, "*", "*.csv")))
	}
	// The columns keep their types: ts a UTC timestamp, value a double.
	var tsType, valueType string
	if err := db.QueryRow("SELECT typeof(ts), typeof(value) FROM "+src+" LIMIT 1").Scan(&tsType, &valueType); err != nil {
		t.Fatal(err)
	}
	if tsType != "TIMESTAMP WITH TIME ZONE" || valueType != "DOUBLE" {
		t.Errorf("%s: ts is %s and value %s, want TIMESTAMP WITH TIME ZONE and DOUBLE", format, tsType, valueType)
	}
	rows, err := db.Query("SELECT epoch_ms(ts), name, type, labels::VARCHAR, service, value FROM " + src)
	if err != nil {
		t.Fatal(err)
	}
	r, n, sum := scanRows(t, rows)
	// Each day's rows are in that day's folder.
	drows, err := db.Query("SELECT DISTINCT day::VARCHAR FROM " + src + " WHERE strftime(ts, '%Y-%m-%d') <> day::VARCHAR")
	if err != nil {
		t.Fatal(err)
	}
	var wrong []string
	for drows.Next() {
		var d string
		drows.Scan(&d)
		wrong = append(wrong, d)
	}
	drows.Close()
	return r, n, sum, wrong
}

func writeStore(t *testing.T, p string, samples []store.Sample) {
	t.Helper()
	st, err := store.Open(context.Background(), p, store.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	if _, err := st.Write(context.Background(), samples); err != nil {
		t.Fatal(err)
	}
}

// On a small store the exported rows are exactly the store's, in both
// formats, with and without bounds.
func TestExportSmallStoreExact(t *testing.T) {
	dir := t.TempDir()
	p := filepath.Join(dir, "v.db")
	day := 24 * time.Hour
	ms := func(d time.Duration) int64 { return exportAt.Add(d).UnixMilli() }
	writeStore(t, p, []store.Sample{
		{Name: "requests_total", Type: store.Counter, Labels: map[string]string{"status": "200", "path": "/a,b\"c"}, Service: "api", TS: ms(-2*day + 123*time.Millisecond), Value: 3},
		{Name: "requests_total", Type: store.Counter, Labels: map[string]string{"status": "500"}, Service: "api", TS: ms(-day), Value: 1},
		{Name: "cpu_usage_percent", Type: store.Gauge, Labels: map[string]string{"host": "h1"}, TS: ms(-day - time.Minute), Value: 42.5},
		{Name: "cpu_usage_percent", Type: store.Gauge, Labels: map[string]string{"host": "h1"}, TS: ms(-time.Hour), Value: -0.25},
		{Name: "latency_ms", Type: store.Histogram, Labels: map[string]string{}, Service: "web", TS: ms(-12 * time.Hour), Value: 1e-300},
		{Name: "latency_ms", Type: store.Histogram, Labels: map[string]string{}, Service: "web", TS: ms(0), Value: 1.7976931348623157e308},
	})
	cases := []struct {
		name         string
		since, until int64
	}{
		{"all", math.MinInt64, math.MaxInt64},
		{"bounded", ms(-day), ms(0)}, // since inclusive, until exclusive
	}
	for _, c := range cases {
		want, wn, wsum := storeRows(t, p, c.since, c.until)
		if c.name == "bounded" && wn != 3 {
			t.Fatalf("bounded: the store has %d rows in [since, until), want 3 (since inclusive, until exclusive)", wn)
		}
		for _, format := range []string{"parquet", "csv"} {
			t.Run(c.name+"/"+format, func(t *testing.T) {
				out := filepath.Join(t.TempDir(), "out")
				n, err := Export(context.Background(), []string{p}, t.TempDir(), format, out, c.since, c.until)
				if err != nil {
					t.Fatal(err)
				}
				got, gn, gsum, wrong := exportedRows(t, out, format)
				if n != wn || gn != wn || gsum != wsum {
					t.Errorf("wrote %d, read back %d rows summing to %v; store has %d summing to %v", n, gn, gsum, wn, wsum)
				}
				if fmt.Sprint(got) != fmt.Sprint(want) {
					t.Errorf("rows:\n%q\nwant:\n%q", got, want)
				}
				if len(wrong) > 0 {
					t.Errorf("rows in the wrong day folder: %v", wrong)
				}
			})
		}
	}
}

// A day and a half of the demo dataset: the export holds every row (count
// and sum of values), each in its day's folder.
func TestExportDemoCountAndSum(t *testing.T) {
	if testing.Short() {
		t.Skip("generates a day of demo data")
	}
	dir := t.TempDir()
	p := filepath.Join(dir, "demo.db")
	st, err := store.Open(context.Background(), p, store.Options{})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := demo.Generate(context.Background(), st, demo.Options{End: exportAt, Span: 36 * time.Hour, Seed: 1}); err != nil {
		t.Fatal(err)
	}
	st.Close()
	_, wn, wsum := storeRows(t, p, math.MinInt64, math.MaxInt64)
	for _, format := range []string{"parquet", "csv"} {
		out := filepath.Join(t.TempDir(), "out")
		if _, err := Export(context.Background(), []string{p}, "", format, out, math.MinInt64, math.MaxInt64); err != nil {
			t.Fatal(err)
		}
		_, gn, gsum, wrong := exportedRows(t, out, format)
		if gn != wn || math.Abs(gsum-wsum) > 1e-9*math.Abs(wsum) {
			t.Errorf("%s: read back %d rows summing to %v; store has %d summing to %v", format, gn, gsum, wn, wsum)
		}
		if len(wrong) > 0 {
			t.Errorf("%s: rows in the wrong day folder: %v", format, wrong)
		}
	}
}
