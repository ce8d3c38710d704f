package eval

import (
	"context"
	"fmt"
	"math"
	"path/filepath"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/vigil-metrics/vigil/alert/config"
	"github.com/vigil-metrics/vigil/analyze"
	"github.com/vigil-metrics/vigil/internal/metricpath"
	"github.com/vigil-metrics/vigil/internal/store"
)

func TestBreached(t *testing.T) {
	for _, c := range []struct {
		cond string
		v, t float64
		want bool
	}{
		{"greater_than", 81, 80, true}, {"greater_than", 80, 80, false},
		{"less_than", 79, 80, true}, {"less_than", 80, 80, false},
		{"equals", 80, 80, true}, {"equals", 80.5, 80, false},
		{"not_equals", 1, 0, true}, {"not_equals", 0, 0, false},
		{"greater_or_equal", 80, 80, true}, {"greater_or_equal", 79, 80, false},
		{"less_or_equal", 80, 80, true}, {"less_or_equal", 81, 80, false},
		{"greater_than", math.NaN(), 0, false}, {"not_equals", math.NaN(), 0, false},
		{"above", 100, 0, false},
	} {
		if got := Breached(c.cond, c.v, c.t); got != c.want {
			t.Errorf("Breached(%s, %v, %v) = %v, want %v", c.cond, c.v, c.t, got, c.want)
		}
	}
}

var at = time.Unix(1795946400, 0).UTC()

// A store with cpu_usage_percent of two hosts over the last 5 minutes:
// host a averages 90, host b 50; and a counter.
func fixture(t *testing.T) *analyze.DB {
	t.Helper()
	dir := t.TempDir()
	p := filepath.Join(dir, "v.db")
	st, err := store.Open(context.Background(), p, store.Options{})
	if err != nil {
		t.Fatal(err)
	}
	var s []store.Sample
	for i, v := range []float64{85, 95} {
		s = append(s, store.Sample{Name: "cpu_usage_percent", Type: store.Gauge, Labels: map[string]string{"host": "a"}, TS: at.Add(-time.Duration(i+1) * time.Minute).UnixMilli(), Value: v})
	}
	for i, v := range []float64{40, 60} {
		s = append(s, store.Sample{Name: "cpu_usage_percent", Type: store.Gauge, Labels: map[string]string{"host": "b"}, TS: at.Add(-time.Duration(i+1) * time.Minute).UnixMilli(), Value: v})
	}
	s = append(s, store.Sample{Name: "errors_total", Type: store.Counter, TS: at.Add(-time.Minute).UnixMilli(), Value: 3})
	if _, err := st.Write(context.Background(), s); err != nil {
		t.Fatal(err)
	}
	st.Close()
	db, err := analyze.Open(context.Background(), []string{p}, analyze.Options{CacheDir: filepath.Join(dir, "cache")})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	return db
}

func render(obs []Observation) string {
	var parts []string
	for _, o := range obs {
		keys := make([]string, 0, len(o.Labels))
		for k := range o.Labels {
			keys = append(keys, k)
		}
		sort.Strings(keys)
		var ls []string
		for _, k := range keys {
			ls = append(ls, k+"="+o.Labels[k])
		}
		parts = append(parts, fmt.Sprintf("%s{%s} data=%v breached=%v value=%g", o.Rule.Name, strings.Join(ls, ","), o.HasData, o.Breached, o.Value))
	}
	sort.Strings(parts)
	return strings.Join(parts, "\n")
}

// The reference design's form: a bare metric name (the window's avg for a
// gauge), group_by, static labels; one observation per host; a rule with
// no matching data is one nodata observation, never breached.
func TestRules(t *testing.T) {
	db := fixture(t)
	rules := []config.Rule{
		{Name: "high_cpu", MetricPath: "cpu_usage_percent", Condition: "greater_than", Threshold: 80,
			EvaluationWindow: 5 * time.Minute, GroupBy: []string{"host"}, Labels: map[string]string{"team": "infra", "host": "ignored"}},
		{Name: "errors", MetricPath: "errors_total.increase", Condition: "greater_or_equal", Threshold: 3,
			EvaluationWindow: 5 * time.Minute},
		{Name: "disk", MetricPath: "disk_usage_percent.max", Condition: "greater_than", Threshold: 90,
			EvaluationWindow: 5 * time.Minute, Labels: map[string]string{"team": "infra"}},
	}
	obs, errs, err := Rules(context.Background(), db, rules, at)
	if err != nil || errs != nil {
		t.Fatal(err, errs)
	}
	want := strings.Join([]string{
		"disk{team=infra} data=false breached=false value=NaN",
		"errors{} data=true breached=true value=3",
		"high_cpu{host=a,team=infra} data=true breached=true value=90",
		"high_cpu{host=b,team=infra} data=true breached=false value=50",
	}, "\n")
	if got := render(obs); got != want {
		t.Errorf("observations:\n%s\nwant\n%s", got, want)
	}
}

// A rule the stores cannot answer as asked (the rate of a gauge) is an
// error of that rule alone, named, in the rules' order: the rules after it
// are still evaluated (the fixture's cpu_usage_percent max over 5 minutes
// is host a's 95, above 90: breached).
func TestRuleErrorNamesRule(t *testing.T) {
	db := fixture(t)
	obs, errs, err := Rules(context.Background(), db, []config.Rule{
		{Name: "bad", MetricPath: "cpu_usage_percent.rate", Condition: "greater_than", EvaluationWindow: time.Minute},
		{Name: "cpu", MetricPath: "cpu_usage_percent.max", Condition: "greater_than", Threshold: 90, EvaluationWindow: 5 * time.Minute},
	}, at)
	if err != nil {
		t.Fatal(err)
	}
	if len(errs) != 1 || errs[0].Rule != "bad" || !strings.HasPrefix(errs[0].Error(), "rule bad: rate of cpu_usage_percent: ") {
		t.Errorf("errs = %v", errs)
	}
	if got, want := render(obs), "cpu{} data=true breached=true value=95"; got != want {
		t.Errorf("observations:\n%s\nwant\n%s", got, want)
	}
}

// Observing a rule without labels of its own copies no group's labels:
// a run observes every group of every rule (a thousand series a rule in
// the evaluate benchmark). With labels of its own, each group gets a map
// of both, the group's winning, and the results' maps are left alone.
func TestObserveCopiesOnlyToMerge(t *testing.T) {
	res := make([]analyze.Result, 1000)
	for i := range res {
		res[i] = analyze.Result{Labels: map[string]string{"host": fmt.Sprint(i)}, Value: float64(i), Samples: 1}
	}
	plain := &config.Rule{Name: "r", Condition: "greater_than", Threshold: 500}
	e := &metricpath.Expr{}
	if n := testing.AllocsPerRun(10, func() { Observe(plain, e, [][]analyze.Result{res}) }); n > 2 {
		t.Errorf("%v allocations to observe 1000 groups, want at most 2 (the list)", n)
	}
	obs := Observe(plain, e, [][]analyze.Result{res})
	if len(obs) != 1000 || obs[7].Labels["host"] != "7" || obs[7].Breached || !obs[600].Breached {
		t.Errorf("observations %v ...", obs[:2])
	}
	labelled := &config.Rule{Name: "r", Condition: "greater_than", Threshold: 500, Labels: map[string]string{"team": "db", "host": "rule"}}
	obs = Observe(labelled, e, [][]analyze.Result{res})
	if got := obs[7].Labels; len(got) != 2 || got["team"] != "db" || got["host"] != "7" || len(res[7].Labels) != 1 {
		t.Errorf("merged labels %v (result's %v), want team=db host=7 (result's untouched)", got, res[7].Labels)
	}
}
