package slo

import (
	"context"
	"math"
	"testing"
	"time"

	"github.com/vigil-metrics/vigil/analyze"
)

const day = 24 * time.Hour

func objective(t *testing.T, target string, window time.Duration) Objective {
	t.Helper()
	return Objective{Service: "api", SLI: Availability, Target: mustTarget(t, target),
		Window: Window{Rolling: window}, BudgetAlertPercent: 80}
}

func near(got, want float64) bool { return math.Abs(got-want) <= 1e-9*math.Max(1, math.Abs(want)) }

func rate(p *float64) float64 {
	if p == nil {
		return math.NaN()
	}
	return *p
}

// A 99.9% objective over 30d with 0.05% errors so far (50 of 100000):
// the budget is 0.1%, half of it spent.
//
//	consumption      0.0005 / 0.001 x 100        = 50%
//	remaining        100 - 50                    = 50%
//	minutes left     50% x 0.1% x 43200 min      = 21.6
//	burn (30d)       0.0005 / 0.001              = 0.5
//	burn (1h)        20 of 1000 = 0.02 / 0.001   = 20
//	burn (5m)        3 of 100   = 0.03 / 0.001   = 30
//	burn (6h)        10 of 10000 = 0.001 / 0.001 = 1
//	burn (1d)        400 of 100000               = 4
//	burn (2h)        40 of 2000                  = 20
//	burn (3d)        300 of 300000               = 1
//	exhausts in      50% of 30d at 20x = 0.5 x 720h / 20 = 18h
//
// Pages: 1h (20) and 5m (30) both above 14.4; 6h (1) is not above 6.
// Tickets: 1d (4) and 2h (20) above 3; 3d exactly at 1 is not above 1.
// 50% consumed is under the 80% budget alert.
func TestComputeBudgetHalfSpent(t *testing.T) {
	ob := objective(t, "99.9", 30*day)
	e := Events{Good: 99950, Total: 100000}
	over := map[time.Duration]Events{
		time.Hour:        {Good: 980, Total: 1000},
		5 * time.Minute:  {Good: 97, Total: 100},
		6 * time.Hour:    {Good: 9990, Total: 10000},
		day:              {Good: 99600, Total: 100000},
		2 * time.Hour:    {Good: 1960, Total: 2000},
		3 * day:          {Good: 299700, Total: 300000},
		30 * time.Minute: {},
	}
	b := ComputeBudget(ob, 30*day, e, over)
	if b.ConsumptionPercent != 50 || b.RemainingPercent != 50 || !near(b.RemainingMinutes, 21.6) {
		t.Errorf("consumed %v%%, remaining %v%% (%v min), want 50%%, 50%% (21.6 min)", b.ConsumptionPercent, b.RemainingPercent, b.RemainingMinutes)
	}
	if b.Exhausted || b.NoData || b.Window != 30*day || b.Events != e {
		t.Errorf("exhausted %v, no data %v, window %v, events %+v", b.Exhausted, b.NoData, b.Window, b.Events)
	}
	for w, want := range map[string]float64{"30d": 0.5, "5m": 30, "1h": 20, "2h": 20, "6h": 1, "1d": 4, "3d": 1} {
		if got := rate(b.BurnRates[w]); got != want {
			t.Errorf("burn rate over %s: %v, want %v", w, got, want)
		}
	}
	if r, ok := b.BurnRates["30m"]; !ok || r != nil {
		t.Errorf("burn rate over 30m (no events): %v %v, want nil", r, ok)
	}
	if len(b.BurnRates) != 8 {
		t.Errorf("%d burn rates, want 8 (7 windows and the SLO's)", len(b.BurnRates))
	}
	if b.TimeToExhaustion == nil || *b.TimeToExhaustion != 18*time.Hour {
		t.Errorf("time to exhaustion %v, want 18h", b.TimeToExhaustion)
	}
	want := []BudgetAlert{
		{"page", "burn rate 20 over 1h and 30 over 5m, both above 14.4 (2% of the budget in 1h)"},
		{"ticket", "burn rate 4 over 1d and 20 over 2h, both above 3 (10% of the budget in 1d)"},
	}
	if len(b.Alerts) != len(want) {
		t.Fatalf("alerts %+v, want %+v", b.Alerts, want)
	}
	for i := range want {
		if b.Alerts[i] != want[i] {
			t.Errorf("alert %d: %+v, want %+v", i, b.Alerts[i], want[i])
		}
	}
}

// 90 errors of 100000 at 99.9%: 0.0009 / 0.001 = 90% consumed, over the
// 80% alert; 10% left = 10% x 0.1% x 43200 = 4.32 minutes. No burn
// window has events: no burn rates but the SLO window's (0.9), and the
// budget never runs out at a 1h rate of nothing.
func TestComputeBudgetAlertPercent(t *testing.T) {
	ob := objective(t, "99.9", 30*day)
	b := ComputeBudget(ob, 30*day, Events{Good: 99910, Total: 100000}, nil)
	if b.ConsumptionPercent != 90 || !near(b.RemainingPercent, 10) || !near(b.RemainingMinutes, 4.32) {
		t.Errorf("consumed %v%%, remaining %v%% (%v min), want 90%%, 10%% (4.32 min)", b.ConsumptionPercent, b.RemainingPercent, b.RemainingMinutes)
	}
	if got := rate(b.BurnRates["30d"]); got != 0.9 || b.BurnRates["1h"] != nil {
		t.Errorf("burn 30d %v, 1h %v: want 0.9 and nil", got, b.BurnRates["1h"])
	}
	if b.TimeToExhaustion != nil {
		t.Errorf("time to exhaustion %v, want never", *b.TimeToExhaustion)
	}
	want := BudgetAlert{"budget", "90% of the error budget consumed (alert above 80%)"}
	if len(b.Alerts) != 1 || b.Alerts[0] != want {
		t.Errorf("alerts %+v, want [%+v]", b.Alerts, want)
	}
}

// 30 errors of 1000 at 99% over 28d: 0.03 / 0.01 = 300% consumed,
// exhausted, -200% left = -2 x 1% x 40320 min = -806.4 minutes; the
// budget is already spent (time to exhaustion 0).
func TestComputeBudgetOverspent(t *testing.T) {
	ob := objective(t, "99", 28*day)
	b := ComputeBudget(ob, 28*day, Events{Good: 970, Total: 1000}, nil)
	if !near(b.ConsumptionPercent, 300) || !near(b.RemainingPercent, -200) || !near(b.RemainingMinutes, -806.4) || !b.Exhausted {
		t.Errorf("consumed %v%%, remaining %v%% (%v min), exhausted %v; want 300%%, -200%% (-806.4 min), exhausted",
			b.ConsumptionPercent, b.RemainingPercent, b.RemainingMinutes, b.Exhausted)
	}
	if b.TimeToExhaustion == nil || *b.TimeToExhaustion != 0 {
		t.Errorf("time to exhaustion %v, want 0", b.TimeToExhaustion)
	}
	if len(b.Alerts) != 1 || b.Alerts[0].Severity != "budget" {
		t.Errorf("alerts %+v, want the budget alert", b.Alerts)
	}
}

// No events: no data, nothing consumed, the whole budget left (0.1% of
// 30d = 43.2 minutes), no burn rates and no alerts.
func TestComputeBudgetNoData(t *testing.T) {
	ob := objective(t, "99.9", 30*day)
	ob.BudgetAlertPercent = 0
	b := ComputeBudget(ob, 30*day, Events{}, nil)
	if !b.NoData || b.Exhausted || b.ConsumptionPercent != 0 || b.RemainingPercent != 100 || !near(b.RemainingMinutes, 43.2) {
		t.Errorf("%+v", b)
	}
	if b.BurnRates["30d"] != nil || b.TimeToExhaustion != nil || len(b.Alerts) != 0 || b.Alerts == nil {
		t.Errorf("burn %v, exhaustion %v, alerts %#v: want nil, nil, empty", b.BurnRates["30d"], b.TimeToExhaustion, b.Alerts)
	}
}

// BudgetOf asks for the SLO window so far and each burn window once, as of
// the evaluator's time, and computes from what it got: here every window
// answers 5 bad of 1000 (burn 5 at 99.9%), so over a 30d window the
// tickets fire (5 > 3 and 5 > 1) and the pages do not (5 is not above
// 14.4 or 6); 500% of the budget is spent.
func TestBudgetOf(t *testing.T) {
	const path = "sli_requests_total.increase by (service, success)"
	q := newFake(map[string][]analyze.Result{path: {
		res(995, "service", "api", "success", "true"),
		res(5, "service", "api", "success", "false"),
	}})
	at := time.Date(2026, 11, 29, 12, 0, 0, 0, time.UTC)
	b, err := BudgetOf(context.Background(), NewEvaluator(q, at), objective(t, "99.9", 30*day))
	if err != nil {
		t.Fatal(err)
	}
	var lengths []time.Duration
	for _, w := range q.windows {
		if !w.At.Equal(at) {
			t.Errorf("window ends at %v, want %v", w.At, at)
		}
		lengths = append(lengths, w.Length)
	}
	wantLengths := []time.Duration{30 * day, 5 * time.Minute, 30 * time.Minute, time.Hour, 2 * time.Hour, 6 * time.Hour, day, 3 * day}
	if len(lengths) != len(wantLengths) {
		t.Fatalf("read windows %v, want %v", lengths, wantLengths)
	}
	for i := range wantLengths {
		if lengths[i] != wantLengths[i] {
			t.Fatalf("read windows %v, want %v", lengths, wantLengths)
		}
	}
	if b.Events != (Events{Good: 995, Total: 1000}) || b.Window != 30*day || !near(b.ConsumptionPercent, 500) {
		t.Errorf("events %+v, window %v, consumed %v%%: want 995 of 1000, 30d, 500%%", b.Events, b.Window, b.ConsumptionPercent)
	}
	var sev []string
	for _, a := range b.Alerts {
		sev = append(sev, a.Severity)
	}
	if len(sev) != 3 || sev[0] != "ticket" || sev[1] != "ticket" || sev[2] != "budget" {
		t.Errorf("alerts %v, want ticket, ticket, budget", sev)
	}
}
