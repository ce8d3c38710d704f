// Package lint checks the metrics a set of stores actually holds against
// the reference design's conventions (names, units, labels) and checks that
// alert rules and SLOs reference metrics and labels that exist. It reads
// stores through SQLite only (no DuckDB): everything it needs is the series
// table and which series had samples in the window.
package lint

import (
	"context"
	"encoding/json"
	"fmt"
	"regexp"
	"sort"
	"strings"
	"time"

	"github.com/vigil-metrics/vigil/internal/metricpath"
	"github.com/vigil-metrics/vigil/internal/store"
)

// Severities, most severe first. Error-level findings fail `vigil lint`
// (exit 3).
const (
	Error   = "error"
	Warning = "warning"
	Info    = "info"
)

// Check names (a contract: CI filters on them).
const (
	CheckTypeMismatch     = "type_mismatch"
	CheckCounterSuffix    = "counter_suffix"
	CheckUnitSuffix       = "unit_suffix"
	CheckSnakeCase        = "snake_case"
	CheckHighCardLabel    = "high_cardinality_label"
	CheckLabelValues      = "label_values"
	CheckInconsistentName = "inconsistent_labels"
	CheckUnknownMetric    = "unknown_metric"
	CheckUnknownLabel     = "unknown_label"
)

// Finding is one problem.
type Finding struct {
	Severity string `json:"severity"`
	Check    string `json:"check"`
	Metric   string `json:"metric"`
	Label    string `json:"label"`
	Message  string `json:"message"`
	Hint     string `json:"hint"`
}

// Series is one stored series, as lint sees it.
type Series struct {
	Store   string
	Name    string
	Type    string
	Labels  map[string]string
	Service string
	Active  bool // has samples in the window
}

// Ref is a metric path that a rule or SLO evaluates.
type Ref struct {
	Source string // "rule cpu_high (vigil.yaml:3)", "slo api/availability (vigil.yaml:20)"
	Path   string // a metric path (metricpath syntax)
	// Service, when set, is a service the metric must carry (a reference
	// design SLI counter is read per service).
	Service string
	// Absent marks a rule that fires when the metric is missing: a name
	// that no store holds is then expected, not a typo.
	Absent bool
}

// Options tune Run.
type Options struct {
	// MaxLabelValues is the most distinct values one label of one metric
	// may take over the window (default 100).
	MaxLabelValues int
	// Refs are the rules' and SLOs' metric paths.
	Refs []Ref
	// Produced are metric names that recording rules write: a reference
	// to one is not a typo even before the first evaluation.
	Produced []string
}

// Read returns every series of the store at path, marking those with
// samples in (start, end] (unix ms).
func Read(ctx context.Context, path string, start, end int64) ([]Series, error) {
	st, err := store.Open(ctx, path, store.Options{ReadOnly: true})
	if err != nil {
		return nil, err
	}
	defer st.Close()
	rows, err := st.Activity(ctx, start, end)
	if err != nil {
		return nil, fmt.Errorf("read %s: %w", path, err)
	}
	var out []Series
	for _, r := range rows {
		s := Series{Store: path, Name: r.Name, Type: r.Type, Service: r.Service, Active: r.Active}
		if err := json.Unmarshal([]byte(r.Labels), &s.Labels); err != nil {
			s.Labels = map[string]string{}
		}
		out = append(out, s)
	}
	return out, nil
}

// Window turns --at and --window into the (start, end] bounds Read takes.
func Window(at time.Time, length time.Duration) (int64, int64) {
	end := at.UnixMilli()
	return end - length.Milliseconds(), end
}

// UnitSuffixes are the last name segments that count as a unit for gauges
// and histograms (the reference design's {resource}_usage_{unit},
// {action}_duration_{unit}, {component}_active_{items}).
var UnitSuffixes = []string{
	"bytes", "kilobytes", "megabytes", "bits",
	"seconds", "ms", "milliseconds", "us", "microseconds", "ns", "nanoseconds", "minutes", "hours", "days",
	"percent", "ratio", "count",
	"celsius", "hertz", "hz", "watts", "joules", "volts", "amperes", "rpm",
	"requests", "errors", "items", "connections", "threads", "processes", "tokens", "info", "timestamp",
}

// HighCardinalityLabels are the reference design's "avoid_high_cardinality"
// label names.
var HighCardinalityLabels = []string{"user_id", "request_id", "timestamp"}

// LabelSynonyms are label names that mean the same thing; a fleet should
// pick one per group (the reference design's "use_consistent_names").
var LabelSynonyms = [][]string{
	{"status", "status_code", "code", "http_status", "http_code", "response_code"},
	{"method", "http_method", "verb"},
	{"endpoint", "route", "path", "url", "uri", "handler"},
	{"service", "service_name", "svc", "app"},
	{"environment", "env"},
	{"host", "hostname", "instance", "node"},
	{"version", "ver", "release"},
}

var snake = regexp.MustCompile(`^[a-z][a-z0-9]*(_[a-z0-9]+)*$`)

// Run checks the series (from every store given) and returns the findings,
// most severe first.
func Run(series []Series, opt Options) []Finding {
	if opt.MaxLabelValues <= 0 {
		opt.MaxLabelValues = 100
	}
	var fs []Finding
	add := func(sev, check, metric, label, hint, format string, args ...any) {
		fs = append(fs, Finding{Severity: sev, Check: check, Metric: metric, Label: label, Message: fmt.Sprintf(format, args...), Hint: hint})
	}

	// What is stored: types per name (all series), label names per name,
	// services per name, and the window's distinct label values.
	types := map[string]map[string][]string{} // name -> type -> stores
	labelNames := map[string]map[string]bool{}
	services := map[string]map[string]bool{}
	active := map[string]map[string]bool{} // name -> types of the series active in the window
	values := map[string]map[string]map[string]bool{}
	for _, s := range series {
		if types[s.Name] == nil {
			types[s.Name] = map[string][]string{}
			labelNames[s.Name] = map[string]bool{}
			services[s.Name] = map[string]bool{}
		}
		if st := types[s.Name][s.Type]; len(st) == 0 || st[len(st)-1] != s.Store {
			types[s.Name][s.Type] = append(st, s.Store)
		}
		for k, v := range s.Labels {
			labelNames[s.Name][k] = true
			if k == "service" {
				services[s.Name][v] = true
			}
		}
		if s.Service != "" {
			services[s.Name][s.Service] = true
		}
		if !s.Active {
			continue
		}
		if active[s.Name] == nil {
			active[s.Name] = map[string]bool{}
		}
		active[s.Name][s.Type] = true
		if values[s.Name] == nil {
			values[s.Name] = map[string]map[string]bool{}
		}
		for k, v := range s.Labels {
			if values[s.Name][k] == nil {
				values[s.Name][k] = map[string]bool{}
			}
			values[s.Name][k][v] = true
		}
	}

	// One name, two types (only possible across stores: a store refuses it).
	for _, name := range sortedKeys(types) {
		if len(types[name]) < 2 {
			continue
		}
		var parts []string
		for _, t := range sortedKeys(types[name]) {
			parts = append(parts, fmt.Sprintf("%s in %s", t, strings.Join(types[name][t], ", ")))
		}
		add(Error, CheckTypeMismatch, name, "", "record the metric with one type everywhere, or rename one of them; queries over these stores together refuse the name",
			"%s is recorded as %s", name, strings.Join(parts, "; "))
	}

	// Names of the metrics stored over the window.
	for _, name := range sortedKeys(active) {
		if !snake.MatchString(name) {
			add(Warning, CheckSnakeCase, name, "", "use lower snake_case: "+toSnake(name),
				"%s is not snake_case", name)
		}
		last := name[strings.LastIndex(name, "_")+1:]
		for _, typ := range sortedKeys(active[name]) {
			switch typ {
			case "counter":
				if !strings.HasSuffix(name, "_total") {
					add(Warning, CheckCounterSuffix, name, "", "rename to "+toSnake(name)+"_total ({component}_{action}_total)",
						"counter %s does not end in _total", name)
				}
			case "gauge", "histogram":
				if strings.HasSuffix(name, "_total") {
					add(Warning, CheckUnitSuffix, name, "", "_total is for counters: record it as a counter, or name the unit it measures",
						"%s %s ends in _total, which names a counter", typ, name)
				} else if !contains(UnitSuffixes, last) {
					add(Warning, CheckUnitSuffix, name, "", "end the name with its unit: "+name+"_bytes, "+name+"_seconds, "+name+"_ms, "+name+"_percent or "+name+"_count",
						"%s %s has no unit suffix", typ, name)
				}
			}
		}
	}

	// Labels over the window.
	type over struct {
		name, label string
		n           int
		sample      []string
	}
	var overs []over
	for _, name := range sortedKeys(values) {
		for _, label := range sortedKeys(values[name]) {
			if contains(HighCardinalityLabels, label) {
				add(Warning, CheckHighCardLabel, name, label, "drop the label, or move the value to logs or traces: every value is a new series",
					"%s has label %s, which the reference design lists as high-cardinality", name, label)
			}
			if n := len(values[name][label]); n > opt.MaxLabelValues {
				vs := sortedKeys(values[name][label])
				if len(vs) > 5 {
					vs = vs[:5]
				}
				overs = append(overs, over{name, label, n, vs})
			}
		}
	}
	// The worst offenders first.
	sort.SliceStable(overs, func(i, j int) bool { return overs[i].n > overs[j].n })
	for _, o := range overs {
		add(Warning, CheckLabelValues, o.name, o.label, "bucket or drop the label (or raise --max-label-values if this is expected)",
			"%s{%s} took %d distinct values over the window (limit %d), e.g. %s",
			o.name, o.label, o.n, opt.MaxLabelValues, strings.Join(o.sample, ", "))
	}

	// Synonymous label names used side by side.
	for _, group := range LabelSynonyms {
		users := map[string][]string{} // label -> metrics
		for _, name := range sortedKeys(values) {
			for _, l := range group {
				if values[name][l] != nil {
					users[l] = append(users[l], name)
				}
			}
		}
		if len(users) < 2 {
			continue
		}
		// The most used name is the convention; the others are flagged.
		used := sortedKeys(users)
		sort.SliceStable(used, func(i, j int) bool { return len(users[used[i]]) > len(users[used[j]]) })
		for _, l := range used[1:] {
			for _, m := range users[l] {
				add(Warning, CheckInconsistentName, m, l, fmt.Sprintf("rename the label to %s, as %s do", used[0], strings.Join(limit(users[used[0]], 3), ", ")),
					"%s uses label %s where other metrics use %s", m, l, used[0])
			}
		}
	}

	// Rules and SLOs that reference what no store holds.
	produced := map[string]bool{}
	for _, p := range opt.Produced {
		produced[p] = true
	}
	for _, r := range opt.Refs {
		e, err := metricpath.Parse(r.Path)
		if err != nil {
			add(Error, CheckUnknownMetric, r.Path, "", "fix the metric path (vigil check shows where)", "%s: metric path %q does not parse: %v", r.Source, r.Path, err)
			continue
		}
		sels := []*metricpath.Selector{&e.Num}
		if e.Den != nil {
			sels = append(sels, e.Den)
		}
		for _, sel := range sels {
			if types[sel.Name] == nil {
				if produced[sel.Name] {
					continue
				}
				sev, why := Error, "it would never fire"
				if r.Absent {
					sev, why = Info, "the rule fires on its absence, so this may be intended"
				}
				hint := "check the spelling against `vigil store stats`"
				if c := closest(sel.Name, sortedKeys(types)); c != "" {
					hint = "did you mean " + c + "?"
				}
				add(sev, CheckUnknownMetric, sel.Name, "", hint, "%s references %s, which no store contains: %s", r.Source, sel.Name, why)
				continue
			}
			known := labelNames[sel.Name]
			for _, m := range sel.Matchers {
				if m.Label == "service" || known[m.Label] {
					continue
				}
				if m.Op == metricpath.NotEqual || m.Op == metricpath.RegexNoMatch {
					continue // a negative matcher on a missing label matches everything
				}
				add(Error, CheckUnknownLabel, sel.Name, m.Label, "labels of "+sel.Name+": "+orNone(sortedKeys(known)),
					"%s matches label %s, which no series of %s has: it selects nothing", r.Source, m.Label, sel.Name)
			}
			for _, b := range sel.By {
				if b == "service" || known[b] {
					continue
				}
				add(Warning, CheckUnknownLabel, sel.Name, b, "labels of "+sel.Name+": "+orNone(sortedKeys(known)),
					"%s groups by label %s, which no series of %s has: every series falls in one empty group", r.Source, b, sel.Name)
			}
			if r.Service != "" && !services[sel.Name][r.Service] {
				add(Error, CheckUnknownLabel, sel.Name, "service", "services of "+sel.Name+": "+orNone(sortedKeys(services[sel.Name])),
					"%s reads %s for service %q, which no store records", r.Source, sel.Name, r.Service)
			}
		}
	}

	rank := map[string]int{Error: 0, Warning: 1, Info: 2}
	sort.SliceStable(fs, func(i, j int) bool { return rank[fs[i].Severity] < rank[fs[j].Severity] })
	if fs == nil {
		fs = []Finding{}
	}
	return fs
}

// Errors counts error-level findings.
func Errors(fs []Finding) int {
	n := 0
	for _, f := range fs {
		if f.Severity == Error {
			n++
		}
	}
	return n
}

func sortedKeys[V any](m map[string]V) []string {
	ks := make([]string, 0, len(m))
	for k := range m {
		ks = append(ks, k)
	}
	sort.Strings(ks)
	return ks
}

func contains(xs []string, x string) bool {
	for _, y := range xs {
		if x == y {
			return true
		}
	}
	return false
}

func limit(xs []string, n int) []string {
	if len(xs) > n {
		return append(xs[:n:n], "…")
	}
	return xs
}

func orNone(xs []string) string {
	if len(xs) == 0 {
		return "none"
	}
	return strings.Join(xs, ", ")
}

// toSnake lowercases a name and puts an underscore at each case change and
// for every character that is not a letter or digit.
func toSnake(s string) string {
	var b strings.Builder
	for i, r := range s {
		switch {
		case r >= 'A' && r <= 'Z':
			if i > 0 && !strings.HasSuffix(b.String(), "_") {
				b.WriteByte('_')
			}
			b.WriteRune(r + 'a' - 'A')
		case (r >= 'a' && r <= 'z') || (r >= '0' && r <= '9'):
			b.WriteRune(r)
		default:
			if b.Len() > 0 && !strings.HasSuffix(b.String(), "_") {
				b.WriteByte('_')
			}
		}
	}
	return strings.Trim(b.String(), "_")
}

// closest returns the stored name nearest to name (edit distance at most a
// third of its length), or "".
func closest(name string, names []string) string {
	best, bestD := "", len(name)/3+1
	for _, n := range names {
		if d := distance(name, n); d < bestD {
			best, bestD = n, d
		}
	}
	return best
}

func distance(a, b string) int {
	prev := make([]int, len(b)+1)
	cur := make([]int, len(b)+1)
	for j := range prev {
		prev[j] = j
	}
	for i := 1; i <= len(a); i++ {
		cur[0] = i
		for j := 1; j <= len(b); j++ {
			c := 1
			if a[i-1] == b[j-1] {
				c = 0
			}
			cur[j] = min(prev[j]+1, cur[j-1]+1, prev[j-1]+c)
		}
		prev, cur = cur, prev
	}
	return prev[len(b)]
}
