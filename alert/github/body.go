package github

import (
	"encoding/json"
	"fmt"
	"regexp"
	"slices"
	"sort"
	"strings"
	"time"

	"github.com/vigil-metrics/vigil/alert/config"
	"github.com/vigil-metrics/vigil/alert/notify"
	"github.com/vigil-metrics/vigil/internal/safetext"
)

// Actions are the recommended actions for the reference design's known
// alert names; other alerts get DefaultAction.
var Actions = map[string]string{
	"high_cpu_usage":            "Check for runaway processes and optimize resource usage",
	"critical_memory_usage":     "Investigate memory leaks and consider scaling",
	"slow_response_times":       "Analyze performance bottlenecks and optimize queries",
	"high_error_rate":           "Check application logs and fix underlying issues",
	"agent_forge_phase_failure": "Review Agent Forge logs and model configurations",
}

// DefaultAction is the recommended action of an alert not in Actions.
const DefaultAction = "Investigate the underlying cause and take appropriate remediation steps"

// Action is the recommended action for the alert rule.
func Action(rule string) string {
	if a, ok := Actions[rule]; ok {
		return a
	}
	return DefaultAction
}

const footer = "---\n*This issue was automatically created by vigil.*\n"

func ts(t time.Time) string {
	if t.IsZero() {
		return "unknown"
	}
	return t.UTC().Format(time.RFC3339)
}

// valueLines are the value (and its window) and the threshold (and what
// it is) as the CLI prints them (notify.Alert).
func valueLines(b *strings.Builder, a notify.Alert) {
	win, kind := "", ""
	if a.Window != "" {
		win = " (" + a.Window + ")" // vigil formats it: a duration
	}
	if a.ThresholdKind != "" {
		kind = " (" + a.ThresholdWords() + ")"
	}
	fmt.Fprintf(b, "- **Metric Value**: %s%s\n", a.ValueString(), win) // numbers vigil formats
	fmt.Fprintf(b, "- **Threshold**: %s%s\n", a.ThresholdString(), kind)
}

// readable are the lines of a notice for people beyond the value: the
// summary, the metric path, the runbook and the acknowledge command
// (those the notice has).
func readable(b *strings.Builder, a notify.Alert) {
	if a.Summary != "" {
		fmt.Fprintf(b, "- **Summary**: %s\n", safetext.Markdown(a.Summary))
	}
	if a.Path != "" {
		fmt.Fprintf(b, "- **Metric**: %s\n", safetext.Markdown(a.Path))
	}
	if a.RunbookURL != "" {
		fmt.Fprintf(b, "- **Runbook**: %s\n", safetext.Markdown(a.RunbookURL))
	}
	if a.Acknowledgeable() {
		fmt.Fprintf(b, "- **Acknowledge**: `%s`\n", strings.ReplaceAll(a.AckCommand, "`", ""))
	}
}

func labelsJSON(l map[string]string) string {
	if l == nil {
		l = map[string]string{}
	}
	b, _ := json.MarshalIndent(l, "", "  ") // sorted keys
	return string(b)
}

// labelsInline is l as "k=v, k2=v2" in markdown: names and values come
// from data and are escaped (safetext.Markdown), so a label makes no cell,
// image, link or hidden marker in an issue.
func labelsInline(l map[string]string) string {
	keys := make([]string, 0, len(l))
	for k := range l {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	parts := make([]string, len(keys))
	for i, k := range keys {
		parts[i] = safetext.Markdown(k) + "=" + safetext.Markdown(l[k])
	}
	return strings.Join(parts, ", ")
}

func orNone(s string) string {
	if strings.TrimSpace(s) == "" {
		return "(none)"
	}
	return s
}

// alertBody is the reference design's issue body, with what vigil adds.
func alertBody(at time.Time, a notify.Alert) string {
	var b strings.Builder
	b.WriteString("# Alert Details\n\n")
	fmt.Fprintf(&b, "- **Alert Name**: %s\n", a.Rule)
	fmt.Fprintf(&b, "- **Severity**: %s\n", strings.ToUpper(a.Severity))
	fmt.Fprintf(&b, "- **Timestamp**: %s\n", ts(at))
	valueLines(&b, a)
	fmt.Fprintf(&b, "- **State**: %s\n", a.State)
	fmt.Fprintf(&b, "- **Started**: %s\n", ts(a.StartsAt))
	fmt.Fprintf(&b, "- **Fingerprint**: `%s`\n", a.Fingerprint)
	readable(&b, a)
	for _, d := range a.Details {
		fmt.Fprintf(&b, "- %s\n", safetext.Markdown(d))
	}
	fmt.Fprintf(&b, "\n## Description\n%s\n", orNone(a.Description))
	fmt.Fprintf(&b, "\n## Labels\n```json\n%s\n```\n", labelsJSON(a.Labels))
	fmt.Fprintf(&b, "\n## Recommended Actions\n%s\n\n", Action(a.Rule))
	b.WriteString(footer)
	b.WriteString(Marker([]notify.Alert{a}) + "\n")
	return b.String()
}

func alertTable(b *strings.Builder, alerts []notify.Alert) {
	b.WriteString("| Alert | Severity | State | Value | Threshold | Labels | Fingerprint |\n")
	b.WriteString("|---|---|---|---|---|---|---|\n")
	for _, a := range alerts {
		fmt.Fprintf(b, "| %s | %s | %s | %s | %s | %s | `%s` |\n", safetext.Markdown(a.Rule), strings.ToUpper(a.Severity), a.State,
			a.ValueString(), a.ThresholdString(), labelsInline(a.Labels), a.Fingerprint)
	}
}

// incidentBody is the issue of an incident: its members, their
// descriptions and recommended actions.
func incidentBody(n notify.Notification, inc string) string {
	var b strings.Builder
	b.WriteString("# Incident Details\n\n")
	fmt.Fprintf(&b, "- **Incident**: %s\n", safetext.Markdown(inc)) // holds a label value
	fmt.Fprintf(&b, "- **Severity**: %s\n", strings.ToUpper(highest(n.Alerts)))
	fmt.Fprintf(&b, "- **Timestamp**: %s\n", ts(n.At))
	fmt.Fprintf(&b, "- **Alerts**: %d\n", len(n.Alerts))
	b.WriteString("\n## Alerts\n\n")
	alertTable(&b, n.Alerts)
	b.WriteString("\n## Descriptions and Recommended Actions\n")
	seen := map[string]bool{}
	for _, a := range n.Alerts {
		if seen[a.Rule] {
			continue
		}
		seen[a.Rule] = true
		fmt.Fprintf(&b, "\n### %s\n%s\n\n**Recommended Actions**: %s\n", a.Rule, orNone(a.Description), Action(a.Rule))
	}
	b.WriteString("\n" + footer)
	b.WriteString(Marker(n.Alerts) + "\n")
	fps := make([]string, 0, len(n.Alerts))
	for _, a := range n.Alerts {
		if n.Kind != "resolved" && !slices.Contains(fps, a.Fingerprint) {
			fps = append(fps, a.Fingerprint)
		}
	}
	b.WriteString(firingMarker(fps) + "\n")
	return b.String()
}

var firingRe = regexp.MustCompile(`<!-- vigil:firing=([0-9a-zA-Z,]*) -->`)

func firingMarker(fps []string) string {
	return "<!-- vigil:firing=" + strings.Join(fps, ",") + " -->"
}

// firingSet reads an incident issue's firing members.
func firingSet(body string) []string {
	m := firingRe.FindStringSubmatch(body)
	if m == nil || m[1] == "" {
		return nil
	}
	return strings.Split(m[1], ",")
}

// setFiring rewrites (or adds) the firing marker in body.
func setFiring(body string, fps []string) string {
	mk := firingMarker(fps)
	if firingRe.MatchString(body) {
		return firingRe.ReplaceAllLiteralString(body, mk)
	}
	if body != "" && !strings.HasSuffix(body, "\n") {
		body += "\n"
	}
	return body + mk + "\n"
}

// comment is what Notify posts on an open issue: a firing again, a
// resolution, an incident's update.
func comment(n notify.Notification, closing bool) string {
	var b strings.Builder
	resolved := n.Kind == "resolved"
	switch {
	case resolved && len(n.Alerts) == 1:
		fmt.Fprintf(&b, "### Resolved: %s\n\n", n.Alerts[0].Rule)
	case resolved:
		fmt.Fprintf(&b, "### Resolved: %d alerts\n\n", len(n.Alerts))
	case len(n.Alerts) == 1:
		fmt.Fprintf(&b, "### Firing again: %s\n\n", n.Alerts[0].Rule)
	default:
		fmt.Fprintf(&b, "### Firing: %d alerts\n\n", len(n.Alerts))
	}
	fmt.Fprintf(&b, "- **Timestamp**: %s\n", ts(n.At))
	if len(n.Alerts) == 1 {
		a := n.Alerts[0]
		fmt.Fprintf(&b, "- **Severity**: %s\n", strings.ToUpper(a.Severity))
		valueLines(&b, a)
		fmt.Fprintf(&b, "- **State**: %s\n", a.State)
		readable(&b, a)
		if resolved {
			fmt.Fprintf(&b, "- **Resolved At**: %s\n", ts(a.EndsAt))
		}
		if a.Incident != "" {
			fmt.Fprintf(&b, "- **Labels**: %s\n", orNone(labelsInline(a.Labels)))
			fmt.Fprintf(&b, "- **Fingerprint**: `%s`\n", a.Fingerprint)
		}
		if a.EscalationStep >= 0 {
			fmt.Fprintf(&b, "- **Escalation Step**: %d\n", a.EscalationStep+1)
		}
	} else {
		b.WriteString("\n")
		alertTable(&b, n.Alerts)
	}
	if closing {
		b.WriteString("\nClosing this issue.\n")
	}
	return b.String()
}

// highest is the most severe of the alerts' severities.
func highest(alerts []notify.Alert) string {
	best, rank := "", len(config.Severities)+1
	for _, a := range alerts {
		r := slices.Index(config.Severities, a.Severity)
		if r < 0 {
			r = len(config.Severities)
		}
		if best == "" || r < rank {
			best, rank = a.Severity, r
		}
	}
	return best
}
