package analyze

import (
	"context"
	"testing"
	"time"

	"github.com/vigil-metrics/vigil/analyze/promsrc"
	"github.com/vigil-metrics/vigil/internal/metricpath"
	"github.com/vigil-metrics/vigil/internal/promtest"
	"github.com/vigil-metrics/vigil/internal/sources"
)

// A percentile over a Prometheus source alone is selected from the rows
// as fetched: none goes into DuckDB for it (issue 26: the insert and the
// read back were most of remote read's time). An aggregation in SQL then
// inserts them, and the percentiles after it answer the same.
func TestRemotePercentileSkipsInsert(t *testing.T) {
	end := promtest.FixtureEnd
	// h=a holds 1..101, h=b 2, 4, ..., 202, one sample each 10 s.
	a := promtest.Series{Name: "held_v", Family: "held_v", Type: "gauge", Labels: map[string]string{"h": "a"}}
	b := promtest.Series{Name: "held_v", Family: "held_v", Type: "gauge", Labels: map[string]string{"h": "b"}}
	for k := 0; k <= 100; k++ {
		ms := end - int64(100-k)*10_000
		a.Points = append(a.Points, promtest.Sample{MS: ms, Value: float64(k + 1)})
		b.Points = append(b.Points, promtest.Sample{MS: ms, Value: float64(2 * (k + 1))})
	}
	om, _ := promtest.Fixture([]promtest.Series{a, b})
	srv := promtest.Start(t, promtest.Blocks(t, om))
	ctx := context.Background()
	off := false
	db, err := Open(ctx, []string{srv.URL}, Options{CacheDir: t.TempDir(), Timeout: 30 * time.Second,
		Sources: map[string]promsrc.Config{srv.URL: {Pushdown: &off, ReadAPI: sources.ReadRemote}}})
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	win := Window{At: time.UnixMilli(end), Length: time.Hour}
	rows := func() int {
		var n int
		if err := db.conn.QueryRowContext(ctx, "SELECT count(*) FROM c0.main.samples").Scan(&n); err != nil {
			t.Fatal(err)
		}
		return n
	}
	check := func(path string, want map[string]float64) {
		t.Helper()
		e, err := metricpath.Parse(path)
		if err != nil {
			t.Fatal(err)
		}
		rs, err := db.Eval(ctx, e, win)
		if err != nil {
			t.Fatal(err)
		}
		if len(rs) != len(want) {
			t.Fatalf("%s: %v, want %v", path, rs, want)
		}
		for _, r := range rs {
			if w, ok := want[r.Labels["h"]]; !ok || r.Value != w || r.Samples != 101 {
				t.Errorf("%s: %v = %v (%d samples), want %v (101)", path, r.Labels, r.Value, r.Samples, w)
			}
		}
	}
	// Type 7: p50 is the 51st of 101 values, p90 the 91st, p99 the 100th.
	check("held_v.p50 by (h)", map[string]float64{"a": 51, "b": 102})
	if n := rows(); n != 0 {
		t.Errorf("%d rows inserted into DuckDB for a percentile over a source alone", n)
	}
	check("held_v.avg by (h)", map[string]float64{"a": 51, "b": 102})
	if n := rows(); n != 202 {
		t.Errorf("%d rows in DuckDB after an average, want 202", n)
	}
	check("held_v.p99 by (h)", map[string]float64{"a": 100, "b": 200})
	check("held_v.p90 by (h)", map[string]float64{"a": 91, "b": 182})
}
