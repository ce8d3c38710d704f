package config

import (
	"errors"
	"fmt"
	"math"
	"net/url"
	"path"
	"regexp"
	"slices"
	"sort"
	"strconv"
	"strings"
	"time"

	"go.yaml.in/yaml/v3"

	"github.com/vigil-metrics/vigil/internal/metricpath"
	"github.com/vigil-metrics/vigil/internal/vtime"
)

// otherSections are top-level keys that other commands own: admitted here,
// not checked.
var otherSections = []string{"db", "cache_dir", "state", "log_level", "log_format", "slos", "retention", "report", "sources"}

var (
	nameRe  = regexp.MustCompile(`^[a-zA-Z_:][a-zA-Z0-9_:]*$`)
	labelRe = regexp.MustCompile(`^[a-zA-Z_][a-zA-Z0-9_]*$`)
	envRe   = regexp.MustCompile(`\$\{([^}]*)\}`)
	envName = regexp.MustCompile(`^[A-Za-z_][A-Za-z0-9_]*$`)
	yamlErr = regexp.MustCompile(`^yaml: line (\d+): (.*)$`)
)

type decoder struct {
	file     string
	lookup   func(string) (string, bool)
	cfg      *Config
	problems Problems
	// ruleTuning holds each rule's tuning block, applied over the
	// settings' dynamic_thresholds at the end.
	ruleTuning [][]func(*Tuning)
}

func (d *decoder) errf(n *yaml.Node, format string, args ...any) {
	d.problems = append(d.problems, Problem{File: d.file, Line: n.Line, Col: n.Column, Message: fmt.Sprintf(format, args...)})
}

func (d *decoder) warnf(n *yaml.Node, format string, args ...any) {
	d.cfg.Warnings = append(d.cfg.Warnings, Problem{File: d.file, Line: n.Line, Col: n.Column, Message: fmt.Sprintf(format, args...)})
}

func pos(n *yaml.Node) Pos { return Pos{n.Line, n.Column} }

func (d *decoder) decode(data []byte) {
	var doc yaml.Node
	if err := yaml.Unmarshal(data, &doc); err != nil {
		msg := strings.TrimPrefix(err.Error(), "yaml: ")
		p := Problem{File: d.file, Message: msg}
		if m := yamlErr.FindStringSubmatch(err.Error()); m != nil {
			p.Line, _ = strconv.Atoi(m[1])
			p.Message = m[2]
		}
		var te *yaml.TypeError
		if errors.As(err, &te) {
			p.Message = strings.Join(te.Errors, "; ")
		}
		d.problems = append(d.problems, p)
		return
	}
	if len(doc.Content) == 0 {
		return // an empty file configures nothing
	}
	root := doc.Content[0]
	if root.Kind == yaml.ScalarNode && root.Tag == "!!null" {
		return
	}
	known := map[string]func(*yaml.Node){
		"alert_rules":       d.rules,
		"channels":          d.channels,
		"escalation":        nil, // after channels: steps name them
		"settings":          d.settings,
		"silences":          d.silences,
		"correlation_rules": d.correlationRules,
		"recording_rules":   d.recordingRules,
	}
	for _, k := range otherSections {
		known[k] = func(*yaml.Node) {}
	}
	seen := d.fields(root, "the config file", known)
	if esc, ok := seen["escalation"]; ok {
		d.escalation(esc)
	}
}

// fields walks a mapping: it refuses other kinds, duplicate and unknown
// keys, calls each key's handler (nil: none) and returns the value nodes
// by key.
func (d *decoder) fields(n *yaml.Node, what string, fs map[string]func(*yaml.Node)) map[string]*yaml.Node {
	seen := map[string]*yaml.Node{}
	if n.Kind != yaml.MappingNode {
		d.errf(n, "%s: want a mapping, got %s", what, kind(n))
		return seen
	}
	for i := 0; i+1 < len(n.Content); i += 2 {
		k, v := n.Content[i], n.Content[i+1]
		if k.Kind != yaml.ScalarNode {
			d.errf(k, "%s: want a field name, got %s", what, kind(k))
			continue
		}
		h, ok := fs[k.Value]
		if !ok {
			d.errf(k, "unknown field %q in %s (want %s)", k.Value, what, strings.Join(sortedKeys(fs), ", "))
			continue
		}
		if _, dup := seen[k.Value]; dup {
			d.errf(k, "field %q appears twice in %s", k.Value, what)
			continue
		}
		seen[k.Value] = v
		if h != nil {
			h(v)
		}
	}
	return seen
}

func sortedKeys[V any](m map[string]V) []string {
	ks := make([]string, 0, len(m))
	for k := range m {
		ks = append(ks, k)
	}
	sort.Strings(ks)
	return ks
}

func kind(n *yaml.Node) string {
	switch n.Kind {
	case yaml.MappingNode:
		return "a mapping"
	case yaml.SequenceNode:
		return "a list"
	case yaml.AliasNode:
		return "an alias"
	}
	switch n.Tag {
	case "!!null":
		return "nothing"
	case "!!int", "!!float":
		return "the number " + n.Value
	case "!!bool":
		return "the boolean " + n.Value
	case "!!str":
		return fmt.Sprintf("the string %q", n.Value)
	}
	return fmt.Sprintf("%q", n.Value)
}

func (d *decoder) required(n *yaml.Node, seen map[string]*yaml.Node, what string, keys ...string) {
	if n.Kind != yaml.MappingNode {
		return
	}
	for _, k := range keys {
		if _, ok := seen[k]; !ok {
			d.errf(n, "%s: missing required field %q", what, k)
		}
	}
}

// list walks a sequence (null counts as empty).
func (d *decoder) list(n *yaml.Node, what string, each func(*yaml.Node)) {
	if n.Kind == yaml.ScalarNode && n.Tag == "!!null" {
		return
	}
	if n.Kind != yaml.SequenceNode {
		d.errf(n, "%s: want a list, got %s", what, kind(n))
		return
	}
	for _, c := range n.Content {
		each(c)
	}
}

// expand replaces ${NAME} with the environment's value. An unset variable
// is an error, or only a warning for a secret (read again at send time).
func (d *decoder) expand(n *yaml.Node, field string, secret bool) (string, bool) {
	ok := true
	out := envRe.ReplaceAllStringFunc(n.Value, func(m string) string {
		name := m[2 : len(m)-1]
		if !envName.MatchString(name) {
			d.errf(n, "%s: bad environment reference %q (want ${NAME})", field, m)
			ok = false
			return m
		}
		v, set := d.lookup(name)
		if !set {
			if secret {
				d.warnf(n, "%s: environment variable %s is not set (needed at send time)", field, name)
				return ""
			}
			d.errf(n, "%s: environment variable %s is not set", field, name)
			ok = false
		}
		return v
	})
	return out, ok
}

func (d *decoder) str(n *yaml.Node, field string) (string, bool) {
	if n.Kind != yaml.ScalarNode || n.Tag != "!!str" {
		d.errf(n, "%s: want a string, got %s", field, kind(n))
		return "", false
	}
	return d.expand(n, field, false)
}

func (d *decoder) nonEmpty(n *yaml.Node, field string) (string, bool) {
	s, ok := d.str(n, field)
	if ok && strings.TrimSpace(s) == "" {
		d.errf(n, "%s: must not be empty", field)
		return "", false
	}
	return s, ok
}

func (d *decoder) number(n *yaml.Node, field string) (float64, bool) {
	if n.Kind != yaml.ScalarNode || (n.Tag != "!!int" && n.Tag != "!!float") {
		d.errf(n, "%s: want a number, got %s", field, kind(n))
		return 0, false
	}
	var f float64
	if err := n.Decode(&f); err != nil || math.IsNaN(f) || math.IsInf(f, 0) {
		d.errf(n, "%s: want a finite number, got %s", field, n.Value)
		return 0, false
	}
	return f, true
}

func (d *decoder) positiveInt(n *yaml.Node, field string, min int) (int, bool) {
	var i int
	if n.Kind != yaml.ScalarNode || n.Tag != "!!int" || n.Decode(&i) != nil {
		d.errf(n, "%s: want a whole number, got %s", field, kind(n))
		return 0, false
	}
	if i < min {
		d.errf(n, "%s: want at least %d, got %d", field, min, i)
		return 0, false
	}
	return i, true
}

func (d *decoder) boolean(n *yaml.Node, field string) (bool, bool) {
	var b bool
	if n.Kind != yaml.ScalarNode || n.Tag != "!!bool" || n.Decode(&b) != nil {
		d.errf(n, "%s: want true or false, got %s", field, kind(n))
		return false, false
	}
	return b, true
}

// duration reads a number of seconds or a vtime duration string. zero says
// whether 0 is allowed; negative ones never are.
func (d *decoder) duration(n *yaml.Node, field string, zero bool) (time.Duration, bool) {
	var dur time.Duration
	switch {
	case n.Kind == yaml.ScalarNode && (n.Tag == "!!int" || n.Tag == "!!float"):
		f, ok := d.number(n, field)
		if !ok {
			return 0, false
		}
		if f < 0 {
			d.errf(n, "%s: duration %s is negative", field, n.Value)
			return 0, false
		}
		if f > math.MaxInt64/1e9 {
			d.errf(n, "%s: duration %s out of range", field, n.Value)
			return 0, false
		}
		dur = time.Duration(f * float64(time.Second))
	case n.Kind == yaml.ScalarNode && n.Tag == "!!str":
		s, ok := d.expand(n, field, false)
		if !ok {
			return 0, false
		}
		if strings.HasPrefix(strings.TrimSpace(s), "-") {
			d.errf(n, "%s: duration %q is negative", field, s)
			return 0, false
		}
		v, err := vtime.ParseDuration(s)
		if err != nil {
			d.errf(n, "%s: %v", field, err)
			return 0, false
		}
		dur = v
	default:
		d.errf(n, "%s: want a duration (seconds, or like 90s, 5m, 1h30m, 7d), got %s", field, kind(n))
		return 0, false
	}
	if dur == 0 && !zero {
		d.errf(n, "%s: want a positive duration, got %s", field, n.Value)
		return 0, false
	}
	return dur, true
}

func (d *decoder) instant(n *yaml.Node, field string) (time.Time, bool) {
	if n.Kind != yaml.ScalarNode || (n.Tag != "!!str" && n.Tag != "!!int" && n.Tag != "!!float" && n.Tag != "!!timestamp") {
		d.errf(n, "%s: want a time (RFC 3339 or unix seconds), got %s", field, kind(n))
		return time.Time{}, false
	}
	s, ok := d.expand(n, field, false)
	if !ok {
		return time.Time{}, false
	}
	t, err := vtime.ParseInstant(s)
	if err != nil {
		d.errf(n, "%s: %v", field, err)
		return time.Time{}, false
	}
	return t, true
}

func (d *decoder) strings(n *yaml.Node, field string) ([]string, bool) {
	if n.Kind != yaml.SequenceNode {
		d.errf(n, "%s: want a list of strings, got %s", field, kind(n))
		return nil, false
	}
	out := []string{}
	ok := true
	for _, c := range n.Content {
		s, good := d.str(c, field)
		ok = ok && good
		if good {
			out = append(out, s)
		}
	}
	return out, ok
}

// stringOrList accepts "x" or ["x", "y"].
func (d *decoder) stringOrList(n *yaml.Node, field string) ([]string, bool) {
	if n.Kind == yaml.ScalarNode {
		s, ok := d.str(n, field)
		return []string{s}, ok
	}
	return d.strings(n, field)
}

// labelMap reads label: value pairs; values may be any scalar.
func (d *decoder) labelMap(n *yaml.Node, field string) (map[string]string, bool) {
	out := map[string]string{}
	if n.Kind != yaml.MappingNode {
		d.errf(n, "%s: want a mapping of label: value, got %s", field, kind(n))
		return out, false
	}
	ok := true
	for i := 0; i+1 < len(n.Content); i += 2 {
		k, v := n.Content[i], n.Content[i+1]
		if k.Kind != yaml.ScalarNode || !labelRe.MatchString(k.Value) {
			d.errf(k, "%s: invalid label name %s (want [a-zA-Z_][a-zA-Z0-9_]*)", field, kind(k))
			ok = false
			continue
		}
		if _, dup := out[k.Value]; dup {
			d.errf(k, "%s: label %q appears twice", field, k.Value)
			ok = false
			continue
		}
		if v.Kind != yaml.ScalarNode || v.Tag == "!!null" {
			d.errf(v, "%s: label %s: want a value, got %s", field, k.Value, kind(v))
			ok = false
			continue
		}
		s := v.Value
		if v.Tag == "!!str" {
			var good bool
			if s, good = d.expand(v, field, false); !good {
				ok = false
				continue
			}
		}
		out[k.Value] = s
	}
	return out, ok
}

func oneOf(s string, set []string) bool { return slices.Contains(set, s) }

func want(set []string) string {
	if len(set) == 1 {
		return set[0]
	}
	return strings.Join(set[:len(set)-1], ", ") + " or " + set[len(set)-1]
}

// ---- alert_rules ----

func (d *decoder) rules(n *yaml.Node) {
	names := map[string]*yaml.Node{}
	d.list(n, "alert_rules", func(item *yaml.Node) {
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
		seen := d.fields(item, what, map[string]func(*yaml.Node){
			"name":        func(v *yaml.Node) { r.Name, _ = d.uniqueName(v, names, "rule") },
			"description": func(v *yaml.Node) { r.Description, _ = d.str(v, "description") },
			"metric_path": func(v *yaml.Node) { r.MetricPath, r.Path, _ = d.metricPath(v, "metric_path") },
			"condition": func(v *yaml.Node) {
				if s, ok := d.enum(v, "condition", "condition", Conditions); ok {
					r.Condition = s
				}
			},
			"threshold": func(v *yaml.Node) { r.Threshold, _ = d.number(v, "threshold") },
			"severity": func(v *yaml.Node) {
				if s, ok := d.enum(v, "severity", "severity", Severities); ok {
					r.Severity = s
				}
			},
			"evaluation_window": func(v *yaml.Node) { r.EvaluationWindow, _ = d.duration(v, "evaluation_window", false) },
			"cooldown_period":   func(v *yaml.Node) { r.CooldownPeriod, _ = d.duration(v, "cooldown_period", true) },
			"for":               func(v *yaml.Node) { r.For, _ = d.duration(v, "for", true) },
			"group_by": func(v *yaml.Node) {
				ls, ok := d.strings(v, "group_by")
				if !ok {
					return
				}
				for i, l := range ls {
					if !labelRe.MatchString(l) {
						d.errf(v.Content[i], "group_by: invalid label name %q", l)
					} else if slices.Contains(ls[:i], l) {
						d.errf(v.Content[i], "group_by: label %q appears twice", l)
					}
				}
				r.GroupBy = ls
			},
			"labels": func(v *yaml.Node) { r.Labels, _ = d.labelMap(v, "labels") },
			"nodata": func(v *yaml.Node) {
				if s, ok := d.enum(v, "nodata", "nodata policy", NoDataPolicies); ok {
					r.NoData = s
				}
			},
			"lookback":         func(v *yaml.Node) { r.Lookback, _ = d.duration(v, "lookback", false) },
			"spike_ratio":      func(v *yaml.Node) { r.SpikeRatio, _ = d.number(v, "spike_ratio") },
			"reference_window": func(v *yaml.Node) { r.ReferenceWindow, _ = d.duration(v, "reference_window", false) },
			"direction": func(v *yaml.Node) {
				if s, ok := d.enum(v, "direction", "direction", SpikeDirections); ok {
					r.Direction = s
				}
			},
			"min_reference": func(v *yaml.Node) { r.MinReference, _ = d.number(v, "min_reference") },
			"tuning":        func(v *yaml.Node) { tuning = d.tuning(v, "tuning") },
		})
		required := []string{"name", "metric_path", "condition", "threshold", "severity", "evaluation_window"}
		switch r.Condition {
		case "absent":
			required = slices.DeleteFunc(required, func(k string) bool { return k == "threshold" })
		case "spike":
			required = slices.DeleteFunc(required, func(k string) bool { return k == "threshold" })
			required = append(required, "spike_ratio")
		}
		d.required(item, seen, what, required...)
		for _, k := range []string{"spike_ratio", "reference_window", "direction", "min_reference"} {
			if v := seen[k]; v != nil && r.Condition != "spike" && r.Condition != "" {
				d.errf(v, "%s: only with condition spike", k)
			}
		}
		if v := seen["lookback"]; v != nil && r.Condition != "absent" && r.Condition != "" {
			d.errf(v, "lookback: only with condition absent")
		}
		if v := seen["threshold"]; v != nil && (r.Condition == "absent" || r.Condition == "spike") {
			d.errf(v, "threshold: condition %s takes no threshold", r.Condition)
		}
		if v := seen["spike_ratio"]; v != nil && r.Condition == "spike" && !(r.SpikeRatio > 1) {
			d.errf(v, "spike_ratio: want a number above 1 (2 means twice, or half with direction down), got %s", v.Value)
		}
		if v := seen["min_reference"]; v != nil && r.MinReference < 0 {
			d.errf(v, "min_reference: want a number >= 0, got %s", v.Value)
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
			d.errf(v, "tuning: only for a dynamic rule (labels: {dynamic_threshold: \"true\"})")
		}
		d.cfg.Rules = append(d.cfg.Rules, r)
		d.ruleTuning = append(d.ruleTuning, tuning)
	})
}

// metricPath parses a path. A syntax error points at its column in the
// file when the scalar is written so that the file's text is the value
// (plain, or quoted without escapes, no ${...}).
func (d *decoder) metricPath(v *yaml.Node, field string) (string, *metricpath.Expr, bool) {
	s, ok := d.nonEmpty(v, field)
	if !ok {
		return "", nil, false
	}
	e, err := metricpath.Parse(s)
	if err == nil {
		return s, e, true
	}
	if nameRe.MatchString(s) {
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
			d.errf(&at, "%s: %s", field, se.Msg)
		} else {
			d.errf(v, "%s: %v", field, err)
		}
		return s, nil, false
	}
	d.errf(v, "%s: %v", field, err)
	return s, nil, false
}

// ---- channels ----

type chanField struct {
	kind     string // str, int, bool, strs, map, dur, url, secret, repo, port, webhook_format
	required bool
}

var commonChannelFields = map[string]chanField{
	"timeout": {kind: "dur"}, "retry_attempts": {kind: "int0"}, "retry_delay": {kind: "dur"},
	"send_resolved": {kind: "bool"},
}

var channelFields = map[string]map[string]chanField{
	"webhook": {"url": {"url", true}, "headers": {"map", false}, "format": {"webhook_format", false}},
	"email": {"smtp_server": {"str", true}, "smtp_port": {"port", false}, "username": {"str", false},
		"from_email": {"str", false}, "from": {"str", false}, "to_emails": {"strs", true}, "use_tls": {"bool", false},
		"tls": {"email_tls", false}, "password_env": {"env", false}, "password_file": {"str", false}},
	"github": {"repo": {"repo", true}, "labels": {"strs", false}, "assignees": {"strs", false},
		"token_env": {"env", false}, "api_url": {"url", false}, "close_on_resolve": {"bool", false}},
	"sentry":       {"dsn": {"secret", false}, "dsn_env": {"env", false}, "project": {"str", false}, "environment": {"str", false}},
	"slack":        {"url": {"url", false}, "webhook_url": {"url", false}, "channel": {"str", false}, "username": {"str", false}},
	"alertmanager": {"url": {"url", true}, "headers": {"map", false}},
	"pagerduty":    {"routing_key_env": {"env", false}, "url": {"url", false}},
}

// EmailTLS are the email channel's tls modes, default first.
var EmailTLS = []string{"starttls", "implicit", "none"}

func (d *decoder) channels(n *yaml.Node) {
	names := map[string]*yaml.Node{}
	d.list(n, "channels", func(item *yaml.Node) {
		c := Channel{Pos: pos(item), Enabled: true, SendResolved: true, Settings: map[string]any{}}
		var typ string
		what := "channel"
		if item.Kind == yaml.MappingNode {
			for i := 0; i+1 < len(item.Content); i += 2 {
				k, v := item.Content[i], item.Content[i+1]
				if k.Value == "type" && v.Kind == yaml.ScalarNode && v.Tag == "!!str" {
					typ = v.Value
				}
				if k.Value == "name" && v.Kind == yaml.ScalarNode && v.Tag == "!!str" {
					what = fmt.Sprintf("channel %q", v.Value)
				}
			}
		}
		fs := map[string]func(*yaml.Node){
			"name": func(v *yaml.Node) { c.Name, _ = d.uniqueName(v, names, "channel") },
			"type": func(v *yaml.Node) {
				s, ok := d.str(v, "type")
				if ok && !oneOf(s, ChannelTypes) {
					d.errf(v, "unknown channel type %q (want %s)", s, strings.Join(ChannelTypes, ", "))
				}
				c.Type = s
			},
			"enabled": func(v *yaml.Node) { c.Enabled, _ = d.boolean(v, "enabled") },
			"filters": func(v *yaml.Node) { c.Filters = d.filters(v, "filters") },
		}
		specific := channelFields[typ]
		all := map[string]chanField{}
		for k, f := range commonChannelFields {
			all[k] = f
		}
		for k, f := range specific {
			all[k] = f
		}
		for k, f := range all {
			fs[k] = func(v *yaml.Node) {
				if val, ok := d.channelValue(v, k, f.kind); ok {
					c.Settings[k] = val
				}
			}
		}
		if !oneOf(typ, ChannelTypes) {
			// Unknown or missing type: its fields cannot be judged, so
			// report the type alone rather than every field.
			for _, m := range channelFields {
				for k := range m {
					if fs[k] == nil {
						fs[k] = func(*yaml.Node) {}
					}
				}
			}
		}
		seen := d.fields(item, what+channelKind(typ), fs)
		d.required(item, seen, what, "name", "type")
		for _, k := range sortedKeys(specific) {
			if specific[k].required {
				d.required(item, seen, what, k)
			}
		}
		if v, ok := c.Settings["timeout"].(time.Duration); ok {
			c.Timeout = v
		}
		if v, ok := c.Settings["retry_delay"].(time.Duration); ok {
			c.RetryDelay = v
		}
		if v, ok := c.Settings["retry_attempts"].(int); ok {
			c.RetryAttempts = v
		}
		if v, ok := c.Settings["send_resolved"].(bool); ok {
			c.SendResolved = v
		}
		if item.Kind == yaml.MappingNode {
			d.secrets(item, seen, &c, what)
		}
		d.cfg.Channels = append(d.cfg.Channels, c)
	})
}

func channelKind(typ string) string {
	if oneOf(typ, ChannelTypes) {
		return " (type " + typ + ")"
	}
	return ""
}

// secrets warns about what a channel reads from the environment at send
// time and is missing now.
func (d *decoder) secrets(item *yaml.Node, seen map[string]*yaml.Node, c *Channel, what string) {
	unset := func(name string) bool { v, ok := d.lookup(name); return !ok || v == "" }
	envOr := func(key, def string) string {
		if s, _ := c.Settings[key].(string); s != "" {
			return s
		}
		return def
	}
	switch c.Type {
	case "github":
		if name := envOr("token_env", "GITHUB_TOKEN"); unset(name) {
			d.warnf(item, "%s: %s is not set (the github channel needs it to send)", what, name)
		}
	case "sentry":
		if name := envOr("dsn_env", "SENTRY_DSN"); seen["dsn"] == nil && unset(name) {
			d.warnf(item, "%s: no dsn and %s is not set (the sentry channel needs one to send)", what, name)
		}
	case "pagerduty":
		if name := envOr("routing_key_env", "PAGERDUTY_ROUTING_KEY"); unset(name) {
			d.warnf(item, "%s: %s is not set (the pagerduty channel needs its routing key to send)", what, name)
		}
	case "slack":
		switch {
		case seen["url"] == nil && seen["webhook_url"] == nil:
			d.errf(item, "%s: missing required field \"url\" (the incoming webhook URL)", what)
		case seen["url"] != nil && seen["webhook_url"] != nil:
			d.errf(seen["webhook_url"], "%s: give url or webhook_url, not both", what)
		}
	case "email":
		if seen["password_env"] != nil && seen["password_file"] != nil {
			d.errf(seen["password_file"], "%s: give password_env or password_file, not both", what)
		}
		if name := envOr("password_env", "SMTP_PASSWORD"); seen["username"] != nil && seen["password_file"] == nil && unset(name) {
			d.warnf(item, "%s: %s is not set (needed to log in as the username at send time)", what, name)
		}
		if seen["username"] == nil && seen["from_email"] == nil && seen["from"] == nil {
			d.errf(item, "%s: missing required field \"from_email\" (or \"from\", or \"username\")", what)
		}
		if seen["tls"] != nil && seen["use_tls"] != nil {
			d.errf(seen["use_tls"], "%s: give tls or use_tls, not both", what)
		}
	}
}

func (d *decoder) channelValue(v *yaml.Node, field, kind string) (any, bool) {
	switch kind {
	case "str":
		return d.str(v, field)
	case "secret":
		if v.Kind != yaml.ScalarNode || v.Tag != "!!str" {
			d.errf(v, "%s: want a string, got %s", field, kindOf(v))
			return nil, false
		}
		return d.expand(v, field, true)
	case "strs":
		ss, ok := d.strings(v, field)
		if ok && len(ss) == 0 && field == "to_emails" {
			d.errf(v, "%s: want at least one address", field)
			return nil, false
		}
		return ss, ok
	case "map":
		return d.labelMapAny(v, field)
	case "bool":
		return d.boolean(v, field)
	case "int0":
		return d.positiveInt(v, field, 0)
	case "port":
		p, ok := d.positiveInt(v, field, 1)
		if ok && p > 65535 {
			d.errf(v, "%s: want a port from 1 to 65535, got %d", field, p)
			return nil, false
		}
		return p, ok
	case "dur":
		return d.duration(v, field, false)
	case "url":
		s, ok := d.nonEmpty(v, field)
		if !ok {
			return nil, false
		}
		u, err := url.Parse(s)
		if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
			d.errf(v, "%s: want an http(s) URL, got %q", field, s)
			return nil, false
		}
		return s, true
	case "webhook_format":
		return d.enum(v, field, "webhook format", WebhookFormats)
	case "email_tls":
		return d.enum(v, field, "tls mode", EmailTLS)
	case "env":
		s, ok := d.str(v, field)
		if ok && !envName.MatchString(s) {
			d.errf(v, "%s: want an environment variable name, got %q", field, s)
			return nil, false
		}
		return s, ok
	case "repo":
		s, ok := d.str(v, field)
		if !ok {
			return nil, false
		}
		owner, name, found := strings.Cut(s, "/")
		if !found || owner == "" || name == "" || strings.Contains(name, "/") || strings.ContainsAny(s, " \t") {
			d.errf(v, "%s: want owner/name, got %q", field, s)
			return nil, false
		}
		return s, true
	}
	panic("unknown field kind " + kind)
}

func kindOf(n *yaml.Node) string { return kind(n) }

// enum reads a string that must be one of allowed; noun names the field's
// values in the error ("unknown severity \"urgent\" (want ...)").
func (d *decoder) enum(v *yaml.Node, field, noun string, allowed []string) (string, bool) {
	s, ok := d.str(v, field)
	if ok && !oneOf(s, allowed) {
		d.errf(v, "unknown %s %q (want %s)", noun, s, strings.Join(allowed, ", "))
		return "", false
	}
	return s, ok
}

// labelMapAny is a header map: any non-empty key.
func (d *decoder) labelMapAny(n *yaml.Node, field string) (map[string]string, bool) {
	out := map[string]string{}
	if n.Kind != yaml.MappingNode {
		d.errf(n, "%s: want a mapping, got %s", field, kind(n))
		return out, false
	}
	ok := true
	for i := 0; i+1 < len(n.Content); i += 2 {
		k, v := n.Content[i], n.Content[i+1]
		s, good := d.str(v, field+" "+k.Value)
		ok = ok && good
		out[k.Value] = s
	}
	return out, ok
}

// filters reads [{label: value or [values]}, ...]; severity values must be
// known severities.
func (d *decoder) filters(n *yaml.Node, field string) []Filter {
	var out []Filter
	d.list(n, field, func(item *yaml.Node) {
		if item.Kind != yaml.MappingNode {
			d.errf(item, "%s: want a mapping of label: values, got %s", field, kind(item))
			return
		}
		f := Filter{}
		for i := 0; i+1 < len(item.Content); i += 2 {
			k, v := item.Content[i], item.Content[i+1]
			if k.Kind != yaml.ScalarNode || !labelRe.MatchString(k.Value) {
				d.errf(k, "%s: invalid label name %s", field, kind(k))
				continue
			}
			vals, ok := d.stringOrList(v, field+" "+k.Value)
			if !ok {
				continue
			}
			if len(vals) == 0 {
				d.errf(v, "%s %s: want at least one value", field, k.Value)
				continue
			}
			if k.Value == "severity" {
				for j, s := range vals {
					at := v
					if v.Kind == yaml.SequenceNode {
						at = v.Content[j]
					}
					if !oneOf(s, Severities) {
						d.errf(at, "unknown severity %q (want %s)", s, strings.Join(Severities, ", "))
					}
				}
			}
			f[k.Value] = vals
		}
		out = append(out, f)
	})
	return out
}

// ---- escalation ----

func (d *decoder) escalation(n *yaml.Node) {
	names := map[string]*yaml.Node{}
	d.list(n, "escalation", func(item *yaml.Node) {
		p := EscalationPolicy{Pos: pos(item)}
		what := "escalation policy"
		seen := d.fields(item, what, map[string]func(*yaml.Node){
			"name":     func(v *yaml.Node) { p.Name, _ = d.uniqueName(v, names, "escalation policy") },
			"triggers": func(v *yaml.Node) { p.Triggers = d.filters(v, "triggers") },
			"steps": func(v *yaml.Node) {
				d.list(v, "steps", func(st *yaml.Node) { p.Steps = append(p.Steps, d.step(st)) })
				if v.Kind == yaml.SequenceNode && len(v.Content) == 0 || v.Tag == "!!null" {
					d.errf(v, "steps: want at least one step")
				}
			},
		})
		if p.Name != "" {
			what = fmt.Sprintf("escalation policy %q", p.Name)
		}
		d.required(item, seen, what, "name", "steps")
		d.cfg.Escalation = append(d.cfg.Escalation, p)
	})
}

func (d *decoder) step(n *yaml.Node) EscalationStep {
	var s EscalationStep
	seen := d.fields(n, "escalation step", map[string]func(*yaml.Node){
		"delay": func(v *yaml.Node) { s.Delay, _ = d.duration(v, "delay", true) },
		"channels": func(v *yaml.Node) {
			cs, ok := d.strings(v, "channels")
			if !ok {
				return
			}
			if len(cs) == 0 {
				d.errf(v, "channels: want at least one channel")
			}
			s.Channels = cs
			for i, c := range cs {
				res := d.resolve(c)
				if len(res) == 0 {
					d.errf(v.Content[i], "channel %q matches no channel name or type (have %s)", c, d.channelList())
				}
				for _, r := range res {
					if !slices.Contains(s.Resolved, r) {
						s.Resolved = append(s.Resolved, r)
					}
				}
			}
		},
		"recipients": func(v *yaml.Node) { s.Recipients, _ = d.strings(v, "recipients") },
	})
	d.required(n, seen, "escalation step", "channels")
	return s
}

// resolve turns a step's channel entry into channel names: a name, or a
// type meaning every channel of that type.
func (d *decoder) resolve(ref string) []string {
	var out []string
	for _, c := range d.cfg.Channels {
		if c.Name == ref && c.Name != "" {
			return []string{c.Name}
		}
	}
	for _, c := range d.cfg.Channels {
		if c.Type == ref && c.Name != "" {
			out = append(out, c.Name)
		}
	}
	return out
}

func (d *decoder) channelList() string {
	var have []string
	for _, c := range d.cfg.Channels {
		if c.Name != "" {
			have = append(have, c.Name+" ("+c.Type+")")
		}
	}
	if len(have) == 0 {
		return "no channels"
	}
	return strings.Join(have, ", ")
}

// ---- settings ----

func (d *decoder) settings(n *yaml.Node) {
	if n.Tag == "!!null" {
		return
	}
	s := &d.cfg.Settings
	d.fields(n, "settings", map[string]func(*yaml.Node){
		"evaluation_interval": func(v *yaml.Node) {
			if x, ok := d.duration(v, "evaluation_interval", false); ok {
				s.EvaluationInterval = x
			}
		},
		"batch_size": func(v *yaml.Node) {
			if x, ok := d.positiveInt(v, "batch_size", 1); ok {
				s.BatchSize = x
			}
		},
		"max_alerts_per_minute": func(v *yaml.Node) {
			if x, ok := d.positiveInt(v, "max_alerts_per_minute", 1); ok {
				s.MaxAlertsPerMinute = x
			}
		},
		"alert_retention_days": func(v *yaml.Node) {
			if x, ok := d.positiveInt(v, "alert_retention_days", 1); ok {
				s.AlertRetentionDays = x
			}
		},
		"enable_correlation": func(v *yaml.Node) {
			if x, ok := d.boolean(v, "enable_correlation"); ok {
				s.EnableCorrelation = x
			}
		},
		"enable_deduplication": func(v *yaml.Node) {
			if x, ok := d.boolean(v, "enable_deduplication"); ok {
				s.EnableDeduplication = x
			}
		},
		"dynamic_thresholds": func(v *yaml.Node) {
			for _, f := range d.tuning(v, "dynamic_thresholds") {
				f(&s.DynamicThresholds)
			}
		},
	})
}

// tuning reads a dynamic threshold block into setters, applied over the
// settings' defaults once the whole file is read (settings may come after
// the rules).
func (d *decoder) tuning(n *yaml.Node, what string) []func(*Tuning) {
	var out []func(*Tuning)
	num := func(key string, min float64, exclusive bool, set func(*Tuning, float64)) func(*yaml.Node) {
		return func(v *yaml.Node) {
			x, ok := d.number(v, key)
			if !ok {
				return
			}
			if x < min || exclusive && x == min {
				rel := ">="
				if exclusive {
					rel = ">"
				}
				d.errf(v, "%s: want a number %s %v, got %s", key, rel, min, v.Value)
				return
			}
			out = append(out, func(t *Tuning) { set(t, x) })
		}
	}
	d.fields(n, what, map[string]func(*yaml.Node){
		"method": func(v *yaml.Node) {
			if s, ok := d.enum(v, "method", "method", TuningMethods); ok {
				out = append(out, func(t *Tuning) { t.Method = s })
			}
		},
		"season": func(v *yaml.Node) {
			if s, ok := d.enum(v, "season", "season", Seasons); ok {
				out = append(out, func(t *Tuning) { t.Season = s })
			}
		},
		"percentile": func(v *yaml.Node) {
			x, ok := d.number(v, "percentile")
			if ok && (x <= 0 || x >= 100) {
				d.errf(v, "percentile: want a number strictly between 0 and 100, got %s", v.Value)
				return
			}
			out = append(out, func(t *Tuning) { t.Percentile = x })
		},
		"baseline_window": func(v *yaml.Node) {
			if x, ok := d.duration(v, "baseline_window", false); ok {
				out = append(out, func(t *Tuning) { t.BaselineWindow = x })
			}
		},
		"adjustment_factor":  num("adjustment_factor", 0, true, func(t *Tuning, x float64) { t.Factor = x }),
		"hysteresis":         num("hysteresis", 0, false, func(t *Tuning, x float64) { t.Hysteresis = x }),
		"hysteresis_percent": num("hysteresis_percent", 0, false, func(t *Tuning, x float64) { t.HysteresisPercent = x }),
		"mad_k":              num("mad_k", 0, true, func(t *Tuning, x float64) { t.MADK = x }),
		"min_samples": func(v *yaml.Node) {
			if x, ok := d.positiveInt(v, "min_samples", 1); ok {
				out = append(out, func(t *Tuning) { t.MinSamples = x })
			}
		},
	})
	return out
}

// ---- silences ----

func (d *decoder) silences(n *yaml.Node) {
	d.list(n, "silences", func(item *yaml.Node) {
		s := Silence{Pos: pos(item)}
		var endsAt *yaml.Node
		seen := d.fields(item, "silence", map[string]func(*yaml.Node){
			"matchers": func(v *yaml.Node) {
				s.Matchers, _ = d.labelMap(v, "matchers")
				if v.Kind == yaml.MappingNode && len(v.Content) == 0 {
					d.errf(v, "matchers: want at least one matcher (a silence must not mute everything)")
				}
			},
			"starts_at":  func(v *yaml.Node) { s.StartsAt, _ = d.instant(v, "starts_at") },
			"ends_at":    func(v *yaml.Node) { s.EndsAt, _ = d.instant(v, "ends_at"); endsAt = v },
			"comment":    func(v *yaml.Node) { s.Comment, _ = d.str(v, "comment") },
			"created_by": func(v *yaml.Node) { s.CreatedBy, _ = d.str(v, "created_by") },
		})
		d.required(item, seen, "silence", "matchers", "ends_at")
		if endsAt != nil && !s.StartsAt.IsZero() && !s.EndsAt.IsZero() && !s.EndsAt.After(s.StartsAt) {
			d.errf(endsAt, "ends_at: must be after starts_at")
		}
		d.cfg.Silences = append(d.cfg.Silences, s)
	})
}

// ---- correlation_rules ----

func (d *decoder) correlationRules(n *yaml.Node) {
	names := map[string]*yaml.Node{}
	d.list(n, "correlation_rules", func(item *yaml.Node) {
		r := CorrelationRule{Pos: pos(item)}
		seen := d.fields(item, "correlation rule", map[string]func(*yaml.Node){
			"name":        func(v *yaml.Node) { r.Name, _ = d.uniqueName(v, names, "correlation rule") },
			"group_key":   func(v *yaml.Node) { r.GroupKey, _ = d.nonEmpty(v, "group_key") },
			"time_window": func(v *yaml.Node) { r.TimeWindow, _ = d.duration(v, "time_window", false) },
			"alert_patterns": func(v *yaml.Node) {
				ps, ok := d.strings(v, "alert_patterns")
				if !ok {
					return
				}
				for i, p := range ps {
					if _, err := path.Match(p, ""); err != nil {
						d.errf(v.Content[i], "alert_patterns: bad glob %q", p)
					}
				}
				r.AlertPatterns = ps
			},
			"label_matchers": func(v *yaml.Node) { r.LabelMatchers, _ = d.labelMap(v, "label_matchers") },
		})
		d.required(item, seen, "correlation rule", "name", "group_key", "time_window")
		d.cfg.CorrelationRules = append(d.cfg.CorrelationRules, r)
	})
}

// ---- recording_rules ----

var recordingAggs = []string{"last", "min", "max", "avg", "sum", "count", "stddev", "rate", "increase", "percentile"}

func (d *decoder) recordingRules(n *yaml.Node) {
	targets := map[string]*yaml.Node{}
	d.list(n, "recording_rules", func(item *yaml.Node) {
		r := RecordingRule{Pos: pos(item)}
		var aggNode, pctNode *yaml.Node
		seen := d.fields(item, "recording rule", map[string]func(*yaml.Node){
			"source": func(v *yaml.Node) {
				s, ok := d.nonEmpty(v, "source")
				if ok && !nameRe.MatchString(s) {
					d.errf(v, "source: invalid metric name %q (want [a-zA-Z_:][a-zA-Z0-9_:]*)", s)
					return
				}
				r.Source = s
			},
			"target": func(v *yaml.Node) {
				s, ok := d.nonEmpty(v, "target")
				if !ok {
					return
				}
				if !nameRe.MatchString(s) {
					d.errf(v, "target: invalid metric name %q (want [a-zA-Z_:][a-zA-Z0-9_:]*)", s)
					return
				}
				if first, dup := targets[s]; dup {
					d.errf(v, "duplicate recording target %q (first at line %d)", s, first.Line)
					return
				}
				targets[s] = v
				r.Target = s
			},
			"aggregation": func(v *yaml.Node) {
				aggNode = v
				s, ok := d.str(v, "aggregation")
				if ok && !oneOf(s, recordingAggs) {
					d.errf(v, "unknown aggregation %q (want %s)", s, want(recordingAggs))
					return
				}
				r.Aggregation = s
			},
			"percentile": func(v *yaml.Node) {
				pctNode = v
				f, ok := d.number(v, "percentile")
				if ok && (f <= 0 || f > 100) {
					d.errf(v, "percentile: want a number in (0, 100], got %s", v.Value)
					return
				}
				r.Percentile = f
			},
			"metric_path": func(v *yaml.Node) { r.MetricPath, _, _ = d.metricPath(v, "metric_path") },
			"window":      func(v *yaml.Node) { r.Window, _ = d.duration(v, "window", false) },
		})
		d.required(item, seen, "recording rule", "target", "window")
		_, hasSrc := seen["source"]
		_, hasPath := seen["metric_path"]
		switch {
		case hasSrc && hasPath:
			d.errf(seen["metric_path"], "recording rule: give either source with aggregation, or metric_path, not both")
		case hasSrc:
			if aggNode == nil {
				d.errf(item, "recording rule: missing required field \"aggregation\" (with source)")
			}
		case hasPath:
			if aggNode != nil {
				d.errf(aggNode, "recording rule: aggregation goes in the metric_path, not beside it")
			}
		case item.Kind == yaml.MappingNode:
			d.errf(item, "recording rule: missing source (with aggregation) or metric_path")
		}
		if r.Aggregation == "percentile" && pctNode == nil {
			d.errf(aggNode, "recording rule: aggregation percentile needs a percentile field (e.g. 95)")
		}
		if pctNode != nil && aggNode != nil && r.Aggregation != "" && r.Aggregation != "percentile" {
			d.errf(pctNode, "percentile: only with aggregation percentile")
		}
		d.cfg.RecordingRules = append(d.cfg.RecordingRules, r)
	})
}

// uniqueName reads a section item's name: present, and not the name of an
// earlier item of the section (names maps each to where it first stood).
func (d *decoder) uniqueName(v *yaml.Node, names map[string]*yaml.Node, what string) (string, bool) {
	s, ok := d.nonEmpty(v, "name")
	if !ok {
		return "", false
	}
	if first, dup := names[s]; dup {
		d.errf(v, "duplicate %s name %q (first at line %d)", what, s, first.Line)
		return "", false
	}
	names[s] = v
	return s, true
}
