package slo

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/vigil-metrics/vigil/analyze"
)

// One request, and it failed, against 99.9% over 30d with min_events
// 100: vigil slo calls that invalid (1 < 100), so the budget is invalid
// too. Judged, it would be 100% errors = 1/0.001 = 100,000% consumed,
// burn 1000 over 1h and 5m (page), exhausted; invalid, nothing alerts,
// nothing is exhausted, the time to exhaustion is not stated.
func TestComputeBudgetTooFewEvents(t *testing.T) {
	ob := objective(t, "99.9", 30*day)
	ob.MinEvents = 100
	one := Events{Good: 0, Total: 1}
	over := map[time.Duration]Events{time.Hour: one, 5 * time.Minute: one, 30 * time.Minute: one, 6 * time.Hour: one,
		2 * time.Hour: one, day: one, 3 * day: one}
	b := ComputeBudget(ob, 30*day, one, over)
	if want := "too few events: 1, min_events 100"; b.Invalid != want || ob.InvalidReason(one) != want {
		t.Errorf("invalid %q (objective says %q), want %q", b.Invalid, ob.InvalidReason(one), want)
	}
	if b.Exhausted || len(b.Alerts) != 0 || b.Alerts == nil || b.TimeToExhaustion != nil {
		t.Errorf("exhausted %v, alerts %+v, exhaustion %v: want false, empty, nil", b.Exhausted, b.Alerts, b.TimeToExhaustion)
	}
	// At min_events exactly it is judged: 100 events, 1 bad = 1% of
	// errors = 1000% consumed (exhausted); 1h and 5m have 50 bad of 100 =
	// burn 500 > 14.4: a page.
	e := Events{Good: 99, Total: 100}
	half := Events{Good: 50, Total: 100}
	b = ComputeBudget(ob, 30*day, e, map[time.Duration]Events{time.Hour: half, 5 * time.Minute: half})
	if b.Invalid != "" || !b.Exhausted || len(b.Alerts) == 0 || b.Alerts[0].Severity != "page" {
		t.Errorf("at min_events: invalid %q, exhausted %v, alerts %+v; want valid, exhausted, a page", b.Invalid, b.Exhausted, b.Alerts)
	}
}

// 1 bad event in 10,000,000 at 99.9% over 30d: burn 1e-7/1e-3 = 1e-4,
// consumed 0.01%, so the rest lasts 0.9999 x 2,592,000 s / 1e-4 =
// 25,917,408,000 s = 821 years: past the 100-year horizon, never (it
// was -9223372036.85 s: 2.59e19 ns overflows time.Duration).
func TestTimeToExhaustionHorizon(t *testing.T) {
	if d, ok := TimeToExhaustion(0.01, 1e-4, 30*day); ok || d < 0 {
		t.Errorf("821 years: got %v %v, want never", d, ok)
	}
	// Just inside: nothing spent, burn 0.001 over 30d lasts 2,592,000,000
	// s = 30,000 days = 82.1 years.
	if d, ok := TimeToExhaustion(0, 0.001, 30*day); !ok || d != 30000*day {
		t.Errorf("82 years: got %v %v, want 720000h", d, ok)
	}
	// The horizon itself (36525 days) is stated; beyond it never: burn
	// 30/36525 over 30d lasts exactly 36525 days.
	if d, ok := TimeToExhaustion(0, 30.0/36525, 30*day); !ok || d.Round(time.Second) != 36525*day {
		t.Errorf("at the horizon: got %v %v, want 876600h", d, ok)
	}
	if _, ok := TimeToExhaustion(0, 29.0/36525, 30*day); ok {
		t.Error("past the horizon (37784 days): want never")
	}
}

// A ratio SLI whose good count (120) exceeds its total (100) is a
// configuration error naming both paths and counts, not 100% met; so is
// a bad count above the total.
func TestRatioCountExceedsTotal(t *testing.T) {
	const good, bad, total = `payments_total{status="ok"}.increase`, `payments_total{status="err"}.increase`, "payments_total.increase"
	q := newFake(map[string][]analyze.Result{good: {res(120)}, bad: {res(130)}, total: {res(100)}})
	at := time.Date(2026, 11, 29, 12, 0, 0, 0, time.UTC)
	ob := Objective{File: "vigil.yaml", Line: 7, Service: "checkout", SLI: "payments", Target: mustTarget(t, "99.5"),
		Window: Window{Rolling: 7 * day}, Good: good, Total: total, MinEvents: 1}
	_, err := NewEvaluator(q, at).Events(context.Background(), ob, 7*day)
	want := `vigil.yaml:7: objective checkout/payments: good count 120 (payments_total{status="ok"}.increase) exceeds its total 100 (payments_total.increase) over 1w`
	var ce *CountError
	if err == nil || err.Error() != want || !errors.As(err, &ce) || !ce.UsageError() {
		t.Errorf("got %v, want %s (a usage error)", err, want)
	}
	ob.Good, ob.Bad = "", bad
	_, err = NewEvaluator(q, at).Events(context.Background(), ob, 7*day)
	want = `vigil.yaml:7: objective checkout/payments: bad count 130 (payments_total{status="err"}.increase) exceeds its total 100 (payments_total.increase) over 1w`
	if err == nil || err.Error() != want {
		t.Errorf("got %v, want %s", err, want)
	}
	// Equal is fine: all good, 100%.
	q = newFake(map[string][]analyze.Result{good: {res(100)}, total: {res(100)}})
	ob.Good, ob.Bad = good, ""
	if e, err := NewEvaluator(q, at).Events(context.Background(), ob, 7*day); err != nil || e != (Events{Good: 100, Total: 100}) {
		t.Errorf("good = total: %+v %v, want 100 of 100", e, err)
	}
}
