// Package lint checks the metrics a set of stores actually holds against
// the reference design's conventions (names, units, labels) and checks that
// alert rules and SLOs reference metrics and labels that exist. It owns the
// checks (checks.go: one named function each, run in order, as promlint's
// validations) and their finding names, which CI filters on; the metric
// families it judges scraped histograms and summaries by, and the names it
// leaves alone (vigil's own, well-known exporters': family.go); accepted
// findings (--ignore, the lint: section of vigil.yaml) and the summary
// (ignore.go).
//
// It reads stores through SQLite only and must not import analyze (no
// DuckDB): everything it needs is the series table and which series had
// samples in the window. It must not print or decide exit codes; cmd/vigil
// does.
package lint

import (
	"context"
	"encoding/json"
	"fmt"
	"sort"
	"time"

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
	// Family is the metric family the finding is about: a histogram's or
	// summary's base name for its _bucket, _sum and _count series
	// (internal/scrape stores them apart), else the metric itself.
	Family string `json:"family"`
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
	"bytes", "kilobytes", "megabytes", "mb", "bits",
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
	// Not instance: Prometheus's instance is a target's host:port, which
	// every scraped series carries beside the exporter's own labels.
	{"host", "hostname", "node"},
	{"version", "ver", "release"},
}

// Run checks the series (from every store given) and returns the findings,
// most severe first. The checks run in the order of checks; within one
// severity, findings keep that order.
func Run(series []Series, opt Options) []Finding {
	if opt.MaxLabelValues <= 0 {
		opt.MaxLabelValues = 100
	}
	in := gather(series)
	var fs []Finding
	for _, c := range checks {
		fs = append(fs, c.run(in, opt)...)
	}
	for i := range fs {
		if fs[i].Family == "" {
			fs[i].Family = in.familyOf(fs[i].Metric)
		}
	}
	rank := map[string]int{Error: 0, Warning: 1, Info: 2}
	sort.SliceStable(fs, func(i, j int) bool { return rank[fs[i].Severity] < rank[fs[j].Severity] })
	if fs == nil {
		fs = []Finding{}
	}
	return fs
}

// inventory is what the checks read, gathered from the series once: what
// is stored at all (types, label names, services) and what was active over
// the window (types and distinct label values).
type inventory struct {
	types      map[string]map[string][]string // name -> type -> stores
	labelNames map[string]map[string]bool
	services   map[string]map[string]bool
	active     map[string]map[string]bool // name -> types of the series active in the window
	values     map[string]map[string]map[string]bool
	family     map[string]string // member name -> family name (families)
	kind       map[string]string // family name -> histogram or summary
}

func gather(series []Series) *inventory {
	in := &inventory{
		types:      map[string]map[string][]string{},
		labelNames: map[string]map[string]bool{},
		services:   map[string]map[string]bool{},
		active:     map[string]map[string]bool{},
		values:     map[string]map[string]map[string]bool{},
		family:     map[string]string{},
		kind:       map[string]string{},
	}
	for _, s := range series {
		in.stored(s)
		if s.Active {
			in.activeIn(s)
		}
	}
	in.families()
	return in
}

// stored records a series whatever its samples: its type, store, label
// names and service.
func (in *inventory) stored(s Series) {
	if in.types[s.Name] == nil {
		in.types[s.Name] = map[string][]string{}
		in.labelNames[s.Name] = map[string]bool{}
		in.services[s.Name] = map[string]bool{}
	}
	if st := in.types[s.Name][s.Type]; len(st) == 0 || st[len(st)-1] != s.Store {
		in.types[s.Name][s.Type] = append(st, s.Store)
	}
	for k, v := range s.Labels {
		in.labelNames[s.Name][k] = true
		if k == "service" {
			in.services[s.Name][v] = true
		}
	}
	if s.Service != "" {
		in.services[s.Name][s.Service] = true
	}
}

// activeIn records a series with samples in the window: its type and label
// values.
func (in *inventory) activeIn(s Series) {
	if in.active[s.Name] == nil {
		in.active[s.Name] = map[string]bool{}
	}
	in.active[s.Name][s.Type] = true
	if in.values[s.Name] == nil {
		in.values[s.Name] = map[string]map[string]bool{}
	}
	for k, v := range s.Labels {
		if in.values[s.Name][k] == nil {
			in.values[s.Name][k] = map[string]bool{}
		}
		in.values[s.Name][k][v] = true
	}
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
