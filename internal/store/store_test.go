package store

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
)

func openTemp(t testing.TB) *Store {
	t.Helper()
	s, err := Open(context.Background(), filepath.Join(t.TempDir(), "v.db"), Options{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	return s
}

func TestWriteAndMetricsView(t *testing.T) {
	ctx := context.Background()
	s := openTemp(t)
	n, err := s.Write(ctx, []Sample{
		{Name: "http_requests_total", Type: Counter, Labels: map[string]string{"method": "GET", "code": "200"}, Service: "api", TS: 1000, Value: 1},
		{Name: "http_requests_total", Type: Counter, Labels: map[string]string{"code": "200", "method": "GET"}, Service: "api", TS: 2500, Value: 2},
		{Name: "temp", Type: Gauge, TS: 3000, Value: -4.5},
	})
	if err != nil || n != 3 {
		t.Fatalf("Write = %d, %v", n, err)
	}
	var series int
	s.db.QueryRow("SELECT count(*) FROM series").Scan(&series)
	if series != 2 {
		t.Errorf("series = %d, want 2 (label order must not create a new series)", series)
	}
	rows, err := s.db.Query("SELECT timestamp, name, type, value, labels, service_name FROM metrics ORDER BY timestamp")
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	var got []string
	for rows.Next() {
		var ts, v float64
		var name, typ, labels, svc string
		rows.Scan(&ts, &name, &typ, &v, &labels, &svc)
		got = append(got, fmt.Sprintf("%g %s %s %g %s %q", ts, name, typ, v, labels, svc))
	}
	want := []string{
		`1 http_requests_total counter 1 {"code":"200","method":"GET"} "api"`,
		`2.5 http_requests_total counter 2 {"code":"200","method":"GET"} "api"`,
		`3 temp gauge -4.5 {} ""`,
	}
	if strings.Join(got, "\n") != strings.Join(want, "\n") {
		t.Errorf("metrics view:\n%s\nwant:\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
}

func TestWriteIsAtomic(t *testing.T) {
	ctx := context.Background()
	s := openTemp(t)
	batch := make([]Sample, 0, 1001)
	for i := 0; i < 1000; i++ {
		batch = append(batch, Sample{Name: "ok_total", Type: Counter, Labels: map[string]string{"i": fmt.Sprint(i % 7)}, TS: int64(i), Value: 1})
	}
	batch = append(batch, Sample{Name: "ok_total", Type: Gauge, TS: 5, Value: 1})
	if _, err := s.Write(ctx, batch); err == nil || !strings.Contains(err.Error(), "is a counter, not a gauge") {
		t.Fatalf("Write with type clash: err = %v", err)
	}
	var n int
	s.db.QueryRow("SELECT (SELECT count(*) FROM samples) + (SELECT count(*) FROM series)").Scan(&n)
	if n != 0 {
		t.Errorf("store has %d rows after a failed write, want 0", n)
	}
	// The rolled-back series must not linger in the in-memory index.
	if _, err := s.Write(ctx, []Sample{{Name: "ok_total", Type: Counter, Labels: map[string]string{"i": "1"}, TS: 1, Value: 1}}); err != nil {
		t.Fatal(err)
	}
	s.db.QueryRow("SELECT count(*) FROM series").Scan(&n)
	if n != 1 {
		t.Errorf("series = %d, want 1", n)
	}
}

func TestValidation(t *testing.T) {
	long := strings.Repeat("x", MaxLabelValueBytes+1)
	many := map[string]string{}
	for i := 0; i <= MaxLabels; i++ {
		many[fmt.Sprintf("l%d", i)] = "v"
	}
	cases := []struct {
		s    Sample
		want string
	}{
		{Sample{Name: "", Type: Gauge}, "empty metric name"},
		{Sample{Name: "1abc", Type: Gauge}, "invalid metric name"},
		{Sample{Name: "a-b", Type: Gauge}, "invalid metric name"},
		{Sample{Name: "a", Type: "summary"}, "unknown type"},
		{Sample{Name: "a", Type: Gauge, Labels: map[string]string{"0x": "v"}}, "invalid label name"},
		{Sample{Name: "a", Type: Gauge, Labels: map[string]string{"a.b": "v"}}, "invalid label name"},
		{Sample{Name: "a", Type: Gauge, Labels: map[string]string{"k": long}}, "over the limit"},
		{Sample{Name: "a", Type: Gauge, Labels: many}, "more than the limit of 64"},
		{Sample{Name: "a", Type: Counter, Value: -1}, "negative"},
	}
	for _, c := range cases {
		err := c.s.Validate()
		if err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("Validate(%+v) = %v, want %q", c.s.Name, err, c.want)
		}
	}
	ok := Sample{Name: "ns:metric_total", Type: Counter, Labels: map[string]string{"_x1": "v"}, Value: 0}
	if err := ok.Validate(); err != nil {
		t.Errorf("valid sample rejected: %v", err)
	}
}

func TestCanonicalLabels(t *testing.T) {
	got := CanonicalLabels(map[string]string{"z": "<&>", "a": "q\"uote"})
	want := `{"a":"q\"uote","z":"<&>"}`
	if got != want {
		t.Errorf("CanonicalLabels = %s, want %s", got, want)
	}
}

func TestVersionAndNotStore(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	p := filepath.Join(dir, "v.db")
	s, err := Open(ctx, p, Options{})
	if err != nil {
		t.Fatal(err)
	}
	s.db.Exec(fmt.Sprintf("PRAGMA user_version = %d", Version+1))
	s.Close()
	if _, err := Open(ctx, p, Options{}); err == nil || !strings.Contains(err.Error(), "newer than this vigil") {
		t.Errorf("newer store: err = %v", err)
	}
	junk := filepath.Join(dir, "junk.db")
	os.WriteFile(junk, []byte(strings.Repeat("not sqlite at all ", 100)), 0o644)
	if _, err := Open(ctx, junk, Options{ReadOnly: true}); err == nil || !strings.Contains(err.Error(), "not a vigil store") {
		t.Errorf("junk file: err = %v", err)
	}
	if _, err := Open(ctx, filepath.Join(dir, "missing.db"), Options{ReadOnly: true}); err == nil || !strings.Contains(err.Error(), "no such file") {
		t.Errorf("missing file: err = %v", err)
	}
}

func TestAppendOnlyAndDeleteCounting(t *testing.T) {
	ctx := context.Background()
	s := openTemp(t)
	var batch []Sample
	for i := 0; i < 10; i++ {
		batch = append(batch, Sample{Name: "g", Type: Gauge, TS: int64(i * 1000), Value: float64(i)})
	}
	if _, err := s.Write(ctx, batch); err != nil {
		t.Fatal(err)
	}
	if _, err := s.db.Exec("UPDATE samples SET value = 0"); err == nil || !strings.Contains(err.Error(), "append-only") {
		t.Errorf("update: err = %v", err)
	}
	n, err := s.Prune(ctx, 4000, 3)
	if err != nil || n != 4 {
		t.Fatalf("Prune = %d, %v; want 4", n, err)
	}
	m, err := ReadMeta(ctx, s.db)
	if err != nil {
		t.Fatal(err)
	}
	if m.HorizonMS != 4000 || m.DeletedSamples != 4 || len(m.StoreID) != 32 {
		t.Errorf("meta = %+v, want horizon 4000, 4 deleted", m)
	}
	// A manual delete is counted too.
	s.db.Exec("DELETE FROM samples WHERE ts = 9000")
	m, _ = ReadMeta(ctx, s.db)
	if m.DeletedSamples != 5 {
		t.Errorf("deleted = %d after a manual delete, want 5", m.DeletedSamples)
	}
	// Prune never moves the horizon back.
	s.Prune(ctx, 1000, 10)
	m, _ = ReadMeta(ctx, s.db)
	if m.HorizonMS != 4000 {
		t.Errorf("horizon = %d, want 4000", m.HorizonMS)
	}
}

// BenchmarkWrite measures the store's ingest rate (target: >= 1M rows/s).
func BenchmarkWrite(b *testing.B) { benchWrite(b, false) }

// BenchmarkWriteWithIndex is the same with an index on samples(series_id,
// ts): the cost docs/storage.md cites for not having one.
func BenchmarkWriteWithIndex(b *testing.B) { benchWrite(b, true) }

func benchWrite(b *testing.B, index bool) {
	ctx := context.Background()
	s := openTemp(b)
	if index {
		if _, err := s.db.Exec("CREATE INDEX samples_series_ts ON samples(series_id, ts)"); err != nil {
			b.Fatal(err)
		}
	}
	tx, err := s.Begin(ctx)
	if err != nil {
		b.Fatal(err)
	}
	ids := make([]int64, 1000)
	for i := range ids {
		ids[i], err = tx.Series(ctx, "bench_metric", Histogram, map[string]string{"series": fmt.Sprint(i)}, "")
		if err != nil {
			b.Fatal(err)
		}
	}
	if _, err := tx.Commit(ctx); err != nil {
		b.Fatal(err)
	}
	b.ResetTimer()
	const perTx = 100000
	for done := 0; done < b.N; {
		tx, _ := s.Begin(ctx)
		for j := 0; j < perTx && done < b.N; j++ {
			// Timestamps interleave across series, as a live agent writes them.
			if err := tx.Append(ctx, ids[(done*7919)%1000], int64(done/1000), float64(done%977)); err != nil {
				b.Fatal(err)
			}
			done++
		}
		if _, err := tx.Commit(ctx); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "rows/s")
}

// A writer's series cache is bounded: past MaxCachedSeries it starts over,
// and lookups, type clashes and new series still answer from the store.
func TestSeriesCacheIsBounded(t *testing.T) {
	old := MaxCachedSeries
	MaxCachedSeries = 3
	defer func() { MaxCachedSeries = old }()
	ctx := context.Background()
	p := filepath.Join(t.TempDir(), "v.db")
	s, err := Open(ctx, p, Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	var samples []Sample
	for i := 0; i < 10; i++ {
		samples = append(samples, Sample{Name: "m", Type: Gauge, Labels: map[string]string{"i": strconv.Itoa(i)}, TS: 1795946400000, Value: 1})
	}
	if _, err := s.Write(ctx, samples); err != nil {
		t.Fatal(err)
	}
	if len(s.series) > 3 {
		t.Errorf("cache holds %d series, want at most 3", len(s.series))
	}
	// Known series again (same ids), and a clash with the type on disk.
	if _, err := s.Write(ctx, samples); err != nil {
		t.Fatal(err)
	}
	var n int
	s.db.QueryRow("SELECT count(*) FROM series").Scan(&n)
	if n != 10 {
		t.Errorf("%d series, want 10", n)
	}
	_, err = s.Write(ctx, []Sample{{Name: "m", Type: Counter, Labels: map[string]string{"i": "new"}, TS: 1795946400000, Value: 1}})
	if !IsInvalid(err) {
		t.Errorf("type clash past the cache: %v", err)
	}
	// A reopened writer on a store bigger than the bound loads nothing.
	s2, err := Open(ctx, p, Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer s2.Close()
	if _, err := s2.Write(ctx, samples[:1]); err != nil || len(s2.series) > 3 {
		t.Errorf("reopened: %v, %d cached", err, len(s2.series))
	}
}

// Once an insert fails, the transaction refuses everything else (SQLite may
// have rolled it back by itself, and a later statement would then commit on
// its own) and Commit reports the failure.
func TestFailedInsertBreaksTx(t *testing.T) {
	ctx := context.Background()
	s, err := Open(ctx, filepath.Join(t.TempDir(), "v.db"), Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	if _, err := s.db.Exec(`CREATE TRIGGER boom BEFORE INSERT ON samples WHEN NEW.value = 666 BEGIN SELECT RAISE(ABORT, 'boom'); END`); err != nil {
		t.Fatal(err)
	}
	tx, err := s.Begin(ctx)
	if err != nil {
		t.Fatal(err)
	}
	id, err := tx.Series(ctx, "m", Gauge, nil, "")
	if err != nil {
		t.Fatal(err)
	}
	if err := tx.AppendRows(ctx, []int64{id}, []int64{1795946400000}, []float64{666}); err != nil {
		t.Fatal(err) // buffered: the insert runs on flush
	}
	if _, err := tx.Commit(ctx); err == nil || !strings.Contains(err.Error(), "boom") {
		t.Fatalf("Commit = %v, want the insert's error", err)
	}
	tx, _ = s.Begin(ctx)
	id, _ = tx.Series(ctx, "m", Gauge, nil, "")
	rows := make([]int64, rowsPerInsert)
	ts := make([]int64, rowsPerInsert)
	vs := make([]float64, rowsPerInsert)
	for i := range rows {
		rows[i], ts[i], vs[i] = id, 1795946400000, 666
	}
	if err := tx.AppendRows(ctx, rows, ts, vs); err == nil {
		t.Fatal("a full batch that fails to insert gave no error")
	}
	if _, err := tx.Series(ctx, "other", Gauge, nil, ""); err == nil || !strings.Contains(err.Error(), "boom") {
		t.Errorf("Series after a failed insert = %v, want the failure", err)
	}
	if _, err := tx.Commit(ctx); err == nil {
		t.Error("Commit after a failed insert succeeded")
	}
	var n int
	s.db.QueryRow("SELECT count(*) FROM series").Scan(&n)
	if n != 0 {
		t.Errorf("%d series stored, want 0", n)
	}
}
