package config

import (
	"fmt"
	"regexp"
	"slices"
	"strconv"
	"strings"

	"go.yaml.in/yaml/v3"
)

// InhibitRule mutes the notifications of firing alerts that match
// TargetMatchers while an alert that matches SourceMatchers fires with the
// same values of the Equal labels: Alertmanager's inhibit rule, with its
// names and semantics (docs/alerting.md, "Inhibition").
type InhibitRule struct {
	Pos            Pos
	SourceMatchers []Matcher
	TargetMatchers []Matcher
	// Equal are the labels source and target must agree on (a label
	// neither has counts as equal: both empty, as in Alertmanager).
	Equal []string
}

// Matcher is one of Alertmanager's label matchers: Name Op Value, with Op
// one of =, !=, =~, !~ (regular expressions anchored at both ends).
type Matcher struct {
	Name, Op, Value string
	re              *regexp.Regexp
}

// String is the matcher as written in Alertmanager's syntax.
func (m Matcher) String() string { return m.Name + m.Op + strconv.Quote(m.Value) }

// Matches says whether labels pass m (a missing label is the empty value).
func (m Matcher) Matches(labels map[string]string) bool {
	v := labels[m.Name]
	switch m.Op {
	case "=":
		return v == m.Value
	case "!=":
		return v != m.Value
	case "=~":
		return m.re.MatchString(v)
	default: // !~
		return !m.re.MatchString(v)
	}
}

// MatchAll says whether labels pass every matcher of ms.
func MatchAll(ms []Matcher, labels map[string]string) bool {
	for _, m := range ms {
		if !m.Matches(labels) {
			return false
		}
	}
	return true
}

// NewMatcher is a matcher of op (=, !=, =~, !~), its regexp compiled.
func NewMatcher(name, op, value string) (Matcher, error) {
	m := Matcher{Name: name, Op: op, Value: value}
	if op == "=~" || op == "!~" {
		re, err := regexp.Compile("^(?:" + value + ")$")
		if err != nil {
			return Matcher{}, err
		}
		m.re = re
	}
	return m, nil
}

var matcherRE = regexp.MustCompile(`^\s*([a-zA-Z_][a-zA-Z0-9_]*)\s*(=~|!~|!=|=)\s*(.*?)\s*$`)

// ParseMatcher reads a matcher as Alertmanager writes one:
// `severity="critical"`, `alertname=~"node_.*"`, or the value unquoted.
func ParseMatcher(s string) (Matcher, error) {
	g := matcherRE.FindStringSubmatch(s)
	if g == nil {
		return Matcher{}, fmt.Errorf("%q is not a matcher (want label=\"value\", with =, !=, =~ or !~)", s)
	}
	v := g[3]
	if (g[2] == "=" || g[2] == "!=") && strings.HasPrefix(v, "=") {
		// alertname=="x" would be the value ="x": a matcher that never
		// matches, muting nothing, silently.
		return Matcher{}, fmt.Errorf("%q: %q is not an operator (want =, !=, =~ or !~; quote a value that starts with =)", s, g[2]+"=")
	}
	if strings.HasPrefix(v, `"`) {
		u, err := strconv.Unquote(v)
		if err != nil {
			return Matcher{}, fmt.Errorf("%q: bad quoted value", s)
		}
		v = u
	}
	m, err := NewMatcher(g[1], g[2], v)
	if err != nil {
		return Matcher{}, fmt.Errorf("%s: bad regexp: %v", s, err)
	}
	return m, nil
}

func (d *decoder) inhibitRules(n *yaml.Node) {
	d.List(n, "inhibit_rules", func(item *yaml.Node) {
		r := InhibitRule{Pos: pos(item)}
		seen := d.Fields(item, "inhibit rule", map[string]func(*yaml.Node){
			"source_matchers": func(v *yaml.Node) { r.SourceMatchers = d.matchers(v, "source_matchers") },
			"target_matchers": func(v *yaml.Node) { r.TargetMatchers = d.matchers(v, "target_matchers") },
			"equal":           func(v *yaml.Node) { r.Equal, _ = d.Strings(v, "equal") },
		})
		d.Required(item, seen, "inhibit rule", "source_matchers", "target_matchers")
		d.cycles(item, r)
		d.cfg.InhibitRules = append(d.cfg.InhibitRules, r)
	})
}

// matchers reads a list of matcher strings; at least one (an empty list
// would match every alert: Alertmanager's rule with no matchers inhibits
// everything, which is never meant).
func (d *decoder) matchers(v *yaml.Node, field string) []Matcher {
	ss, ok := d.Strings(v, field)
	if !ok {
		return nil
	}
	if len(ss) == 0 {
		d.Errf(v, "%s: want at least one matcher", field)
	}
	var out []Matcher
	for i, s := range ss {
		m, err := ParseMatcher(s)
		if err != nil {
			d.Errf(v.Content[i], "%s: %v", field, err)
			continue
		}
		if !d.alertnameMatcher(v.Content[i], field, m) {
			continue
		}
		out = append(out, m)
	}
	d.alertnamesTogether(v, field, out)
	return out
}

// alertnamesTogether warns of alertname matchers that each match some
// known name but no name together (alertname=~"r1" with alertname!="r1"):
// the rule matches nothing, as one matcher matching no name does (h31
// H13).
func (d *decoder) alertnamesTogether(v *yaml.Node, field string, ms []Matcher) {
	var on []Matcher
	for _, m := range ms {
		if m.Name == "alertname" {
			on = append(on, m)
		}
	}
	if len(on) < 2 {
		return
	}
	names := d.alertNames()
	for _, m := range on {
		if !slices.ContainsFunc(names, func(n string) bool { return m.Matches(map[string]string{"alertname": n}) }) {
			return // warned of alone
		}
	}
	if !slices.ContainsFunc(names, func(n string) bool { return MatchAll(on, map[string]string{"alertname": n}) }) {
		var texts []string
		for _, m := range on {
			texts = append(texts, m.String())
		}
		d.Warnf(v, "%s: no rule's name nor an SLO alert's passes %s together: the rule matches nothing", field, strings.Join(texts, " and "))
	}
}

// alertnameMatcher checks a matcher on alertname, which vigil knows every
// value of (the file's rules and the SLO alerts); false when it is
// refused. One that matches the empty name matches no alert, as every
// alert has a name: an error. One that matches no known name is a
// warning (a typo there mutes nothing, silently), and so is a negation
// that every known name fails (`alertname!~".*"`, h31 H7); the other
// negations pass: `alertname!~""` is Alertmanager's "any alert".
func (d *decoder) alertnameMatcher(at *yaml.Node, field string, m Matcher) bool {
	if m.Name != "alertname" {
		return true
	}
	if m.Op == "!=" || m.Op == "!~" {
		if !slices.ContainsFunc(d.alertNames(), func(n string) bool { return m.Matches(map[string]string{"alertname": n}) }) {
			d.Warnf(at, "%s: %s matches no rule's name nor an SLO alert's (%s): the matcher matches nothing",
				field, m, strings.Join(sloAlertNames(), ", "))
		}
		return true
	}
	if m.Op != "=" && m.Op != "=~" {
		return true
	}
	if m.Matches(map[string]string{"alertname": ""}) {
		d.Errf(at, "%s: %s matches no alert (every alert has a name); name one (alertname=\"node_down\") "+
			"or, for any alert, write alertname=~\".+\"", field, m)
		return false
	}
	if m.Op == "=" && d.alertSeverity(m.Value) == "" {
		d.Warnf(at, "%s: alertname %q is no rule's name nor an SLO alert's (%s): the matcher matches nothing",
			field, m.Value, strings.Join(sloAlertNames(), ", "))
	}
	if m.Op == "=~" && !slices.ContainsFunc(d.alertNames(), func(n string) bool { return m.Matches(map[string]string{"alertname": n}) }) {
		d.Warnf(at, "%s: %s matches no rule's name nor an SLO alert's (%s): the matcher matches nothing",
			field, m, strings.Join(sloAlertNames(), ", "))
	}
	return true
}
