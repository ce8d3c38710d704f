package run

import (
	"sort"
	"time"

	alertconfig "github.com/vigil-metrics/vigil/alert/config"
	"github.com/vigil-metrics/vigil/alert/notify"
	"github.com/vigil-metrics/vigil/alert/state"
)

// SLOInhibitRules are in force whatever the config says: while an SLO's
// page fires, its ticket and budget alerts are not sent separately, and
// while its ticket fires, its budget alert is not (one condition, one
// notice). "Its": the same service, SLI, window and objective.
var SLOInhibitRules = []alertconfig.InhibitRule{
	sloInhibit(BudgetRules["page"].Name, BudgetRules["ticket"].Name, BudgetRules["budget"].Name),
	sloInhibit(BudgetRules["ticket"].Name, BudgetRules["budget"].Name),
}

func sloInhibit(source string, targets ...string) alertconfig.InhibitRule {
	src, _ := alertconfig.NewMatcher("alertname", "=", source)
	re := ""
	for i, t := range targets {
		if i > 0 {
			re += "|"
		}
		re += t // rule names: no regexp metacharacters but _
	}
	tgt, _ := alertconfig.NewMatcher("alertname", "=~", re)
	return alertconfig.InhibitRule{SourceMatchers: []alertconfig.Matcher{src}, TargetMatchers: []alertconfig.Matcher{tgt},
		Equal: []string{"service", "sli", "window", "objective"}}
}

// StaleAfter is how long after its last evaluation a firing alert of
// source ("evaluate" or "budget") that another command's run did not step
// still inhibits that run's alerts: 4 of the source's run intervals
// (alertconfig.AlertValidity: settings.evaluation_interval for evaluate;
// at least alertconfig.BudgetRunInterval for budget). Past that, nobody
// refreshed it: its firing row is not evidence that it fires now (h30 D8).
func StaleAfter(cfg *alertconfig.Config, source string) time.Duration {
	rule := ""
	if source == "budget" {
		rule = BudgetRules["page"].Name
	}
	return alertconfig.AlertValidity(cfg.Settings, rule)
}

// decideOptions are the inhibit rules of a run (the SLO defaults, then
// the config's) and the alerts firing in the state DB that it does not
// step (another source's), whose rules are the config's or the SLO
// alerts'; one whose rule is gone inhibits nothing, nor does a stale one,
// last evaluated more than StaleAfter before at. (Not stepped by its
// source's latest run is no sign of staleness: vigil budget --notify
// --service api steps api's alerts only, and a cron line per service
// runs them in turn.) The steady alerts (Options.Steady) were observed
// firing at at by the run's caller: fresh, whatever their row says.
func decideOptions(cfg *alertconfig.Config, at time.Time, prev map[uint64]state.Alert, items []*notify.Item, steady map[uint64]*alertconfig.Rule) notify.DecideOptions {
	o := notify.DecideOptions{Inhibit: append(append([]alertconfig.InhibitRule{}, SLOInhibitRules...), cfg.InhibitRules...)}
	stepped := make(map[uint64]bool, len(items))
	for _, it := range items {
		stepped[it.Alert.Fingerprint] = true
	}
	rules := map[string]*alertconfig.Rule{}
	budget := map[string]bool{}
	for _, r := range BudgetRules {
		rules[r.Name], budget[r.Name] = r, true
	}
	for i := range cfg.Rules {
		rules[cfg.Rules[i].Name] = &cfg.Rules[i]
	}
	stale := map[string]time.Duration{"evaluate": StaleAfter(cfg, "evaluate"), "budget": StaleAfter(cfg, "budget")}
	for fp, a := range prev {
		if stepped[fp] || a.State != state.Firing {
			continue
		}
		source := "evaluate"
		if budget[a.Rule] {
			source = "budget"
		}
		r, ok := steady[fp]
		if !ok {
			if at.Sub(a.LastEval) > stale[source] {
				continue
			}
			r, ok = rules[a.Rule]
		}
		if ok {
			o.Firing = append(o.Firing, notify.Firing{Fingerprint: fp, Rule: r, Labels: a.Labels, Incident: a.Incident,
				Told: !a.LastNotified.IsZero() && !a.LastNotified.Before(a.FiredAt)})
		}
	}
	// In fingerprint order: the first source found is the one named.
	sort.Slice(o.Firing, func(i, j int) bool { return o.Firing[i].Fingerprint < o.Firing[j].Fingerprint })
	return o
}
