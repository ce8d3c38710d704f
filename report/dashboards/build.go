package dashboards

import (
	"encoding/json"
	"fmt"
	"hash/fnv"
	"regexp"
	"slices"
	"strings"
	"time"

	"github.com/vigil-metrics/vigil/analyze/slo"
	"github.com/vigil-metrics/vigil/internal/metricpath"
	"github.com/vigil-metrics/vigil/internal/vtime"
)

// Rule is an alert rule as a panel shows it.
type Rule struct {
	Name, Description, Path, Condition, Severity string
	Threshold                                    float64
	Window                                       time.Duration // the rule's evaluation window; 0: the panel's step
}

// Input is what the dashboards are built from.
type Input struct {
	DatasourceUID string
	Objectives    []slo.Objective
	Rules         []Rule
	// Histograms are the key histograms (report.KeyHistograms): those the
	// rules take percentiles of, the SLOs' and report.metrics.
	Histograms []string
	Catalog    *Catalog  // nil: no store given
	At         time.Time // the instant a calendar SLO window is measured at
	// Buckets are the bucket bounds vigil serve serves NAME_bucket with
	// (vigil.yaml's serve: buckets:): a histogram's percentiles are
	// graphed (histogram_quantile) only where they are configured. Nil:
	// not known, every histogram is taken to have them.
	Buckets map[string][]float64
}

// File is one file to write, its name relative to the output folder.
type File struct {
	Name string
	Data []byte
}

// Build writes the dashboards: vigil-overview.json, one
// vigil-service-NAME.json per service, vigil-hosts.json. Warnings say
// what was left out and why (a path with no PromQL equal, a service
// name Grafana would read as a variable).
func Build(in Input) (files []File, warnings []string, err error) {
	ds := &DatasourceRef{Type: "prometheus", UID: in.DatasourceUID}
	types := in.types()
	place := placeRules(in, types)
	warn := func(format string, args ...any) { warnings = append(warnings, fmt.Sprintf(format, args...)) }

	ov := overview(in, ds, types, place.overview, warn)
	boards := []*Dashboard{ov}
	names := []string{fileName(ov.UID)}
	for _, svc := range in.services(warn) {
		boards = append(boards, service(in, svc, ds, types, place.byService[svc], place.everyService, warn))
		names = append(names, fileName("vigil-service-"+slug(svc)))
	}
	boards = append(boards, hosts(in, ds, types, place.hosts, warn))
	names = append(names, fileName(boards[len(boards)-1].UID))
	uids := map[string]bool{}
	for i, d := range boards {
		// Grafana's provisioning refuses a uid it does not take (over 40
		// characters: "uid too long") or one given twice.
		if err := CheckUID(d.UID); err != nil || uids[d.UID] {
			return nil, nil, fmt.Errorf("dashboard %q: uid %q: not one Grafana takes, or given twice (%v)", d.Title, d.UID, err)
		}
		uids[d.UID] = true
		data, err := json.MarshalIndent(d, "", "  ")
		if err != nil {
			return nil, nil, err
		}
		files = append(files, File{Name: names[i], Data: append(data, '\n')})
	}
	return files, warnings, nil
}

func fileName(uid string) string { return uid + ".json" }

// serviceUID is a service dashboard's uid: vigil-service-SLUG where that
// fits Grafana's 40 characters, else the slug's first 17 characters and
// a hash of the whole name (14 + 17 + 1 + 8 = 40), so two long names
// that share a prefix stay apart and a name keeps its uid run to run.
func serviceUID(svc string) string {
	const prefix, max = "vigil-service-", 40
	uid := prefix + slug(svc)
	if len(uid) <= max {
		return uid
	}
	s := slug(svc)[:max-len(prefix)-9]
	return prefix + s + "-" + hash8(svc)
}

func hash8(s string) string {
	h := fnv.New32a()
	h.Write([]byte(s))
	return fmt.Sprintf("%08x", h.Sum32())
}

// types is the catalogue's types, with the key histograms as histograms
// where no store says otherwise.
func (in Input) types() map[string]string {
	t := map[string]string{}
	for _, h := range in.Histograms {
		if e, err := metricpath.Parse(h); err == nil {
			t[e.Num.Name] = Histogram
		}
	}
	if in.Catalog != nil {
		for k, v := range in.Catalog.Types {
			t[k] = v
		}
	}
	return t
}

// unsafeName is a service Grafana would not show as written: its
// template engine replaces $name, ${name} and [[name]] anywhere in a
// query or a title, inside PromQL strings too, and offers no escape.
var unsafeName = regexp.MustCompile(`\$|\[\[`)

// services are the stores' services, the SLOs' and those the rules name
// (service="X"), sorted.
func (in Input) services(warn func(string, ...any)) []string {
	set := map[string]bool{}
	if in.Catalog != nil {
		for s := range in.Catalog.Services {
			set[s] = true
		}
	}
	for _, ob := range in.Objectives {
		set[ob.Service] = true
	}
	for _, r := range in.Rules {
		if s := ruleService(r.Path); s != "" {
			set[s] = true
		}
	}
	var out []string
	for s := range set {
		if s == "" {
			continue
		}
		if m := unsafeName.FindString(s); m != "" {
			warn("service %q: left out: Grafana would read its %s as a variable", s, m)
			continue
		}
		out = append(out, s)
	}
	slices.Sort(out)
	return out
}

// ruleService is the service a path names with service="X", else "".
func ruleService(path string) string {
	e, err := metricpath.Parse(path)
	if err != nil {
		return ""
	}
	for _, m := range e.Num.Matchers {
		if m.Label == "service" && m.Op == metricpath.Equal {
			return m.Value
		}
	}
	return ""
}

// The host metrics of vigil's agent (docs/agent.md): rules over them go
// to the hosts dashboard.
var hostMetrics = []string{
	"cpu_usage_percent", "cpu_core_usage_percent", "memory_usage_percent", "memory_used_bytes", "memory_available_bytes",
	"swap_usage_percent", "disk_usage_percent", "disk_used_bytes", "disk_free_bytes", "disk_read_bytes_total",
	"disk_written_bytes_total", "network_receive_bytes_total", "network_transmit_bytes_total",
	"network_receive_errors_total", "network_transmit_errors_total", "load_average_1m", "load_average_5m",
	"load_average_15m", "gpu_utilization_percent",
}

type placement struct {
	overview, hosts, everyService []Rule
	byService                     map[string][]Rule
}

// placeRules puts each rule on one dashboard: its service's when the
// path names one, every service's when it groups by service, the hosts'
// for the agent's host metrics, else the overview.
func placeRules(in Input, _ map[string]string) placement {
	p := placement{byService: map[string][]Rule{}}
	for _, r := range in.Rules {
		e, err := metricpath.Parse(r.Path)
		switch {
		case err != nil:
			p.overview = append(p.overview, r) // its panel says why it has no query
		case ruleService(r.Path) != "":
			s := ruleService(r.Path)
			p.byService[s] = append(p.byService[s], r)
		case slices.Contains(e.Num.By, "service"):
			p.everyService = append(p.everyService, r)
		case slices.Contains(hostMetrics, e.Num.Name):
			p.hosts = append(p.hosts, r)
		default:
			p.overview = append(p.overview, r)
		}
	}
	return p
}

// rulePanel graphs a rule's path over its own evaluation window, so the
// line is what the rule compares, with its threshold drawn.
func rulePanel(r Rule, types map[string]string, service string, buckets map[string][]float64) (*Panel, error) {
	e, err := metricpath.Parse(r.Path)
	if err != nil {
		return nil, fmt.Errorf("rule %s: metric path %q: %w", r.Name, r.Path, err)
	}
	o := TranslateOptions{Service: service, Buckets: buckets}
	if r.Window > 0 {
		o.Window = vtime.FormatDuration(r.Window)
	}
	q, err := Translate(e, types, o)
	if err != nil {
		return nil, fmt.Errorf("rule %s: %w", r.Name, err)
	}
	var th *Thresholds
	switch r.Condition {
	case "greater_than", "greater_or_equal", "equals", "not_equals":
		th = above(r.Threshold)
	case "less_than", "less_or_equal":
		th = below(r.Threshold)
	}
	desc := fmt.Sprintf("Alert rule %s (%s): %s %s %s over %s.", r.Name, r.Severity, r.Path, r.Condition, fmtFloat(r.Threshold), windowText(r.Window))
	if r.Description != "" {
		desc = r.Description + ". " + desc
	}
	if !q.Exact {
		desc += " Not exactly vigil's numbers: " + q.Note + "."
	}
	legend := legendOf(e.Num.By)
	return timeseries(r.Name, desc, "", th, Target{Expr: q.Expr, LegendFormat: legend}), nil
}

func windowText(w time.Duration) string {
	if w == 0 {
		return "the step"
	}
	return vtime.FormatDuration(w)
}

// legendOf names a series by its by labels ({{service}} {{endpoint}}).
func legendOf(by []string) string {
	var parts []string
	for _, l := range by {
		parts = append(parts, "{{"+l+"}}")
	}
	if len(parts) == 0 {
		return "__auto"
	}
	return strings.Join(parts, " ")
}

// slug makes a service name a uid and file name part: Grafana's uids
// are at most 40 characters of letters, digits, - and _.
func slug(s string) string {
	var b strings.Builder
	for _, r := range strings.ToLower(s) {
		if (r >= 'a' && r <= 'z') || (r >= '0' && r <= '9') || r == '-' || r == '_' {
			b.WriteRune(r)
		} else {
			b.WriteByte('-')
		}
	}
	out := b.String()
	if len(out) > 24 {
		out = out[:24]
	}
	if out != s {
		// Two names that slug alike (a.b and a-b) keep apart.
		out += "-" + hash8(s)
	}
	return out
}
