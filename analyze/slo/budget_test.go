package slo

import (
	"math"
	"testing"
	"time"
)

func mustTarget(t *testing.T, s string) Target {
	t.Helper()
	tg, err := ParseTarget(s)
	if err != nil {
		t.Fatal(err)
	}
	return tg
}

// slo-generator's documented example: 5 good and 5 bad events at goal
// 0.99 give an SLI of 0.5 and an error budget burn rate of 50.
func TestSLOGeneratorExample(t *testing.T) {
	e := Events{Good: 5, Total: 10}
	tg := mustTarget(t, "99")
	if got := e.Percent(); got != 50 {
		t.Errorf("SLI %v%%, want 50%%", got)
	}
	if br, ok := e.BurnRate(tg); !ok || br != 50 {
		t.Errorf("burn rate %v, want exactly 50", br)
	}
	if e.Met(tg) || !e.Exhausted(tg) {
		t.Error("0.5 against 0.99: want breached and exhausted")
	}
}

// An occurrences case: 111 good of 118 at 95%: 7/118 errors = 5.932%,
// against a 5% budget = 118.644% consumed (not capped at 100).
func TestOccurrencesOverspent(t *testing.T) {
	e := Events{Good: 111, Total: 118}
	tg := mustTarget(t, "95")
	got := e.Consumption(tg)
	want := 7.0 / 118 / 0.05 * 100 // 118.6440677966...
	if math.Abs(got-want) > 1e-9 || math.Round(got*10)/10 != 118.6 {
		t.Errorf("consumption %v, want %v (118.6)", got, want)
	}
	if !e.Exhausted(tg) {
		t.Error("want exhausted")
	}
	if d, ok := TimeToExhaustion(got, 2, 24*time.Hour); !ok || d != 0 {
		t.Errorf("time to exhaustion of a spent budget: %v %v, want 0", d, ok)
	}
}

// The factors are sloth's and Pyrra's for 30 days, 14.4, 6, 3, 1, for
// every SLO window: the windows scale instead (issue 25, "Burn-rate alerts
// on short SLO windows"; before it, a 28-day window had 13.44, 5.6, 2.8,
// 0.933 over fixed windows).
func TestFactors(t *testing.T) {
	want := []float64{14.4, 6, 3, 1}
	for _, w := range []time.Duration{24 * time.Hour, 28 * 24 * time.Hour, 30 * 24 * time.Hour} {
		for i, a := range Alerts {
			if got := a.Factor(); got != want[i] {
				t.Errorf("%v alert %d (%s): factor %v, want %v", w, i, a.Severity, got, want[i])
			}
		}
	}
}

// At the boundary: an error ratio of exactly 14.4 x (1 - 0.999) = 0.0144
// does not page (the condition is strictly greater); one event more does.
// In floats, 14.4 * (1 - 0.999) is 0.014400000000000012 and 14.4 * 0.001
// is 0.0144: a float comparison would depend on how it was written.
func TestBurnBoundaryExact(t *testing.T) {
	tg := mustTarget(t, "99.9")
	page := Alerts[0]
	at := Events{Good: 10000 - 144, Total: 10000} // error 0.0144
	over := Events{Good: 10000 - 145, Total: 10000}
	if page.Firing(tg, at, at) {
		t.Error("error ratio exactly at 14.4x budget: must not page")
	}
	if !page.Firing(tg, over, over) {
		t.Error("just over 14.4x: must page")
	}
	if page.Firing(tg, over, at) || page.Firing(tg, at, over) {
		t.Error("both windows must exceed")
	}
	if page.Firing(tg, over, Events{}) {
		t.Error("no events in the short window: no page")
	}
	if br, _ := at.BurnRate(tg); br != 14.4 {
		t.Errorf("burn rate %v, want exactly 14.4", br)
	}
}

// An SLI exactly at its target meets it: 999 of 1000 at 99.9.
func TestMetAtTarget(t *testing.T) {
	tg := mustTarget(t, "99.9")
	if !(Events{Good: 999, Total: 1000}).Met(tg) {
		t.Error("999/1000 at 99.9: want met")
	}
	if (Events{Good: 998, Total: 1000}).Met(tg) {
		t.Error("998/1000 at 99.9: want breached")
	}
	if c := (Events{Good: 999, Total: 1000}).Consumption(tg); c != 100 {
		t.Errorf("consumption at target %v, want exactly 100", c)
	}
}

func TestNoEvents(t *testing.T) {
	tg := mustTarget(t, "99.9")
	e := Events{}
	if e.Percent() != 100 || !e.Met(tg) || e.Consumption(tg) != 0 {
		t.Errorf("no events: %v%% met %v consumption %v", e.Percent(), e.Met(tg), e.Consumption(tg))
	}
	if _, ok := e.BurnRate(tg); ok {
		t.Error("no events: no burn rate")
	}
}

func TestParseTarget(t *testing.T) {
	for _, s := range []string{"0", "100", "-1", "101", "x", ""} {
		if _, err := ParseTarget(s); err == nil {
			t.Errorf("ParseTarget(%q): want error", s)
		}
	}
	tg := mustTarget(t, "99.95")
	if tg.Percent() != 99.95 || math.Abs(tg.BudgetPercent()-0.05) > 1e-15 {
		t.Errorf("99.95: %v %v", tg.Percent(), tg.BudgetPercent())
	}
	f, err := TargetFraction("0.999")
	if err != nil || f.Percent() != 99.9 {
		t.Errorf("TargetFraction: %v %v", f.Percent(), err)
	}
}

func TestTimeToExhaustion(t *testing.T) {
	// Half the budget left, burning at 2: the whole budget would last
	// 30d/2 = 15d; half of it 7.5d.
	d, ok := TimeToExhaustion(50, 2, 30*24*time.Hour)
	if !ok || d != 180*time.Hour {
		t.Errorf("got %v %v, want 180h", d, ok)
	}
	if _, ok := TimeToExhaustion(50, 0, time.Hour); ok {
		t.Error("burn 0: never")
	}
}
