package run

import (
	"sort"

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

// decideOptions are the inhibit rules of a run (the SLO defaults, then
// the config's) and the alerts firing in the state DB that it does not
// step (another source's), whose rules are the config's or the SLO
// alerts'; one whose rule is gone inhibits nothing.
func decideOptions(cfg *alertconfig.Config, prev map[uint64]state.Alert, items []*notify.Item) notify.DecideOptions {
	o := notify.DecideOptions{Inhibit: append(append([]alertconfig.InhibitRule{}, SLOInhibitRules...), cfg.InhibitRules...)}
	stepped := make(map[uint64]bool, len(items))
	for _, it := range items {
		stepped[it.Alert.Fingerprint] = true
	}
	rules := map[string]*alertconfig.Rule{}
	for _, r := range BudgetRules {
		rules[r.Name] = r
	}
	for i := range cfg.Rules {
		rules[cfg.Rules[i].Name] = &cfg.Rules[i]
	}
	for fp, a := range prev {
		if stepped[fp] || a.State != state.Firing {
			continue
		}
		if r, ok := rules[a.Rule]; ok {
			o.Firing = append(o.Firing, notify.Firing{Fingerprint: fp, Rule: r, Labels: a.Labels, Incident: a.Incident,
				Told: !a.LastNotified.IsZero() && !a.LastNotified.Before(a.FiredAt)})
		}
	}
	// In fingerprint order: the first source found is the one named.
	sort.Slice(o.Firing, func(i, j int) bool { return o.Firing[i].Fingerprint < o.Firing[j].Fingerprint })
	return o
}
