package starter

import (
	"slices"
	"strings"
)

// hostRule is one of the starter's rules over the agent's host metrics.
type hostRule struct{ name, metric, text string }

// hostRules are written active when a store holds their metric, or when
// no store could be read (the agent has not run yet: they fit what it
// will write); otherwise commented, so that `vigil lint` finds no rule
// that could never fire (h30 D21).
var hostRules = []hostRule{
	{"high_cpu_usage", "cpu_usage_percent", `  - name: high_cpu_usage
    description: CPU busy above 90% on average over 15 minutes
    metric_path: cpu_usage_percent.avg
    condition: greater_than
    threshold: 90
    group_by: [host]
    evaluation_window: 15m
    cooldown_period: 30m
    severity: high
`},
	{"high_memory_usage", "memory_usage_percent", `  - name: high_memory_usage
    description: memory in use above 90% for 10 minutes
    metric_path: memory_usage_percent.min
    condition: greater_than
    threshold: 90
    group_by: [host]
    evaluation_window: 10m
    cooldown_period: 30m
    severity: high
`},
	{"disk_almost_full", "disk_usage_percent", `  - name: disk_almost_full
    description: a filesystem more than 90% full
    metric_path: disk_usage_percent.last by (host, mount)
    condition: greater_than
    threshold: 90
    evaluation_window: 10m
    cooldown_period: 6h
    severity: critical
`},
}

// active says whether a rule over metric is written active.
func (in Inputs) active(metric string) bool {
	return !in.Inspected || slices.Contains(in.Metrics, metric)
}

// Rules are the names of the rules Render writes active, in its order.
func Rules(in Inputs) []string {
	names := []string{"agent_down"}
	for _, r := range hostRules {
		if in.active(r.metric) {
			names = append(names, r.name)
		}
	}
	return names
}

// NoHeartbeat says the stores were read and none holds the agent's
// heartbeat: agent_down has no host to watch yet (h30 D30). The rule is
// written active all the same: a dead agent must never be silence by
// default, and it starts watching once an agent of this version writes.
func NoHeartbeat(in Inputs) bool { return in.Inspected && !slices.Contains(in.Metrics, Heartbeat) }

// hostRulesText is the host rules as written: active, or commented with
// the reason (uncommenting every "#" gives the rule back).
func hostRulesText(in Inputs) string {
	var b strings.Builder
	for i, r := range hostRules {
		if i > 0 {
			b.WriteString("\n")
		}
		if in.active(r.metric) {
			b.WriteString(r.text)
			continue
		}
		b.WriteString("  # No store holds " + r.metric + " yet (vigil-agent records it): uncomment\n")
		b.WriteString("  # once one does (vigil lint would call the rule one that never fires).\n")
		for _, l := range strings.SplitAfter(r.text, "\n") {
			if l != "" {
				b.WriteString("#" + l)
			}
		}
	}
	return b.String()
}
