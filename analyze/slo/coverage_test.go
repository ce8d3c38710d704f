package slo

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/vigil-metrics/vigil/analyze"
	"github.com/vigil-metrics/vigil/internal/metricpath"
)

// extentQ answers Extent with a first sample (and nothing else).
type extentQ struct{ first time.Time }

func (q extentQ) Eval(context.Context, *metricpath.Expr, analyze.Window) ([]analyze.Result, error) {
	return nil, nil
}

func (q extentQ) Buckets(context.Context, *metricpath.Expr, time.Time, time.Duration, int) ([]analyze.BucketSeries, error) {
	return nil, nil
}

func (q extentQ) Extent(context.Context) (time.Time, time.Time, bool, error) {
	return q.first, q.first, true, nil
}

// Issue 30: a 1d objective over 6 minutes of history covers 6/1440 =
// 0.41667% of its window: below the default min_coverage of 10% it is
// invalid (no verdict, no alert, the gate passes), saying why; 3 hours of
// a 1d window (12.5%) pass; min_coverage: 0 never checks.
func TestCoverage(t *testing.T) {
	at := time.Date(2026, 11, 29, 12, 0, 0, 0, time.UTC)
	objs, _, err := Parse("v.yaml", []byte("slos:\n  - {service: api, target: 99.9, window: 1d}\n  - {service: web, target: 99.9, window: 1d, min_coverage: 0}\n"))
	if err != nil {
		t.Fatal(err)
	}
	if objs[0].MinCoverage != 10 || objs[1].MinCoverage != 0 {
		t.Fatalf("min_coverage %v, %v; want the default 10, and 0", objs[0].MinCoverage, objs[1].MinCoverage)
	}
	bad := Events{Good: 90, Total: 100} // breached, if it counted
	ev := NewEvaluator(extentQ{at.Add(-6 * time.Minute)}, at)
	c, err := ev.Coverage(context.Background(), objs[0])
	if err != nil || !c.Known || c.Percent != 100*6.0/1440 || !c.Since.Equal(at.Add(-6*time.Minute)) {
		t.Fatalf("coverage %+v, %v; want 0.41667%% since 11:54", c, err)
	}
	want := "the data covers 0.417% of the 1d window (first sample 2026-11-29T11:54:00Z): min_coverage 10%"
	if r := objs[0].InvalidReasonCovered(bad, c); r != want {
		t.Errorf("reason %q, want %q", r, want)
	}
	if r := objs[1].InvalidReasonCovered(bad, c); r != "" {
		t.Errorf("min_coverage 0: %q", r)
	}
	b := computeBudget(objs[0], 24*time.Hour, bad, nil, c)
	if b.Invalid != want || b.Exhausted || len(b.Alerts) != 0 {
		t.Errorf("budget: invalid %q, exhausted %v, alerts %v", b.Invalid, b.Exhausted, b.Alerts)
	}
	// Three hours of a day: 12.5%, enough; before the window: 100%.
	for first, pct := range map[time.Duration]float64{3 * time.Hour: 12.5, 48 * time.Hour: 100} {
		c, _ := NewEvaluator(extentQ{at.Add(-first)}, at).Coverage(context.Background(), objs[0])
		if c.Percent != pct || objs[0].InvalidReasonCovered(bad, c) != "" {
			t.Errorf("first sample %v before: %+v, reason %q", first, c, objs[0].InvalidReasonCovered(bad, c))
		}
	}
	// A querier that cannot tell: not known, not held against it.
	if c, _ := NewEvaluator(nil, at).Coverage(context.Background(), objs[0]); c.Known {
		t.Errorf("no extent: %+v", c)
	}
	// NaN would make every comparison false: every objective invalid.
	for _, v := range []string{"NaN", ".nan", "+Inf", "-1"} {
		if _, _, err := Parse("v.yaml", []byte("slos:\n  - {service: api, target: 99.9, min_coverage: "+v+"}\n")); err == nil ||
			!strings.Contains(err.Error(), "min_coverage: want a non-negative number") {
			t.Errorf("min_coverage %s: %v", v, err)
		}
	}
	if _, _, err := Parse("v.yaml", []byte("slos:\n  - {service: api, target: 99.9, min_coverage: 120}\n")); err == nil || !strings.Contains(err.Error(), "v.yaml:2: min_coverage: want a percent from 0 to 100, got 120") {
		t.Errorf("min_coverage 120: %v", err)
	}
}

// A number written as a YAML string is refused, as every other typed key
// of vigil.yaml refuses one (alerting.md: `threshold: "80"` is an error):
// h30 D9's lesser part accepted a quoted min_coverage as 10.
func TestNumberKeysRefuseStrings(t *testing.T) {
	for _, key := range []string{"min_coverage", "min_events", "budget_alert_percent"} {
		src := "slos:\n  - service: api\n    target: 99.9\n    " + key + ": \"10\"\n"
		_, _, err := Parse("v.yaml", []byte(src))
		want := `v.yaml:4: ` + key + `: want a non-negative number, got the string "10"`
		if err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("%s: %v, want %s", key, err, want)
		}
	}
	src := "slos:\n  - service: api\n    target: 99.9\n    latency_target: 99\n    histogram: http_ms\n    threshold_ms: '300'\n"
	if _, _, err := Parse("v.yaml", []byte(src)); err == nil || !strings.Contains(err.Error(), `v.yaml:6: threshold_ms: want a non-negative number, got the string "300"`) {
		t.Errorf("threshold_ms: %v", err)
	}
	// Plain numbers stay accepted.
	src = "slos:\n  - {service: api, target: 99.9, min_coverage: 10, min_events: 5, budget_alert_percent: 50.5}\n"
	if objs, _, err := Parse("v.yaml", []byte(src)); err != nil || objs[0].MinCoverage != 10 || objs[0].MinEvents != 5 || objs[0].BudgetAlertPercent != 50.5 {
		t.Errorf("plain numbers: %v", err)
	}
}
