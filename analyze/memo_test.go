package analyze

import (
	"context"
	"fmt"
	"math"
	"math/rand/v2"
	"strings"
	"testing"
	"time"

	"github.com/vigil-metrics/vigil/internal/metricpath"
	"github.com/vigil-metrics/vigil/internal/store"
)

// memoFixture writes two stores of a counter, a gauge and a histogram
// over two hours at 10 s, with values that make the order-sensitive sums
// work (negatives, cancellations, a huge value), and a counter that stops
// moving an hour before the end.
func memoFixture(t *testing.T) (*fixture, []string) {
	f := newFixture(t)
	rng := rand.New(rand.NewPCG(3, 4))
	var paths []string
	for st := 0; st < 2; st++ {
		var s []store.Sample
		for i := 0; i < 720; i++ {
			ts := atMS(-time.Duration(720-i) * 10 * time.Second)
			for h := 0; h < 4; h++ {
				host := fmt.Sprintf("h%d-%d", st, h)
				for _, svc := range []string{"api", "web"} {
					for _, code := range []string{"200", "500"} {
						s = append(s, store.Sample{Name: "req_total", Type: store.Counter, Service: svc,
							Labels: map[string]string{"host": host, "code": code}, TS: ts, Value: float64(rng.IntN(50))})
					}
				}
				v := rng.NormFloat64() * 1e3
				switch i % 97 {
				case 0:
					v = 1e17 // cancels against the next: the exact sum's path
				case 1:
					v = -1e17
				}
				s = append(s, store.Sample{Name: "temp", Type: store.Gauge, Labels: map[string]string{"host": host},
					Service: []string{"api", "web"}[h%2], TS: ts, Value: v})
				s = append(s, store.Sample{Name: "lat_ms", Type: store.Histogram, Labels: map[string]string{"host": host, "ep": []string{"/a", "/b"}[i%2]},
					TS: ts, Value: rng.ExpFloat64() * 100})
				if i < 360 {
					s = append(s, store.Sample{Name: "idle_total", Type: store.Counter, Labels: map[string]string{"host": host}, TS: ts, Value: 1})
				}
			}
		}
		paths = append(paths, f.write(fmt.Sprintf("s%d.db", st), s...))
	}
	return f, paths
}

// memoPaths are paths over two metrics and more, with matchers and
// groupings, that share selections and queries in every way the memo
// keys them: the rate, increase, count and sum of one selection (one
// agg_sum), one selection at several windows, percentiles at two ranks,
// one-thread and many-thread aggregations in turn, ratios, a counter with
// no increments in the window.
var memoPaths = []string{
	`req_total.rate by (service)`,
	`req_total.increase by (service)`,
	`req_total.count by (service)`,
	`req_total.sum by (service)`,
	`req_total{code="500"}.increase by (service) / req_total.increase by (service)`,
	`req_total{code=~"5.."}.increase / req_total.increase`,
	`req_total{host="h0-1"}.max`,
	`req_total.last by (host, code)`,
	`temp.avg`,
	`temp.avg by (host)`,
	`temp.max by (host)`,
	`temp.sum by (service)`,
	`temp{host!~"h1-.*"}.min`,
	`temp.stddev by (service)`,
	`temp.p90 by (service)`,
	`temp.p50 by (service)`,
	`lat_ms.p99 by (host, ep)`,
	`lat_ms{ep="/a"}.p95`,
	`lat_ms.avg by (ep)`,
	`lat_ms.count`,
	`lat_ms.count_le(100) by (ep)`,
	`lat_ms.count_le(200) by (ep)`,
	`lat_ms.count_le(100) by (host) / lat_ms.count by (host)`,
	`idle_total.increase by (host)`,
	`idle_total.rate`,
	`no_such_total.increase`,
}

var memoWindows = []time.Duration{5 * time.Minute, time.Hour, 5 * time.Minute, 30 * time.Minute}

func bits(rs []Result) string {
	var b strings.Builder
	for _, r := range rs {
		fmt.Fprintf(&b, "%s=%x/%d ", store.CanonicalLabels(r.Labels), math.Float64bits(r.Value), r.Samples)
	}
	return b.String()
}

func evalBits(t *testing.T, db *DB, path string, w time.Duration) string {
	t.Helper()
	e, err := metricpath.Parse(path)
	if err != nil {
		t.Fatal(err)
	}
	rs, err := db.Eval(context.Background(), e, Window{At: at, Length: w})
	if err != nil {
		t.Fatalf("Eval(%s, %s): %v", path, w, err)
	}
	return bits(rs)
}

// The answers a DB keeps (memo.go) are the answers: every path at every
// window, asked of one DB many times, in two orders, gives the same bits
// as a fresh DB asked it once, and so it does when the selection table
// has to be emptied between questions.
func TestMemoAnswersAsFresh(t *testing.T) {
	f, stores := memoFixture(t)
	t.Run("one store", func(t *testing.T) { memoCheck(t, f, stores[:1], memoPaths) })
	// Over two stores too, sums and means included: DuckDB unites the
	// stores' rows in either order, so those are combined per store in Go
	// (stores.go); before, about one run in ten differed in the last bits.
	two := memoPaths
	t.Run("two stores", func(t *testing.T) { memoCheck(t, f, stores, two) })
}

func memoCheck(t *testing.T, f *fixture, stores, paths []string) {
	open := func() *DB {
		db, err := Open(context.Background(), stores, Options{CacheDir: f.cacheDir})
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { db.Close() })
		return db
	}
	type q struct {
		path string
		w    time.Duration
	}
	var qs []q
	for _, w := range memoWindows {
		for _, p := range paths {
			qs = append(qs, q{p, w})
		}
	}
	want := map[q]string{}
	metrics := map[string]bool{}
	for _, x := range qs {
		db := open()
		want[x] = evalBits(t, db, x.path, x.w)
		db.Close()
		if x.path != "no_such_total.increase" && want[x] == "" {
			t.Errorf("%s over %s: no result", x.path, x.w)
		}
		e, _ := metricpath.Parse(x.path)
		metrics[e.Num.Name] = true
	}
	check := func(name string, db *DB, order []q) {
		for _, x := range order {
			if got := evalBits(t, db, x.path, x.w); got != want[x] {
				t.Errorf("%s: %s over %s:\n got %s\nwant %s", name, x.path, x.w, got, want[x])
			}
		}
	}
	reversed := make([]q, len(qs))
	for i, x := range qs {
		reversed[len(qs)-1-i] = x
	}

	db := open()
	check("first pass", db, qs)
	var rows int
	if err := db.conn.QueryRowContext(context.Background(), "SELECT count(*) FROM sel").Scan(&rows); err != nil {
		t.Fatal(err)
	}
	sets, aggs, series := len(db.memo.sets), len(db.memo.aggs), len(db.memo.series)
	if rows != db.memo.setRows || sets == 0 || aggs == 0 || series != len(metrics) {
		t.Fatalf("after one pass: %d rows in sel, %d kept; %d selections, %d answers, %d metrics (want %d)",
			rows, db.memo.setRows, sets, aggs, series, len(metrics))
	}
	// The rate, increase, count and sum of one selection share one answer.
	if aggs >= len(qs) {
		t.Errorf("%d answers kept for %d questions: nothing shared", aggs, len(qs))
	}
	check("again", db, qs)
	check("reversed", db, reversed)
	if len(db.memo.sets) != sets || len(db.memo.aggs) != aggs || db.memo.setRows != rows {
		t.Errorf("asked again: %d selections (%d rows), %d answers; want %d (%d), %d: the memo was not used",
			len(db.memo.sets), db.memo.setRows, len(db.memo.aggs), sets, rows, aggs)
	}

	// A selection table that holds only a few series at a time.
	old := maxSelRows
	maxSelRows = 20
	defer func() { maxSelRows = old }()
	small := open()
	check("small table", small, qs)
	check("small table, reversed", small, reversed)
	if small.memo.setRows > 64 { // one selection may exceed the bound alone
		t.Errorf("selection table holds %d rows, bound %d", small.memo.setRows, maxSelRows)
	}
}

// Errors are not kept away by the memo: the rate of a gauge fails every
// time it is asked, after its series were read for another path.
func TestMemoKeepsErrors(t *testing.T) {
	f, stores := memoFixture(t)
	db, err := Open(context.Background(), stores, Options{CacheDir: f.cacheDir})
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	evalBits(t, db, "temp.avg", time.Hour)
	for i := 0; i < 2; i++ {
		e, _ := metricpath.Parse("temp.rate")
		if _, err := db.Eval(context.Background(), e, Window{At: at, Length: time.Hour}); err == nil {
			t.Fatalf("try %d: temp.rate gave no error", i)
		}
	}
	// And the DB still answers after them.
	if got := evalBits(t, db, "temp.avg", time.Hour); got == "" {
		t.Error("temp.avg: no answer after the errors")
	}
}
