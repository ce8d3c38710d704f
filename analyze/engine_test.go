package analyze

import (
	"bytes"
	"context"
	"fmt"
	"log/slog"
	"math"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/vigil-metrics/vigil/analyze/cache"
	"github.com/vigil-metrics/vigil/internal/metricpath"
	"github.com/vigil-metrics/vigil/internal/store"
)

// at is the evaluation instant of every test: 2026-11-29T10:00:00Z.
var at = time.Unix(1795946400, 0).UTC()

func atMS(offset time.Duration) int64 { return at.Add(offset).UnixMilli() }

type fixture struct {
	t        *testing.T
	dir      string
	cacheDir string
}

func newFixture(t *testing.T) *fixture {
	d := t.TempDir()
	return &fixture{t: t, dir: d, cacheDir: filepath.Join(d, "cache")}
}

func (f *fixture) write(name string, samples ...store.Sample) string {
	f.t.Helper()
	p := filepath.Join(f.dir, name)
	s, err := store.Open(context.Background(), p, store.Options{})
	if err != nil {
		f.t.Fatal(err)
	}
	defer s.Close()
	if _, err := s.Write(context.Background(), samples); err != nil {
		f.t.Fatal(err)
	}
	return p
}

func (f *fixture) query(path string, window time.Duration, stores ...string) ([]Result, *DB) {
	f.t.Helper()
	db, err := Open(context.Background(), stores, Options{CacheDir: f.cacheDir})
	if err != nil {
		f.t.Fatal(err)
	}
	defer db.Close()
	e, err := metricpath.Parse(path)
	if err != nil {
		f.t.Fatal(err)
	}
	rs, err := db.Eval(context.Background(), e, Window{At: at, Length: window})
	if err != nil {
		f.t.Fatalf("Eval(%s): %v", path, err)
	}
	return rs, db
}

func hist(name string, labels map[string]string, offset time.Duration, vals ...float64) []store.Sample {
	var out []store.Sample
	for i, v := range vals {
		out = append(out, store.Sample{Name: name, Type: store.Histogram, Labels: labels, TS: atMS(offset + time.Duration(i)*time.Second), Value: v})
	}
	return out
}

func one(t *testing.T, rs []Result) float64 {
	t.Helper()
	if len(rs) != 1 {
		t.Fatalf("got %d results %v, want 1", len(rs), rs)
	}
	return rs[0].Value
}

func near(a, b float64) bool { return math.Abs(a-b) <= 1e-9*math.Max(1, math.Abs(b)) }

func render(rs []Result) string {
	var parts []string
	for _, r := range rs {
		parts = append(parts, fmt.Sprintf("%s=%g/%d", store.CanonicalLabels(r.Labels), r.Value, r.Samples))
	}
	return strings.Join(parts, " ")
}

// Type-7 percentiles against numpy's published values:
// numpy.percentile([15, 20, 35, 40, 50], 40) == 29 and
// numpy.percentile(range(12), 25) == 2.75.
func TestPercentilesMatchNumpy(t *testing.T) {
	f := newFixture(t)
	var s []store.Sample
	s = append(s, hist("a_ms", nil, -time.Minute, 40, 15, 50, 20, 35)...)
	var twelve []float64
	for i := 11; i >= 0; i-- {
		twelve = append(twelve, float64(i))
	}
	s = append(s, hist("b_ms", nil, -time.Minute, twelve...)...)
	p := f.write("v.db", s...)
	cases := []struct {
		path string
		want float64
	}{
		{"a_ms.p40", 29}, {"a_ms.p50", 35}, {"a_ms.p0", 15}, {"a_ms.p100", 50}, {"a_ms.p90", 46},
		{"b_ms.p25", 2.75}, {"b_ms.p99.9", 10.989}, {"b_ms.p50", 5.5},
	}
	for _, c := range cases {
		rs, _ := f.query(c.path, 5*time.Minute, p)
		if got := one(t, rs); !near(got, c.want) {
			t.Errorf("%s = %v, want %v", c.path, got, c.want)
		}
	}
}

func TestAggregations(t *testing.T) {
	f := newFixture(t)
	// The textbook data set with mean 5 and population stddev 2.
	vals := []float64{2, 4, 4, 4, 5, 5, 7, 9}
	var s []store.Sample
	for i, v := range vals {
		s = append(s, store.Sample{Name: "g", Type: store.Gauge, TS: atMS(time.Duration(i-10) * time.Second), Value: v})
	}
	p := f.write("v.db", s...)
	for path, want := range map[string]float64{
		"g.avg": 5, "g.stddev": 2, "g.min": 2, "g.max": 9, "g.sum": 40, "g.count": 8, "g.last": 9,
	} {
		rs, _ := f.query(path, time.Minute, p)
		if got := one(t, rs); !near(got, want) {
			t.Errorf("%s = %v, want %v", path, got, want)
		}
		if rs[0].Samples != 8 {
			t.Errorf("%s samples = %d, want 8", path, rs[0].Samples)
		}
	}
}

func TestCounterRateAndIncrease(t *testing.T) {
	f := newFixture(t)
	var s []store.Sample
	for i, inc := range []float64{1, 2, 3, 4} {
		s = append(s, store.Sample{Name: "req_total", Type: store.Counter, TS: atMS(time.Duration(-50+10*i) * time.Second), Value: inc})
	}
	// Outside the one-minute window: must not count.
	s = append(s, store.Sample{Name: "req_total", Type: store.Counter, TS: atMS(-2 * time.Minute), Value: 100})
	p := f.write("v.db", s...)
	rs, _ := f.query("req_total.increase", time.Minute, p)
	if got := one(t, rs); got != 10 {
		t.Errorf("increase = %v, want 10", got)
	}
	rs, _ = f.query("req_total.rate", time.Minute, p)
	if got := one(t, rs); !near(got, 10.0/60) {
		t.Errorf("rate = %v, want %v", got, 10.0/60)
	}
	rs, _ = f.query("req_total.rate", 5*time.Minute, p)
	if got := one(t, rs); !near(got, 110.0/300) {
		t.Errorf("rate over 5m = %v, want %v", got, 110.0/300)
	}
}

func matcherFixture(t *testing.T) (*fixture, string) {
	f := newFixture(t)
	var s []store.Sample
	add := func(labels map[string]string, svc string, v float64) {
		s = append(s, store.Sample{Name: "hits_total", Type: store.Counter, Labels: labels, Service: svc, TS: atMS(-time.Second), Value: v})
	}
	add(map[string]string{"method": "GET", "code": "200"}, "api", 1)
	add(map[string]string{"method": "GET", "code": "500"}, "api", 2)
	add(map[string]string{"method": "POST", "code": "200"}, "web", 4)
	add(map[string]string{"method": "PUT", "code": "503"}, "web", 8)
	add(map[string]string{"code": "200"}, "", 16) // no method label at all
	return f, f.write("v.db", s...)
}

func TestLabelMatchers(t *testing.T) {
	f, p := matcherFixture(t)
	cases := map[string]float64{
		`hits_total.sum`:                                31,
		`hits_total{method="GET"}.sum`:                  3,
		`hits_total{method!="GET"}.sum`:                 28, // includes the series without method
		`hits_total{method=~"P.*"}.sum`:                 12,
		`hits_total{method=~"P"}.sum`:                   -1, // anchored: matches nothing
		`hits_total{method!~"P.*"}.sum`:                 19,
		`hits_total{code=~"5.."}.sum`:                   10,
		`hits_total{code=~"5..", method="GET"}.sum`:     2,
		`hits_total{method=""}.sum`:                     16,
		`hits_total{service="web"}.sum`:                 12,
		`hits_total{service!~"api|web"}.sum`:            16,
		`hits_total{method='POST',}.sum`:                4,
		`hits_total{method=~"GET|PUT",code!="200"}.sum`: 10,
	}
	for path, want := range cases {
		rs, _ := f.query(path, time.Minute, p)
		if want < 0 {
			if len(rs) != 0 {
				t.Errorf("%s = %v, want no result", path, render(rs))
			}
			continue
		}
		if got := one(t, rs); got != want {
			t.Errorf("%s = %v, want %v", path, got, want)
		}
	}
}

func TestBy(t *testing.T) {
	f, p := matcherFixture(t)
	rs, _ := f.query(`hits_total.sum by (method)`, time.Minute, p)
	want := `{}=16/1 {"method":"GET"}=3/2 {"method":"POST"}=4/1 {"method":"PUT"}=8/1`
	if got := render(rs); got != want {
		t.Errorf("by (method):\n got %s\nwant %s", got, want)
	}
	rs, _ = f.query(`hits_total.count by (service, code)`, time.Minute, p)
	want = `{"code":"200"}=1/1 {"code":"200","service":"api"}=1/1 {"code":"200","service":"web"}=1/1 {"code":"500","service":"api"}=1/1 {"code":"503","service":"web"}=1/1`
	if got := render(rs); got != want {
		t.Errorf("by (service, code):\n got %s\nwant %s", got, want)
	}
}

func TestWindowEdges(t *testing.T) {
	f := newFixture(t)
	p := f.write("v.db",
		store.Sample{Name: "e_total", Type: store.Counter, TS: atMS(-5 * time.Minute), Value: 1},                   // exactly at-w: out
		store.Sample{Name: "e_total", Type: store.Counter, TS: atMS(-5*time.Minute + time.Millisecond), Value: 10}, // just inside
		store.Sample{Name: "e_total", Type: store.Counter, TS: atMS(0), Value: 100},                                // exactly at: in
		store.Sample{Name: "e_total", Type: store.Counter, TS: atMS(time.Millisecond), Value: 1000},                // after at: out
	)
	rs, _ := f.query("e_total.increase", 5*time.Minute, p)
	if got := one(t, rs); got != 110 {
		t.Errorf("increase = %v, want 110 (window is (at-w, at])", got)
	}
}

func TestRatio(t *testing.T) {
	f := newFixture(t)
	var s []store.Sample
	add := func(name, svc string, v float64) {
		s = append(s, store.Sample{Name: name, Type: store.Counter, Service: svc, TS: atMS(-time.Second), Value: v})
	}
	add("errors_total", "api", 3)
	add("requests_total", "api", 12)
	add("errors_total", "web", 1)
	add("requests_total", "web", 0) // zero denominator: no result
	add("errors_total", "db", 5)    // no denominator at all: no result
	p := f.write("v.db", s...)
	rs, _ := f.query(`errors_total.increase by (service) / requests_total.increase by (service)`, time.Minute, p)
	if got, want := render(rs), `{"service":"api"}=0.25/2`; got != want {
		t.Errorf("ratio = %s, want %s", got, want)
	}
	rs, _ = f.query(`errors_total.increase / requests_total.increase`, time.Minute, p)
	if got := one(t, rs); got != 9.0/12 {
		t.Errorf("ratio without by = %v, want 0.75", got)
	}
}

func TestTwoStoresAsOne(t *testing.T) {
	f := newFixture(t)
	a := f.write("a.db", hist("lat_ms", map[string]string{"host": "a"}, -time.Minute, 15, 35)...)
	b := f.write("b.db", hist("lat_ms", map[string]string{"host": "b"}, -time.Minute, 50, 20, 40)...)
	rs, _ := f.query("lat_ms.p40", time.Hour, a, b)
	if got := one(t, rs); got != 29 {
		t.Errorf("p40 over two stores = %v, want 29", got)
	}
	rs, _ = f.query("lat_ms.max by (host)", time.Hour, a, b)
	if got, want := render(rs), `{"host":"a"}=35/2 {"host":"b"}=50/3`; got != want {
		t.Errorf("by host = %s, want %s", got, want)
	}
	// One series a group takes the per-series shape (no join), across
	// stores too: numpy.percentile([15, 35], 50) == 25, ([50, 20, 40], 50) == 40.
	rs, _ = f.query("lat_ms.p50 by (host)", time.Hour, a, b)
	if got, want := render(rs), `{"host":"a"}=25/2 {"host":"b"}=40/3`; got != want {
		t.Errorf("p50 by host = %s, want %s", got, want)
	}
}

func appendTo(t *testing.T, p string, samples ...store.Sample) {
	t.Helper()
	s, err := store.Open(context.Background(), p, store.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	if _, err := s.Write(context.Background(), samples); err != nil {
		t.Fatal(err)
	}
}

func TestCacheFollowsAppends(t *testing.T) {
	f := newFixture(t)
	p := f.write("v.db", hist("x", nil, -time.Minute, 1, 2, 3)...)
	rs, db := f.query("x.sum", time.Hour, p)
	if one(t, rs) != 6 || !db.Syncs[0].Rebuilt || db.Syncs[0].Added != 3 {
		t.Fatalf("first sync: %s %+v", render(rs), db.Syncs[0])
	}
	appendTo(t, p, hist("x", nil, -30*time.Second, 10, 20)...)
	appendTo(t, p, hist("x", map[string]string{"new": "series"}, -20*time.Second, 100)...)
	rs, db = f.query("x.sum", time.Hour, p)
	if got := one(t, rs); got != 136 {
		t.Errorf("sum after appends = %v, want 136", got)
	}
	if st := db.Syncs[0]; st.Rebuilt || st.Added != 3 {
		t.Errorf("sync after appends = %+v, want 3 rows added incrementally", st)
	}
	// Nothing new: nothing copied.
	_, db = f.query("x.sum", time.Hour, p)
	if st := db.Syncs[0]; st.Rebuilt || st.Added != 0 {
		t.Errorf("idle sync = %+v", st)
	}
}

func TestCacheRebuildsWhenStoreReplaced(t *testing.T) {
	f := newFixture(t)
	p := f.write("v.db", hist("x", nil, -time.Minute, 1, 2, 3, 4)...)
	f.query("x.sum", time.Hour, p)
	for _, suffix := range []string{"", "-wal", "-shm"} {
		os.Remove(p + suffix)
	}
	// A new store with fewer rows, so a watermark-only cache would miss it.
	f.write("v.db", hist("x", nil, -time.Minute, 7)...)
	rs, db := f.query("x.sum", time.Hour, p)
	if got := one(t, rs); got != 7 {
		t.Errorf("sum after replace = %v, want 7", got)
	}
	if st := db.Syncs[0]; !st.Rebuilt || st.Reason != "store was replaced" {
		t.Errorf("sync = %+v, want a rebuild because the store was replaced", st)
	}
}

func TestCacheTruncatedStore(t *testing.T) {
	f := newFixture(t)
	p := f.write("v.db", hist("x", nil, -time.Minute, 1, 2, 3, 4)...)
	f.query("x.sum", time.Hour, p)
	s, _ := store.Open(context.Background(), p, store.Options{})
	s.DBForTest().Exec("DELETE FROM samples")
	s.Close()
	appendTo(t, p, hist("x", nil, -time.Minute, 5)...)
	rs, db := f.query("x.sum", time.Hour, p)
	if got := one(t, rs); got != 5 {
		t.Errorf("sum after truncate = %v, want 5", got)
	}
	if !db.Syncs[0].Rebuilt {
		t.Errorf("sync = %+v, want a rebuild", db.Syncs[0])
	}
}

func TestCacheAppliesRetention(t *testing.T) {
	f := newFixture(t)
	var s []store.Sample
	for i := 0; i < 10; i++ {
		s = append(s, store.Sample{Name: "g", Type: store.Gauge, TS: atMS(time.Duration(i-10) * time.Minute), Value: float64(i)})
	}
	p := f.write("v.db", s...)
	rs, _ := f.query("g.count", time.Hour, p)
	if one(t, rs) != 10 {
		t.Fatalf("count = %v", render(rs))
	}
	st, _ := store.Open(context.Background(), p, store.Options{})
	n, err := st.Prune(context.Background(), atMS(-6*time.Minute), 2) // drops minutes -10..-7
	st.Close()
	if err != nil || n != 4 {
		t.Fatalf("Prune = %d, %v", n, err)
	}
	appendTo(t, p, store.Sample{Name: "g", Type: store.Gauge, TS: atMS(0), Value: 100})
	rs, db := f.query("g.sum", time.Hour, p)
	if got := one(t, rs); got != 4+5+6+7+8+9+100 {
		t.Errorf("sum after prune = %v, want 139", got)
	}
	if sy := db.Syncs[0]; sy.Rebuilt || sy.Pruned != 4 || sy.Added != 1 {
		t.Errorf("sync = %+v, want 4 pruned in place and 1 added, no rebuild", sy)
	}
	// A delete that retention does not explain forces a rebuild.
	st, _ = store.Open(context.Background(), p, store.Options{})
	st.DBForTest().Exec("DELETE FROM samples WHERE value = 9")
	st.Close()
	rs, db = f.query("g.sum", time.Hour, p)
	if got := one(t, rs); got != 130 {
		t.Errorf("sum after manual delete = %v, want 130", got)
	}
	if sy := db.Syncs[0]; !sy.Rebuilt || sy.Reason != "samples were deleted outside retention" {
		t.Errorf("sync = %+v, want a rebuild", sy)
	}
}

// Samples imported below the retention horizon move it back (the import
// is deliberate): the cache, which had cut its rows there, picks them up.
func TestCacheFollowsHorizonMovedBack(t *testing.T) {
	f := newFixture(t)
	p := f.write("v.db", store.Sample{Name: "g", Type: store.Gauge, TS: atMS(-time.Minute), Value: 1},
		store.Sample{Name: "g", Type: store.Gauge, TS: atMS(-20 * time.Minute), Value: 2})
	st, _ := store.Open(context.Background(), p, store.Options{})
	if _, err := st.Prune(context.Background(), atMS(-10*time.Minute), 100); err != nil {
		t.Fatal(err)
	}
	st.Close()
	rs, _ := f.query("g.sum", time.Hour, p)
	if got := one(t, rs); got != 1 {
		t.Fatalf("sum after prune = %v, want 1", got)
	}
	// What an import of older samples leaves: the rows, and the horizon
	// moved back to the oldest of them.
	storeExec(t, p, fmt.Sprintf("INSERT INTO samples(series_id, ts, value) VALUES (1, %d, 40)", atMS(-30*time.Minute)),
		fmt.Sprintf("UPDATE meta SET value = '%d' WHERE key = 'horizon_ms'", atMS(-30*time.Minute)))
	rs, db := f.query("g.sum", time.Hour, p)
	if got := one(t, rs); got != 41 {
		t.Errorf("sum after a backfill = %v, want 41", got)
	}
	if sy := db.Syncs[0]; !sy.Rebuilt {
		t.Errorf("sync = %+v, want a rebuild", sy)
	}
}

func TestNoMatchIsEmpty(t *testing.T) {
	f := newFixture(t)
	p := f.write("v.db", hist("x", nil, -time.Minute, 1)...)
	for _, path := range []string{"nothing.sum", `x{a="b"}.sum`, "x.p95 / x.sum"} {
		rs, _ := f.query(path, time.Second, p) // the sample is outside 1s
		if rs == nil || len(rs) != 0 {
			t.Errorf("%s = %#v, want empty, non-nil results", path, rs)
		}
	}
}

// A cold sync holds only a read snapshot of the store: a writer keeps
// committing while it runs, and the next sync picks the new rows up.
func TestSyncDoesNotBlockWriters(t *testing.T) {
	f := newFixture(t)
	p := filepath.Join(f.dir, "v.db")
	st, err := store.Open(context.Background(), p, store.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	ctx := context.Background()
	tx, _ := st.Begin(ctx)
	id, _ := tx.Series(ctx, "g", store.Gauge, nil, "")
	// Rows enough for a sync that lasts while writes go on (a write
	// takes a millisecond or so; 100,000 rows take DuckDB's sync about
	// 0.3 s, 1 s under -race). It was 400,000: writing and syncing them
	// cost 10 s under -race (issue 30).
	const n = 100_000
	for i := 0; i < n; i++ {
		tx.Append(ctx, id, atMS(-time.Hour)+int64(i), 1)
	}
	if _, err := tx.Commit(ctx); err != nil {
		t.Fatal(err)
	}
	done := make(chan struct{})
	var db *DB
	var openErr error
	go func() {
		defer close(done)
		db, openErr = Open(ctx, []string{p}, Options{CacheDir: f.cacheDir})
	}()
	writes := 0
	for running := true; running; {
		select {
		case <-done:
			running = false
		default:
			if _, err := st.Write(ctx, []store.Sample{{Name: "g", Type: store.Gauge, TS: atMS(0), Value: 1}}); err != nil {
				t.Fatalf("write during sync: %v", err)
			}
			writes++
		}
	}
	if openErr != nil {
		t.Fatal(openErr)
	}
	db.Close()
	if writes == 0 {
		t.Fatal("no write completed while the sync ran")
	}
	t.Logf("%d writes while the sync ran", writes)
	rs, _ := f.query("g.count", 2*time.Hour, p)
	if got := one(t, rs); got != float64(n+writes) {
		t.Errorf("count = %v, want %d", got, n+writes)
	}
}

func storeExec(t *testing.T, p string, stmts ...string) {
	t.Helper()
	st, err := store.Open(context.Background(), p, store.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	for _, s := range stmts {
		if _, err := st.DBForTest().Exec(s); err != nil {
			t.Fatalf("%s: %v", s, err)
		}
	}
}

// A query that lands in the middle of a batched prune (the horizon is
// recorded first, then rows go in batches) applies the cut without
// rebuilding, before, during and after the deletes.
func TestCacheDuringAPrune(t *testing.T) {
	f := newFixture(t)
	var s []store.Sample
	for i := 0; i < 10; i++ {
		s = append(s, store.Sample{Name: "g", Type: store.Gauge, TS: atMS(time.Duration(i-10) * time.Minute), Value: float64(i)})
	}
	p := f.write("v.db", s...)
	f.query("g.sum", time.Hour, p)
	cut := atMS(-6 * time.Minute) // minutes -10..-7 go: values 0..3
	storeExec(t, p, fmt.Sprintf("UPDATE meta SET value = '%d' WHERE key = 'horizon_ms'", cut))
	rs, db := f.query("g.sum", time.Hour, p)
	if got := one(t, rs); got != 4+5+6+7+8+9 || db.Syncs[0].Rebuilt || db.Syncs[0].Pruned != 4 {
		t.Errorf("horizon recorded, nothing deleted yet: sum %v, sync %+v", got, db.Syncs[0])
	}
	storeExec(t, p, fmt.Sprintf("DELETE FROM samples WHERE ts < %d AND value < 2", cut)) // the first batch
	rs, db = f.query("g.sum", time.Hour, p)
	if got := one(t, rs); got != 39 || db.Syncs[0].Rebuilt {
		t.Errorf("mid-prune: sum %v, sync %+v", got, db.Syncs[0])
	}
	storeExec(t, p, fmt.Sprintf("DELETE FROM samples WHERE ts < %d", cut)) // the rest
	rs, db = f.query("g.sum", time.Hour, p)
	if got := one(t, rs); got != 39 || db.Syncs[0].Rebuilt {
		t.Errorf("after the prune: sum %v, sync %+v", got, db.Syncs[0])
	}
}

// When retention removes the newest rows too (everything is old), later
// syncs neither rebuild nor lose track.
func TestCacheAfterPruningEverything(t *testing.T) {
	f := newFixture(t)
	p := f.write("v.db", hist("x", nil, -time.Hour, 1, 2, 3)...)
	f.query("x.sum", 2*time.Hour, p)
	st, _ := store.Open(context.Background(), p, store.Options{})
	st.Prune(context.Background(), atMS(0), 100)
	st.Close()
	for i := 0; i < 2; i++ {
		rs, db := f.query("x.sum", 2*time.Hour, p)
		if len(rs) != 0 || db.Syncs[0].Rebuilt {
			t.Errorf("sync %d after pruning everything: %s %+v", i, render(rs), db.Syncs[0])
		}
	}
	appendTo(t, p, hist("x", nil, 0, 7)...)
	rs, db := f.query("x.sum", 2*time.Hour, p)
	if got := one(t, rs); got != 7 || db.Syncs[0].Rebuilt || db.Syncs[0].Added != 1 {
		t.Errorf("after a new row: %v %+v", got, db.Syncs[0])
	}
}

// A cache file DuckDB cannot read is rebuilt at once, not mistaken for a
// lock held by another process.
func TestCorruptCacheIsRebuilt(t *testing.T) {
	f := newFixture(t)
	p := f.write("v.db", hist("x", nil, -time.Minute, 1, 2)...)
	f.query("x.sum", time.Hour, p)
	file, _ := cacheFileFor(p, f.cacheDir)
	junk := make([]byte, 1<<16)
	for i := range junk {
		junk[i] = byte(i * 7)
	}
	if err := os.WriteFile(file, junk, 0o644); err != nil {
		t.Fatal(err)
	}
	start := time.Now()
	rs, db := f.query("x.sum", time.Hour, p)
	if got := one(t, rs); got != 3 || !db.Syncs[0].Rebuilt {
		t.Errorf("after corrupting the cache: %v %+v", got, db.Syncs[0])
	}
	if time.Since(start) > 10*time.Second {
		t.Errorf("took %v: waited as if for a lock", time.Since(start))
	}
}

func cacheFileFor(p, dir string) (string, error) { return cache.FileFor(p, dir) }

// setWritable stands in for cache.Writable for one test (tests may run as
// root, which a chmod does not stop).
func setWritable(t *testing.T, w func(dir string) bool) {
	old := cache.Writable
	cache.Writable = w
	t.Cleanup(func() { cache.Writable = old })
}

// openLogged opens stores with default options (no cache folder) and a
// logger whose output is returned.
func openLogged(t *testing.T, stores ...string) (*DB, *strings.Builder) {
	t.Helper()
	var log strings.Builder
	db, err := Open(context.Background(), stores, Options{Logger: slog.New(slog.NewTextHandler(&log, nil))})
	if err != nil {
		t.Fatalf("Open: %v (log: %s)", err, log.String())
	}
	return db, &log
}

func evalOne(t *testing.T, db *DB, path string) float64 {
	t.Helper()
	e, err := metricpath.Parse(path)
	if err != nil {
		t.Fatal(err)
	}
	rs, err := db.Eval(context.Background(), e, Window{At: at, Length: time.Hour})
	if err != nil {
		t.Fatal(err)
	}
	return one(t, rs)
}

// files lists every file under dir (relative paths), for "left nothing",
// except the -wal and -shm files SQLite keeps beside a store it reads.
func files(t *testing.T, dir string) []string {
	t.Helper()
	var out []string
	filepath.WalkDir(dir, func(p string, d os.DirEntry, err error) error {
		if err == nil && p != dir && !strings.HasSuffix(p, ".db-wal") && !strings.HasSuffix(p, ".db-shm") {
			rel, _ := filepath.Rel(dir, p)
			out = append(out, rel)
		}
		return nil
	})
	return out
}

// A store in a folder the user cannot write keeps its cache in the user's
// cache folder, named after the store's absolute path, and says so.
func TestReadOnlyStoreFolderUsesUserCache(t *testing.T) {
	f := newFixture(t)
	p := f.write("v.db", hist("x", nil, -time.Minute, 1, 2)...)
	xdg := t.TempDir()
	t.Setenv("XDG_CACHE_HOME", xdg)
	setWritable(t, func(dir string) bool { return dir != f.dir && dir != filepath.Dir(p) })
	db, log := openLogged(t, p)
	if got := evalOne(t, db, "x.sum"); got != 3 {
		t.Errorf("x.sum = %v, want 3", got)
	}
	db.Close()
	want, _ := cache.FileFor(p, filepath.Join(xdg, "vigil"))
	if _, err := os.Stat(want); err != nil {
		t.Errorf("no cache at %s: %v", want, err)
	}
	if got := files(t, f.dir); !slices.Equal(got, []string{"v.db"}) {
		t.Errorf("store folder holds %v, want only the store", got)
	}
	if !strings.Contains(log.String(), "level=INFO") || !strings.Contains(log.String(), want) || !strings.Contains(log.String(), "not writable") {
		t.Errorf("log does not say where and why: %s", log)
	}
	if strings.Contains(log.String(), "unreadable") {
		t.Errorf("log reports a damaged cache: %s", log)
	}
	// The next run finds that cache again.
	appendTo(t, p, hist("x", nil, 0, 4)...)
	db, _ = openLogged(t, p)
	defer db.Close()
	if got := evalOne(t, db, "x.sum"); got != 7 || db.Syncs[0].Rebuilt || db.Syncs[0].Added != 1 {
		t.Errorf("second run: %v %+v, want 7 from an incremental sync", got, db.Syncs[0])
	}
}

// With no folder writable, the cache lives in memory for the run: the
// answer is right and nothing is left on disk.
func TestNoWritableFolderCachesInMemory(t *testing.T) {
	f := newFixture(t)
	p := f.write("v.db", hist("x", nil, -time.Minute, 1, 2)...)
	q := f.write("w.db", hist("x", nil, -time.Minute, 10)...)
	xdg, tmp := t.TempDir(), t.TempDir()
	t.Setenv("XDG_CACHE_HOME", xdg)
	t.Setenv("TMPDIR", tmp)
	setWritable(t, func(string) bool { return false })
	db, log := openLogged(t, p, q)
	if got := evalOne(t, db, "x.sum"); got != 13 {
		t.Errorf("x.sum = %v, want 13", got)
	}
	if !db.Syncs[0].Rebuilt || db.Syncs[0].Added != 2 {
		t.Errorf("sync = %+v, want a build of 2 rows", db.Syncs[0])
	}
	if !strings.Contains(log.String(), "level=INFO") || !strings.Contains(log.String(), "cache in memory for this run") {
		t.Errorf("log does not say the cache is in memory: %s", log)
	}
	db.Close()
	for _, d := range []string{f.dir, xdg, tmp} {
		got := files(t, d)
		if d == f.dir && slices.Equal(got, []string{"v.db", "w.db"}) {
			continue
		}
		if len(got) > 0 {
			t.Errorf("%s holds %v after an in-memory run", d, got)
		}
	}
}

// The same with real permissions (skipped as root, which ignores them): a
// read-only store folder, then a cache file the user may not write, which
// is worked around in memory and never deleted as if it were damaged.
func TestReadOnlyFolderForReal(t *testing.T) {
	if os.Geteuid() == 0 {
		t.Skip("root ignores permission bits")
	}
	f := newFixture(t)
	p := f.write("v.db", hist("x", nil, -time.Minute, 1, 2)...)
	xdg := t.TempDir()
	t.Setenv("XDG_CACHE_HOME", xdg)
	// A copy without -wal/-shm files, as a closed store leaves it: SQLite
	// can read it in a read-only folder only as an immutable file.
	if _, err := os.Stat(p + "-shm"); err == nil {
		t.Fatal("the fixture store left a -shm file behind")
	}
	if err := os.Chmod(f.dir, 0o555); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.Chmod(f.dir, 0o755) })
	db, log := openLogged(t, p)
	if got := evalOne(t, db, "x.sum"); got != 3 {
		t.Errorf("x.sum = %v, want 3", got)
	}
	db.Close()
	want, _ := cache.FileFor(p, filepath.Join(xdg, "vigil"))
	if _, err := os.Stat(want); err != nil {
		t.Errorf("no cache at %s: %v (log: %s)", want, err, log)
	}

	// A cache file beside the store that the user may not write.
	os.Chmod(f.dir, 0o755)
	beside, _ := cache.FileFor(p, "")
	db, _ = openLogged(t, p)
	db.Close()
	if err := os.Chmod(beside, 0o444); err != nil {
		t.Fatal(err)
	}
	before, _ := os.ReadFile(beside)
	db, log = openLogged(t, p)
	if got := evalOne(t, db, "x.sum"); got != 3 {
		t.Errorf("x.sum = %v, want 3", got)
	}
	db.Close()
	if after, _ := os.ReadFile(beside); !bytes.Equal(before, after) {
		t.Error("the read-only cache file was changed")
	}
	if strings.Contains(log.String(), "unreadable") || !strings.Contains(log.String(), "in memory") {
		t.Errorf("log: %s", log)
	}
}
