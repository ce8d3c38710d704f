package lint

import (
	"fmt"
	"maps"
	"regexp"
	"slices"
	"sort"
	"strings"

	"github.com/vigil-metrics/vigil/internal/metricpath"
	"github.com/vigil-metrics/vigil/internal/safetext"
)

// A check is one named rule over what Run gathered. Adding a rule is adding
// an entry to checks (or to nameRules, selectorRules for a rule about one
// metric name or one selector).
type check struct {
	// name identifies the check; it is the Check constant of its findings
	// where it reports one kind, or what it looks at where it reports
	// several whose order interleaves.
	name string
	// reports are the Check names its findings carry (a contract: CI
	// filters on them).
	reports []string
	run     func(in *inventory, opt Options) []Finding
}

// checks run in this order. Run then orders the findings by severity,
// keeping this order within one severity, so the order here is the order
// users read: do not sort it.
var checks = []check{
	{CheckTypeMismatch, []string{CheckTypeMismatch}, typeMismatch},
	{"metric_names", []string{CheckSnakeCase, CheckCounterSuffix, CheckUnitSuffix}, metricNames},
	{CheckHighCardLabel, []string{CheckHighCardLabel}, highCardinalityLabels},
	{CheckLabelValues, []string{CheckLabelValues}, labelValues},
	{CheckInconsistentName, []string{CheckInconsistentName}, inconsistentLabels},
	{"references", []string{CheckUnknownMetric, CheckUnknownLabel}, references},
}

func finding(sev, check, metric, label, hint, format string, args ...any) Finding {
	return Finding{Severity: sev, Check: check, Metric: metric, Label: label, Message: fmt.Sprintf(format, args...), Hint: hint}
}

// typeMismatch: one name, two types (only possible across stores: a store
// refuses it).
func typeMismatch(in *inventory, _ Options) []Finding {
	var fs []Finding
	for _, name := range slices.Sorted(maps.Keys(in.types)) {
		if len(in.types[name]) < 2 {
			continue
		}
		var parts []string
		for _, t := range slices.Sorted(maps.Keys(in.types[name])) {
			parts = append(parts, fmt.Sprintf("%s in %s", t, strings.Join(in.types[name][t], ", ")))
		}
		fs = append(fs, finding(Error, CheckTypeMismatch, name, "", "record the metric with one type everywhere, or rename one of them; queries over these stores together refuse the name",
			"%s is recorded as %s", name, strings.Join(parts, "; ")))
	}
	return fs
}

// A nameRule judges the name of one metric stored over the window, given
// the types of its active series (sorted).
type nameRule func(name string, types []string) []Finding

// nameRules run per metric, in this order, so that one metric's findings
// sit together.
var nameRules = []nameRule{snakeCase, counterSuffix, unitSuffix}

// metricNames runs nameRules over every metric stored over the window,
// once per family: a histogram's or summary's members are judged by the
// family's name and kind (no counter advice for its _count, the unit rule
// on its base name). vigil's own metrics and well-known exporters' are
// left alone (conventional).
func metricNames(in *inventory, _ Options) []Finding {
	judged := map[string][]string{} // name or family -> types (or kind)
	for name, types := range in.active {
		fam, member := in.family[name]
		switch {
		case conventional(name) || conventional(fam):
		case member && in.kind[fam] != "":
			judged[fam] = []string{in.kind[fam]}
		case member: // a counter's _created: the counter is judged
		default:
			judged[name] = slices.Sorted(maps.Keys(types))
		}
	}
	var fs []Finding
	for _, name := range slices.Sorted(maps.Keys(judged)) {
		rules := nameRules
		if _, ok := recordingParts(name); ok {
			rules = recordingRules
		}
		for _, rule := range rules {
			fs = append(fs, rule(name, judged[name])...)
		}
	}
	return fs
}

// recordingRules judge a recording rule's output name instead of
// nameRules (h30 D22): no counter advice (a rule's output is a gauge of a
// rate or an aggregate).
var recordingRules = []nameRule{recordingSnakeCase, recordingUnitSuffix}

// recordingParts splits a Prometheus recording-rule name,
// level:metric:operations (or level:metric), at its colons; ok is false
// for a name without one, or with an empty part.
func recordingParts(name string) ([]string, bool) {
	parts := strings.Split(name, ":")
	if len(parts) < 2 || len(parts) > 3 || slices.Contains(parts, "") {
		return nil, false
	}
	return parts, true
}

// withMetric is the recording-rule name parts with its metric part (the
// second) replaced by m.
func withMetric(parts []string, m string) string {
	out := slices.Clone(parts)
	out[1] = m
	return strings.Join(out, ":")
}

// recordingSnakeCase is snake_case for each part of a recording-rule name:
// the colons separate the parts, as Prometheus's naming conventions have it.
func recordingSnakeCase(name string, _ []string) []Finding {
	parts, _ := recordingParts(name)
	fixed := make([]string, len(parts))
	bad := false
	for i, p := range parts {
		fixed[i] = p
		if !snake.MatchString(p) {
			fixed[i], bad = toSnake(p), true
		}
	}
	if !bad {
		return nil
	}
	return []Finding{finding(Warning, CheckSnakeCase, name, "", "use lower snake_case in each part: "+strings.Join(fixed, ":"),
		"%s is not snake_case (level:metric:operations, each part snake_case)", name)}
}

// recordingUnitSuffix is the unit rule on a recording-rule name's metric
// part: the unit belongs to the metric, before the operations; a rate or
// an aggregate of a counter drops the counter's _total.
func recordingUnitSuffix(name string, types []string) []Finding {
	if !slices.ContainsFunc(types, func(t string) bool { return t == "gauge" || t == kindHistogram || t == kindSummary }) {
		return nil // as unitSuffix: the unit rule is for gauges and histograms
	}
	parts, _ := recordingParts(name)
	m := parts[1]
	switch {
	case strings.HasSuffix(m, "_total"):
		return []Finding{finding(Warning, CheckUnitSuffix, name, "", "a rate or aggregate of a counter drops _total: "+withMetric(parts, strings.TrimSuffix(m, "_total")),
			"recording rule %s: its metric part %s ends in _total, which names a counter, not its rate or aggregate", name, m)}
	case slices.Contains(UnitSuffixes, m[strings.LastIndex(m, "_")+1:]):
		return nil
	}
	var alt []string
	for _, u := range []string{"bytes", "seconds", "ms", "percent", "count"} {
		alt = append(alt, withMetric(parts, m+"_"+u))
	}
	return []Finding{finding(Warning, CheckUnitSuffix, name, "", "end the metric part with its unit: "+strings.Join(alt[:4], ", ")+" or "+alt[4],
		"recording rule %s: its metric part %s has no unit suffix; %s", name, m, UnitRule)}
}

var snake = regexp.MustCompile(`^[a-z][a-z0-9]*(_[a-z0-9]+)*$`)

func snakeCase(name string, _ []string) []Finding {
	if snake.MatchString(name) {
		return nil
	}
	return []Finding{finding(Warning, CheckSnakeCase, name, "", "use lower snake_case: "+toSnake(name),
		"%s is not snake_case", name)}
}

func counterSuffix(name string, types []string) []Finding {
	if !slices.Contains(types, "counter") || strings.HasSuffix(name, "_total") {
		return nil
	}
	return []Finding{finding(Warning, CheckCounterSuffix, name, "", "rename to "+toSnake(name)+"_total ({component}_{action}_total)",
		"counter %s does not end in _total", name)}
}

// UnitRule is the unit rule unit_suffix applies, named in its findings:
// the reference design's names (durations in _ms, collect's default) and
// Prometheus's base units (_seconds, collect.NamingPrometheus) both pass.
const UnitRule = "unit rule: a gauge or histogram name ends in its unit (_bytes, _percent, ...); durations in _ms (the reference design's default) or _seconds (Prometheus's base unit) both pass"

// unitSuffix wants gauges and histograms to end in a unit, and not in the
// counters' _total.
func unitSuffix(name string, types []string) []Finding {
	var fs []Finding
	last := name[strings.LastIndex(name, "_")+1:]
	for _, typ := range types {
		if typ != "gauge" && typ != kindHistogram && typ != kindSummary {
			continue
		}
		if strings.HasSuffix(name, "_total") {
			fs = append(fs, finding(Warning, CheckUnitSuffix, name, "", "_total is for counters: record it as a counter, or name the unit it measures",
				"%s %s ends in _total, which names a counter; %s", typ, name, UnitRule))
		} else if !slices.Contains(UnitSuffixes, last) {
			fs = append(fs, finding(Warning, CheckUnitSuffix, name, "", "end the name with its unit: "+name+"_bytes, "+name+"_seconds, "+name+"_ms, "+name+"_percent or "+name+"_count",
				"%s %s has no unit suffix; %s", typ, name, UnitRule))
		}
	}
	return fs
}

// highCardinalityLabels flags the labels the reference design names as
// high-cardinality, on metrics active over the window.
func highCardinalityLabels(in *inventory, _ Options) []Finding {
	var fs []Finding
	for _, name := range slices.Sorted(maps.Keys(in.values)) {
		if Own(name) {
			continue
		}
		for _, label := range slices.Sorted(maps.Keys(in.values[name])) {
			if slices.Contains(HighCardinalityLabels, label) {
				fs = append(fs, finding(Warning, CheckHighCardLabel, name, label, "drop the label, or move the value to logs or traces: every value is a new series",
					"%s has label %s, which the reference design lists as high-cardinality", name, label))
			}
		}
	}
	return fs
}

// labelValues flags labels that took more distinct values over the window
// than opt.MaxLabelValues, the worst offenders first.
func labelValues(in *inventory, opt Options) []Finding {
	type over struct {
		name, label string
		n           int
		sample      []string
	}
	var overs []over
	for _, name := range slices.Sorted(maps.Keys(in.values)) {
		if Own(name) {
			continue
		}
		for _, label := range slices.Sorted(maps.Keys(in.values[name])) {
			if n := len(in.values[name][label]); n > opt.MaxLabelValues {
				vs := slices.Sorted(maps.Keys(in.values[name][label]))
				if len(vs) > 5 {
					vs = vs[:5]
				}
				overs = append(overs, over{name, label, n, vs})
			}
		}
	}
	sort.SliceStable(overs, func(i, j int) bool { return overs[i].n > overs[j].n })
	var fs []Finding
	for _, o := range overs {
		fs = append(fs, finding(Warning, CheckLabelValues, o.name, o.label, "bucket or drop the label (or raise --max-label-values if this is expected)",
			"%s{%s} took %d distinct values over the window (limit %d), e.g. %s",
			o.name, o.label, o.n, opt.MaxLabelValues, strings.Join(quoted(o.sample), ", ")))
	}
	return fs
}

// quoted are label values as a terminal may show them (safetext.Terminal):
// a finding's message quotes the store's data.
func quoted(vs []string) []string {
	out := make([]string, len(vs))
	for i, v := range vs {
		out[i] = safetext.Terminal(v)
	}
	return out
}

// inconsistentLabels flags synonymous label names used side by side: the
// most used name of a LabelSynonyms group is the convention, the others
// are flagged. vigil's own and well-known exporters' metrics are neither
// flagged nor counted: their labels are fixed upstream (node_exporter's
// path is a device path, not an endpoint).
func inconsistentLabels(in *inventory, _ Options) []Finding {
	var fs []Finding
	for _, group := range LabelSynonyms {
		users := map[string][]string{} // label -> metrics
		for _, name := range slices.Sorted(maps.Keys(in.values)) {
			if conventional(name) || conventional(in.familyOf(name)) {
				continue
			}
			for _, l := range group {
				// A family's members count once, as the family.
				if fam := in.familyOf(name); in.values[name][l] != nil && !slices.Contains(users[l], fam) {
					users[l] = append(users[l], fam)
				}
			}
		}
		if len(users) < 2 {
			continue
		}
		used := slices.Sorted(maps.Keys(users))
		sort.SliceStable(used, func(i, j int) bool { return len(users[used[i]]) > len(users[used[j]]) })
		for _, l := range used[1:] {
			for _, m := range users[l] {
				fs = append(fs, finding(Warning, CheckInconsistentName, m, l, fmt.Sprintf("rename the label to %s, as %s do", used[0], strings.Join(limit(users[used[0]], 3), ", ")),
					"%s uses label %s where other metrics use %s", m, l, used[0]))
			}
		}
	}
	return fs
}

// references flags rules and SLOs that reference what no store holds: a
// path that does not parse, then selectorRules per selector of each path.
func references(in *inventory, opt Options) []Finding {
	produced := map[string]bool{}
	for _, p := range opt.Produced {
		produced[p] = true
	}
	var fs []Finding
	for _, r := range opt.Refs {
		e, err := metricpath.Parse(r.Path)
		if err != nil {
			fs = append(fs, finding(Error, CheckUnknownMetric, r.Path, "", "fix the metric path (vigil check shows where)", "%s: metric path %q does not parse: %v", r.Source, r.Path, err))
			continue
		}
		sels := []*metricpath.Selector{&e.Num}
		if e.Den != nil {
			sels = append(sels, e.Den)
		}
		for _, sel := range sels {
			if in.types[sel.Name] == nil {
				// A recording rule's output is known before its first run;
				// the label rules need a stored metric.
				if !produced[sel.Name] {
					fs = append(fs, unknownMetric(in, r, sel))
				}
				continue
			}
			for _, rule := range selectorRules {
				fs = append(fs, rule(in, r, sel)...)
			}
		}
	}
	return fs
}

func unknownMetric(in *inventory, r Ref, sel *metricpath.Selector) Finding {
	sev, why := Error, "it would never fire"
	if r.Absent {
		sev, why = Info, "the rule fires on its absence, so this may be intended"
	}
	hint := "check the spelling against `vigil store stats`"
	if c := closest(sel.Name, slices.Sorted(maps.Keys(in.types))); c != "" {
		hint = "did you mean " + c + "?"
	}
	return finding(sev, CheckUnknownMetric, sel.Name, "", hint, "%s references %s, which no store contains: %s", r.Source, sel.Name, why)
}

// A selectorRule judges one selector of a reference whose metric is stored.
type selectorRule func(in *inventory, r Ref, sel *metricpath.Selector) []Finding

// selectorRules run per selector, in this order.
var selectorRules = []selectorRule{unknownMatchers, unknownGroupBy, unknownService}

func unknownMatchers(in *inventory, r Ref, sel *metricpath.Selector) []Finding {
	var fs []Finding
	known := in.labelNames[sel.Name]
	for _, m := range sel.Matchers {
		if m.Label == "service" || known[m.Label] {
			continue
		}
		if m.Op == metricpath.NotEqual || m.Op == metricpath.RegexNoMatch {
			continue // a negative matcher on a missing label matches everything
		}
		fs = append(fs, finding(Error, CheckUnknownLabel, sel.Name, m.Label, "labels of "+sel.Name+": "+orNone(slices.Sorted(maps.Keys(known))),
			"%s matches label %s, which no series of %s has: it selects nothing", r.Source, m.Label, sel.Name))
	}
	return fs
}

func unknownGroupBy(in *inventory, r Ref, sel *metricpath.Selector) []Finding {
	var fs []Finding
	known := in.labelNames[sel.Name]
	for _, b := range sel.By {
		if b == "service" || known[b] {
			continue
		}
		fs = append(fs, finding(Warning, CheckUnknownLabel, sel.Name, b, "labels of "+sel.Name+": "+orNone(slices.Sorted(maps.Keys(known))),
			"%s groups by label %s, which no series of %s has: every series falls in one empty group", r.Source, b, sel.Name))
	}
	return fs
}

// unknownService: an SLO reads its counter per service, so the service
// must be recorded.
func unknownService(in *inventory, r Ref, sel *metricpath.Selector) []Finding {
	if r.Service == "" || in.services[sel.Name][r.Service] {
		return nil
	}
	return []Finding{finding(Error, CheckUnknownLabel, sel.Name, "service", "services of "+sel.Name+": "+orNone(slices.Sorted(maps.Keys(in.services[sel.Name]))),
		"%s reads %s for service %q, which no store records", r.Source, sel.Name, r.Service)}
}
