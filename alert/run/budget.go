package run

import (
	"fmt"
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
// valued by the 1h burn rate (the burn alerts; the consumption when there
// is none) or the consumption percent (the budget alert), and active when
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
				if sev != "budget" && b.BurnRates["1h"] != nil {
					value = *b.BurnRates["1h"]
				}
				// An invalid objective (too little of its window covered)
				// cannot be judged: its alerts lost their data, as a rule's
				// do, not recovered (h30 D23).
				obs := state.Observation{HasData: !b.NoData && b.Invalid == "", Breached: active[sev], Value: value}
				items = append(items, &notify.Item{Rule: rule, Prev: p, Alert: state.Step(p, obs, at, 0), Facts: budgetFacts(b, sev)})
			}
		}
		return items
	}
}

// BudgetRetire says which SLO alerts of the state DB a budget run answers
// for beyond the objectives it judges: those no run has judged for
// StaleAfter, whose objective is gone (renamed, removed) from every cron
// line's objectives.
type BudgetRetire struct {
	// StaleAfter is how long since any run last judged an SLO alert
	// before it counts as its objective's gone (StaleAfter(cfg,
	// "budget")). A run cannot tell a removed objective from one another
	// cron line judges (--slo-file, --service): that line judges its own
	// every few minutes, and this run must not resolve its pages under it
	// (h31 H1). One nobody judged for that long is nobody's, whichever
	// line's run notices first (h31 H4: sites that run one --service line
	// a service never ran a plain one).
	StaleAfter time.Duration
}

// BudgetBuildRetiring is BudgetBuild that also steps, with no breach, the
// SLO alerts of prev that no budget of this run steps and that no run has
// judged for r.StaleAfter: their objective was renamed or removed (or its
// window changed: other labels). A firing one resolves, and the channels
// told it fired are told it ended, as any resolution (h30 D8: they stayed
// firing in vigil alerts list forever); a resolved one goes inactive at
// the next run (no one is told of that). Once inactive, they are no longer
// stepped.
func BudgetBuildRetiring(budgets []slo.Budget, at time.Time, r BudgetRetire) Build {
	build := BudgetBuild(budgets, at)
	return func(prev map[uint64]state.Alert) []*notify.Item {
		items := build(prev)
		built := make(map[uint64]bool, len(items))
		for _, it := range items {
			built[it.Alert.Fingerprint] = true
		}
		for fp, p := range prev {
			sev := budgetSeverityOf(p.Rule)
			if sev == "" || built[fp] || p.State == state.Inactive {
				continue
			}
			if p.State != state.Resolved && at.Sub(p.LastEval) <= r.StaleAfter {
				continue // judged lately: by another cron line's objectives
			}
			obs := state.Observation{HasData: true, Value: p.Value}
			items = append(items, &notify.Item{Rule: BudgetRules[sev], Prev: p, Alert: state.Step(p, obs, at, 0), Facts: retiredFacts(p, sev)})
		}
		return items // the run sorts them
	}
}

// budgetSeverityOf is the severity (page, ticket, budget) of the SLO alert
// rule named name; "" for any other rule's (the config refuses those
// names for alert rules, so the state DB's alerts of them are budget's).
func budgetSeverityOf(name string) string {
	for sev, r := range BudgetRules {
		if r.Name == name {
			return sev
		}
	}
	return ""
}

// retiredFacts are what the notices of a retired SLO alert (its
// objective gone) say: which objective, by its labels, and that it is no
// longer judged. No numbers of the objective are left to give, so the
// threshold reads "n/a", never 0.
func retiredFacts(a state.Alert, sev string) *notify.Facts {
	l := a.Labels
	name := l["service"] + " " + l["sli"]
	if l["objective"] != "" {
		name += " " + l["objective"]
	}
	f := &notify.Facts{ThresholdKind: notify.ThresholdBurnFactor, ThresholdText: "n/a", Window: "1h",
		Summary: fmt.Sprintf("objective %s over %s is no longer in the config (renamed or removed): its alert is resolved, not judged", name, l["window"]),
		Details: []string{fmt.Sprintf("SLO: %s over %s: no longer in the config", name, l["window"])}}
	if sev == "budget" {
		f.ThresholdKind, f.Window = notify.ThresholdBudgetPercent, l["window"]
	}
	return f
}
