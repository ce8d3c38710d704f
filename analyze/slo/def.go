package slo

import (
	"fmt"
	"math"
	"math/big"
	"os"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"

	"go.yaml.in/yaml/v3"

	"github.com/vigil-metrics/vigil/internal/configfile"
	"github.com/vigil-metrics/vigil/internal/metricpath"
	"github.com/vigil-metrics/vigil/internal/vtime"
	"github.com/vigil-metrics/vigil/internal/yamlconf"
)

// SLI kinds an objective measures.
const (
	Availability = "availability" // sli_requests_total{service, success}
	Latency      = "latency"      // sli_latency_requests_total{service, fast}, or a raw histogram
)

// Budgeting methods (OpenSLO's budgetingMethod): what an event is.
const (
	// Occurrences: every event counts (the default, and vigil.yaml's).
	Occurrences = "Occurrences"
	// Timeslices: an event is a time slice of SliceWindow, good when its
	// good/total ratio (or its Threshold verdict) reaches SliceTarget.
	Timeslices = "Timeslices"
	// RatioTimeslices: the SLI is the mean of the slices' good/total
	// ratios.
	RatioTimeslices = "RatioTimeslices"
)

// The reference design's SLI counters and their outcome labels.
const (
	RequestsMetric        = "sli_requests_total"
	LatencyRequestsMetric = "sli_latency_requests_total"
)

// Window is an SLO's compliance window: rolling, the calendar month (UTC)
// up to the evaluation time (vigil.yaml's calendar_month), or an OpenSLO
// calendar window: periods of Days days or Months months that start at
// Start (in Start's zone) and follow one another.
type Window struct {
	Rolling       time.Duration
	CalendarMonth bool
	// Start anchors a calendar window's periods (with Days or Months);
	// its Location is the window's time zone.
	Start time.Time
	// Days or Months is a calendar period's length: days (and weeks) by
	// calendar date in Start's zone, so a period over a DST change lasts
	// an hour more or less than 24h times Days; months (quarters, years)
	// by time.AddDate.
	Days, Months int
	// Text is the window as written ("7d"), for output.
	Text string
}

// calendar reports whether w is an OpenSLO calendar window.
func (w Window) calendar() bool { return w.Days > 0 || w.Months > 0 }

// Bounds is the window ending at at: (start, at]. A calendar window's
// start is the start of the period holding at. Windows are open at their
// start, so a period is (start, end]: an instant on a boundary belongs to
// the period that ends there. A sample at 00:00 on the 1st counts in the
// month before (it is in no later window), and --at 00:00 on the 1st
// judges the month that just ended, never an empty one.
func (w Window) Bounds(at time.Time) (start time.Time) {
	switch {
	case w.CalendarMonth:
		u := at.UTC()
		start = time.Date(u.Year(), u.Month(), 1, 0, 0, 0, 0, time.UTC)
		if start.Equal(at) {
			start = start.AddDate(0, -1, 0)
		}
		return start
	case w.calendar():
		return w.period(w.periodIndex(at))
	}
	return at.Add(-w.Rolling)
}

// period is the start of the k-th calendar period (0: Start's).
func (w Window) period(k int) time.Time {
	if w.Months > 0 {
		return w.Start.AddDate(0, k*w.Months, 0)
	}
	return w.Start.AddDate(0, 0, k*w.Days)
}

// periodIndex is the index k of the calendar period holding at:
// period(k) < at <= period(k+1) (see Bounds).
func (w Window) periodIndex(at time.Time) int {
	s, a := w.Start, at.In(w.Start.Location())
	var k int
	if w.Months > 0 {
		months := (a.Year()-s.Year())*12 + int(a.Month()-s.Month())
		k = floorDiv(months, w.Months)
	} else {
		// Whole calendar days between the dates, counted in UTC so that
		// no day is 23h or 25h long.
		sd := time.Date(s.Year(), s.Month(), s.Day(), 0, 0, 0, 0, time.UTC)
		ad := time.Date(a.Year(), a.Month(), a.Day(), 0, 0, 0, 0, time.UTC)
		k = floorDiv(int((ad.Unix()-sd.Unix())/86400), w.Days) // seconds: no overflow over centuries
	}
	// The estimate is off by one when at's clock is before Start's (or
	// equal to it) in the period's first day or month.
	for !w.period(k).Before(at) {
		k--
	}
	for w.period(k + 1).Before(at) {
		k++
	}
	return k
}

func floorDiv(a, b int) int {
	q := a / b
	if a%b != 0 && (a < 0) != (b < 0) {
		q--
	}
	return q
}

// Length is the window's length ending at at.
func (w Window) Length(at time.Time) time.Duration { return at.Sub(w.Bounds(at)) }

// Full is the whole window's length: the rolling length, or the length of
// the calendar period holding at (what the budget is shared over; a week
// over a DST change is 167h or 169h).
func (w Window) Full(at time.Time) time.Duration {
	switch {
	case w.CalendarMonth:
		start := w.Bounds(at)
		return start.AddDate(0, 1, 0).Sub(start)
	case w.calendar():
		k := w.periodIndex(at)
		return w.period(k + 1).Sub(w.period(k))
	}
	return w.Rolling
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
	// MinCoverage is the share (percent) of the SLO window the stores'
	// data must cover, from their first sample to the window's end, for
	// the result to count (default 10 in vigil.yaml, OpenSLO files and
	// the defaults; 0 never checks): a 1d objective over 6 minutes of
	// history is invalid, not breached.
	MinCoverage float64
	// BudgetAlertPercent is the consumption that raises the budget alert
	// (default 80, the reference design's).
	BudgetAlertPercent float64
	// Method is the budgeting method: Occurrences ("" too), Timeslices
	// or RatioTimeslices, the last two with SliceWindow, and Timeslices
	// with SliceTarget (a fraction in (0, 1], exact) unless a Threshold
	// judges the slices.
	Method      string
	SliceWindow time.Duration
	SliceTarget *big.Rat
	// Threshold, when set, makes the SLI a threshold over a gauge
	// (OpenSLO's thresholdMetric): judged per time slice.
	Threshold *Threshold
	// Display names one objective among its SLO's several: its
	// displayName, else its 1-based index; "" when the SLO has one.
	Display string
}

// Threshold is a thresholdMetric's test: a time slice is good when
// Metric's value over it compares with Value by Op.
type Threshold struct {
	Metric string   // a metric path
	Op     string   // lt, lte, gt or gte
	Value  *big.Rat // exact, as written
}

// Sliced reports whether o's events are time slices.
func (o Objective) Sliced() bool { return o.Method == Timeslices || o.Method == RatioTimeslices }

// SLIName is the SLI as tables print it: the SLI, and the objective's
// Display when its SLO has several (two rows of one SLO must differ).
func (o Objective) SLIName() string {
	if o.Display != "" {
		return o.SLI + "/" + o.Display
	}
	return o.SLI
}

// Name identifies the objective in output: service and SLI, and the
// objective's Display when its SLO has several.
func (o Objective) Name() string {
	if o.Display != "" {
		return o.Service + "/" + o.SLI + "/" + o.Display
	}
	return o.Service + "/" + o.SLI
}

// InvalidReason says why e are too few events to judge o by ("" when they
// are enough): fewer than min_events. vigil slo, vigil budget and the
// report all ask it, so that an objective invalid in one is invalid in
// all (neither met nor breached, no burn alerts, no gate).
func (o Objective) InvalidReason(e Events) string {
	if e.Total >= o.MinEvents {
		return ""
	}
	return fmt.Sprintf("too few events: %s, min_events %s",
		strconv.FormatFloat(e.Total, 'f', -1, 64), strconv.FormatFloat(o.MinEvents, 'f', -1, 64))
}

// InvalidReasonCovered is InvalidReason, and then whether the data covers
// at least MinCoverage of the window (a coverage not Known is not held
// against it).
func (o Objective) InvalidReasonCovered(e Events, c Coverage) string {
	if r := o.InvalidReason(e); r != "" {
		return r
	}
	if !c.Known || o.MinCoverage <= 0 || c.Percent >= o.MinCoverage {
		return ""
	}
	return fmt.Sprintf("the data covers %s%% of the %s window (first sample %s): min_coverage %s%%",
		strconv.FormatFloat(c.Percent, 'g', 3, 64), o.Window, c.Since.UTC().Format(time.RFC3339),
		strconv.FormatFloat(o.MinCoverage, 'f', -1, 64))
}

// Problems are every bad definition of a file, FILE:LINE: reason each
// (yamlconf's type; objectives' messages name lines only); a usage error
// (exit 2).
type Problems = yamlconf.Problems

// Defaults are the reference design's error budgets, used when no
// objective is defined.
func Defaults() []Objective {
	mk := func(svc, target, window string) Objective {
		t, _ := ParseTarget(target)
		w, _ := ParseWindow(window)
		return Objective{File: "(default)", Service: svc, SLI: Availability, Target: t, TargetText: target,
			Window: w, MinEvents: 1, MinCoverage: DefaultMinCoverage, BudgetAlertPercent: 80}
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
	d := newDecoder(file)
	docs, err := configfile.Documents(file, data)
	found := d.documents(docs)
	return d.result(found, err)
}

// FromConfig reads the objectives of a read vigil.yaml: its slos: section
// and any OpenSLO documents after the first. found is false when it
// defines none.
func FromConfig(f *configfile.File) (objs []Objective, found bool, err error) {
	d := newDecoder(f.Path)
	if n := f.Section("slos"); n != nil {
		found = true
		d.slos(n)
	}
	docs, err := f.More()
	found = d.documents(docs) || found
	return d.result(found, err)
}

func newDecoder(file string) *decoder {
	return &decoder{Decoder: &yamlconf.Decoder{File: file, Lines: true, Wording: yamlconf.Wording{
		Unknown: func(what, key string, _ []string) string {
			return fmt.Sprintf("unknown field %q in %s (want %s)", key, what, strings.Join(sloFields, ", "))
		},
	}}}
}

// documents reads each document that holds a slos: list, and the OpenSLO
// objects of the others (one per document, or the spec's list form), and
// reports whether one defined an objective.
func (d *decoder) documents(docs []*yaml.Node) (found bool) {
	var objs []*yaml.Node
	for _, doc := range docs {
		if len(doc.Content) == 0 {
			continue
		}
		switch root := doc.Content[0]; {
		case openSLOList(root):
			objs = append(objs, root.Content...)
		case openSLOObject(root):
			objs = append(objs, root)
		case root.Kind == yaml.MappingNode && yamlconf.Value(root, "slos") != nil:
			found = true
			d.slos(yamlconf.Value(root, "slos"))
		}
	}
	return d.openSLO(objs) || found
}

// result is what Parse and FromConfig return; err is a YAML syntax error
// of a document, if one did not parse.
func (d *decoder) result(found bool, err error) ([]Objective, bool, error) {
	if ps, ok := yamlconf.AsProblems(err); ok {
		d.Problems = append(d.Problems, ps...)
	}
	if err := d.Err(); err != nil {
		return nil, found, err
	}
	return d.objs, found, nil
}

type decoder struct {
	*yamlconf.Decoder
	objs []Objective
}

var sloFields = []string{"service", "sli", "target", "window", "latency_target", "histogram", "threshold_ms",
	"good", "bad", "total", "min_events", "min_coverage", "budget_alert_percent"}

func (d *decoder) slos(n *yaml.Node) {
	if n.Kind != yaml.SequenceNode {
		d.Errf(n, "slos: want a list of objectives")
		return
	}
	for _, item := range n.Content {
		d.entry(item)
	}
}

// entry reads one objective, and the latency objective beside it when it
// gives latency_target.
func (d *decoder) entry(item *yaml.Node) {
	if item.Kind != yaml.MappingNode {
		d.Errf(item, "slos: want an objective (service, target, window, ...)")
		return
	}
	e := &entry{d: d, item: item, ok: true, f: d.Fields(item, "an objective", yamlconf.Keys(sloFields...))}
	o, ok := e.objective()
	if !ok {
		return
	}
	d.objs = append(d.objs, o)
	if l, ok := e.latency(o); ok {
		d.objs = append(d.objs, l)
	}
}

// entry is one objective's fields being read; ok turns false at the first
// bad one.
type entry struct {
	d    *decoder
	item *yaml.Node
	f    map[string]*yaml.Node
	ok   bool
}

// str is a field's text: any non-empty scalar.
func (e *entry) str(key string) string {
	n := e.f[key]
	if n == nil {
		return ""
	}
	if n.Kind != yaml.ScalarNode || n.Value == "" {
		e.d.Errf(n, "%s: want a non-empty string", key)
		e.ok = false
		return ""
	}
	if msg := badName(key, n.Value); msg != "" && (key == "service" || key == "sli") {
		e.d.Errf(n, "%s", msg)
		e.ok = false // the value is kept: other checks read which fields are given
	}
	if msg := badPath(key, n.Value); msg != "" && (key == "good" || key == "bad" || key == "total") {
		e.d.Errf(n, "%s", msg)
		e.ok = false
	}
	return n.Value
}

// decimalRe is a number as people write one in a config: digits, a
// point, an exponent. strconv.ParseFloat also takes Go's "1_0" and hex
// "0x1p-2", NaN and Inf, which no one means by a percent or a count.
var decimalRe = regexp.MustCompile(`^[+-]?([0-9]+(\.[0-9]*)?|\.[0-9]+)([eE][+-]?[0-9]+)?$`)

// decimal reports whether s is a plain decimal number (decimalRe).
func decimal(s string) bool { return decimalRe.MatchString(s) }

// num is a field's non-negative number, def when it is not given.
func (e *entry) num(key string, def float64) float64 {
	n := e.f[key]
	if n == nil {
		return def
	}
	// A quoted "10" is a string: refused as every typed key of vigil.yaml
	// refuses one (yamlconf.Number), not read for the number it spells.
	if t := n.ShortTag(); n.Kind != yaml.ScalarNode || (t != "!!int" && t != "!!float") {
		e.d.Errf(n, "%s: want a non-negative number, got %s", key, yamlconf.Kind(n))
		e.ok = false
		return def
	}
	v, err := strconv.ParseFloat(n.Value, 64)
	if !decimal(n.Value) || err != nil || !(v >= 0) || math.IsInf(v, 1) {
		e.d.Errf(n, "%s: want a non-negative number, got %q", key, n.Value)
		e.ok = false
		return def
	}
	return v
}

// objective reads the entry's availability or custom objective.
func (e *entry) objective() (Objective, bool) {
	d, item, f := e.d, e.item, e.f
	o := Objective{File: d.File, Line: item.Line, SLI: Availability, MinEvents: 1, MinCoverage: DefaultMinCoverage, BudgetAlertPercent: 80,
		Window: Window{Rolling: 30 * 24 * time.Hour, Text: "30d"}}
	o.Service = e.str("service")
	if o.Service == "" && f["service"] == nil {
		d.Errf(item, "objective: missing required field \"service\"")
		e.ok = false
	}
	if n := f["target"]; n == nil {
		d.Errf(item, "objective %s: missing required field \"target\" (percent, e.g. 99.9)", o.Service)
		e.ok = false
	} else if t, err := ParseTarget(n.Value); err != nil {
		d.Errf(n, "%v", err)
		e.ok = false
	} else if msg := fractionTarget("target", n.Value, t); msg != "" {
		d.Errf(n, "%s", msg)
		e.ok = false
	} else if msg := unprintableTarget("target", n.Value, t); msg != "" {
		d.Errf(n, "%s", msg)
		e.ok = false
	} else {
		o.Target, o.TargetText = t, n.Value
	}
	if n := f["window"]; n != nil {
		w, err := ParseWindow(n.Value)
		if err != nil {
			d.Errf(n, "%v", err)
			e.ok = false
		}
		o.Window = w
	}
	o.MinEvents = e.num("min_events", 1)
	if o.MinCoverage = e.num("min_coverage", DefaultMinCoverage); o.MinCoverage > 100 {
		d.Errf(f["min_coverage"], "min_coverage: want a percent from 0 to 100, got %s", f["min_coverage"].Value)
		e.ok = false
	}
	o.BudgetAlertPercent = e.num("budget_alert_percent", 80)
	o.Good, o.Bad, o.Total = e.str("good"), e.str("bad"), e.str("total")
	if o.Good != "" || o.Bad != "" || o.Total != "" {
		o.SLI = "custom"
		if s := e.str("sli"); s != "" {
			o.SLI = s
		}
		switch {
		case o.Total == "":
			d.Errf(item, "objective %s: a custom SLI needs total with good or bad", o.Service)
			e.ok = false
		case (o.Good == "") == (o.Bad == ""):
			d.Errf(item, "objective %s: give exactly one of good and bad with total", o.Service)
			e.ok = false
		}
	} else if s := e.str("sli"); s != "" && s != Availability {
		d.Errf(f["sli"], "sli %q: without good/bad/total the SLI is availability (add latency_target for latency)", s)
		e.ok = false
	}
	return o, e.ok
}

// latency reads the latency objective of latency_target, beside o.
func (e *entry) latency(o Objective) (Objective, bool) {
	d, item, f := e.d, e.item, e.f
	lt := f["latency_target"]
	if lt == nil {
		if f["histogram"] != nil || f["threshold_ms"] != nil {
			d.Errf(item, "objective %s: histogram and threshold_ms need latency_target", o.Service)
		}
		return Objective{}, false
	}
	t, err := ParseTarget(lt.Value)
	if err != nil {
		d.Errf(lt, "latency_target: %v", err)
		return Objective{}, false
	}
	if msg := fractionTarget("latency_target", lt.Value, t); msg != "" {
		d.Errf(lt, "%s", msg)
		return Objective{}, false
	}
	if msg := unprintableTarget("latency_target", lt.Value, t); msg != "" {
		d.Errf(lt, "%s", msg)
		return Objective{}, false
	}
	l := o
	l.SLI, l.Target, l.TargetText, l.Good, l.Bad, l.Total = Latency, t, lt.Value, "", "", ""
	l.Histogram = e.str("histogram")
	l.ThresholdMS = e.num("threshold_ms", 0)
	if (l.Histogram == "") != (f["threshold_ms"] == nil) {
		d.Errf(item, "objective %s: give histogram and threshold_ms together (a latency SLI from raw observations)", o.Service)
		return Objective{}, false
	}
	if l.Histogram != "" {
		if msg := histogramProblem(l.Histogram); msg != "" {
			d.Errf(f["histogram"], "histogram %q: %s", l.Histogram, msg)
			return Objective{}, false
		}
		// vigil reads it as H.count_le(T) over H.count (eval.go).
		th := strconv.FormatFloat(l.ThresholdMS, 'f', -1, 64)
		for _, p := range []string{l.Histogram + ".count_le(" + th + ")", l.Histogram + ".count"} {
			if _, err := metricpath.Parse(p); err != nil {
				d.Errf(f["histogram"], "histogram %q: read as %s, not a vigil metric path (%v)", l.Histogram, p, err)
				return Objective{}, false
			}
		}
	}
	return l, true
}

// fractionTarget says why a vigil.yaml target t (key: text) below 1 is
// refused, "" when it is not: it is a fraction written where a percentage
// goes (0.999 for 99.9%), and read as a percentage it would be met by a
// service that fails almost every request. OpenSLO's own target field is
// a fraction, and its targetPercent may be below 1: neither comes here.
func fractionTarget(key, text string, t Target) string {
	if t.r.Cmp(big.NewRat(1, 100)) >= 0 {
		return ""
	}
	// 0.999 as written is 0.999%; meant, 99.9%: the text x 100, exact.
	m := new(big.Rat).Mul(t.r, big.NewRat(10000, 1))
	meant := sideText(m, m, 0)
	return fmt.Sprintf("%s %s: below 1, but targets in vigil.yaml are percentages (write %s for %s%%; "+
		"OpenSLO files use fractions in their own target field)", key, strings.TrimSpace(text), meant, meant)
}

// MaxWindow is the longest SLO window vigil reads: 100 years (36525d,
// 1200 months). A window's whole length, and every burn-rate window
// scaled from it (at most a tenth of it), must fit a time.Duration (about
// 292 years); a longer one is refused as out of range, never clamped.
const MaxWindow = 36525 * 24 * time.Hour

// maxMonths is MaxWindow in calendar months (100 years of months is at
// most 36525 days: no century has more than 25 leap days).
const maxMonths = 1200

// maxDays is MaxWindow in days.
const maxDays = int(MaxWindow / (24 * time.Hour))

// windowLimit is MaxWindow as refusals name it.
const windowLimit = "at most 100 years: 36525d, 5217w, 1200M"

// ParseWindow reads a rolling window (1d, 7d, 28d, 30d, 6h...) of whole
// minutes from 1h to MaxWindow, or calendar_month.
func ParseWindow(s string) (Window, error) {
	if s == "calendar_month" {
		return Window{CalendarMonth: true, Text: s}, nil
	}
	d, err := vtime.ParseDuration(s)
	switch {
	case err != nil && strings.Contains(err.Error(), "out of range"), err == nil && d > MaxWindow:
		return Window{}, fmt.Errorf("window %q: out of range (%s)", s, windowLimit)
	case err != nil || d < time.Hour:
		return Window{}, fmt.Errorf("window %q: want a rolling window of at least 1h (1d, 7d, 28d, 30d) or calendar_month", s)
	case d%time.Minute != 0:
		return Window{}, fmt.Errorf("window %q: want whole minutes (1h, 36h, 7d)", s)
	}
	return Window{Rolling: d, Text: s}, nil
}

// badName says why name (the field key's value, printed in tables,
// markdown and JUnit) is refused, "" when it is not: a control or other
// non-printable character (a newline splits a table row in two).
func badName(key, name string) string {
	if name != "" && strings.TrimSpace(name) == "" {
		// A blank table cell, told from no name by nobody.
		return fmt.Sprintf("%s %q: only spaces (names are printed in tables, markdown and JUnit: give a visible name)", key, name)
	}
	for i, c := range name {
		if c == utf8.RuneError || !unicode.IsPrint(c) {
			return fmt.Sprintf("%s %q: non-printable character %U at byte %d (names are printed in tables, markdown and JUnit: use printable characters)", key, name, c, i)
		}
	}
	return ""
}

// badPath says why the metric path p of field key (good, bad or total)
// is refused, "" when it is a count of events (countProblem).
func badPath(key, p string) string {
	if msg := countProblem(p); msg != "" {
		return fmt.Sprintf("%s: %s", key, msg)
	}
	return ""
}

// countAggs are the aggregations whose value counts events (or their
// rate, which the window turns back into a count): what good, bad and
// total may end with. A bare name is a counter's rate (a histogram's
// count). Percentiles, avg, min, max, last and stddev are not counts: an
// SLI of .p95 over .p95 would be a number, not a share of events.
var countAggs = []metricpath.AggKind{metricpath.Default, metricpath.Increase, metricpath.Count, metricpath.CountLE,
	metricpath.Sum, metricpath.Rate}

// countProblem says why p cannot be a count of events (vigil.yaml's
// good/bad/total, OpenSLO's ratioMetric queries), "" when it can: it does
// not parse, it is a ratio (vigil computes the ratio from the counts), or
// its aggregation does not count.
func countProblem(p string) string {
	e, err := metricpath.Parse(p)
	switch {
	case err != nil:
		return fmt.Sprintf("%q is not a vigil metric path (%v)", p, err)
	case e.Den != nil:
		return fmt.Sprintf("%q is a ratio: want a count of events (good or bad and total are read apart and vigil computes the ratio), such as requests_total.increase", p)
	case !slices.Contains(countAggs, e.Num.Agg.Kind):
		return fmt.Sprintf("%q: .%s does not count events (want .increase, .count, .count_le(T), .sum or .rate, such as requests_total.increase)", p, e.Num.Agg.Text)
	}
	return ""
}

// histogramProblem says why h is not a histogram's name (optionally with
// label matchers), "" when it is: vigil reads it as h.count_le(T) over
// h.count, so a path (h.p95, h / g, h by (x)) or surrounding spaces would
// read as something else, as a report's metrics: entry would.
func histogramProblem(h string) string {
	e, err := metricpath.Parse(h)
	switch {
	case err != nil:
		return fmt.Sprintf("not a metric name (%v)", err)
	case h != strings.TrimSpace(h) || e.Den != nil || e.Num.Agg.Kind != metricpath.Default || len(e.Num.By) > 0:
		return "want a histogram's name (such as response_time_ms, or with labels response_time_ms{service=\"api\"}), not a path: vigil reads it as NAME.count_le(threshold_ms) over NAME.count"
	}
	return ""
}

// maxTargetDigits is the most significant digits a target may be written
// with: a float64 keeps any 15 (what output prints from).
const maxTargetDigits = 15

// unprintableTarget says why t (written text, key its field) is refused,
// "" when it is not: its percentage is 0 or 100 as a float64 (1e-400 would
// print 0%), or the text has more significant digits than a float64 keeps.
func unprintableTarget(key, text string, t Target) string {
	if p := t.Percent(); p <= 0 || p >= 100 {
		return fmt.Sprintf("%s %s: too close to %v%% to print (want a percentage a float64 tells from 0 and 100)", key, strings.TrimSpace(text), p)
	}
	if n := sigDigits(text); n > maxTargetDigits {
		return fmt.Sprintf("%s %s: %d significant digits, at most %d (what vigil prints)", key, strings.TrimSpace(text), n, maxTargetDigits)
	}
	return ""
}

// sigDigits counts the significant digits of a decimal number's text
// (its mantissa without leading and trailing zeros).
func sigDigits(s string) int {
	s = strings.TrimSpace(s)
	if i := strings.IndexAny(s, "eE"); i >= 0 {
		s = s[:i]
	}
	s = strings.NewReplacer("+", "", "-", "", ".", "", "_", "").Replace(s)
	return len(strings.Trim(s, "0"))
}
