package yamlconf

import (
	"fmt"
	"math"
	"net/url"
	"regexp"
	"slices"
	"strings"
	"time"

	"go.yaml.in/yaml/v3"

	"github.com/vigil-metrics/vigil/internal/store"
	"github.com/vigil-metrics/vigil/internal/vtime"
)

var (
	envRe   = regexp.MustCompile(`\$\{([^}]*)\}`)
	envName = regexp.MustCompile(`^[A-Za-z_][A-Za-z0-9_]*$`)
)

// IsEnvName reports whether s can name an environment variable.
func IsEnvName(s string) bool { return envName.MatchString(s) }

// Expand replaces ${NAME} in n's value with the environment's value (as
// written when the decoder has no Env). An unset variable is an error, or
// only a warning for a secret (read again at send time, where it is
// needed).
func (d *Decoder) Expand(n *yaml.Node, field string, secret bool) (string, bool) {
	if d.Env == nil {
		return n.Value, true
	}
	ok := true
	out := envRe.ReplaceAllStringFunc(n.Value, func(m string) string {
		name := m[2 : len(m)-1]
		if !envName.MatchString(name) {
			d.Errf(n, "%s: bad environment reference %q (want ${NAME})", field, m)
			ok = false
			return m
		}
		v, set := d.Env(name)
		if !set {
			if secret {
				d.Warnf(n, "%s: environment variable %s is not set (needed at send time)", field, name)
				return ""
			}
			d.Errf(n, "%s: environment variable %s is not set", field, name)
			ok = false
		}
		return v
	})
	return out, ok
}

// Str reads a string (a YAML string, not a number or boolean), ${ENV}
// expanded.
func (d *Decoder) Str(n *yaml.Node, field string) (string, bool) {
	if n.Kind != yaml.ScalarNode || n.Tag != "!!str" {
		d.Errf(n, "%s: want a string, got %s", field, Kind(n))
		return "", false
	}
	return d.Expand(n, field, false)
}

// Secret reads a string that may name an environment variable unset now:
// that is a warning, as the secret is read again at send time.
func (d *Decoder) Secret(n *yaml.Node, field string) (string, bool) {
	if n.Kind != yaml.ScalarNode || n.Tag != "!!str" {
		d.Errf(n, "%s: want a string, got %s", field, Kind(n))
		return "", false
	}
	return d.Expand(n, field, true)
}

// NonEmpty is Str that refuses a blank string.
func (d *Decoder) NonEmpty(n *yaml.Node, field string) (string, bool) {
	s, ok := d.Str(n, field)
	if ok && strings.TrimSpace(s) == "" {
		d.Errf(n, "%s: must not be empty", field)
		return "", false
	}
	return s, ok
}

// Text reads any scalar but null as the text written (3 and true too),
// for files that take values as text and parse them themselves.
func (d *Decoder) Text(n *yaml.Node, field string) (string, bool) {
	if n.Kind != yaml.ScalarNode || n.Tag == "!!null" {
		d.Errf(n, "%s: want a string", field)
		return "", false
	}
	return n.Value, true
}

// Enum reads a string that must be one of allowed; noun names the field's
// values in the error (`unknown severity "urgent" (want ...)`).
func (d *Decoder) Enum(n *yaml.Node, field, noun string, allowed []string) (string, bool) {
	s, ok := d.Str(n, field)
	if ok && !slices.Contains(allowed, s) {
		d.Errf(n, "unknown %s %q (want %s)", noun, s, strings.Join(allowed, ", "))
		return "", false
	}
	return s, ok
}

// EnvName reads the name of an environment variable.
func (d *Decoder) EnvName(n *yaml.Node, field string) (string, bool) {
	s, ok := d.Str(n, field)
	if ok && !envName.MatchString(s) {
		d.Errf(n, "%s: want an environment variable name, got %q", field, s)
		return "", false
	}
	return s, ok
}

// Number reads a finite number.
func (d *Decoder) Number(n *yaml.Node, field string) (float64, bool) {
	if n.Kind != yaml.ScalarNode || (n.Tag != "!!int" && n.Tag != "!!float") {
		d.Errf(n, "%s: want a number, got %s", field, Kind(n))
		return 0, false
	}
	var f float64
	if err := n.Decode(&f); err != nil || math.IsNaN(f) || math.IsInf(f, 0) {
		d.Errf(n, "%s: want a finite number, got %s", field, n.Value)
		return 0, false
	}
	return f, true
}

// Int reads a whole number of at least min.
func (d *Decoder) Int(n *yaml.Node, field string, min int) (int, bool) {
	var i int
	if n.Kind != yaml.ScalarNode || n.Tag != "!!int" || n.Decode(&i) != nil {
		d.Errf(n, "%s: want a whole number, got %s", field, Kind(n))
		return 0, false
	}
	if i < min {
		d.Errf(n, "%s: want at least %d, got %d", field, min, i)
		return 0, false
	}
	return i, true
}

// Boolean reads true or false.
func (d *Decoder) Boolean(n *yaml.Node, field string) (bool, bool) {
	var b bool
	if n.Kind != yaml.ScalarNode || n.Tag != "!!bool" || n.Decode(&b) != nil {
		d.Errf(n, "%s: want true or false, got %s", field, Kind(n))
		return false, false
	}
	return b, true
}

// Duration reads a number of seconds or a vtime duration string (90s,
// 5m, 7d). zero says whether 0 is allowed; negative ones never are.
func (d *Decoder) Duration(n *yaml.Node, field string, zero bool) (time.Duration, bool) {
	var dur time.Duration
	switch {
	case n.Kind == yaml.ScalarNode && (n.Tag == "!!int" || n.Tag == "!!float"):
		f, ok := d.Number(n, field)
		if !ok {
			return 0, false
		}
		if f < 0 {
			d.Errf(n, "%s: duration %s is negative", field, n.Value)
			return 0, false
		}
		if f > math.MaxInt64/1e9 {
			d.Errf(n, "%s: duration %s out of range", field, n.Value)
			return 0, false
		}
		dur = time.Duration(f * float64(time.Second))
	case n.Kind == yaml.ScalarNode && n.Tag == "!!str":
		s, ok := d.Expand(n, field, false)
		if !ok {
			return 0, false
		}
		v, ok := d.durationText(n, field, s)
		if !ok {
			return 0, false
		}
		dur = v
	default:
		d.Errf(n, "%s: want a duration (seconds, or like 90s, 5m, 1h30m, 7d), got %s", field, Kind(n))
		return 0, false
	}
	if dur == 0 && !zero {
		d.Errf(n, "%s: want a positive duration, got %s", field, n.Value)
		return 0, false
	}
	return dur, true
}

// TextDuration reads a duration written with a unit (90s, 5m, 7d) from
// any scalar's text, as promtool's files write them.
func (d *Decoder) TextDuration(n *yaml.Node, field string) (time.Duration, bool) {
	s, ok := d.Text(n, field)
	if !ok {
		return 0, false
	}
	return d.durationText(n, field, s)
}

func (d *Decoder) durationText(n *yaml.Node, field, s string) (time.Duration, bool) {
	if strings.HasPrefix(strings.TrimSpace(s), "-") {
		d.Errf(n, "%s: duration %q is negative", field, s)
		return 0, false
	}
	v, err := vtime.ParseDuration(s)
	if err != nil {
		d.Errf(n, "%s: %v", field, err)
		return 0, false
	}
	return v, true
}

// Instant reads a time: RFC 3339 or unix seconds.
func (d *Decoder) Instant(n *yaml.Node, field string) (time.Time, bool) {
	if n.Kind != yaml.ScalarNode || (n.Tag != "!!str" && n.Tag != "!!int" && n.Tag != "!!float" && n.Tag != "!!timestamp") {
		d.Errf(n, "%s: want a time (RFC 3339 or unix seconds), got %s", field, Kind(n))
		return time.Time{}, false
	}
	s, ok := d.Expand(n, field, false)
	if !ok {
		return time.Time{}, false
	}
	t, err := vtime.ParseInstant(s)
	if err != nil {
		d.Errf(n, "%s: %v", field, err)
		return time.Time{}, false
	}
	return t, true
}

// Strings reads a list of strings.
func (d *Decoder) Strings(n *yaml.Node, field string) ([]string, bool) {
	if n.Kind != yaml.SequenceNode {
		d.Errf(n, "%s: want a list of strings, got %s", field, Kind(n))
		return nil, false
	}
	out := []string{}
	ok := true
	for _, c := range n.Content {
		s, good := d.Str(c, field)
		ok = ok && good
		if good {
			out = append(out, s)
		}
	}
	return out, ok
}

// StringOrList accepts "x" or ["x", "y"].
func (d *Decoder) StringOrList(n *yaml.Node, field string) ([]string, bool) {
	if n.Kind == yaml.ScalarNode {
		s, ok := d.Str(n, field)
		return []string{s}, ok
	}
	return d.Strings(n, field)
}

// LabelMap reads label: value pairs: valid, distinct label names; values
// may be any scalar (strings are ${ENV} expanded).
func (d *Decoder) LabelMap(n *yaml.Node, field string) (map[string]string, bool) {
	out := map[string]string{}
	if n.Kind != yaml.MappingNode {
		d.Errf(n, "%s: want a mapping of label: value, got %s", field, Kind(n))
		return out, false
	}
	ok := true
	for i := 0; i+1 < len(n.Content); i += 2 {
		k, v := n.Content[i], n.Content[i+1]
		if k.Kind != yaml.ScalarNode || !store.ValidLabelName(k.Value) {
			d.Errf(k, "%s: invalid label name %s (want [a-zA-Z_][a-zA-Z0-9_]*)", field, Kind(k))
			ok = false
			continue
		}
		if _, dup := out[k.Value]; dup {
			d.Errf(k, "%s: label %q appears twice", field, k.Value)
			ok = false
			continue
		}
		if v.Kind != yaml.ScalarNode || v.Tag == "!!null" {
			d.Errf(v, "%s: label %s: want a value, got %s", field, k.Value, Kind(v))
			ok = false
			continue
		}
		s := v.Value
		if v.Tag == "!!str" {
			var good bool
			if s, good = d.Expand(v, field, false); !good {
				ok = false
				continue
			}
		}
		out[k.Value] = s
	}
	return out, ok
}

// StringMap reads a mapping of any keys to strings (HTTP headers); each
// value is read with Str, its field named "field key".
func (d *Decoder) StringMap(n *yaml.Node, field string) (map[string]string, bool) {
	out := map[string]string{}
	if n.Kind != yaml.MappingNode {
		d.Errf(n, "%s: want a mapping, got %s", field, Kind(n))
		return out, false
	}
	ok := true
	for i := 0; i+1 < len(n.Content); i += 2 {
		k, v := n.Content[i], n.Content[i+1]
		s, good := d.Str(v, field+" "+k.Value)
		ok = ok && good
		out[k.Value] = s
	}
	return out, ok
}

// HTTPURL reads a non-empty http or https URL with a host.
func (d *Decoder) HTTPURL(n *yaml.Node, field string) (string, bool) {
	s, ok := d.NonEmpty(n, field)
	if !ok {
		return "", false
	}
	u, err := url.Parse(s)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		// Never the value: a URL setting often holds a secret (a webhook's
		// token), and one that is not a URL may be a token put in the
		// wrong variable; the position says where it is.
		d.Errf(n, "%s: %s; want http:// or https:// and a host", field, NotURL(s))
		return "", false
	}
	return s, true
}

// NotURL describes a value that should have been an http(s) URL without
// quoting it: "not an http(s) URL (value redacted, 40 characters)".
func NotURL(s string) string {
	return fmt.Sprintf("not an http(s) URL (value redacted, %d characters)", len(s))
}

// Port reads a TCP port, 1 to 65535.
func (d *Decoder) Port(n *yaml.Node, field string) (int, bool) {
	p, ok := d.Int(n, field, 1)
	if ok && p > 65535 {
		d.Errf(n, "%s: want a port from 1 to 65535, got %d", field, p)
		return 0, false
	}
	return p, ok
}
