// Package route decides which channels an alert reaches: a channel's
// filters (and an escalation policy's triggers) are lists of label
// conditions; an alert passes when every item matches (AND), and an item
// whose value is a list matches any of its values (OR). An alert's
// matchable labels are its own plus severity and alertname (the rule).
//
// It must not know channels' settings or send anything: it only matches labels.
package route

import (
	"slices"

	"github.com/vigil-metrics/vigil/alert/config"
)

// Labels are what filters match against: the alert's labels, its
// severity and its rule's name as alertname.
func Labels(rule *config.Rule, labels map[string]string) map[string]string {
	m := make(map[string]string, len(labels)+2)
	for k, v := range labels {
		m[k] = v
	}
	m["severity"] = rule.Severity
	m["alertname"] = rule.Name
	return m
}

// Matches reports whether labels pass every filter: within a filter each
// label must take one of its listed values.
func Matches(filters []config.Filter, labels map[string]string) bool {
	for _, f := range filters {
		for k, values := range f {
			v, ok := labels[k]
			if !ok || !slices.Contains(values, v) {
				return false
			}
		}
	}
	return true
}

// Channels lists the enabled channels whose filters labels pass, in the
// configuration's order.
func Channels(chs []config.Channel, labels map[string]string) []config.Channel {
	var out []config.Channel
	for _, c := range chs {
		if c.Enabled && Matches(c.Filters, labels) {
			out = append(out, c)
		}
	}
	return out
}
