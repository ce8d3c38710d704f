package demo

import (
	"context"
	"path/filepath"
	"testing"
	"time"

	"github.com/vigil-metrics/vigil/internal/store"
)

func generate(t *testing.T, seed uint64) *store.Store {
	t.Helper()
	st, err := store.Open(context.Background(), filepath.Join(t.TempDir(), "d.db"), store.Options{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	end := time.Date(2026, 11, 29, 12, 0, 0, 0, time.UTC)
	if _, err := Generate(context.Background(), st, Options{End: end, Span: 6 * time.Hour, Seed: seed}); err != nil {
		t.Fatal(err)
	}
	return st
}

func errorRatio(t *testing.T, st *store.Store, service string, from, to time.Time) float64 {
	t.Helper()
	var ratio float64
	err := st.DBForTest().QueryRow(`SELECT sum(CASE WHEN json_extract(labels, '$.status') = '500' THEN value ELSE 0 END) / sum(value)
		FROM metrics WHERE name = 'http_requests_total' AND service_name = ? AND timestamp > ? AND timestamp <= ?`,
		service, from.Unix(), to.Unix()).Scan(&ratio)
	if err != nil {
		t.Fatal(err)
	}
	return ratio
}

// The dataset is reproducible, and its incident shows: the api's error
// ratio jumps from ~0.2% to ~4% in the last two hours, the web's does not.
func TestDataset(t *testing.T) {
	a, b := generate(t, 1), generate(t, 1)
	var sumA, sumB float64
	var nA, nB int
	a.DBForTest().QueryRow("SELECT count(*), sum(value) FROM samples").Scan(&nA, &sumA)
	b.DBForTest().QueryRow("SELECT count(*), sum(value) FROM samples").Scan(&nB, &sumB)
	if nA == 0 || nA != nB || sumA != sumB {
		t.Errorf("two runs with one seed differ: %d/%v vs %d/%v", nA, sumA, nB, sumB)
	}
	end := time.Date(2026, 11, 29, 12, 0, 0, 0, time.UTC)
	from, _ := Incident(end)
	before := errorRatio(t, a, "api", end.Add(-6*time.Hour), from)
	during := errorRatio(t, a, "api", from, end)
	web := errorRatio(t, a, "web", from, end)
	if before > 0.01 || during < 0.03 || during > 0.05 || web > 0.01 {
		t.Errorf("error ratios: api before %.4f, during %.4f; web during %.4f", before, during, web)
	}
	var names int
	a.DBForTest().QueryRow("SELECT count(DISTINCT name) FROM series").Scan(&names)
	if names != 6 { // cpu, memory, requests, latency, two SLI counters
		t.Errorf("%d metric names, want 6", names)
	}
}
