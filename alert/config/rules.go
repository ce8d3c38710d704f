package config

import (
	"errors"
	"fmt"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"unicode"
	"unicode/utf8"

	"go.yaml.in/yaml/v3"

	"github.com/vigil-metrics/vigil/internal/metricpath"
	"github.com/vigil-metrics/vigil/internal/store"
)

func (d *decoder) rules(n *yaml.Node) {
	names := map[string]*yaml.Node{}
	d.List(n, "alert_rules", func(item *yaml.Node) { d.rule(item, names) })
}

func (d *decoder) rule(item *yaml.Node, names map[string]*yaml.Node) {
	r := Rule{Pos: pos(item)}
	var tuning []func(*Tuning)
	what := "alert rule"
	if item.Kind == yaml.MappingNode {
		for i := 0; i+1 < len(item.Content); i += 2 {
			if item.Content[i].Value == "name" && item.Content[i+1].Tag == "!!str" {
				what = fmt.Sprintf("alert rule %q", item.Content[i+1].Value)
			}
		}
	}
	seen := d.Fields(item, what, d.ruleFields(&r, &tuning, names))
	required := []string{"name", "metric_path", "condition", "threshold", "severity", "evaluation_window"}
	switch r.Condition {
	case "absent":
		required = slices.DeleteFunc(required, func(k string) bool { return k == "threshold" })
	case "spike":
		required = slices.DeleteFunc(required, func(k string) bool { return k == "threshold" })
		required = append(required, "spike_ratio")
	}
	d.Required(item, seen, what, required...)
	d.ruleChecks(&r, seen)
	d.cfg.Rules = append(d.cfg.Rules, r)
	d.ruleTuning = append(d.ruleTuning, tuning)
}

// ruleFields is the rule's field table: each handler fills its field of r.
func (d *decoder) ruleFields(r *Rule, tuning *[]func(*Tuning), names map[string]*yaml.Node) map[string]func(*yaml.Node) {
	return map[string]func(*yaml.Node){
		"name": func(v *yaml.Node) {
			r.Name, _ = d.uniqueName(v, names, "rule")
			if _, ok := SLOAlerts[r.Name]; ok {
				// Same name and labels, same fingerprint: the rule would
				// step budget's alert in evaluate (nodata: its page resolved).
				d.Errf(v, "rule name %q is vigil budget's SLO alert's (%s are reserved): pick another name", r.Name, strings.Join(sloAlertNames(), ", "))
			}
		},
		"description": func(v *yaml.Node) { r.Description, _ = d.Str(v, "description") },
		"metric_path": func(v *yaml.Node) { r.MetricPath, r.Path, _ = d.metricPath(v, "metric_path") },
		"condition": func(v *yaml.Node) {
			if s, ok := d.Enum(v, "condition", "condition", Conditions); ok {
				r.Condition = s
			}
		},
		"threshold": func(v *yaml.Node) { r.Threshold, _ = d.Number(v, "threshold") },
		"severity": func(v *yaml.Node) {
			if s, ok := d.Enum(v, "severity", "severity", Severities); ok {
				r.Severity = s
			}
		},
		"evaluation_window": func(v *yaml.Node) {
			r.EvaluationWindow, _ = d.durationIn(v, "evaluation_window", false, 0, MaxWindow, whyWindow)
		},
		"cooldown_period": func(v *yaml.Node) {
			r.CooldownPeriod, _ = d.durationIn(v, "cooldown_period", true, 0, MaxHold, whyHold)
		},
		"for": func(v *yaml.Node) { r.For, _ = d.durationIn(v, "for", true, 0, MaxHold, whyHold) },
		"group_by": func(v *yaml.Node) {
			ls, ok := d.Strings(v, "group_by")
			if !ok {
				return
			}
			for i, l := range ls {
				if !store.ValidLabelName(l) {
					d.Errf(v.Content[i], "group_by: invalid label name %q", l)
				} else if slices.Contains(ls[:i], l) {
					d.Errf(v.Content[i], "group_by: label %q appears twice", l)
				}
			}
			r.GroupBy = ls
		},
		"labels": func(v *yaml.Node) { r.Labels, _ = d.LabelMap(v, "labels") },
		"annotations": func(v *yaml.Node) {
			r.Annotations, _ = d.LabelMap(v, "annotations")
			d.runbookURL(v, r.Annotations["runbook_url"])
		},
		"nodata": func(v *yaml.Node) {
			if s, ok := d.Enum(v, "nodata", "nodata policy", NoDataPolicies); ok {
				r.NoData = s
			}
		},
		"lookback":    func(v *yaml.Node) { r.Lookback, _ = d.durationIn(v, "lookback", false, 0, MaxWindow, whyWindow) },
		"spike_ratio": func(v *yaml.Node) { r.SpikeRatio, _ = d.Number(v, "spike_ratio") },
		"reference_window": func(v *yaml.Node) {
			r.ReferenceWindow, _ = d.durationIn(v, "reference_window", false, 0, MaxWindow, whyWindow)
		},
		"direction": func(v *yaml.Node) {
			if s, ok := d.Enum(v, "direction", "direction", SpikeDirections); ok {
				r.Direction = s
			}
		},
		"min_reference": func(v *yaml.Node) { r.MinReference, _ = d.Number(v, "min_reference") },
		"tuning":        func(v *yaml.Node) { *tuning = d.tuning(v, "tuning") },
	}
}

// ruleChecks refuses fields that do not go with the rule's condition and
// fills in the defaults.
func (d *decoder) ruleChecks(r *Rule, seen map[string]*yaml.Node) {
	for _, k := range []string{"spike_ratio", "reference_window", "direction", "min_reference"} {
		if v := seen[k]; v != nil && r.Condition != "spike" && r.Condition != "" {
			d.Errf(v, "%s: only with condition spike", k)
		}
	}
	if v := seen["lookback"]; v != nil && r.Condition != "absent" && r.Condition != "" {
		d.Errf(v, "lookback: only with condition absent")
	}
	if v := seen["threshold"]; v != nil && (r.Condition == "absent" || r.Condition == "spike") {
		d.Errf(v, "threshold: condition %s takes no threshold", r.Condition)
	}
	if v := seen["spike_ratio"]; v != nil && r.Condition == "spike" && !(r.SpikeRatio > 1) {
		d.Errf(v, "spike_ratio: want a number above 1 (2 means twice, or half with direction down), got %s", v.Value)
	}
	if v := seen["min_reference"]; v != nil && r.MinReference < 0 {
		d.Errf(v, "min_reference: want a number >= 0, got %s", v.Value)
	}
	if r.NoData == "" {
		r.NoData = NoDataPolicies[0]
	}
	if r.Condition == "absent" && r.Lookback == 0 {
		r.Lookback = DefaultLookback
	}
	if r.Condition == "spike" {
		if r.Direction == "" {
			r.Direction = SpikeDirections[0]
		}
		if r.ReferenceWindow == 0 {
			r.ReferenceWindow = r.EvaluationWindow
		}
	}
	if r.Labels == nil {
		r.Labels = map[string]string{}
	}
	r.Dynamic = r.Labels["dynamic_threshold"] == "true"
	if v := seen["tuning"]; v != nil && !r.Dynamic {
		d.Errf(v, "tuning: only for a dynamic rule (labels: {dynamic_threshold: \"true\"})")
	}
}

// metricPath parses a path. A syntax error points at its column in the
// file when the scalar is written so that the file's text is the value
// (plain, or quoted without escapes, no ${...}).
func (d *decoder) metricPath(v *yaml.Node, field string) (string, *metricpath.Expr, bool) {
	s, ok := d.NonEmpty(v, field)
	if !ok {
		return "", nil, false
	}
	e, err := metricpath.Parse(s)
	if err == nil {
		return s, e, true
	}
	if store.ValidName(s) {
		return s, nil, true // a bare name: avg of a gauge, rate of a counter
	}
	var se *metricpath.SyntaxError
	if errors.As(err, &se) {
		at := *v
		verbatim := s == v.Value
		switch v.Style {
		case 0:
		case yaml.DoubleQuotedStyle:
			verbatim = verbatim && !strings.ContainsAny(s, "\\\"")
			at.Column++
		case yaml.SingleQuotedStyle:
			verbatim = verbatim && !strings.Contains(s, "'")
			at.Column++
		default:
			verbatim = false
		}
		if verbatim {
			at.Column += se.Col - 1
			d.Errf(&at, "%s: %s", field, se.Msg)
		} else {
			d.Errf(v, "%s: %v", field, err)
		}
		return s, nil, false
	}
	d.Errf(v, "%s: %v", field, err)
	return s, nil, false
}

// runbookURL checks an annotations block's runbook_url: notices print it
// as a link, so it must be an absolute http(s) URL.
func (d *decoder) runbookURL(v *yaml.Node, u string) {
	if u == "" {
		return
	}
	at := v
	for i := 0; i+1 < len(v.Content); i += 2 {
		if v.Content[i].Value == "runbook_url" {
			at = v.Content[i+1]
		}
	}
	lower := strings.ToLower(u)
	web := strings.HasPrefix(lower, "http://") || strings.HasPrefix(lower, "https://")
	if i := strings.IndexFunc(u, notInURL); i >= 0 && web && !strings.Contains(u, "{{") {
		// Go's url.Parse passes most of them in a path, but no notice can
		// link such a URL: Markdown and Slack links end at a space, and
		// every output would have to escape the quote or bracket.
		r, _ := utf8.DecodeRuneInString(u[i:])
		d.Errf(at, "annotations: runbook_url %q holds %q, which a URL cannot: percent-encode it (%s)", u, r, url.PathEscape(string(r)))
		return
	}
	p, err := url.Parse(u)
	if err == nil && p.Port() != "" {
		if n, perr := strconv.Atoi(p.Port()); perr != nil || n < 1 || n > 65535 {
			d.Errf(at, "annotations: runbook_url %q: port %s is not 1 to 65535", u, p.Port())
			return
		}
	}
	if err == nil && (p.Scheme == "http" || p.Scheme == "https") && p.Host != "" {
		if strings.Contains(u, "{{") {
			// Prometheus users write {{ $labels.host }} by habit: vigil
			// sends annotations as written, a broken link every time.
			d.Warnf(at, "annotations: runbook_url holds {{: annotations are not templated, every notice would carry %q as written", u)
		}
		return
	}
	d.Errf(at, "annotations: runbook_url %q is not an http(s) URL", u)
}

// notInURL says whether r may not appear as itself in a URL (RFC 3986:
// whitespace, controls, and the delimiters ", <, >, \, ^, `, |), or in a
// link a person reads: an invisible format character (a right-to-left
// override shows the link reversed, a zero-width space hides in it;
// h31 H6).
func notInURL(r rune) bool {
	return r <= ' ' || r == 0x7f || strings.ContainsRune("\"<>\\^`|", r) || unicode.IsSpace(r) || unicode.IsControl(r) || unicode.Is(unicode.Cf, r)
}
