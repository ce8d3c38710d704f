package report

import (
	"context"
	"log/slog"
	"math"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/vigil-metrics/vigil/analyze"
	"github.com/vigil-metrics/vigil/analyze/slo"
	"github.com/vigil-metrics/vigil/internal/demo"
	"github.com/vigil-metrics/vigil/internal/metricpath"
	"github.com/vigil-metrics/vigil/internal/store"
)

// TestBurnDown: the burn-down's last point is the budget consumed at the
// report's end (vigil budget's figure), it starts at the period's start,
// and its points are a day apart in a 7d report. The store is vigil store
// demo's (a week ending at t0, seed 1).
func TestBurnDown(t *testing.T) {
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), "demo.db")
	st, err := store.Open(ctx, path, store.Options{})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := demo.Generate(ctx, st, demo.Options{End: t0, Span: 7 * 24 * time.Hour, Seed: 1}); err != nil {
		t.Fatal(err)
	}
	st.Close()
	objs, _, err := slo.Load("../examples/vigil.yaml")
	if err != nil {
		t.Fatal(err)
	}
	db, err := analyze.Open(ctx, []string{path}, analyze.Options{CacheDir: t.TempDir()})
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	checked := 0
	for _, ob := range objs {
		b, err := slo.BudgetOf(ctx, slo.NewEvaluator(db, t0), ob)
		if err != nil {
			t.Fatal(err)
		}
		if b.NoData {
			continue
		}
		checked++
		ps, err := burnDown(ctx, slo.NewEvaluator(db, t0), ob)
		if err != nil {
			t.Fatal(err)
		}
		// The 7d window: its start at 100%, then each day's end.
		if len(ps) != 8 || !ps[7].T.Equal(t0) || !ps[0].T.Equal(t0.Add(-7*24*time.Hour)) || ps[0].V != 100 {
			t.Fatalf("%s/%s: points %v", ob.Service, ob.SLI, ps)
		}
		// It ends where vigil budget is: 100 less the consumption.
		if math.Abs(ps[7].V-(100-b.ConsumptionPercent)) > 1e-9 {
			t.Errorf("%s/%s: burn-down ends at %v, budget consumed %v", ob.Service, ob.SLI, ps[7].V, b.ConsumptionPercent)
		}
		for i := 1; i < len(ps); i++ {
			if ps[i].V > ps[i-1].V {
				t.Errorf("%s/%s: budget remaining rose from %v to %v", ob.Service, ob.SLI, ps[i-1].V, ps[i].V)
			}
		}
	}
	if checked < 2 {
		t.Errorf("%d objectives with data, want 2 at least", checked)
	}
}

// TestBurnDownByHand: a 99% objective over 4 days, one sample a day at
// noon: 100 good; 98 good and 2 bad; 100 good; 96 good and 4 bad. The
// window's budget is 1% of its 400 events, 4: the budget remaining is
// 100% at the window's start, 100 after day 1, 50 after day 2 (2 of 4
// spent), 50 after day 3, and -50 after day 4 (6 of 4 spent: overspent,
// vigil budget's 150% consumed). Pyrra's and sloth's chart, not the
// ratio of each day (which reads 0%, 200%, 0%, 400%).
func TestBurnDownByHand(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	path := filepath.Join(dir, "s.db")
	st, err := store.Open(ctx, path, store.Options{})
	if err != nil {
		t.Fatal(err)
	}
	start := t0.Add(-4 * 24 * time.Hour)
	var samples []store.Sample
	for day, c := range [][2]float64{{100, 0}, {98, 2}, {100, 0}, {96, 4}} {
		ts := start.Add(time.Duration(day)*24*time.Hour + 12*time.Hour).UnixMilli()
		for i, v := range c {
			if v == 0 {
				continue
			}
			ok := map[bool]string{true: "true", false: "false"}[i == 0]
			samples = append(samples, store.Sample{Name: "sli_requests_total", Type: store.Counter, Service: "s",
				Labels: map[string]string{"success": ok}, TS: ts, Value: v})
		}
	}
	if _, err := st.Write(ctx, samples); err != nil {
		t.Fatal(err)
	}
	st.Close()
	cfg := filepath.Join(dir, "slo.yaml")
	if err := os.WriteFile(cfg, []byte("slos:\n  - service: s\n    target: 99\n    window: 4d\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	objs, _, err := slo.Load(cfg)
	if err != nil {
		t.Fatal(err)
	}
	db, err := analyze.Open(ctx, []string{path}, analyze.Options{CacheDir: t.TempDir()})
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	ps, err := burnDown(ctx, slo.NewEvaluator(db, t0), objs[0])
	if err != nil {
		t.Fatal(err)
	}
	want := []float64{100, 100, 50, 50, -50}
	if len(ps) != len(want) {
		t.Fatalf("points %v, want %v", ps, want)
	}
	for i, w := range want {
		if !ps[i].T.Equal(start.Add(time.Duration(i)*24*time.Hour)) || math.Abs(ps[i].V-w) > 1e-9 {
			t.Errorf("point %d: %v at %v, want %v at %v", i, ps[i].V, ps[i].T, w, start.Add(time.Duration(i)*24*time.Hour))
		}
	}
}

// KeyHistograms: the rules' percentile and count_le metrics (of either
// side of a ratio), then the objectives' histograms, then the config's
// metrics (trimmed), each once; other aggregations and unparsable paths
// add nothing.
func TestKeyHistograms(t *testing.T) {
	got := KeyHistograms(
		[]string{"a_ms.p95", "b_total.rate", "c_ms.count_le(300) / d_ms.p99.9 by (service)", "not a path(", "a_ms.p50"},
		[]slo.Objective{{Histogram: "e_ms"}, {}, {Histogram: "c_ms"}},
		[]string{" f_ms ", "a_ms", ""})
	want := []string{"a_ms", "c_ms", "d_ms", "e_ms", "f_ms"}
	if !slices.Equal(got, want) {
		t.Errorf("got %v, want %v", got, want)
	}
}

// fakeSource answers paths from a table, keyed by path and the window's end.
type fakeSource struct {
	answers map[string][]analyze.Result
	errs    map[string]error
}

func (f *fakeSource) Eval(_ context.Context, e *metricpath.Expr, w analyze.Window) ([]analyze.Result, error) {
	k := e.String() + "@" + w.At.Format(time.RFC3339)
	return f.answers[k], f.errs[k]
}

func (f *fakeSource) Buckets(context.Context, *metricpath.Expr, time.Time, time.Duration, int) ([]analyze.BucketSeries, error) {
	return nil, nil
}

func hostResult(host string, v float64) analyze.Result {
	return analyze.Result{Labels: map[string]string{"host": host}, Value: v}
}

// The resources section: each host's average and peak per metric, the
// previous period's average, hosts outside Hosts left out, a metric the
// stores have as another type skipped (logged), and the hosts listed once,
// sorted.
func TestAssembleResources(t *testing.T) {
	now, prev := t0.Format(time.RFC3339), t0.Add(-24*time.Hour).Format(time.RFC3339)
	src := &fakeSource{answers: map[string][]analyze.Result{
		"cpu_usage_percent.avg by (host)@" + now:  {hostResult("b", 20), hostResult("a", 10), hostResult("x", 99)},
		"cpu_usage_percent.max by (host)@" + now:  {hostResult("a", 15), hostResult("b", 40)},
		"cpu_usage_percent.avg by (host)@" + prev: {hostResult("a", 5)},
		"disk_usage_percent.avg by (host)@" + now: {hostResult("a", 70)},
	}, errs: map[string]error{
		"memory_usage_percent.avg by (host)@" + now: &analyze.QueryError{Msg: "memory_usage_percent is a counter"},
	}}
	var log strings.Builder
	r := &Report{At: t0, Period: 24 * time.Hour, Compare: true}
	err := Assemble(context.Background(), src, r, Inputs{Hosts: []string{"a", "b"}, Logger: slog.New(slog.NewTextHandler(&log, nil))})
	if err != nil {
		t.Fatal(err)
	}
	five := 5.0
	want := []Resource{
		{Host: "a", Metric: "cpu_usage_percent", Avg: 10, Max: 15, PrevAvg: &five},
		{Host: "a", Metric: "disk_usage_percent", Avg: 70},
		{Host: "b", Metric: "cpu_usage_percent", Avg: 20, Max: 40},
	}
	if len(r.Resources) != len(want) {
		t.Fatalf("resources %+v, want %+v", r.Resources, want)
	}
	for i, w := range want {
		g := r.Resources[i]
		if g.Host != w.Host || g.Metric != w.Metric || g.Avg != w.Avg || g.Max != w.Max ||
			(g.PrevAvg == nil) != (w.PrevAvg == nil) || (g.PrevAvg != nil && *g.PrevAvg != *w.PrevAvg) {
			t.Errorf("resource %d: %+v, want %+v", i, g, w)
		}
	}
	if !slices.Equal(r.Hosts, []string{"a", "b"}) {
		t.Errorf("hosts %v, want [a b]", r.Hosts)
	}
	if !strings.Contains(log.String(), "report: metric skipped") || !strings.Contains(log.String(), "memory_usage_percent") {
		t.Errorf("log %q: want the skipped metric", log.String())
	}
}
