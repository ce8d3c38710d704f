package run

import (
	"time"

	alertconfig "github.com/vigil-metrics/vigil/alert/config"
	"github.com/vigil-metrics/vigil/alert/notify"
	"github.com/vigil-metrics/vigil/alert/state"
	"github.com/vigil-metrics/vigil/analyze/slo"
)

// BudgetRules are the rules budget alerts go through evaluate's pipeline
// as (one alert per objective each), by the budget alert's severity
// (slo.BudgetAlert.Severity): cooldown 1h, so a budget that stays over its
// threshold is re-notified hourly, not every cron run. Items point to
// them: never change one.
var BudgetRules = map[string]*alertconfig.Rule{
	"page":   {Name: "slo_burn_rate_page", Severity: "critical", Description: "error budget burning fast (page)", CooldownPeriod: time.Hour},
	"ticket": {Name: "slo_burn_rate_ticket", Severity: "high", Description: "error budget burning (ticket)", CooldownPeriod: time.Hour},
	"budget": {Name: "slo_error_budget", Severity: "medium", Description: "error budget mostly consumed", CooldownPeriod: time.Hour},
}

// budgetSeverities is the order of an objective's budget alerts.
var budgetSeverities = []string{"page", "ticket", "budget"}

// BudgetBuild steps the budget alerts of budgets (slo.BudgetOf at at) from
// their previous state: what `vigil budget --notify` and replay pass to
// Notify. Each objective has the three alerts of BudgetRules, labelled
// service, sli and window (plus objective when its SLO names several),
// valued by the burn rate over the long window of the burn alert that
// fires, else the first evaluated (budgetFacts' threshold is its factor;
// the 1h burn rate, else the consumption, without events), or the
// consumption percent (the budget alert), and active when
// the budget has an alert of that severity.
func BudgetBuild(budgets []slo.Budget, at time.Time) Build {
	return func(prev map[uint64]state.Alert) []*notify.Item {
		var items []*notify.Item
		for _, b := range budgets {
			ob := b.Objective
			active := map[string]bool{}
			for _, x := range b.Alerts {
				active[x.Severity] = true
			}
			for _, sev := range budgetSeverities {
				rule := BudgetRules[sev]
				labels := map[string]string{"service": ob.Service, "sli": ob.SLI, "window": ob.Window.String()}
				if ob.Display != "" {
					labels["objective"] = ob.Display // two objectives of one SLO are two alerts
				}
				fp := state.Fingerprint(rule.Name, labels)
				p, ok := prev[fp]
				if !ok {
					p = state.NewAlert(rule.Name, labels)
				}
				value := b.ConsumptionPercent
				if x, ok := burnAlertOf(b, sev); sev != "budget" && ok && x.LongRate != nil {
					value = *x.LongRate // what crossed the factor (h30 D6)
				} else if sev != "budget" && b.BurnRates["1h"] != nil {
					value = *b.BurnRates["1h"]
				}
				// An invalid objective is not judged: no data, as a rule's
				// that loses it, never "resolved" while it burns (h30 D23).
				obs := state.Observation{HasData: !b.NoData && b.Invalid == "", Breached: active[sev], Value: value}
				items = append(items, &notify.Item{Rule: rule, Prev: p, Alert: state.Step(p, obs, at, 0), Facts: budgetFacts(b, sev)})
			}
		}
		return items
	}
}
