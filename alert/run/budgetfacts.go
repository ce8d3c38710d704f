package run

import (
	"fmt"
	"strings"

	"github.com/vigil-metrics/vigil/alert/notify"
	"github.com/vigil-metrics/vigil/analyze/slo"
	"github.com/vigil-metrics/vigil/internal/numfmt"
)

// budgetFacts is what the notices of b's alert of severity sev (page,
// ticket, budget) say: what vigil budget prints, in its formatting. The
// threshold is what crossed: the burn alert's factor (of the first burn
// alert of that severity that fires, else the first), or the objective's
// budget_alert_percent.
func budgetFacts(b slo.Budget, sev string) *notify.Facts {
	ob := b.Objective
	if !ob.Target.Valid() {
		return nil // no objective to speak of (a test's bare budget)
	}
	f := &notify.Facts{Details: budgetDetails(b), SLO: &notify.SLOFacts{Service: ob.Service, SLI: ob.SLI,
		Objective: ob.Display, SLOPercent: ob.Target.Percent(), Window: ob.Window.String(), Alert: sev,
		BudgetAlertPercent: ob.BudgetAlertPercent, BurnRates: b.BurnRates, ConsumptionPercent: b.ConsumptionPercent,
		RemainingPercent: b.RemainingPercent, RemainingMinutes: b.RemainingMinutes, Exhausted: b.Exhausted}}
	if b.TimeToExhaustion != nil {
		s := b.TimeToExhaustion.Seconds()
		f.SLO.TimeToExhaustionSeconds = &s
	}
	for _, x := range b.Alerts {
		if x.Severity == sev {
			f.Summary = x.Reason // the reason vigil budget prints
			break
		}
	}
	if sev == "budget" {
		f.Threshold, f.ThresholdKind, f.Window = ob.BudgetAlertPercent, notify.ThresholdBudgetPercent, ob.Window.String()
		if f.Summary == "" {
			f.Summary = fmt.Sprintf("%s%% of the error budget consumed (alert above %s%%)",
				slo.ConsumptionText(b.Events, ob.Target, ob.BudgetAlertPercent), numfmt.Value(ob.BudgetAlertPercent))
		}
		return f
	}
	f.ThresholdKind, f.Window = notify.ThresholdBurnFactor, "1h" // without events, the value is the 1h burn rate
	x, ok := burnAlertOf(b, sev)
	if !ok {
		return f
	}
	f.Threshold = x.Factor
	f.SLO.Long, f.SLO.Short = slo.FormatWindow(x.Long), slo.FormatWindow(x.Short)
	if x.LongRate != nil {
		f.Window = f.SLO.Long // the value is this alert's long burn rate (BudgetBuild; h30 D6)
	}
	f.SLO.LongBurnRate, f.SLO.ShortBurnRate = x.LongRate, x.ShortRate
	f.SLO.Factor, f.SLO.BudgetSharePercent = x.Factor, x.Share*100
	if f.Summary == "" {
		f.Summary = fmt.Sprintf("burn rate %s over %s and %s over %s (alert when both are above %s, %s of the budget in %s)",
			rate(x.LongRate), f.SLO.Long, rate(x.ShortRate), f.SLO.Short, numfmt.Value(x.Factor), numfmt.Value(x.Share*100)+"%", f.SLO.Long)
	}
	return f
}

// burnAlertOf is b's burn alert of severity sev that fires, else the
// first of that severity that is evaluated, else the first.
func burnAlertOf(b slo.Budget, sev string) (slo.BurnAlertStatus, bool) {
	var first, evaluated *slo.BurnAlertStatus
	for i := range b.BurnAlerts {
		x := &b.BurnAlerts[i]
		if x.Severity != sev {
			continue
		}
		if x.Firing {
			return *x, true
		}
		if first == nil {
			first = x
		}
		if evaluated == nil && x.Skipped == "" {
			evaluated = x
		}
	}
	if evaluated != nil {
		return *evaluated, true
	}
	if first != nil {
		return *first, true
	}
	return slo.BurnAlertStatus{}, false
}

// budgetDetails are the lines of vigil budget's row for b: the SLO, the
// burn rates by window, the budget consumed and left, the time to
// exhaustion.
func budgetDetails(b slo.Budget) []string {
	ob := b.Objective
	name := ob.Service + " " + ob.SLI
	if ob.Display != "" {
		name += " " + ob.Display
	}
	lines := []string{fmt.Sprintf("SLO: %s %s%% over %s", name, ob.Target.Text(), ob.Window.String())}
	var rates []string
	for _, w := range append(append([]string{}, slo.BurnWindows...), ob.Window.String()) {
		if t, ok := b.BurnTexts[w]; ok && !containsWindow(rates, w) {
			rates = append(rates, w+" "+t)
		}
	}
	if len(rates) > 0 {
		lines = append(lines, "burn rates: "+strings.Join(rates, ", "))
	}
	if b.Invalid != "" {
		return append(lines, "invalid: "+b.Invalid)
	}
	lines = append(lines, fmt.Sprintf("budget: %s%% consumed, %s%% remaining (%s minutes of full outage)",
		slo.ConsumptionText(b.Events, ob.Target, ob.BudgetAlertPercent), slo.RemainingText(b.Events, ob.Target),
		slo.SignedText(b.RemainingMinutes, 1)))
	tte := "never at the 1h burn rate"
	switch {
	case b.Exhausted:
		tte = "exhausted"
	case b.TimeToExhaustion != nil:
		tte = numfmt.Span(*b.TimeToExhaustion) + " at the 1h burn rate"
	}
	return append(lines, "time to exhaustion: "+tte)
}

// containsWindow says whether rates (WINDOW RATE) has one for w (a 1d
// SLO's window is also a burn window).
func containsWindow(rates []string, w string) bool {
	for _, r := range rates {
		if strings.HasPrefix(r, w+" ") {
			return true
		}
	}
	return false
}

// rate is a burn rate as vigil budget prints it; "-" without events.
func rate(r *float64) string {
	if r == nil {
		return "-"
	}
	return numfmt.Value(*r)
}
