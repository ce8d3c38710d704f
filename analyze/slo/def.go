package slo

import (
	"errors"
	"fmt"
	"io"
	"os"
	"regexp"
	"sort"
	"strconv"
	"strings"
	"time"

	"go.yaml.in/yaml/v3"

	"github.com/vigil-metrics/vigil/internal/vtime"
)

// SLI kinds an objective measures.
const (
	Availability = "availability" // sli_requests_total{service, success}
	Latency      = "latency"      // sli_latency_requests_total{service, fast}, or a raw histogram
)

// The reference design's SLI counters and their outcome labels.
const (
	RequestsMetric        = "sli_requests_total"
	LatencyRequestsMetric = "sli_latency_requests_total"
)

// Window is an SLO's compliance window: rolling, or the calendar month
// (UTC) up to the evaluation time.
type Window struct {
	Rolling       time.Duration
	CalendarMonth bool
	// Text is the window as written ("7d"), for output.
	Text string
}

// Bounds is the window ending at at: (start, at].
func (w Window) Bounds(at time.Time) (start time.Time) {
	if w.CalendarMonth {
		u := at.UTC()
		return time.Date(u.Year(), u.Month(), 1, 0, 0, 0, 0, time.UTC)
	}
	return at.Add(-w.Rolling)
}

// Length is the window's length ending at at.
func (w Window) Length(at time.Time) time.Duration { return at.Sub(w.Bounds(at)) }

// Full is the whole window's length: the rolling length, or the length of
// at's calendar month (what the budget is shared over).
func (w Window) Full(at time.Time) time.Duration {
	if !w.CalendarMonth {
		return w.Rolling
	}
	start := w.Bounds(at)
	return start.AddDate(0, 1, 0).Sub(start)
}

func (w Window) String() string {
	switch {
	case w.Text != "":
		return w.Text
	case w.CalendarMonth:
		return "calendar_month"
	}
	return vtime.FormatDuration(w.Rolling)
}

// Objective is one SLO: an SLI of a service against a target over a
// window.
type Objective struct {
	File       string
	Line       int
	Service    string
	SLI        string // availability, latency, or a custom ratio's name
	Target     Target
	TargetText string
	Window     Window
	// Good, Bad and Total are metric paths of a custom ratio SLI (Good or
	// Bad with Total).
	Good, Bad, Total string
	// Histogram with ThresholdMS: a latency SLI from raw observations (at
	// most ThresholdMS over all).
	Histogram   string
	ThresholdMS float64
	// MinEvents below which the result is invalid (default 1).
	MinEvents float64
	// BudgetAlertPercent is the consumption that raises the budget alert
	// (default 80, the reference design's).
	BudgetAlertPercent float64
}

// Name identifies the objective in output: service and SLI.
func (o Objective) Name() string { return o.Service + "/" + o.SLI }

// Problem is a bad definition at FILE:LINE.
type Problem struct {
	File    string
	Line    int
	Message string
}

func (p Problem) Error() string {
	if p.Line > 0 {
		return fmt.Sprintf("%s:%d: %s", p.File, p.Line, p.Message)
	}
	return fmt.Sprintf("%s: %s", p.File, p.Message)
}

// Problems are every bad definition of a file; a usage error (exit 2).
type Problems []Problem

func (ps Problems) Error() string {
	s := make([]string, len(ps))
	for i, p := range ps {
		s[i] = p.Error()
	}
	return strings.Join(s, "\n")
}

// UsageError marks bad definitions for the CLI's exit code.
func (ps Problems) UsageError() bool { return true }

// Defaults are the reference design's error budgets, used when no
// objective is defined.
func Defaults() []Objective {
	mk := func(svc, target, window string) Objective {
		t, _ := ParseTarget(target)
		w, _ := ParseWindow(window)
		return Objective{File: "(default)", Service: svc, SLI: Availability, Target: t, TargetText: target,
			Window: w, MinEvents: 1, BudgetAlertPercent: 80}
	}
	return []Objective{
		mk("agent_forge", "99.5", "30d"),
		mk("rag_system", "99.9", "7d"),
		mk("mcp_server", "99.95", "1d"),
	}
}

// Load reads objectives from path: a vigil config with a slos: section
// (other sections are ignored), or OpenSLO v1 documents (kind: SLO).
// found is false when the file defines none.
func Load(path string) (objs []Objective, found bool, err error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, false, err
	}
	return Parse(path, b)
}

// Parse is Load of data read from file.
func Parse(file string, data []byte) ([]Objective, bool, error) {
	d := &decoder{file: file}
	dec := yaml.NewDecoder(strings.NewReader(string(data)))
	found := false
	for {
		var doc yaml.Node
		err := dec.Decode(&doc)
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			d.problems = append(d.problems, Problem{File: file, Line: yamlLine(err), Message: yamlMessage(err)})
			break
		}
		if len(doc.Content) == 0 || doc.Content[0].Kind != yaml.MappingNode {
			continue
		}
		root := doc.Content[0]
		if kind := value(root, "kind"); kind != nil {
			if kind.Value == "SLO" {
				found = true
				d.openSLO(root)
			}
			continue
		}
		if n := value(root, "slos"); n != nil {
			found = true
			d.slos(n)
		}
	}
	sort.SliceStable(d.problems, func(i, j int) bool { return d.problems[i].Line < d.problems[j].Line })
	if len(d.problems) > 0 {
		return nil, found, d.problems
	}
	return d.objs, found, nil
}

var yamlLineRe = regexp.MustCompile(`line (\d+)`)

// yamlMessage is a YAML error without its "yaml: line N: " prefix (the
// line is already in FILE:LINE).
func yamlMessage(err error) string {
	return yamlPrefixRe.ReplaceAllString(err.Error(), "")
}

var yamlPrefixRe = regexp.MustCompile(`^yaml: (line \d+: )?`)

func yamlLine(err error) int {
	if m := yamlLineRe.FindStringSubmatch(err.Error()); m != nil {
		n, _ := strconv.Atoi(m[1])
		return n
	}
	return 0
}

type decoder struct {
	file     string
	objs     []Objective
	problems Problems
}

func (d *decoder) errf(n *yaml.Node, format string, args ...any) {
	d.problems = append(d.problems, Problem{File: d.file, Line: n.Line, Message: fmt.Sprintf(format, args...)})
}

// value returns the value node of key in mapping n.
func value(n *yaml.Node, key string) *yaml.Node {
	if n == nil || n.Kind != yaml.MappingNode {
		return nil
	}
	for i := 0; i+1 < len(n.Content); i += 2 {
		if n.Content[i].Value == key {
			return n.Content[i+1]
		}
	}
	return nil
}

var sloFields = []string{"service", "sli", "target", "window", "latency_target", "histogram", "threshold_ms",
	"good", "bad", "total", "min_events", "budget_alert_percent"}

func (d *decoder) slos(n *yaml.Node) {
	if n.Kind != yaml.SequenceNode {
		d.errf(n, "slos: want a list of objectives")
		return
	}
	for _, item := range n.Content {
		d.entry(item)
	}
}

func (d *decoder) entry(item *yaml.Node) {
	if item.Kind != yaml.MappingNode {
		d.errf(item, "slos: want an objective (service, target, window, ...)")
		return
	}
	f := map[string]*yaml.Node{}
	for i := 0; i+1 < len(item.Content); i += 2 {
		k := item.Content[i]
		if !contains(sloFields, k.Value) {
			d.errf(k, "unknown field %q in an objective (want %s)", k.Value, strings.Join(sloFields, ", "))
			continue
		}
		f[k.Value] = item.Content[i+1]
	}
	o := Objective{File: d.file, Line: item.Line, SLI: Availability, MinEvents: 1, BudgetAlertPercent: 80,
		Window: Window{Rolling: 30 * 24 * time.Hour, Text: "30d"}}
	ok := true
	str := func(key string) string {
		n := f[key]
		if n == nil {
			return ""
		}
		if n.Kind != yaml.ScalarNode || n.Value == "" {
			d.errf(n, "%s: want a non-empty string", key)
			ok = false
			return ""
		}
		return n.Value
	}
	num := func(key string, def float64) float64 {
		n := f[key]
		if n == nil {
			return def
		}
		v, err := strconv.ParseFloat(n.Value, 64)
		if n.Kind != yaml.ScalarNode || err != nil || v < 0 {
			d.errf(n, "%s: want a non-negative number, got %q", key, n.Value)
			ok = false
			return def
		}
		return v
	}
	o.Service = str("service")
	if o.Service == "" && f["service"] == nil {
		d.errf(item, "objective: missing required field \"service\"")
		ok = false
	}
	if n := f["target"]; n == nil {
		d.errf(item, "objective %s: missing required field \"target\" (percent, e.g. 99.9)", o.Service)
		ok = false
	} else if t, err := ParseTarget(n.Value); err != nil {
		d.errf(n, "%v", err)
		ok = false
	} else {
		o.Target, o.TargetText = t, n.Value
	}
	if n := f["window"]; n != nil {
		w, err := ParseWindow(n.Value)
		if err != nil {
			d.errf(n, "%v", err)
			ok = false
		}
		o.Window = w
	}
	o.MinEvents = num("min_events", 1)
	o.BudgetAlertPercent = num("budget_alert_percent", 80)
	o.Good, o.Bad, o.Total = str("good"), str("bad"), str("total")
	custom := o.Good != "" || o.Bad != "" || o.Total != ""
	if custom {
		o.SLI = "custom"
		if s := str("sli"); s != "" {
			o.SLI = s
		}
		switch {
		case o.Total == "":
			d.errf(item, "objective %s: a custom SLI needs total with good or bad", o.Service)
			ok = false
		case (o.Good == "") == (o.Bad == ""):
			d.errf(item, "objective %s: give exactly one of good and bad with total", o.Service)
			ok = false
		}
	} else if s := str("sli"); s != "" && s != Availability {
		d.errf(f["sli"], "sli %q: without good/bad/total the SLI is availability (add latency_target for latency)", s)
		ok = false
	}
	if !ok {
		return
	}
	d.objs = append(d.objs, o)
	lt := f["latency_target"]
	if lt == nil {
		if f["histogram"] != nil || f["threshold_ms"] != nil {
			d.errf(item, "objective %s: histogram and threshold_ms need latency_target", o.Service)
		}
		return
	}
	t, err := ParseTarget(lt.Value)
	if err != nil {
		d.errf(lt, "latency_target: %v", err)
		return
	}
	l := o
	l.SLI, l.Target, l.TargetText, l.Good, l.Bad, l.Total = Latency, t, lt.Value, "", "", ""
	l.Histogram = str("histogram")
	l.ThresholdMS = num("threshold_ms", 0)
	if (l.Histogram == "") != (f["threshold_ms"] == nil) {
		d.errf(item, "objective %s: give histogram and threshold_ms together (a latency SLI from raw observations)", o.Service)
		return
	}
	d.objs = append(d.objs, l)
}

func contains(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}

// ParseWindow reads a rolling window (1d, 7d, 28d, 30d, 6h...) or
// calendar_month.
func ParseWindow(s string) (Window, error) {
	if s == "calendar_month" {
		return Window{CalendarMonth: true, Text: s}, nil
	}
	d, err := vtime.ParseDuration(s)
	if err != nil || d < time.Hour || d%time.Minute != 0 {
		return Window{}, fmt.Errorf("window %q: want a rolling window of at least 1h (1d, 7d, 28d, 30d) or calendar_month", s)
	}
	return Window{Rolling: d, Text: s}, nil
}

// openSLO reads one OpenSLO v1 SLO document: metadata.name, spec.service,
// spec.timeWindow[0] (duration, isRolling), spec.objectives[0] (target as
// a fraction, or targetPercent) and spec.indicator.spec.ratioMetric
// (good or bad, and total; each metricSource.spec.query a vigil metric
// path).
func (d *decoder) openSLO(root *yaml.Node) {
	o := Objective{File: d.file, Line: root.Line, SLI: "custom", MinEvents: 1, BudgetAlertPercent: 80}
	if av := value(root, "apiVersion"); av == nil || av.Value != "openslo/v1" {
		d.errf(root, "OpenSLO: want apiVersion openslo/v1")
		return
	}
	if n := value(value(root, "metadata"), "name"); n != nil {
		o.SLI = n.Value
	}
	spec := value(root, "spec")
	if spec == nil {
		d.errf(root, "OpenSLO SLO %s: missing spec", o.SLI)
		return
	}
	if n := value(spec, "service"); n != nil {
		o.Service = n.Value
	} else {
		d.errf(spec, "OpenSLO SLO %s: missing spec.service", o.SLI)
		return
	}
	tw := value(spec, "timeWindow")
	if tw == nil || tw.Kind != yaml.SequenceNode || len(tw.Content) == 0 {
		d.errf(spec, "OpenSLO SLO %s: missing spec.timeWindow", o.SLI)
		return
	}
	w0 := tw.Content[0]
	if r := value(w0, "isRolling"); r != nil && r.Value == "false" {
		cal := value(w0, "calendar")
		dur := value(w0, "duration")
		if dur == nil || dur.Value != "1M" || cal == nil {
			d.errf(w0, "OpenSLO SLO %s: a calendar window must be duration 1M (calendar_month)", o.SLI)
			return
		}
		o.Window = Window{CalendarMonth: true}
	} else if dur := value(w0, "duration"); dur != nil {
		w, err := ParseWindow(dur.Value)
		if err != nil {
			d.errf(dur, "OpenSLO SLO %s: %v", o.SLI, err)
			return
		}
		o.Window = w
	} else {
		d.errf(w0, "OpenSLO SLO %s: timeWindow needs a duration", o.SLI)
		return
	}
	objs := value(spec, "objectives")
	if objs == nil || objs.Kind != yaml.SequenceNode || len(objs.Content) == 0 {
		d.errf(spec, "OpenSLO SLO %s: missing spec.objectives", o.SLI)
		return
	}
	ob := objs.Content[0]
	switch t, tp := value(ob, "target"), value(ob, "targetPercent"); {
	case t != nil:
		tg, err := TargetFraction(t.Value)
		if err != nil {
			d.errf(t, "OpenSLO SLO %s: %v", o.SLI, err)
			return
		}
		o.Target, o.TargetText = tg, strconv.FormatFloat(tg.Percent(), 'f', -1, 64)
	case tp != nil:
		tg, err := ParseTarget(tp.Value)
		if err != nil {
			d.errf(tp, "OpenSLO SLO %s: %v", o.SLI, err)
			return
		}
		o.Target, o.TargetText = tg, tp.Value
	default:
		d.errf(ob, "OpenSLO SLO %s: objective needs target or targetPercent", o.SLI)
		return
	}
	rm := value(value(value(spec, "indicator"), "spec"), "ratioMetric")
	if rm == nil {
		rm = value(ob, "ratioMetrics")
	}
	if rm == nil {
		d.errf(spec, "OpenSLO SLO %s: want spec.indicator.spec.ratioMetric (good or bad, and total)", o.SLI)
		return
	}
	query := func(key string) string {
		n := value(value(value(value(rm, key), "metricSource"), "spec"), "query")
		if n == nil {
			return ""
		}
		return n.Value
	}
	o.Good, o.Bad, o.Total = query("good"), query("bad"), query("total")
	if o.Total == "" || (o.Good == "") == (o.Bad == "") {
		d.errf(rm, "OpenSLO SLO %s: ratioMetric needs total and one of good or bad, each with metricSource.spec.query", o.SLI)
		return
	}
	d.objs = append(d.objs, o)
}
