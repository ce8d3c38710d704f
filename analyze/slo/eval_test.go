package slo

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/vigil-metrics/vigil/analyze"
	"github.com/vigil-metrics/vigil/internal/metricpath"
)

// fakeQ answers metric paths from a table and counts the queries.
type fakeQ struct {
	answers map[string][]analyze.Result
	calls   map[string]int
	windows []analyze.Window
}

func (q *fakeQ) Eval(_ context.Context, e *metricpath.Expr, w analyze.Window) ([]analyze.Result, error) {
	q.calls[e.String()]++
	q.windows = append(q.windows, w)
	return q.answers[e.String()], nil
}

// Buckets: no slices (the sliced objectives' tests read a real store).
func (q *fakeQ) Buckets(context.Context, *metricpath.Expr, time.Time, time.Duration, int) ([]analyze.BucketSeries, error) {
	return nil, nil
}

func newFake(answers map[string][]analyze.Result) *fakeQ {
	return &fakeQ{answers: answers, calls: map[string]int{}}
}

func res(v float64, kv ...string) analyze.Result {
	l := map[string]string{}
	for i := 0; i+1 < len(kv); i += 2 {
		l[kv[i]] = kv[i+1]
	}
	return analyze.Result{Labels: l, Value: v}
}

func TestTruthy(t *testing.T) {
	for v, want := range map[string]bool{
		"true": true, "True": true, "TRUE": true, "1": true,
		"false": false, "False": false, "0": false, "": false, "yes": false, "t": false,
	} {
		if Truthy(v) != want {
			t.Errorf("Truthy(%q) = %v, want %v", v, !want, want)
		}
	}
}

// The reference SLIs: every increment of sli_requests_total{service} is an
// event; those labelled success True/true/TRUE/1 are good, and
// false/False/0 or no success label at all are not. Hand count for api:
// good 10 (True) + 20 (true) + 3 (TRUE) + 4 (1) = 37; total 37 + 5
// (false) + 6 (False) + 7 (0) + 8 (missing) = 63. Another service's
// counts (1000) are not api's.
func TestOutcomeLabels(t *testing.T) {
	const path = "sli_requests_total.increase by (service, success)"
	q := newFake(map[string][]analyze.Result{path: {
		res(10, "service", "api", "success", "True"),
		res(20, "service", "api", "success", "true"),
		res(3, "service", "api", "success", "TRUE"),
		res(4, "service", "api", "success", "1"),
		res(5, "service", "api", "success", "false"),
		res(6, "service", "api", "success", "False"),
		res(7, "service", "api", "success", "0"),
		res(8, "service", "api"),
		res(1000, "service", "web", "success", "false"),
	}, "sli_latency_requests_total.increase by (service, fast)": {
		res(9, "service", "api", "fast", "True"),
		res(1, "service", "api", "fast", "False"),
	}})
	at := time.Date(2026, 11, 29, 12, 0, 0, 0, time.UTC)
	ev := NewEvaluator(q, at)
	e, err := ev.Events(context.Background(), Objective{Service: "api", SLI: Availability}, 24*time.Hour)
	if err != nil {
		t.Fatal(err)
	}
	if e.Good != 37 || e.Total != 63 {
		t.Errorf("availability %+v, want good 37 of 63", e)
	}
	// A second objective over the same window reuses the query.
	if _, err := ev.Events(context.Background(), Objective{Service: "web", SLI: Availability}, 24*time.Hour); err != nil {
		t.Fatal(err)
	}
	if q.calls[path] != 1 {
		t.Errorf("%d queries of %s, want 1 (cached per window)", q.calls[path], path)
	}
	if w := q.windows[0]; !w.At.Equal(at) || w.Length != 24*time.Hour {
		t.Errorf("window %+v, want 24h ending at %v", w, at)
	}
	// Latency: 9 fast of 10.
	l, err := ev.Events(context.Background(), Objective{Service: "api", SLI: Latency}, 24*time.Hour)
	if err != nil || l.Good != 9 || l.Total != 10 {
		t.Errorf("latency %+v %v, want 9 of 10", l, err)
	}
	// No events for a service nobody reports: 0 of 0, 100%, met.
	n, err := ev.Events(context.Background(), Objective{Service: "mcp_server", SLI: Availability}, 24*time.Hour)
	if err != nil || n.Total != 0 || n.Percent() != 100 || !n.Met(mustTarget(t, "99.95")) {
		t.Errorf("no data %+v %v", n, err)
	}
	// An empty window asks nothing.
	if z, err := ev.Events(context.Background(), Objective{Service: "api", SLI: Availability}, 0); err != nil || z.Total != 0 {
		t.Errorf("empty window %+v %v", z, err)
	}
}

// Custom ratios: good/total summed over every group; bad/total gives good
// = total - bad. Hand count: total 40 + 60 = 100, bad 3 + 2 = 5 -> good
// 95.
func TestCustomRatio(t *testing.T) {
	q := newFake(map[string][]analyze.Result{
		"requests_total.increase by (route)": {res(40, "route", "/a"), res(60, "route", "/b")},
		"errors_total.increase by (route)":   {res(3, "route", "/a"), res(2, "route", "/b")},
		"ok_total.increase":                  {res(97)},
	})
	ev := NewEvaluator(q, time.Unix(0, 0))
	e, err := ev.Events(context.Background(), Objective{Service: "api", SLI: "checkout",
		Bad: "errors_total.increase by (route)", Total: "requests_total.increase by (route)"}, time.Hour)
	if err != nil || e.Good != 95 || e.Total != 100 {
		t.Errorf("bad/total: %+v %v, want 95 of 100", e, err)
	}
	g, err := ev.Events(context.Background(), Objective{Service: "api", SLI: "checkout",
		Good: "ok_total.increase", Total: "requests_total.increase by (route)"}, time.Hour)
	if err != nil || g.Good != 97 || g.Total != 100 {
		t.Errorf("good/total: %+v %v, want 97 of 100", g, err)
	}
	// A path that does not parse names the objective's FILE:LINE.
	_, err = ev.Events(context.Background(), Objective{File: "v.yaml", Line: 7, Service: "api", SLI: "x",
		Good: "ok_total.nope", Total: "requests_total.increase"}, time.Hour)
	if err == nil || !strings.HasPrefix(err.Error(), "v.yaml:7: objective api/x: ") {
		t.Errorf("bad path: %v", err)
	}
}
