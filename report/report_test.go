package report

import (
	"math"
	"strings"
	"testing"
	"time"

	"github.com/vigil-metrics/vigil/alert/state"
	"github.com/vigil-metrics/vigil/analyze/slo"
)

var t0 = time.Date(2026, 11, 29, 12, 0, 0, 0, time.UTC)

func TestSummarize(t *testing.T) {
	from := t0.Add(-24 * time.Hour)
	ev := func(fp uint64, rule string, at time.Time, f, to state.State) state.Event {
		return state.Event{Fingerprint: fp, Rule: rule, At: at, From: f, To: to}
	}
	events := []state.Event{
		// fp 1 fired before the period, resolved in it after 2h.
		ev(1, "a", from.Add(-time.Hour), state.Pending, state.Firing),
		ev(1, "a", from.Add(time.Hour), state.Firing, state.Resolved),
		// fp 2 fired twice in the period, resolved once after 30m.
		ev(2, "b", from.Add(2*time.Hour), state.Pending, state.Firing),
		ev(2, "b", from.Add(2*time.Hour+30*time.Minute), state.Firing, state.Resolved),
		ev(2, "b", from.Add(5*time.Hour), state.Inactive, state.Firing),
		ev(2, "b", from.Add(6*time.Hour), state.Firing, state.Firing), // no new firing
		ev(3, "a", from.Add(7*time.Hour), state.Pending, state.Firing),
		// after the period: not counted
		ev(4, "c", t0.Add(time.Minute), state.Pending, state.Firing),
	}
	atts := []state.Attempt{
		{At: from.Add(-time.Minute), Result: "error"}, // before the period
		{At: from.Add(time.Hour), Result: "ok"},
		{At: from.Add(2 * time.Hour), Result: "ok"},
		{At: from.Add(3 * time.Hour), Result: "error"},
		{At: from.Add(4 * time.Hour), Result: "unknown"},
	}
	incs := []state.Incident{{ID: "i1", Opened: from.Add(time.Hour)}, {ID: "i2", Opened: t0.Add(time.Hour)}}
	a := Summarize(events, atts, incs, from, t0)
	if a.Fired != 3 || a.Resolved != 2 {
		t.Errorf("fired %d resolved %d, want 3 and 2", a.Fired, a.Resolved)
	}
	if a.MeanTimeToResolve == nil || *a.MeanTimeToResolve != 75*time.Minute {
		t.Errorf("MTTR %v, want 1h15m (mean of 2h and 30m)", a.MeanTimeToResolve)
	}
	if len(a.Noisiest) != 2 || a.Noisiest[0] != (RuleCount{"b", 2}) || a.Noisiest[1] != (RuleCount{"a", 1}) {
		t.Errorf("noisiest %v, want b 2, a 1", a.Noisiest)
	}
	if a.Sent != 2 || a.Failed != 1 || a.Unknown != 1 {
		t.Errorf("sent %d failed %d unknown %d, want 2, 1, 1", a.Sent, a.Failed, a.Unknown)
	}
	// At t0, fp 2 (b, fired at 5h, Firing -> Firing at 6h) and fp 3 (a,
	// fired at 7h) fire; fp 1 resolved; fp 4 fires after the period.
	if len(a.FiringNow) != 2 || a.FiringNow[0] != (RuleCount{"a", 1}) || a.FiringNow[1] != (RuleCount{"b", 1}) {
		t.Errorf("firing now %v, want a 1, b 1", a.FiringNow)
	}
	if len(a.Incidents) != 1 || a.Incidents[0].ID != "i1" {
		t.Errorf("incidents %v, want i1 only", a.Incidents)
	}
	if a.Empty() {
		t.Error("Empty: want false")
	}
	if !Summarize(nil, nil, nil, from, t0).Empty() {
		t.Error("no history: want Empty")
	}
}

func TestParseFile(t *testing.T) {
	f, err := ParseFile("v.yaml", []byte(`
alert_rules:
  - name: x
    metric_path: response_time_ms.p95 by (service)
  - name: y
report:
  title: Weekly ops
  metrics: [queue_wait_ms]
  hosts: [db-01]
`))
	if err != nil {
		t.Fatal(err)
	}
	if !f.HasReport || f.Report.Title != "Weekly ops" || len(f.Report.Metrics) != 1 || f.Report.Hosts[0] != "db-01" {
		t.Errorf("report: %+v", f)
	}
	if len(f.RulePaths) != 1 || f.RulePaths[0] != "response_time_ms.p95 by (service)" {
		t.Errorf("rule paths %q", f.RulePaths)
	}
	_, err = ParseFile("v.yaml", []byte("report:\n  titel: x\n"))
	if err == nil || !strings.Contains(err.Error(), `v.yaml:2: report: unknown key "titel"`) {
		t.Errorf("unknown key: %v", err)
	}
	if f, err := ParseFile("v.yaml", []byte("slos: []\n")); err != nil || f.HasReport {
		t.Errorf("no report section: %+v, %v", f, err)
	}
}

// A report without data: every section is one line, and no highlight is
// invented.
func TestRenderEmpty(t *testing.T) {
	r := &Report{Period: 7 * 24 * time.Hour, PeriodText: "7d", At: t0, Stores: []string{"x.db"}, Generated: t0.Add(5 * time.Minute)}
	r.Highlights = Highlights(r)
	var b strings.Builder
	if err := Render(&b, r, "markdown"); err != nil {
		t.Fatal(err)
	}
	out := b.String()
	for _, want := range []string{
		"**Period:** 2026-11-22 12:00 UTC to 2026-11-29 12:00 UTC (7d)  \n",
		"**Hosts:** none  \n",
		// The wall clock of generation, not the period's end (issue 30).
		"**Generated:** 2026-11-29 12:05 UTC\n",
		"\nNothing stands out in this period.\n",
		"\nNo service level objectives are defined.\n",
		"\nNo error budgets: no service level objectives are defined.\n",
		"\nNo alert history: there is no state DB (vigil evaluate keeps one).\n",
		"\nNo latency data in this period.\n",
		"\nNo resource data in this period.\n",
	} {
		if !strings.Contains(out, want) {
			t.Errorf("missing %q in:\n%s", want, out)
		}
	}
	if strings.Contains(out, "|") {
		t.Errorf("a table without data:\n%s", out)
	}
	b.Reset()
	if err := Render(&b, r, "html"); err != nil {
		t.Fatal(err)
	}
	if !strings.HasPrefix(b.String(), "<!DOCTYPE html>") || !strings.Contains(b.String(), "<p>No resource data in this period.</p>") {
		t.Errorf("html:\n%s", b.String())
	}
	if err := Render(&b, r, "pdf"); err == nil {
		t.Error("pdf: want an error")
	}
}

func TestSparkline(t *testing.T) {
	ps := func(vs ...float64) []Point {
		var out []Point
		for _, v := range vs {
			out = append(out, Point{V: v})
		}
		return out
	}
	for _, c := range []struct {
		in   []Point
		want string
	}{
		{ps(1, 2, 3, 4, 5, 6, 7, 8), "▁▂▃▄▅▆▇█"},
		{ps(10, math.NaN(), 0), "█·▁"},
		{ps(5, 5), "▄▄"},
		{nil, ""},
	} {
		if got := Sparkline(c.in); got != c.want {
			t.Errorf("Sparkline(%v) = %q, want %q", c.in, got, c.want)
		}
	}
}

func TestSteps(t *testing.T) {
	for _, c := range []struct {
		period, step time.Duration
		n            int
	}{
		{7 * 24 * time.Hour, 24 * time.Hour, 7},
		{30 * 24 * time.Hour, 24 * time.Hour, 30},
		{24 * time.Hour, time.Hour, 24},
		{90 * time.Minute, 225 * time.Second, 24},
		// Under 12 hours, whole hours too are split in 24: an hour's
		// report (or chart) is 24 points, not one dot.
		{time.Hour, 150 * time.Second, 24},
		{2 * time.Hour, 5 * time.Minute, 24},
		{12 * time.Hour, time.Hour, 12},
	} {
		step, n := Steps(c.period)
		if step != c.step || n != c.n {
			t.Errorf("Steps(%v) = %v, %d; want %v, %d", c.period, step, n, c.step, c.n)
		}
	}
}

// The highlights print a budget's consumption as its table does (slo's
// ConsumptionText, issue 25 D4): at 99.9%, 2,000,001 bad of 2e9 is
// 100.00005% of the budget, exhausted: "100.0001%" (never "100%");
// 1,998,001 bad is 99.90005%, met: "99.9%" (not "100%").
func TestHighlightsConsumption(t *testing.T) {
	tgt, err := slo.ParseTarget("99.9")
	if err != nil {
		t.Fatal(err)
	}
	over, under := slo.Events{Good: 2e9 - 2000001, Total: 2e9}, slo.Events{Good: 2e9 - 1998001, Total: 2e9}
	r := &Report{Budgets: []Budget{
		{Service: "a|x", SLI: "p|q", Window: "30d", ConsumptionPercent: over.Consumption(tgt), ConsumedText: slo.ConsumptionText(over, tgt, 80), Exhausted: true},
		{Service: "b", SLI: "custom", Window: "30d", ConsumptionPercent: under.Consumption(tgt), ConsumedText: slo.ConsumptionText(under, tgt, 80)},
	}}
	got := strings.Join(Highlights(r), "\n")
	want := "a\\|x used 100.0001% of its p\\|q error budget (30d): it is exhausted.\nb used 99.9% of its custom error budget (30d)."
	if got != want {
		t.Errorf("highlights:\n%s\nwant:\n%s", got, want)
	}
}

func TestHighlights(t *testing.T) {
	prev := 100.0
	r := &Report{
		SLOs:      []SLO{{Service: "api", SLI: "availability", Window: "7d", TargetPercent: 99.9, Percent: 99.75, Total: 10}},
		Budgets:   []Budget{{Service: "api", SLI: "availability", Window: "7d", ConsumptionPercent: 249.4, Exhausted: true}},
		Latency:   []Latency{{Metric: "rt", Service: "api", P95: 130, PrevP95: &prev}, {Metric: "rt", Service: "web", P95: 110, PrevP95: &prev}},
		Resources: []Resource{{Host: "db-01", Metric: "cpu_usage_percent", Avg: 60, Max: 99.5}, {Host: "w", Metric: "cpu_usage_percent", Avg: 10, Max: 90}},
		Alerts:    &Alerts{Fired: 5, Resolved: 2, Noisiest: []RuleCount{{"hot", 4}, {"cold", 1}}, Failed: 1},
	}
	got := strings.Join(Highlights(r), "\n")
	want := strings.Join([]string{
		"api availability was 99.75% over 7d, below its 99.9% target.",
		"api used 249.4% of its availability error budget (7d): it is exhausted.",
		"rt p95 of api rose +30% vs the previous period (100 to 130).",
		"cpu_usage_percent peaked at 99.5 on db-01 (average 60).",
		"5 alerts fired in this period and 2 resolved.",
		"The noisiest alert rule was hot: it fired 4 times.",
		"1 notification attempt failed.",
	}, "\n")
	if got != want {
		t.Errorf("highlights:\n%s\nwant:\n%s", got, want)
	}
}
