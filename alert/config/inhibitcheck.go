package config

import (
	"maps"
	"slices"
	"time"

	"go.yaml.in/yaml/v3"
)

// SLOAlerts are the alerts vigil budget --notify sends, by name, with
// their severity (alert/run.BudgetRules, which a test keeps the same):
// names an inhibit rule may match besides the config's rules.
var SLOAlerts = map[string]string{
	"slo_burn_rate_page":   "critical",
	"slo_burn_rate_ticket": "high",
	"slo_error_budget":     "medium",
}

// BudgetRunInterval is the longest interval between vigil budget
// --notify runs that vigil plans for (the docs' "every few minutes",
// generously): its SLO alerts count as fresh for 4 of them where
// evaluate's alerts count 4 evaluation intervals (alert/run.StaleAfter,
// an Alertmanager channel's endsAt). Budget runs record no interval of
// their own.
const BudgetRunInterval = 15 * time.Minute

// AlertValidity is how long after a run a firing alert of rule stays
// trusted without being stepped again: 4 of its source's run intervals
// (Prometheus's endsAt = now + 4 × its evaluation interval), budget's at
// least BudgetRunInterval for the SLO alerts.
func AlertValidity(s Settings, rule string) time.Duration {
	every := s.EvaluationInterval
	if _, ok := SLOAlerts[rule]; ok && every < BudgetRunInterval {
		every = BudgetRunInterval
	}
	return 4 * every
}

func sloAlertNames() []string { return slices.Sorted(maps.Keys(SLOAlerts)) }

// alertSeverity is the severity of the alerts named name: a rule of the
// file (decoded before inhibit_rules) or an SLO alert; "" when none is.
func (d *decoder) alertSeverity(name string) string {
	for _, r := range d.cfg.Rules {
		if r.Name == name {
			return r.Severity
		}
	}
	return SLOAlerts[name]
}

// alertNames are the names an alert may have: the file's rules' (decoded
// before inhibit_rules) and the SLO alerts'.
func (d *decoder) alertNames() []string {
	names := sloAlertNames()
	for _, r := range d.cfg.Rules {
		names = append(names, r.Name)
	}
	return names
}

// cycles warns when r and an earlier inhibit rule can mute each other: an
// alert X that r's source matchers and the other's target matchers
// match, and an alert Y that r's target matchers and the other's source
// matchers match. Both then hold each other's notices while both fire,
// and neither is told (Alertmanager does the same). Alerts are known by
// name and severity (the file's rules and the SLO alerts); a matcher on
// any other label is taken as one that some alert passes.
func (d *decoder) cycles(item *yaml.Node, r InhibitRule) {
	if len(r.SourceMatchers) == 0 || len(r.TargetMatchers) == 0 {
		return
	}
	var known []map[string]string
	for _, rule := range d.cfg.Rules {
		known = append(known, map[string]string{"alertname": rule.Name, "severity": rule.Severity})
	}
	for name, sev := range SLOAlerts {
		known = append(known, map[string]string{"alertname": name, "severity": sev})
	}
	some := func(a, b []Matcher) bool {
		for _, l := range known {
			if mayMatch(a, l) && mayMatch(b, l) {
				return true
			}
		}
		return false
	}
	for _, o := range d.cfg.InhibitRules {
		if len(o.SourceMatchers) > 0 && len(o.TargetMatchers) > 0 &&
			some(r.SourceMatchers, o.TargetMatchers) && some(r.TargetMatchers, o.SourceMatchers) {
			d.Warnf(item, "inhibit rule: it and the one at line %d can mute each other (each one's source is the other's target): "+
				"while both fire, neither is notified", o.Pos.Line)
			return
		}
	}
}

// mayMatch says whether an alert with labels (its name and severity) may
// pass ms: the matchers on those labels pass, the others are unknown.
func mayMatch(ms []Matcher, labels map[string]string) bool {
	for _, m := range ms {
		if _, ok := labels[m.Name]; ok && !m.Matches(labels) {
			return false
		}
	}
	return true
}
