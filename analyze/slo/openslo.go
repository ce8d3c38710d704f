package slo

import (
	"fmt"
	"math/big"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"time"
	_ "time/tzdata" // calendar.timeZone works where the system has no zoneinfo

	"go.yaml.in/yaml/v3"

	"github.com/vigil-metrics/vigil/internal/metricpath"
	"github.com/vigil-metrics/vigil/internal/yamlconf"
)

// OpenSLO v1 (https://github.com/openslo/openslo): an SLO is read whole
// or refused. Every field of an SLO and of the SLIs it uses is either
// read into its objectives or refused with the field's name, so nothing
// is evaluated as something other than what its file says. Objects of
// other kinds (Service, DataSource, AlertPolicy, AlertCondition,
// AlertNotificationTarget) are accepted and ignored: nothing vigil reads
// can refer to them (metricSourceRef and non-empty alertPolicies are
// refused).

// openSLOKinds are the kinds of OpenSLO v1 objects.
var openSLOKinds = []string{"SLO", "SLI", "Service", "DataSource", "AlertPolicy", "AlertCondition", "AlertNotificationTarget"}

// openSLOObject reports whether n is one OpenSLO object (it says its
// kind or its apiVersion is openslo's).
func openSLOObject(n *yaml.Node) bool {
	if n.Kind != yaml.MappingNode {
		return false
	}
	if v := yamlconf.Value(n, "apiVersion"); v != nil && strings.HasPrefix(v.Value, "openslo/") {
		return true
	}
	return yamlconf.Value(n, "kind") != nil
}

// openSLOList reports whether n is the spec's list form: a sequence of
// OpenSLO objects as one document.
func openSLOList(n *yaml.Node) bool {
	return n.Kind == yaml.SequenceNode && len(n.Content) > 0 && openSLOObject(n.Content[0])
}

// openSLO reads the OpenSLO objects of a file, in any order: SLIs first,
// so that an SLO may refer to an SLI written after it. It reports whether
// one was an SLO.
func (d *decoder) openSLO(objs []*yaml.Node) (found bool) {
	slis := map[string]*sliDoc{}
	for _, n := range objs {
		if n.Kind != yaml.MappingNode {
			d.Errf(n, "OpenSLO: want an object (apiVersion, kind, metadata, spec), got %s", yamlconf.Kind(n))
			continue
		}
		if av := yamlconf.Value(n, "apiVersion"); av == nil || av.Value != "openslo/v1" {
			d.Errf(n, "OpenSLO: want apiVersion openslo/v1")
			continue
		}
		kind := yamlconf.Value(n, "kind")
		if kind == nil || !slices.Contains(openSLOKinds, kind.Value) {
			d.Errf(n, "OpenSLO: kind: want one of %s", strings.Join(openSLOKinds, ", "))
			continue
		}
		if kind.Value == "SLI" {
			r := &osReader{d: d, what: "OpenSLO SLI"}
			name := r.object(n)
			if prev, dup := slis[name]; dup && name != "" {
				r.fail(n, "metadata.name", "SLI %q defined twice (first at line %d)", name, prev.line)
				continue
			}
			s := &sliDoc{line: n.Line}
			s.ind, s.ok = r.indicatorSpec(yamlconf.Value(n, "spec"), "spec")
			s.ok = s.ok && !r.failed
			if name != "" {
				slis[name] = s
			}
		}
	}
	for _, n := range objs {
		if kind := yamlconf.Value(n, "kind"); n.Kind == yaml.MappingNode && kind != nil && kind.Value == "SLO" {
			if av := yamlconf.Value(n, "apiVersion"); av != nil && av.Value == "openslo/v1" {
				found = true
				d.openSLODoc(n, slis)
			}
		}
	}
	return found
}

// sliDoc is a kind: SLI object read; ok is false when it was refused.
type sliDoc struct {
	line int
	ind  indicator
	ok   bool
}

// indicator is an SLI: a ratio (Good or Bad, with Total) or a threshold
// metric, each a vigil metric path.
type indicator struct {
	good, bad, total, threshold string
}

// osReader reads one OpenSLO object and records its first problem only:
// one refusal per object, naming the field, is what a user acts on.
type osReader struct {
	d      *decoder
	what   string // "OpenSLO SLO name"
	failed bool
}

func (r *osReader) fail(n *yaml.Node, field, format string, args ...any) {
	if r.failed {
		return
	}
	r.failed = true
	r.d.Errf(n, "%s: %s: %s", r.what, field, fmt.Sprintf(format, args...))
}

// fields walks a mapping at path, refusing other kinds, duplicate keys and
// keys not in allowed.
func (r *osReader) fields(n *yaml.Node, path string, allowed ...string) map[string]*yaml.Node {
	seen := map[string]*yaml.Node{}
	if n == nil {
		return seen
	}
	if n.Kind != yaml.MappingNode {
		r.fail(n, path, "want a mapping, got %s", yamlconf.Kind(n))
		return seen
	}
	for i := 0; i+1 < len(n.Content); i += 2 {
		k := n.Content[i]
		field := join(path, k.Value)
		switch {
		case !slices.Contains(allowed, k.Value):
			r.fail(k, field, "unknown field (want %s)", strings.Join(allowed, ", "))
		case seen[k.Value] != nil:
			r.fail(k, field, "given twice")
		default:
			seen[k.Value] = n.Content[i+1]
		}
	}
	return seen
}

func join(path, key string) string {
	if path == "" {
		return key
	}
	return path + "." + key
}

// str reads a non-empty string field.
func (r *osReader) str(n *yaml.Node, field string) string {
	if n == nil {
		return ""
	}
	if n.Kind != yaml.ScalarNode || yamlconf.IsNull(n) || n.Value == "" {
		r.fail(n, field, "want a non-empty string, got %s", yamlconf.Kind(n))
		return ""
	}
	return n.Value
}

// name reads a name field: a non-empty string of printable characters
// (it is printed in tables, markdown and JUnit).
func (r *osReader) name(n *yaml.Node, field string) string {
	s := r.str(n, field)
	if msg := badName(field, s); msg != "" {
		r.fail(n, field, "%s", strings.TrimPrefix(msg, field+" "))
		return ""
	}
	return s
}

// yamlBools are the spellings YAML 1.1 and 1.2 give booleans (OpenSLO
// files are written for either).
var yamlBools = map[string]bool{
	"true": true, "True": true, "TRUE": true, "yes": true, "Yes": true, "YES": true,
	"y": true, "Y": true, "on": true, "On": true, "ON": true,
	"false": false, "False": false, "FALSE": false, "no": false, "No": false, "NO": false,
	"n": false, "N": false, "off": false, "Off": false, "OFF": false,
}

// boolean reads a plain (unquoted) YAML boolean in any spelling.
func (r *osReader) boolean(n *yaml.Node, field string) bool {
	v, ok := yamlBools[n.Value]
	if n.Kind != yaml.ScalarNode || !ok || n.Style&(yaml.SingleQuotedStyle|yaml.DoubleQuotedStyle) != 0 {
		r.fail(n, field, "want a boolean (true or false), got %s", yamlconf.Kind(n))
	}
	return v
}

// object reads an object's top level and metadata, and returns its name.
func (r *osReader) object(n *yaml.Node) string {
	f := r.fields(n, "", "apiVersion", "kind", "metadata", "spec")
	m := r.fields(f["metadata"], "metadata", "name", "displayName", "labels", "annotations", "description")
	name := r.name(m["name"], "metadata.name")
	if name != "" {
		r.what += " " + name
	}
	if m["name"] == nil {
		r.fail(n, "metadata.name", "missing")
	}
	if f["spec"] == nil {
		r.fail(n, "spec", "missing")
	}
	return name
}

// indicatorSpec reads an SLI's spec: ratioMetric or thresholdMetric.
func (r *osReader) indicatorSpec(n *yaml.Node, path string) (indicator, bool) {
	var ind indicator
	f := r.fields(n, path, "description", "ratioMetric", "thresholdMetric")
	rm, tm := f["ratioMetric"], f["thresholdMetric"]
	if (rm == nil) == (tm == nil) {
		r.fail(n, path, "want one of ratioMetric and thresholdMetric")
		return ind, false
	}
	if tm != nil {
		tf := r.fields(tm, join(path, "thresholdMetric"), "metricSource")
		ind.threshold = r.source(tf["metricSource"], join(path, "thresholdMetric.metricSource"), tm, false)
		return ind, !r.failed
	}
	p := join(path, "ratioMetric")
	mf := r.fields(rm, p, "counter", "good", "bad", "total", "raw", "rawType")
	for _, k := range []string{"raw", "rawType"} {
		if mf[k] != nil {
			r.fail(mf[k], join(p, k), "a precomputed ratio is not supported (give good or bad, and total: vigil computes the ratio)")
		}
	}
	if c := mf["counter"]; c != nil {
		// Accepted and not needed: a vigil metric path says how it is
		// read (.increase of a counter, .avg of a gauge).
		r.boolean(c, join(p, "counter"))
	}
	read := func(k string) string {
		if mf[k] == nil {
			return ""
		}
		kf := r.fields(mf[k], join(p, k), "metricSource")
		return r.source(kf["metricSource"], join(p, k+".metricSource"), mf[k], true)
	}
	ind.good, ind.bad, ind.total = read("good"), read("bad"), read("total")
	if mf["total"] == nil || (mf["good"] == nil) == (mf["bad"] == nil) {
		r.fail(rm, p, "needs total and one of good or bad, each with metricSource.spec.query")
	}
	return ind, !r.failed
}

// promCompatible are the metricSource types vigil answers, besides its
// own: a Prometheus-compatible engine is a source it reads (--db
// http://...), with a vigil metric path as the query.
var promCompatible = []string{"vigil", "prometheus", "thanos", "mimir", "cortex", "victoriametrics"}

// source reads a metricSource at path (n: the node holding it, for a
// missing one) and returns its query, a vigil metric path. A ratioMetric's
// query (count) must count events, as vigil.yaml's good/bad/total
// (countProblem); a thresholdMetric's is a gauge's value per slice, so any
// path is fine there, a ratio of two gauges included (errors / requests
// compared with op and value).
func (r *osReader) source(ms *yaml.Node, path string, n *yaml.Node, count bool) string {
	if ms == nil {
		r.fail(n, path, "missing")
		return ""
	}
	f := r.fields(ms, path, "metricSourceRef", "type", "spec")
	if ref := f["metricSourceRef"]; ref != nil {
		r.fail(ref, join(path, "metricSourceRef"), "a DataSource is not supported (vigil reads its stores, or a Prometheus-compatible source, from --db or vigil.yaml's db:; remove it and give spec.query)")
	}
	if t := f["type"]; t != nil && !slices.Contains(promCompatible, strings.ToLower(t.Value)) {
		r.fail(t, join(path, "type"), "%q is not supported (vigil answers vigil metric paths on its stores or a Prometheus-compatible source: type vigil, Prometheus, Thanos, Mimir, Cortex or VictoriaMetrics)", t.Value)
	}
	sf := r.fields(f["spec"], join(path, "spec"), "query")
	q := sf["query"]
	if q == nil {
		r.fail(ms, join(path, "spec.query"), "missing")
		return ""
	}
	s := r.str(q, join(path, "spec.query"))
	if s == "" {
		return ""
	}
	if _, err := metricpath.Parse(s); err != nil {
		r.fail(q, join(path, "spec.query"), "%q is not a vigil metric path (%v) (write it as one, e.g. http_requests_total{code=~\"2..\"}.increase: vigil answers it on its stores, or on a Prometheus-compatible source with --db http://...)", s, err)
		return ""
	}
	if msg := countProblem(s); count && msg != "" {
		r.fail(q, join(path, "spec.query"), "%s", msg)
		return ""
	}
	return s
}

// MinCoverageAnnotation is the OpenSLO SLO's annotation that sets
// vigil's min_coverage.
const MinCoverageAnnotation = "vigil.dev/min-coverage"

// openSLODoc reads one kind: SLO object into one objective per item of
// spec.objectives.
func (d *decoder) openSLODoc(n *yaml.Node, slis map[string]*sliDoc) {
	r := &osReader{d: d, what: "OpenSLO SLO"}
	name := r.object(n)
	spec := yamlconf.Value(n, "spec")
	f := r.fields(spec, "spec", "description", "service", "indicator", "indicatorRef",
		"timeWindow", "budgetingMethod", "objectives", "alertPolicies")
	if r.failed {
		return
	}
	base := Objective{File: d.File, Line: n.Line, SLI: name, MinEvents: 1, MinCoverage: DefaultMinCoverage, BudgetAlertPercent: 80, Method: Occurrences}
	// The spec has no field for it: vigil's min_coverage is the
	// annotation vigil.dev/min-coverage (a percent, "0" never checks).
	if a := yamlconf.Value(yamlconf.Value(yamlconf.Value(n, "metadata"), "annotations"), MinCoverageAnnotation); a != nil {
		v, err := strconv.ParseFloat(a.Value, 64)
		// !(v >= 0 && v <= 100): NaN fails every comparison (h30 D9).
		if a.Kind != yaml.ScalarNode || !decimal(a.Value) || err != nil || !(v >= 0 && v <= 100) {
			r.fail(a, "metadata.annotations."+MinCoverageAnnotation, "want a percent from 0 to 100, got %q", a.Value)
		} else {
			base.MinCoverage = v
		}
	}
	if base.Service = r.name(f["service"], "spec.service"); f["service"] == nil {
		r.fail(spec, "spec.service", "missing")
	}
	if ap := f["alertPolicies"]; ap != nil && !yamlconf.IsNull(ap) && !(ap.Kind == yaml.SequenceNode && len(ap.Content) == 0) {
		r.fail(ap, "spec.alertPolicies", "not supported (vigil's burn-rate alerts come with every SLO: docs/slo.md); remove it")
	}
	ind := r.sloIndicator(spec, f, slis)
	base.Window = r.timeWindow(spec, f["timeWindow"])
	if m := f["budgetingMethod"]; m != nil {
		base.Method = m.Value
		if m.Kind != yaml.ScalarNode || (m.Value != Occurrences && m.Value != Timeslices && m.Value != RatioTimeslices) {
			r.fail(m, "spec.budgetingMethod", "want Occurrences, Timeslices or RatioTimeslices, got %s", yamlconf.Kind(m))
		}
	}
	if ind.threshold != "" && base.Method == Occurrences && !r.failed {
		node := f["budgetingMethod"]
		if node == nil {
			node = spec
		}
		r.fail(node, "spec.budgetingMethod", "a thresholdMetric is judged per time slice: use Timeslices (with timeSliceWindow on the objective)")
	}
	base.Good, base.Bad, base.Total = ind.good, ind.bad, ind.total
	objs := r.objectives(f["objectives"], spec, base, ind)
	if !r.failed {
		d.objs = append(d.objs, objs...)
	}
}

// sloIndicator is the SLO's indicator: inline, or the SLI indicatorRef
// names.
func (r *osReader) sloIndicator(spec *yaml.Node, f map[string]*yaml.Node, slis map[string]*sliDoc) indicator {
	in, ref := f["indicator"], f["indicatorRef"]
	switch {
	case in != nil && ref != nil:
		r.fail(ref, "spec.indicatorRef", "give indicator or indicatorRef, not both")
	case in == nil && ref == nil:
		r.fail(spec, "spec.indicator", "missing (give indicator, or indicatorRef naming a kind: SLI)")
	case ref != nil:
		name := r.str(ref, "spec.indicatorRef")
		s := slis[name]
		if s == nil && name != "" {
			r.fail(ref, "spec.indicatorRef", "no kind: SLI named %q in this file", name)
			return indicator{}
		}
		if s != nil && !s.ok {
			r.failed = true // the SLI's own problem is reported
		}
		if s != nil {
			return s.ind
		}
	default:
		inf := r.fields(in, "spec.indicator", "metadata", "spec")
		r.fields(inf["metadata"], "spec.indicator.metadata", "name", "displayName", "labels", "annotations", "description")
		if inf["spec"] == nil {
			r.fail(in, "spec.indicator.spec", "missing")
			return indicator{}
		}
		ind, _ := r.indicatorSpec(inf["spec"], "spec.indicator.spec")
		return ind
	}
	return indicator{}
}

var shorthand = regexp.MustCompile(`^([1-9][0-9]*)([mhdwMQY])$`)

// shorthandLength is a duration-shorthand's length in units of fixed
// length (m, h, d, w), and ok false when it is longer than MaxWindow (or
// its number overflows): out of range, never clamped.
func shorthandLength(num string, unit time.Duration) (d time.Duration, ok bool) {
	n, err := strconv.ParseInt(num, 10, 64)
	if err != nil || n > int64(MaxWindow/unit) {
		return 0, false
	}
	return time.Duration(n) * unit, true
}

// rangeMsg is the refusal of a window or slice longer than MaxWindow.
const rangeMsg = "%q: out of range (" + windowLimit + ", 400Q, 100Y)"

// timeWindow reads spec.timeWindow: exactly one rolling or calendar
// window.
func (r *osReader) timeWindow(spec, tw *yaml.Node) Window {
	const p = "spec.timeWindow"
	if tw == nil {
		r.fail(spec, p, "missing (want one rolling or calendar window)")
		return Window{}
	}
	if tw.Kind != yaml.SequenceNode || len(tw.Content) != 1 {
		r.fail(tw, p, "want a list of exactly one window, got %s", countOf(tw))
		return Window{}
	}
	item := tw.Content[0]
	f := r.fields(item, p+"[0]", "duration", "isRolling", "calendar")
	cal := f["calendar"]
	rolling := cal == nil // the spec: isRolling is false when calendar: is there
	if f["isRolling"] != nil {
		rolling = r.boolean(f["isRolling"], p+"[0].isRolling")
	}
	dur := f["duration"]
	if dur == nil {
		r.fail(item, p+"[0].duration", "missing")
		return Window{}
	}
	m := shorthand.FindStringSubmatch(dur.Value)
	if dur.Kind != yaml.ScalarNode || m == nil {
		r.fail(dur, p+"[0].duration", "%q: want a duration-shorthand (a whole number and m, h, d, w, M, Q or Y: 28d, 1M)", dur.Value)
		return Window{}
	}
	if rolling {
		if cal != nil {
			r.fail(cal, p+"[0].calendar", "a rolling window (isRolling: true) has no calendar")
			return Window{}
		}
		unit, ok := fixedUnits[m[2]]
		if !ok {
			r.fail(dur, p+"[0].duration", "%q: a rolling window needs a fixed length (m, h, d or w: 30d, 13w); a calendar window (isRolling: false with calendar:) takes M, Q and Y", dur.Value)
			return Window{}
		}
		d, ok := shorthandLength(m[1], unit)
		if !ok {
			r.fail(dur, p+"[0].duration", rangeMsg, dur.Value)
			return Window{}
		}
		if d < time.Hour {
			r.fail(dur, p+"[0].duration", "%q: want a rolling window of at least 1h", dur.Value)
		}
		return Window{Rolling: d, Text: dur.Value}
	}
	num, err := strconv.Atoi(m[1])
	if err != nil || num > maxDays {
		r.fail(dur, p+"[0].duration", rangeMsg, dur.Value)
		return Window{}
	}
	return r.calendar(f, item, dur, num, m[2])
}

var fixedUnits = map[string]time.Duration{"m": time.Minute, "h": time.Hour, "d": 24 * time.Hour, "w": 7 * 24 * time.Hour}

func countOf(n *yaml.Node) string {
	if n.Kind == yaml.SequenceNode {
		return fmt.Sprintf("%d", len(n.Content))
	}
	return yamlconf.Kind(n)
}

// calendar reads a calendar window of num units from calendar.startTime
// in calendar.timeZone.
func (r *osReader) calendar(f map[string]*yaml.Node, item, dur *yaml.Node, num int, unit string) Window {
	const p = "spec.timeWindow[0].calendar"
	cal := f["calendar"]
	if cal == nil {
		r.fail(item, p, "missing (a calendar window, isRolling: false, needs calendar.startTime and calendar.timeZone)")
		return Window{}
	}
	cf := r.fields(cal, p, "startTime", "timeZone")
	for _, k := range []string{"startTime", "timeZone"} {
		if cf[k] == nil {
			r.fail(cal, join(p, k), "missing")
			return Window{}
		}
	}
	loc, err := time.LoadLocation(cf["timeZone"].Value)
	if err != nil || cf["timeZone"].Value == "" || strings.EqualFold(cf["timeZone"].Value, "local") {
		r.fail(cf["timeZone"], p+".timeZone", "%q: want a time zone name of the IANA database (America/New_York, UTC)", cf["timeZone"].Value)
		return Window{}
	}
	start, err := time.ParseInLocation("2006-01-02 15:04:05", cf["startTime"].Value, loc)
	if err != nil {
		r.fail(cf["startTime"], p+".startTime", "%q: want a date and time without zone, as 2022-01-01 12:00:00", cf["startTime"].Value)
		return Window{}
	}
	w := Window{Start: start, Text: dur.Value}
	switch unit {
	case "d":
		w.Days = num
	case "w":
		w.Days = 7 * num
	case "M":
		w.Months = num
	case "Q":
		w.Months = 3 * num
	case "Y":
		w.Months = 12 * num
	default:
		r.fail(dur, "spec.timeWindow[0].duration", "%q: a calendar window is days, weeks, months, quarters or years (1d, 1w, 1M, 1Q, 1Y); m is minutes and h hours (a month is M)", dur.Value)
	}
	if w.Days > maxDays || w.Months > maxMonths {
		r.fail(dur, "spec.timeWindow[0].duration", rangeMsg, dur.Value)
	}
	return w
}

// shortest is the least length w's window can have, for timeSliceWindow
// to fit in: a calendar day may be 23h, a month 28 days.
func (w Window) shortest() time.Duration {
	switch {
	case w.Months > 0:
		return time.Duration(w.Months)*28*24*time.Hour - time.Hour
	case w.Days > 0:
		return time.Duration(w.Days)*24*time.Hour - time.Hour
	case w.CalendarMonth:
		return 28 * 24 * time.Hour
	}
	return w.Rolling
}

// objectives reads spec.objectives: one Objective each, from base.
func (r *osReader) objectives(n, spec *yaml.Node, base Objective, ind indicator) []Objective {
	const p = "spec.objectives"
	if n == nil || n.Kind != yaml.SequenceNode || len(n.Content) == 0 {
		r.fail(spec, p, "missing (want a list of objectives, each with target or targetPercent)")
		return nil
	}
	if ind.threshold != "" && len(n.Content) > 1 {
		r.fail(n.Content[1], p, "a thresholdMetric SLO has exactly one objective (the spec's rule), got %d", len(n.Content))
		return nil
	}
	var out []Objective
	shown := map[string]bool{}
	for i, item := range n.Content {
		ip := fmt.Sprintf("%s[%d]", p, i)
		f := r.fields(item, ip, "displayName", "op", "value", "target", "targetPercent",
			"timeSliceTarget", "timeSliceWindow", "indicator", "indicatorRef", "compositeWeight")
		for _, k := range []string{"indicator", "indicatorRef", "compositeWeight"} {
			if f[k] != nil {
				r.fail(f[k], join(ip, k), "composite SLOs are not supported (write one SLO per indicator, with spec.indicator or spec.indicatorRef)")
			}
		}
		o := base // at the SLO's line, as vigil.yaml's objectives
		// Checked whether it is printed or not (printed only beside a
		// second objective): adding an objective must not turn a valid
		// file invalid at an unchanged line.
		dn := r.name(f["displayName"], join(ip, "displayName"))
		if len(n.Content) > 1 {
			o.Display = strconv.Itoa(i + 1)
			if dn != "" {
				o.Display = dn
			}
			if shown[o.Display] {
				r.fail(item, join(ip, "displayName"), "%q names another objective of this SLO too", o.Display)
			}
			shown[o.Display] = true
		}
		r.target(f, item, ip, &o)
		r.threshold(f, item, ip, &o, ind)
		r.slices(f, item, ip, &o, ind.threshold != "")
		out = append(out, o)
	}
	return out
}

// target reads target (a fraction) or targetPercent, exactly one.
func (r *osReader) target(f map[string]*yaml.Node, item *yaml.Node, ip string, o *Objective) {
	t, tp := f["target"], f["targetPercent"]
	switch {
	case t != nil && tp != nil:
		r.fail(tp, join(ip, "targetPercent"), "give target or targetPercent, not both")
	case t != nil:
		tg, err := TargetFraction(t.Value)
		if err != nil {
			r.fail(t, join(ip, "target"), "%s", strings.TrimPrefix(err.Error(), "target "))
			return
		}
		if msg := unprintableTarget("target", t.Value, tg); msg != "" {
			r.fail(t, join(ip, "target"), "%s", strings.TrimPrefix(msg, "target "))
			return
		}
		o.Target, o.TargetText = tg, strconv.FormatFloat(tg.Percent(), 'f', -1, 64)
	case tp != nil:
		tg, err := ParseTarget(tp.Value)
		if err != nil {
			r.fail(tp, join(ip, "targetPercent"), "%s", strings.TrimPrefix(err.Error(), "target "))
			return
		}
		if msg := unprintableTarget("targetPercent", tp.Value, tg); msg != "" {
			r.fail(tp, join(ip, "targetPercent"), "%s", strings.TrimPrefix(msg, "targetPercent "))
			return
		}
		o.Target, o.TargetText = tg, tp.Value
	default:
		r.fail(item, join(ip, "target"), "missing (give target, a fraction such as 0.999, or targetPercent)")
	}
}

// threshold reads op and value: a thresholdMetric's test, and only its.
func (r *osReader) threshold(f map[string]*yaml.Node, item *yaml.Node, ip string, o *Objective, ind indicator) {
	op, val := f["op"], f["value"]
	if ind.threshold == "" {
		for _, k := range []string{"op", "value"} {
			if f[k] != nil {
				r.fail(f[k], join(ip, k), "only with a thresholdMetric (a ratioMetric objective is its target alone)")
			}
		}
		return
	}
	if op == nil || val == nil {
		r.fail(item, join(ip, map[bool]string{true: "op", false: "value"}[op == nil]), "missing (a thresholdMetric objective needs op and value)")
		return
	}
	if !slices.Contains([]string{"lt", "lte", "gt", "gte"}, op.Value) || op.Kind != yaml.ScalarNode {
		r.fail(op, join(ip, "op"), "want lt, lte, gt or gte, got %s", yamlconf.Kind(op))
		return
	}
	v, ok := new(big.Rat).SetString(val.Value)
	if !ok || !isNumber(val) {
		r.fail(val, join(ip, "value"), "want a number, got %s", yamlconf.Kind(val))
		return
	}
	o.Threshold = &Threshold{Metric: ind.threshold, Op: op.Value, Value: v}
}

// slices reads timeSliceTarget and timeSliceWindow against the SLO's
// budgeting method. A thresholdMetric's slice is good or bad by op and
// value, so timeSliceTarget (which could change nothing) is refused there
// and not required.
func (r *osReader) slices(f map[string]*yaml.Node, item *yaml.Node, ip string, o *Objective, threshold bool) {
	st, sw := f["timeSliceTarget"], f["timeSliceWindow"]
	if o.Method == Occurrences {
		for _, k := range []string{"timeSliceTarget", "timeSliceWindow"} {
			if f[k] != nil {
				r.fail(f[k], join(ip, k), "only with budgetingMethod Timeslices or RatioTimeslices (Occurrences counts events, not slices)")
			}
		}
		return
	}
	if sw == nil {
		r.fail(item, join(ip, "timeSliceWindow"), "missing (budgetingMethod %s needs it)", o.Method)
		return
	}
	o.SliceWindow = r.sliceWindow(sw, join(ip, "timeSliceWindow"), o.Window)
	switch {
	case o.Method == RatioTimeslices && st != nil:
		r.fail(st, join(ip, "timeSliceTarget"), "only with budgetingMethod Timeslices (RatioTimeslices averages the slices' ratios)")
	case threshold && st != nil:
		r.fail(st, join(ip, "timeSliceTarget"), "not with a thresholdMetric (a threshold's slice is judged by op and value: good when the metric compares so; remove it)")
	case o.Method == Timeslices && st == nil && !threshold:
		r.fail(item, join(ip, "timeSliceTarget"), "missing (budgetingMethod Timeslices needs it: the share of good events that makes a slice good)")
	case st != nil:
		v, ok := new(big.Rat).SetString(st.Value)
		if !ok || !isNumber(st) || v.Sign() <= 0 || v.Cmp(big.NewRat(1, 1)) > 0 {
			r.fail(st, join(ip, "timeSliceTarget"), "%q: want a fraction in (0, 1]", st.Value)
			return
		}
		o.SliceTarget = v
	}
}

// sliceWindow reads a timeSliceWindow: a duration-shorthand of m, h, d or
// w, or a bare number of minutes (the spec's default unit). It must be a
// whole number of seconds, at least 1m, at most MaxWindow (out of range
// past it), and no longer than the SLO's window (at its shortest); it
// need not divide the window.
func (r *osReader) sliceWindow(n *yaml.Node, field string, w Window) time.Duration {
	var d time.Duration
	if m := shorthand.FindStringSubmatch(n.Value); m != nil {
		unit, ok := fixedUnits[m[2]]
		if !ok {
			r.fail(n, field, "%q: want a fixed length (m, h, d or w)", n.Value)
			return 0
		}
		if d, ok = shorthandLength(m[1], unit); !ok {
			r.fail(n, field, rangeMsg, n.Value)
			return 0
		}
	} else {
		v, ok := new(big.Rat).SetString(n.Value)
		if !isNumber(n) || !ok || v.Sign() <= 0 {
			r.fail(n, field, "%q: want a duration-shorthand (1m, 5m, 1h) or a number of minutes", n.Value)
			return 0
		}
		if v.Cmp(big.NewRat(int64(MaxWindow/time.Minute), 1)) > 0 {
			r.fail(n, field, rangeMsg, n.Value)
			return 0
		}
		secs := v.Mul(v, big.NewRat(60, 1))
		if !secs.IsInt() {
			r.fail(n, field, "%q minutes: want a whole number of seconds", n.Value)
			return 0
		}
		d = time.Duration(secs.Num().Int64()) * time.Second
	}
	switch {
	case d < time.Minute:
		r.fail(n, field, "%q: want at least 1m", n.Value)
	case w.shortest() > 0 && d > w.shortest():
		r.fail(n, field, "%q: longer than the SLO's window %s", n.Value, w)
	}
	return d
}

// isNumber reports whether n is a plain YAML number (not "1/4", which
// big.Rat would read).
func isNumber(n *yaml.Node) bool {
	return n.Kind == yaml.ScalarNode && (n.Tag == "!!int" || n.Tag == "!!float")
}
