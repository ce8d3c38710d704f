package analyze

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"math/big"
	"math/rand/v2"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/vigil-metrics/vigil/internal/metricpath"
	"github.com/vigil-metrics/vigil/internal/store"
)

func counter(name string, labels map[string]string, offset time.Duration, v float64) store.Sample {
	return store.Sample{Name: name, Type: store.Counter, Labels: labels, TS: atMS(offset), Value: v}
}

func gauge(name string, offset time.Duration, v float64) store.Sample {
	return store.Sample{Name: name, Type: store.Gauge, TS: atMS(offset), Value: v}
}

// evalErr evaluates path and returns its error.
func (f *fixture) evalErr(path string, window time.Duration, stores ...string) ([]Result, error) {
	f.t.Helper()
	db, err := Open(context.Background(), stores, Options{CacheDir: f.cacheDir})
	if err != nil {
		return nil, err
	}
	defer db.Close()
	e, err := metricpath.Parse(path)
	if err != nil {
		f.t.Fatal(err)
	}
	return db.Eval(context.Background(), e, Window{At: at, Length: window})
}

func isUsage(err error) bool {
	var u interface{ UsageError() bool }
	return errors.As(err, &u) && u.UsageError()
}

// A counter that exists but did not move in the window counted nothing:
// 0, not "no data". Gauges keep "no samples, no result".
func TestSilentCounterIsZero(t *testing.T) {
	f := newFixture(t)
	p := f.write("v.db",
		counter("errors_total", map[string]string{"svc": "api"}, -time.Hour, 1),
		counter("requests_total", map[string]string{"svc": "api"}, -time.Minute, 12),
		counter("requests_total", map[string]string{"svc": "web"}, -time.Minute, 3),
		counter("late_total", nil, time.Hour, 5), // first sample after the window: does not exist yet
		gauge("temp", -time.Hour, 20),
	)
	for _, c := range []struct{ path, want string }{
		{"errors_total.increase", "{}=0/0"},
		{"errors_total.rate", "{}=0/0"},
		{"errors_total.sum", "{}=0/0"},
		{"errors_total.increase by (svc)", `{"svc":"api"}=0/0`},
		{"late_total.increase", ""},
		{"temp.avg", ""},
		// 0 errors over 12 requests; web never had an error series: 0 of 3.
		{"errors_total.increase by (svc) / requests_total.increase by (svc)", `{"svc":"api"}=0/1 {"svc":"web"}=0/1`},
		// A numerator metric that exists nowhere is no data (a typo must
		// not read as "no errors").
		{"nothing_total.increase / requests_total.increase", ""},
		// A gauge numerator with no samples is no data, not 0.
		{"temp.avg / requests_total.increase", ""},
	} {
		rs, _ := f.query(c.path, 5*time.Minute, p)
		if got := render(rs); got != c.want {
			t.Errorf("%s = %q, want %q", c.path, got, c.want)
		}
	}
}

// rate and increase take counters: of a gauge or a histogram they are a
// usage error with a hint, never a sum of temperatures.
func TestRateOfGaugeIsUsageError(t *testing.T) {
	f := newFixture(t)
	p := f.write("v.db", gauge("temp", -time.Minute, 20))
	p2 := f.write("h.db", hist("lat_ms", nil, -time.Minute, 5, 7)...)
	for _, c := range []struct{ path, db, hint string }{
		{"temp.rate", p, ".avg"}, {"temp.increase", p, ".avg"}, {"lat_ms.rate", p2, ".count"},
	} {
		_, err := f.evalErr(c.path, 5*time.Minute, c.db)
		if !isUsage(err) || !strings.Contains(err.Error(), c.hint) {
			t.Errorf("%s: err = %v, want a usage error hinting %s", c.path, err, c.hint)
		}
	}
}

// Paths that resolve to one file are one store; a copy with the same
// store_id is a usage error naming both; one name with two types across
// stores is refused.
func TestSameStoreTwice(t *testing.T) {
	f := newFixture(t)
	p := f.write("a.db", counter("c_total", nil, -time.Minute, 2))
	link := filepath.Join(f.dir, "link.db")
	if err := os.Symlink(p, link); err != nil {
		t.Fatal(err)
	}
	rel, _ := filepath.Rel(mustGetwd(t), p)
	rs, _ := f.query("c_total.increase", 5*time.Minute, p, "./"+rel, link)
	if got := one(t, rs); got != 2 {
		t.Errorf("one store given three ways: increase = %v, want 2", got)
	}
	b, _ := os.ReadFile(p)
	cp := filepath.Join(f.dir, "copy.db")
	if err := os.WriteFile(cp, b, 0o644); err != nil {
		t.Fatal(err)
	}
	_, err := f.evalErr("c_total.increase", 5*time.Minute, p, cp)
	if !isUsage(err) || !strings.Contains(err.Error(), p) || !strings.Contains(err.Error(), cp) {
		t.Errorf("a copy: err = %v, want a usage error naming both files", err)
	}
	g := f.write("g.db", gauge("c_total", -time.Minute, 1))
	_, err = f.evalErr("c_total.max", 5*time.Minute, p, g)
	if !isUsage(err) || !strings.Contains(err.Error(), "counter in "+p) || !strings.Contains(err.Error(), "gauge in "+g) {
		t.Errorf("two types: err = %v, want a usage error naming stores and types", err)
	}
}

func mustGetwd(t *testing.T) string {
	wd, err := os.Getwd()
	if err != nil {
		t.Fatal(err)
	}
	return wd
}

// A missing store, a folder or a file that is not a store fails without
// leaving a cache behind.
func TestNoCacheForNonStores(t *testing.T) {
	dir := t.TempDir()
	notStore := filepath.Join(dir, "notes.txt")
	os.WriteFile(notStore, []byte("hello, not a database, just text\n"), 0o644)
	sub := filepath.Join(dir, "folder")
	os.Mkdir(sub, 0o755)
	for _, p := range []string{filepath.Join(dir, "missing.db"), sub, notStore} {
		if _, err := Open(context.Background(), []string{p}, Options{}); err == nil {
			t.Errorf("Open(%s) succeeded", p)
		}
	}
	entries, _ := os.ReadDir(dir)
	for _, e := range entries {
		if strings.Contains(e.Name(), "duckdb") {
			t.Errorf("left behind: %s", e.Name())
		}
	}
}

// Compensated sums: ten samples of 0.1 sum to exactly 1 (a naive sum gives
// 0.9999999999999999, Prometheus gives 1); a mean near the top of the
// float range stays finite; a standard deviation of ±1e160 does not
// overflow; an overflowing sum is +Inf, which JSON carries as "+Inf".
func TestExtremeValues(t *testing.T) {
	f := newFixture(t)
	var s []store.Sample
	for i := 0; i < 10; i++ {
		s = append(s, gauge("tenth", time.Duration(i-20)*time.Second, 0.1))
	}
	s = append(s, gauge("big", -3*time.Second, 1.7e308), gauge("big", -2*time.Second, 1.7e308), gauge("big", -time.Second, 1.1e308))
	s = append(s, gauge("wide", -2*time.Second, 1e160), gauge("wide", -time.Second, -1e160))
	p := f.write("v.db", s...)
	rs, _ := f.query("tenth.sum", time.Minute, p)
	if got := one(t, rs); got != 1 {
		t.Errorf("ten 0.1 sum = %v, want exactly 1", got)
	}
	rs, _ = f.query("big.avg", time.Minute, p)
	if got := one(t, rs); math.Abs(got-1.5e308)/1.5e308 > 1e-15 {
		t.Errorf("mean of 1.7e308, 1.7e308, 1.1e308 = %v, want 1.5e308", got)
	}
	rs, _ = f.query("wide.stddev", time.Minute, p)
	if got := one(t, rs); math.Abs(got-1e160)/1e160 > 1e-15 {
		t.Errorf("stddev of ±1e160 = %v, want 1e160", got)
	}
	// Each group is scaled on its own: a huge group must not cost a small
	// one its digits (population stddev of 1 and 3 is 1).
	m := f.write("m.db", store.Sample{Name: "m", Type: store.Gauge, Labels: map[string]string{"k": "big"}, TS: atMS(-2 * time.Second), Value: 1e200},
		store.Sample{Name: "m", Type: store.Gauge, Labels: map[string]string{"k": "big"}, TS: atMS(-time.Second), Value: -1e200},
		store.Sample{Name: "m", Type: store.Gauge, Labels: map[string]string{"k": "small"}, TS: atMS(-2 * time.Second), Value: 1},
		store.Sample{Name: "m", Type: store.Gauge, Labels: map[string]string{"k": "small"}, TS: atMS(-time.Second), Value: 3})
	rs, _ = f.query("m.stddev by (k)", time.Minute, m)
	if got := render(rs); got != `{"k":"big"}=1e+200/2 {"k":"small"}=1/2` {
		t.Errorf("stddev by k = %s", got)
	}
	rs, _ = f.query("big.sum", time.Minute, p)
	if got := one(t, rs); !math.IsInf(got, 1) {
		t.Errorf("sum of 4.5e308 = %v, want +Inf", got)
	}
	b, err := json.Marshal(rs)
	if err != nil || string(b) != `[{"labels":{},"value":"+Inf","samples":3}]` {
		t.Errorf("JSON = %s, %v", b, err)
	}
	// Cancellation: Kahan's sum of 1e100, 1, -1e100 (in that order) is 0;
	// Prometheus's Kahan-Babuska sum is 1, and so is the exact one.
	c := f.write("c.db", gauge("cancel", -3*time.Second, 1e100), gauge("cancel", -2*time.Second, 1), gauge("cancel", -time.Second, -1e100))
	rs, _ = f.query("cancel.sum", time.Minute, c)
	if got := one(t, rs); got != 1 {
		t.Errorf("1e100 + 1 - 1e100 = %v, want 1", got)
	}
	rs, _ = f.query("cancel.avg", time.Minute, c)
	if got := one(t, rs); got != 1.0/3 {
		t.Errorf("mean of 1e100, 1, -1e100 = %v, want 1/3", got)
	}
	// A ratio never answers Inf or NaN: 1.7e308 / 1e-300 has no result.
	q := f.write("q.db", gauge("num", -time.Second, 1.7e308), gauge("den", -time.Second, 1e-300), gauge("zero", -time.Second, 0))
	for _, path := range []string{"num.max / den.max", "num.max / zero.max", "zero.max / zero.max"} {
		rs, _ = f.query(path, time.Minute, q)
		if len(rs) != 0 {
			t.Errorf("%s = %v, want no result", path, rs)
		}
	}
}

// The same query on the same data gives the same bits every run, however
// DuckDB's threads would split the rows.
//
// The data must be big enough for DuckDB to split it: a parallel scan
// hands out the rows by row group (122,880 rows), so a table of one row
// group is read by one thread whatever vigil asks. Measured with sum and
// avg let run on DuckDB's threads (oneThread's SET threads = 1 removed),
// on 2 cores, 24 runs each, with and without -race: 100,000 and 130,000
// rows (1 and 2 row groups) gave one answer every run; 246,000 (3 row
// groups) gave 3 different sums, 370,000 (4) gave 6, none more than 10
// times in 24. So 370,000 rows and 12 runs: a sum combined in thread
// order fails here with a chance above 1 - (10/24)^11. (It was 1.2M rows
// and 4 runs: 3x the store to build and sync, the slowest test of the
// package under -race, issue 30.)
func TestSumsAreDeterministic(t *testing.T) {
	// Parallel: most of its time is building the store under -race
	// (make test runs analyze under -race: issue 30).
	t.Parallel()
	f := newFixture(t)
	rng := rand.New(rand.NewPCG(7, 9))
	ctx := context.Background()
	p := filepath.Join(f.dir, "v.db")
	st, err := store.Open(ctx, p, store.Options{})
	if err != nil {
		t.Fatal(err)
	}
	tx, _ := st.Begin(ctx)
	id, _ := tx.Series(ctx, "noise", store.Gauge, nil, "")
	const n = 370_000
	for i := 0; i < n; i++ {
		v := (rng.Float64() - 0.5) * math.Pow(10, float64(rng.IntN(12)))
		if err := tx.Append(ctx, id, atMS(-time.Duration(n-i)*time.Millisecond), v); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := tx.Commit(ctx); err != nil {
		t.Fatal(err)
	}
	st.Close()
	var first [2]uint64
	for run := 0; run < 12; run++ {
		var got [2]uint64
		for i, path := range []string{"noise.sum", "noise.avg"} {
			rs, _ := f.query(path, time.Hour, p)
			got[i] = math.Float64bits(one(t, rs))
		}
		if run == 0 {
			first = got
		} else if got != first {
			t.Fatalf("run %d gave %x, run 0 %x", run, got, first)
		}
	}
}

// last: the latest sample; at a tie the largest value, whatever the order
// the samples were written in.
func TestLastTieIsDeterministic(t *testing.T) {
	for _, order := range [][]float64{{3, 5}, {5, 3}} {
		f := newFixture(t)
		p := f.write("v.db",
			store.Sample{Name: "g", Type: store.Gauge, Labels: map[string]string{"s": "a"}, TS: atMS(-time.Second), Value: order[0]},
			store.Sample{Name: "g", Type: store.Gauge, Labels: map[string]string{"s": "b"}, TS: atMS(-time.Second), Value: order[1]},
			store.Sample{Name: "g", Type: store.Gauge, Labels: map[string]string{"s": "b"}, TS: atMS(-time.Minute), Value: 9},
		)
		rs, _ := f.query("g.last", 5*time.Minute, p)
		if got := one(t, rs); got != 5 {
			t.Errorf("written %v: last = %v, want 5", order, got)
		}
	}
}

// A store that already holds invalid UTF-8 (written before it was
// refused) stays queryable, with U+FFFD in place of the bad bytes.
func TestInvalidUTF8InStoreIsRead(t *testing.T) {
	f := newFixture(t)
	p := f.write("v.db", gauge("g", -time.Second, 4))
	db, err := sql.Open("sqlite", "file:"+p)
	if err != nil {
		t.Fatal(err)
	}
	// Written by hand, as an older vigil would have: a service of bytes
	// that are not UTF-8, on a second series.
	if _, err := db.Exec("INSERT INTO series(name, type, labels, service) VALUES ('g', 'gauge', '{}', CAST(X'ff61' AS TEXT))"); err != nil {
		t.Fatal(err)
	}
	if _, err := db.Exec("INSERT INTO samples(series_id, ts, value) SELECT max(id), ?, 6 FROM series", atMS(-time.Second)); err != nil {
		t.Fatal(err)
	}
	db.Close()
	d, log := openLogged(t, p)
	defer d.Close()
	if got := evalOne(t, d, "g.sum"); got != 10 {
		t.Errorf("sum = %v, want 10", got)
	}
	e, _ := metricpath.Parse("g.sum by (service)")
	rs, err := d.Eval(context.Background(), e, Window{At: at, Length: time.Minute})
	if err != nil || render(rs) != "{}=4/1 {\"service\":\"\ufffda\"}=6/1" {
		t.Errorf("by service = %s, %v", render(rs), err)
	}
	if !strings.Contains(log.String(), "invalid UTF-8") {
		t.Errorf("no warning logged: %s", log)
	}
}

// A cache with a damaged block (found when the block is read, not when the
// file opens) is rebuilt once, with a warning, and the query answers.
//
// Every block of the cache file is damaged in turn, and each damage costs
// a rebuild: the rows set the price, not what is proved. The cache file
// is 1 MiB (four 256 KiB blocks) for a series of 20,000 rows and of
// 400,000 alike (the rows compress to little), and at either size one
// block's damage is met opening the file ("cache unreadable") and the
// other three's after it ("cache damaged"); 400,000 rows took 35 s under
// -race for the same four cases, 20,000 take 2 (issue 30).
func TestDamagedCacheBlockIsRebuilt(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	ctx := context.Background()
	p := filepath.Join(f.dir, "v.db")
	st, err := store.Open(ctx, p, store.Options{})
	if err != nil {
		t.Fatal(err)
	}
	tx, _ := st.Begin(ctx)
	id, _ := tx.Series(ctx, "g", store.Gauge, nil, "")
	const n = 20_000
	for i := 0; i < n; i++ {
		if err := tx.Append(ctx, id, atMS(-time.Duration(n-i)*time.Millisecond), float64(i%7)); err != nil {
			t.Fatal(err)
		}
	}
	tx.Commit(ctx)
	st.Close()
	file, _ := cacheFileFor(p, "")
	// Damage one 256 KiB block at a time past the file's headers: whether
	// DuckDB meets it opening the file, syncing or scanning, the query
	// answers, after one logged rebuild.
	paths := map[string]bool{}
	for block := 0; ; block++ {
		d, _ := openLogged(t, p)
		d.Close()
		b, err := os.ReadFile(file)
		if err != nil {
			t.Fatal(err)
		}
		off := 3*4096 + block*256<<10 + 512
		if off+64 > len(b) {
			break
		}
		copy(b[off:], "damaged damaged damaged damaged damaged damaged damaged damaged")
		if err := os.WriteFile(file, b, 0o644); err != nil {
			t.Fatal(err)
		}
		d, log := openLogged(t, p)
		// sum of i%7 over 0..19999: 2857 full cycles of 21 (0..19998),
		// then 19999%7 = 0.
		if got := evalOne(t, d, "g.sum"); got != 2857*21 {
			t.Errorf("block %d: sum = %v, want %v", block, got, 2857*21)
		}
		d.Close()
		for _, m := range []string{"cache unreadable, rebuilding", "cache damaged, rebuilding"} {
			if strings.Contains(log.String(), m) {
				paths[m] = true
			}
		}
	}
	if !paths["cache damaged, rebuilding"] {
		t.Errorf("no block was met after the file opened: %v", paths)
	}
}

// Where terms cancel, the sum is the exact sum rounded once: checked
// against math/big over values of wildly different magnitudes and signs,
// subnormals included.
func TestCancellingSumIsExact(t *testing.T) {
	f := newFixture(t)
	rng := rand.New(rand.NewPCG(3, 4))
	var s []store.Sample
	want := new(big.Float).SetPrec(4096)
	for i := 0; i < 2000; i++ {
		v := (rng.Float64() - 0.5) * math.Pow(10, float64(rng.IntN(600)-300))
		if i%97 == 0 {
			v = math.SmallestNonzeroFloat64 * float64(rng.IntN(100))
		}
		s = append(s, gauge("mix", -time.Duration(3000-i)*time.Millisecond, v))
		s = append(s, gauge("mix", -time.Duration(3000-i)*time.Millisecond+500*time.Microsecond, -v))
		want.Add(want, big.NewFloat(v).SetPrec(4096))
		want.Add(want, big.NewFloat(-v).SetPrec(4096))
	}
	// What is left after the huge terms cancel: small values whose exact
	// sum needs every digit.
	for i := 0; i < 50; i++ {
		v := rng.Float64() / 3
		s = append(s, gauge("mix", -time.Duration(900-i)*time.Millisecond, v))
		want.Add(want, big.NewFloat(v).SetPrec(4096))
	}
	s = append(s, gauge("mix", -time.Millisecond, 1e-310))
	want.Add(want, big.NewFloat(1e-310))
	p := f.write("v.db", s...)
	rs, _ := f.query("mix.sum", time.Minute, p)
	w, _ := want.Float64()
	if got := one(t, rs); got != w {
		t.Errorf("sum = %v, want %v", got, w)
	}
}

// Percentiles selected in Go from values read through Arrow equal
// quantile_cont's answers bit for bit, for every group and rank: groups of
// one series and of many, a group with many ties, a tiny group.
func TestPercentilesInGoEqualQuantileCont(t *testing.T) {
	if !arrowBuild {
		t.Skip("built without the duckdb_arrow tag: percentiles use quantile_cont only (make test sets the tag)")
	}
	f := newFixture(t)
	ctx := context.Background()
	p := filepath.Join(f.dir, "v.db")
	st, err := store.Open(ctx, p, store.Options{})
	if err != nil {
		t.Fatal(err)
	}
	rng := rand.New(rand.NewPCG(11, 12))
	tx, _ := st.Begin(ctx)
	var ids []int64
	for i := 0; i < 40; i++ {
		id, _ := tx.Series(ctx, "lat", store.Histogram, map[string]string{"s": strconv.Itoa(i), "half": strconv.Itoa(i % 2)}, "")
		ids = append(ids, id)
	}
	const n = 200_000
	for i := 0; i < n; i++ {
		if i%len(ids) == 39 && i > 400 {
			continue // one small series: 11 samples
		}
		v := rng.ExpFloat64() * 100
		if i%len(ids) == 7 {
			v = float64(rng.IntN(5)) // many ties
		}
		if err := tx.Append(ctx, ids[i%len(ids)], atMS(-time.Duration(n-i)*time.Millisecond), v); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := tx.Commit(ctx); err != nil {
		t.Fatal(err)
	}
	st.Close()
	answers := func(inGo bool) map[string]string {
		old := PercentilesInGo
		PercentilesInGo = inGo
		defer func() { PercentilesInGo = old }()
		out := map[string]string{}
		for _, q := range []string{"p0", "p1", "p25", "p50", "p90", "p95", "p99", "p99.9", "p100"} {
			for _, by := range []string{" by (s)", " by (half)", ""} {
				rs, _ := f.query("lat."+q+by, time.Hour, p)
				for _, r := range rs {
					out[q+by+store.CanonicalLabels(r.Labels)] = fmt.Sprintf("%x/%d", math.Float64bits(r.Value), r.Samples)
				}
			}
		}
		return out
	}
	sqlAns, goAns := answers(false), answers(true)
	if len(sqlAns) != 9*(40+2+1) {
		t.Fatalf("%d answers", len(sqlAns))
	}
	for k, v := range sqlAns {
		if goAns[k] != v {
			t.Errorf("%s: in Go %s, quantile_cont %s", k, goAns[k], v)
		}
	}
}

// A bare metric name is the rate of a counter and the average of a gauge
// or a histogram over the window, as the reference design's rules mean it.
func TestBareMetricName(t *testing.T) {
	f := newFixture(t)
	p := f.write("v.db",
		counter("req_total", nil, -2*time.Minute, 30), counter("req_total", nil, -time.Minute, 90),
		gauge("temp", -2*time.Minute, 20), gauge("temp", -time.Minute, 23),
	)
	p2 := f.write("h.db", hist("lat_ms", nil, -time.Minute, 10, 30)...)
	for _, c := range []struct {
		path, db string
		want     float64
	}{
		{"req_total", p, 120.0 / 300}, // 120 increments over 5 minutes
		{"temp", p, 21.5},
		{"lat_ms", p2, 20},
		{"req_total / req_total", p, 1},
	} {
		rs, _ := f.query(c.path, 5*time.Minute, c.db)
		if got := one(t, rs); got != c.want {
			t.Errorf("%s = %v, want %v", c.path, got, c.want)
		}
	}
}
