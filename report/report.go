// Package report assembles and formats vigil report: a period's SLOs,
// error budgets, alerts, latency and resources as GitHub-flavoured
// markdown (or one HTML file).
//
// Every number a report shows is computed by analyze (Assemble asks a
// Source, an *analyze.DB, and uses analyze/slo's budget math) or by
// Summarize from the state DB's history: report runs no SQL and the
// embedded templates only format. A section with no data is one line
// saying so, never an empty table.
package report

import (
	"embed"
	"fmt"
	"io"
	"math"
	"strconv"
	"strings"
	"text/template"
	"time"

	"github.com/vigil-metrics/vigil/analyze/slo"
	"github.com/vigil-metrics/vigil/internal/safetext"
	"github.com/vigil-metrics/vigil/internal/vtime"
)

//go:embed templates/*.tmpl
var templates embed.FS

// Formats are the formats Render writes.
var Formats = []string{"markdown", "html"}

// Report is everything a report shows.
type Report struct {
	Title string
	// Period is the report's length; the report covers (At-Period, At].
	Period time.Duration
	// PeriodText is the period as the user wrote it ("7d"); empty: Period.
	PeriodText string
	// At is the period's end (--at).
	At time.Time
	// Generated is when the report was made: the wall clock at the
	// command's edge (SOURCE_DATE_EPOCH when set, for reproducible
	// output); zero leaves the line out.
	Generated time.Time
	// Loc is the zone times are shown in (nil: UTC).
	Loc *time.Location
	// Compare: the previous period of the same length was evaluated too.
	Compare bool
	Stores  []string
	Hosts   []string

	SLOs    []SLO
	Budgets []Budget
	// Alerts is nil when there is no state DB (no alert history).
	Alerts  *Alerts
	Latency []Latency
	// LatencyAuto: no rule, objective or report.metrics named a key
	// histogram, so Latency shows the stores' most sampled histograms.
	LatencyAuto bool
	Resources   []Resource
	// Noise is the "Alert noise" section (report: alert_noise:), nil when
	// it is off.
	Noise *Noise

	Highlights []string

	// Charts: show sparklines (and Images, where there are any).
	Charts bool
	// Images are the charts drawn by BuildImages; a markdown report links
	// them by File, an HTML one inlines them.
	Images []Image
}

// ImagesOf are the images shown in section.
func (r *Report) ImagesOf(section string) []Image {
	var out []Image
	for _, im := range r.Images {
		if im.Section == section {
			out = append(out, im)
		}
	}
	return out
}

// Trends reports whether sparklines are shown in the latency table.
func (r *Report) Trends() bool {
	if !r.Charts {
		return false
	}
	for _, l := range r.Latency {
		if hasValue(l.Trend) {
			return true
		}
	}
	return false
}

// PeriodString is the period for people: as written, else formatted.
func (r *Report) PeriodString() string {
	if r.PeriodText != "" {
		return r.PeriodText
	}
	return vtime.FormatDuration(r.Period)
}

// SLOData reports whether any objective has events: without any, the
// SLO and budget sections are one line each.
func (r *Report) SLOData() bool {
	for _, s := range r.SLOs {
		if !s.NoData {
			return true
		}
	}
	return false
}

// Objectives names the objectives (service/SLI), for the no-data line.
func (r *Report) Objectives() string {
	var out []string
	for _, s := range r.SLOs {
		out = append(out, s.Service+"/"+s.SLI)
	}
	return strings.Join(out, ", ")
}

// From is the period's start (exclusive).
func (r *Report) From() time.Time { return r.At.Add(-r.Period) }

// SLO is one objective evaluated over its window ending at the report's
// end, and at the previous period's end.
type SLO struct {
	Service, SLI, Window string
	TargetPercent        float64
	Good, Total          float64
	Percent              float64
	Met, NoData, Invalid bool
	ConsumptionPercent   float64
	// BurnRate is the burn rate over the SLO window (nil: no events).
	BurnRate *float64
	// PercentText, TargetText, ConsumedText and BurnText are Percent,
	// TargetPercent, ConsumptionPercent and BurnRate as printed
	// (analyze/slo's SLIText, Text, ConsumptionText and BurnText: never a
	// rounding that reads as the other verdict or on the other side of an
	// alert's threshold, as vigil slo and vigil budget print them); ""
	// prints the float.
	PercentText, TargetText, ConsumedText, BurnText string
	// Previous is the same objective at the previous period's end (nil:
	// not compared).
	Previous *SLOPoint
	// Coverage is how much of the window the data covers, where that is
	// known, judged (min_coverage above 0) and under 99% of the window;
	// InvalidReason says why an Invalid objective is.
	Coverage      *slo.Coverage
	InvalidReason string
}

// ShortCoverage are the objectives whose data covers only part of their
// window, for the note under the SLO table.
func (r *Report) ShortCoverage() []SLO {
	var out []SLO
	for _, s := range r.SLOs {
		if s.Coverage != nil {
			out = append(out, s)
		}
	}
	return out
}

// SLOPoint is an objective's SLI at one time.
type SLOPoint struct {
	Percent float64
	NoData  bool
}

// Budget is one objective's error budget at the report's end.
type Budget struct {
	Service, SLI, Window string
	ConsumptionPercent   float64
	// ConsumedText is ConsumptionPercent as printed (see SLO's); ""
	// prints the float.
	ConsumedText      string
	RemainingMinutes  float64
	Exhausted, NoData bool
	// Invalid is the objective's (too few events, too little of its
	// window covered): its budget is not judged, as vigil budget says.
	Invalid    bool
	BurnRate1h *float64
	// BurnText1h is BurnRate1h as printed (slo.BurnText); "" prints the
	// float.
	BurnText1h string
	// TimeToExhaustion is nil when the budget does not run out at the 1h
	// burn rate.
	TimeToExhaustion *time.Duration
	// Alerts are the burn-rate and budget alerts active (page, ticket,
	// budget) with their reasons.
	Alerts []BudgetAlert
	// Burn is the consumption (%) at each step's end over the period: the
	// budget spent from the window's start to then (see Steps).
	Burn []Point
}

// BudgetAlert is an active budget alert.
type BudgetAlert struct{ Severity, Reason string }

// Latency is one key histogram's percentiles for one service.
type Latency struct {
	Metric, Service    string
	P50, P90, P95, P99 float64
	// PrevP95 is the previous period's p95 (nil: none).
	PrevP95 *float64
	// Trend is the p95 of each step of the period (see Steps).
	Trend []Point
	// Chart is the chart's p95 series: Trend, or finer steps over the span
	// that has data when that is only the period's last few steps.
	Chart []Point
}

// Resource is one host's average and peak of one resource metric.
type Resource struct {
	Host, Metric string
	Avg, Max     float64
	// PrevAvg is the previous period's average (nil: none).
	PrevAvg *float64
}

// Render writes r in format (see Formats): markdown, or the markdown
// rendered as one self-contained HTML file (images inlined).
func Render(w io.Writer, r *Report, format string) error {
	switch format {
	case "markdown":
		return renderMarkdown(w, r, "<br>")
	case "html":
		return renderHTML(w, r)
	}
	return fmt.Errorf("report format %q: want markdown or html", format)
}

// renderMarkdown writes the markdown; brk separates a cell's lines.
func renderMarkdown(w io.Writer, r *Report, brk string) error {
	t, err := template.New("markdown.tmpl").Funcs(funcs(r, brk)).ParseFS(templates, "templates/markdown.tmpl")
	if err != nil {
		return err
	}
	return t.Execute(w, r)
}

func funcs(r *Report, brk string) template.FuncMap {
	loc := r.Loc
	if loc == nil {
		loc = time.UTC
	}
	return template.FuncMap{
		"time": func(t time.Time) string { return t.In(loc).Format("2006-01-02 15:04 MST") },
		"dur":  vtime.FormatDuration,
		"span": Span,
		"num":  Num,
		"n2":   func(v float64) string { return Num(round(v, 2)) },
		"pct":  func(v float64) string { return Num(round(v, 4)) + "%" },
		"pct2": func(v float64) string { return Num(round(v, 2)) + "%" },
		"rate": ratePtr,
		"rateText": func(text string, p *float64) string {
			if text != "" {
				return text
			}
			return ratePtr(p)
		},
		"pp":       PointsChange,
		"change":   RelChange,
		"list":     escList,
		"esc":      Escape,
		"yesno":    func(b bool) string { return map[bool]string{true: "yes", false: "no"}[b] },
		"sloState": sloState,
		"cov":      func(c *slo.Coverage) string { return strconv.FormatFloat(c.Percent, 'g', 3, 64) + "%" },
		"sliPct":   func(s SLO) string { return orText(s.PercentText, round(s.Percent, 4)) + "%" },
		"tgtPct":   func(s SLO) string { return orText(s.TargetText, s.TargetPercent) + "%" },
		"usedPct":  func(text string, v float64) string { return orText(text, round(v, 2)) + "%" },
		"minutes":  func(v float64) string { return slo.SignedText(v, 1) },
		"exhausts": exhausts,
		"spark":    Sparkline,
		"noise": func() (string, error) {
			var b strings.Builder
			err := WriteNoise(&b, r.Noise, r.ImagesOf("noise"), 2)
			return b.String(), err
		},
		"alerts": func(as []BudgetAlert) string {
			var out []string
			for _, a := range as {
				out = append(out, a.Severity+": "+Escape(a.Reason))
			}
			if len(out) == 0 {
				return "-"
			}
			return strings.Join(out, brk)
		},
	}
}

// escList is s (stores, hosts) escaped and joined with commas.
func escList(s []string) string {
	out := make([]string, len(s))
	for i, x := range s {
		out[i] = Escape(x)
	}
	return strings.Join(out, ", ")
}

func sloState(s SLO) string {
	switch {
	case s.Invalid && s.NoData:
		return "no data"
	case s.Invalid:
		return "invalid"
	case s.Met:
		return "_met_"
	}
	return "**BREACHED**"
}

// Num keeps short values exact and rounds long ones to 6 digits (as the
// other commands print values).
func Num(v float64) string {
	if math.IsNaN(v) || math.IsInf(v, 0) {
		return "-"
	}
	s := strconv.FormatFloat(v, 'f', -1, 64)
	if len(s) <= 12 {
		return s
	}
	return strconv.FormatFloat(v, 'g', 6, 64)
}

func round(v float64, digits int) float64 {
	p := math.Pow(10, float64(digits))
	return math.Round(v*p) / p
}

func ratePtr(p *float64) string {
	if p == nil {
		return "-"
	}
	return Num(round(*p, 2))
}

// orText is text, or v as Num prints it when text is "" (a report built
// by hand, without the printed texts).
func orText(text string, v float64) string {
	if text != "" {
		return text
	}
	return Num(v)
}

// exhausts is a budget's "exhausts in": "invalid" for an invalid
// objective (vigil budget's table; h30 D13), exhausted exactly when
// b.Exhausted says so (as vigil budget's JSON and table do), else the
// time to exhaustion (0m: used up, at exactly the target).
func exhausts(b Budget) string {
	if b.Invalid {
		return "invalid"
	}
	if b.Exhausted {
		return "exhausted"
	}
	return Span(b.TimeToExhaustion)
}

// Span writes a duration for people: minutes up to two days, days with
// one decimal beyond; nil is "never", and under half a minute "0m".
func Span(d *time.Duration) string {
	switch {
	case d == nil:
		return "never"
	case *d < time.Minute/2:
		return "0m"
	case *d >= 48*time.Hour:
		return strconv.FormatFloat(round(d.Hours()/24, 1), 'f', -1, 64) + "d"
	}
	return vtime.FormatDuration(d.Round(time.Minute))
}

// PointsChange is the change from prev to cur in percentage points,
// signed ("+0.12 pp"); "-" without a previous value.
func PointsChange(cur float64, prev *SLOPoint) string {
	if prev == nil || prev.NoData {
		return "-"
	}
	return signed(round(cur-prev.Percent, 4)) + " pp"
}

// RelChange is the relative change from prev to cur ("+12.5%"); "-"
// without a previous value or when it was 0.
func RelChange(cur float64, prev *float64) string {
	if prev == nil || *prev == 0 {
		return "-"
	}
	return signed(round((cur-*prev) / *prev * 100, 1)) + "%"
}

func signed(v float64) string {
	if v > 0 {
		return "+" + Num(v)
	}
	if v == 0 {
		return "0"
	}
	return Num(v)
}

// Escape is s, a value from data or config, as inert markdown text
// (safetext.Markdown): it makes no table cell, line, heading, image,
// link, HTML tag or code span, and reaches a terminal with no control or
// bidi character. Every such value a report shows goes through it.
func Escape(s string) string { return safetext.Markdown(s) }
