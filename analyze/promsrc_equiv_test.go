package analyze_test

import (
	"context"
	"fmt"
	"math"
	"path/filepath"
	"reflect"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/vigil-metrics/vigil/analyze"
	"github.com/vigil-metrics/vigil/analyze/promsrc"
	"github.com/vigil-metrics/vigil/internal/ingest"
	"github.com/vigil-metrics/vigil/internal/metricpath"
	"github.com/vigil-metrics/vigil/internal/promtest"
	"github.com/vigil-metrics/vigil/internal/sources"
	"github.com/vigil-metrics/vigil/internal/store"
)

// equivBase is the evaluation instant of the equivalence fixture.
const equivBase = promtest.FixtureEnd

var equivOnce struct {
	sync.Once
	om, jsonl string
}

func equivFixture() (string, string) {
	equivOnce.Do(func() { equivOnce.om, equivOnce.jsonl = promtest.Fixture(promtest.FixtureSeries()) })
	return equivOnce.om, equivOnce.jsonl
}

// equivStore imports the fixture's JSON Lines into a new store.
func equivStore(t *testing.T) string {
	t.Helper()
	_, jsonl := equivFixture()
	p := filepath.Join(t.TempDir(), "equiv.db")
	st, err := store.Open(context.Background(), p, store.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	if _, err := ingest.Import(context.Background(), st, []ingest.Source{{Name: "equiv.jsonl", R: strings.NewReader(jsonl), Format: ingest.JSONL}}); err != nil {
		t.Fatal(err)
	}
	return p
}

var equivPaths = []string{
	"cpu.last", "cpu.min", "cpu.max", "cpu.avg", "cpu.sum", "cpu.count", "cpu.stddev", "cpu.p50", "cpu.p99.9", "cpu.count_le(2.5)",
	"cpu", "cpu.max by (dc)", "cpu.min by (dc)", "cpu.count by (dc)", `cpu{host!="b"}.avg by (dc)`, `cpu{host=~"a|c"}.p95 by (host)`,
	"cpu.sum by (host)", "cpu.last by (dc)", "cpu.stddev by (dc)",
	"req_total.rate", "req_total.increase", "req_total.sum", "req_total.count", "req_total.increase by (host)",
	"req_total.max", "req_total.min", "req_total.count_le(3)", "req_total", "req_total.p90 by (dc)",
	`req_total{host="a"}.increase / req_total.increase`,
	"response_time_ms.p99", "response_time_ms.count_le(300)", "response_time_ms.avg", "response_time_ms.max",
	`sli_requests_total{success="false"}.increase by (service) / sli_requests_total.increase by (service)`,
	`sli_requests_total{success="true"}.rate by (service)`,
	"jobs_total.increase", "jobs_total.count", "jobs_total.rate by (job)", "new_total.increase by (kind)",
	"new_total.count by (kind)", `new_total{kind="gone"}.increase / jobs_total.increase`,
	"rpc_ms.count by (quantile)", "rpc_ms.max by (quantile)", "rpc_ms.min", "rpc_ms.avg by (quantile)", "rpc_ms.count",
	"failed_ms.count / response_time_ms.count", "failed_ms.count by (service) / response_time_ms.count by (service)",
	`failed_ms{service="web"}.count / response_time_ms.count`,
	"nothing_here.count", "nothing_here_total.increase",
}

var equivWindows = []time.Duration{time.Minute, 5 * time.Minute, time.Hour, 6 * time.Hour, 24 * time.Hour}

// equivAts: the fixture's end, an instant between samples, one a
// window's length after the counter's reset at base-1h+1s, and one where
// every window starts exactly on a sample of cpu{host="a"} (which the
// window excludes, and a range selector before Prometheus 3.0 includes).
var equivAts = []int64{equivBase, equivBase - 37*60_000 - 13_250, equivBase - 3600_000 + 1000, equivBase - 29_500}

// The same samples, in a store (JSON Lines, counters as increments) and in
// a real Prometheus (OpenMetrics built into blocks by promtool, counters
// cumulative), give the same answer to every aggregation of the metric
// path language, bit for bit: raw samples, and where pushed down.
func TestPrometheusSourceAnswersAsStore(t *testing.T) {
	om, _ := equivFixture()
	data := promtest.Blocks(t, om)
	srv := promtest.Start(t, data)
	storePath := equivStore(t)
	ctx := context.Background()
	off := false
	types := map[string]store.Type{"response_time_ms": store.Histogram, "failed_ms": store.Histogram}
	open := func(src string, cfg promsrc.Config) *analyze.DB {
		db, err := analyze.Open(ctx, []string{src}, analyze.Options{CacheDir: t.TempDir(),
			Sources: map[string]promsrc.Config{src: cfg}, Timeout: 30 * time.Second})
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { db.Close() })
		return db
	}
	want := open(storePath, promsrc.Config{})
	// Raw samples by streamed remote read and by the query API, each
	// forced: the same samples either way.
	raw := open(srv.URL, promsrc.Config{Types: types, Pushdown: &off, ReadAPI: sources.ReadRemote})
	rawJSON := open(srv.URL, promsrc.Config{Types: types, Pushdown: &off, ReadAPI: sources.ReadQuery})
	pushed := open(srv.URL, promsrc.Config{Types: types})
	compared := 0
	for _, p := range equivPaths {
		e, err := metricpath.Parse(p)
		if err != nil {
			t.Fatal(err)
		}
		for _, at := range equivAts {
			for _, w := range equivWindows {
				win := analyze.Window{At: time.UnixMilli(at), Length: w}
				ws, err := want.Eval(ctx, e, win)
				if err != nil {
					t.Fatalf("%s over %s at %d (store): %v", p, w, at, err)
				}
				for name, db := range map[string]*analyze.DB{"raw (remote read)": raw, "raw (query API)": rawJSON, "pushed down": pushed} {
					got, err := db.Eval(ctx, e, win)
					if err != nil {
						t.Fatalf("%s over %s at %d (%s): %v", p, w, at, name, err)
					}
					if !sameResults(ws, got) {
						t.Errorf("%s over %s at %d: %s gives\n%v\nthe store gives\n%v", p, w, at, name, got, ws)
					}
				}
				if len(ws) > 0 {
					compared++
				}
			}
		}
	}
	if compared < len(equivPaths)*len(equivAts)*len(equivWindows)*3/4 {
		t.Fatalf("only %d questions had answers: the fixture does not cover the windows", compared)
	}
	// Sliding windows (tuning, reports) over both.
	for _, p := range []string{"cpu.avg by (dc)", "req_total.increase", "response_time_ms.p95", "cpu.count"} {
		e, _ := metricpath.Parse(p)
		ws, err := want.Sliding(ctx, e, time.UnixMilli(equivBase), 20*time.Minute, time.Hour, 20)
		if err != nil {
			t.Fatal(err)
		}
		for _, db := range []*analyze.DB{raw, rawJSON} {
			got, err := db.Sliding(ctx, e, time.UnixMilli(equivBase), 20*time.Minute, time.Hour, 20)
			if err != nil {
				t.Fatal(err)
			}
			if fmt.Sprint(ws) != fmt.Sprint(got) {
				t.Errorf("sliding %s: source gives\n%v\nthe store gives\n%v", p, got, ws)
			}
		}
	}
}

// sameResults compares label sets, sample counts and values to the bit.
func sameResults(a, b []analyze.Result) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if !reflect.DeepEqual(a[i].Labels, b[i].Labels) || a[i].Samples != b[i].Samples ||
			math.Float64bits(a[i].Value) != math.Float64bits(b[i].Value) {
			return false
		}
	}
	return true
}

// A store and a source given together unite as two stores do: host c's
// samples in Prometheus and everything else in a store answer as the
// store holding all of them (for the aggregations that do not depend on
// the order rows are added in: a float sum over two stores adds each
// store's sum, which may differ in its last bits from one store's sum of
// every row, as over two store files).
func TestStoreAndSourceUnite(t *testing.T) {
	var inProm, inStore []promtest.Series
	for _, s := range promtest.FixtureSeries() {
		if s.Labels["host"] == "c" || s.Labels["host"] == "b" && s.Name == "req_total" {
			inProm = append(inProm, s)
		} else {
			inStore = append(inStore, s)
		}
	}
	om, _ := promtest.Fixture(inProm)
	srv := promtest.Start(t, promtest.Blocks(t, om))
	_, jsonl := promtest.Fixture(inStore)
	part := filepath.Join(t.TempDir(), "part.db")
	st, err := store.Open(context.Background(), part, store.Options{})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := ingest.Import(context.Background(), st, []ingest.Source{{Name: "part.jsonl", R: strings.NewReader(jsonl), Format: ingest.JSONL}}); err != nil {
		t.Fatal(err)
	}
	st.Close()
	ctx := context.Background()
	all, err := analyze.Open(ctx, []string{equivStore(t)}, analyze.Options{CacheDir: t.TempDir()})
	if err != nil {
		t.Fatal(err)
	}
	defer all.Close()
	both, err := analyze.Open(ctx, []string{part, srv.URL}, analyze.Options{CacheDir: t.TempDir()})
	if err != nil {
		t.Fatal(err)
	}
	defer both.Close()
	for _, p := range []string{"cpu.max by (dc)", "cpu.min", "cpu.count by (dc)", "cpu.p99", "cpu.last by (host)", "cpu.count_le(3)",
		"req_total.increase by (host)", "req_total.count", `req_total{host="b"}.increase / req_total.increase`} {
		e, _ := metricpath.Parse(p)
		for _, w := range []time.Duration{5 * time.Minute, 6 * time.Hour} {
			win := analyze.Window{At: time.UnixMilli(equivBase), Length: w}
			want, err := all.Eval(ctx, e, win)
			if err != nil {
				t.Fatal(err)
			}
			got, err := both.Eval(ctx, e, win)
			if err != nil {
				t.Fatalf("%s: %v", p, err)
			}
			if !sameResults(want, got) || len(want) == 0 {
				t.Errorf("%s over %s: store and source give\n%v\none store gives\n%v", p, w, got, want)
			}
		}
	}
}

// A metric that exists, but not with the selector's labels and not in
// the window, asked first of a fresh DB: a counted numerator is 0, as a
// store's series rows make it.
func TestPrometheusSourceMetricExists(t *testing.T) {
	om, _ := equivFixture()
	srv := promtest.Start(t, promtest.Blocks(t, om))
	ctx := context.Background()
	e, _ := metricpath.Parse(`failed_ms{service="web"}.count / response_time_ms.count`)
	w := analyze.Window{At: time.UnixMilli(equivBase), Length: time.Hour}
	eval := func(src string) []analyze.Result {
		db, err := analyze.Open(ctx, []string{src}, analyze.Options{CacheDir: t.TempDir(), Sources: map[string]promsrc.Config{
			src: {Types: map[string]store.Type{"response_time_ms": store.Histogram, "failed_ms": store.Histogram}}}})
		if err != nil {
			t.Fatal(err)
		}
		defer db.Close()
		rs, err := db.Eval(ctx, e, w)
		if err != nil {
			t.Fatal(err)
		}
		return rs
	}
	want, got := eval(equivStore(t)), eval(srv.URL)
	if len(want) != 1 || want[0].Value != 0 || !sameResults(want, got) {
		t.Errorf("the source gives %v, the store %v; want 0 from both", got, want)
	}
}
