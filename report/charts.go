package report

import (
	"bytes"
	"fmt"
	"image/color"
	"math"
	"strconv"
	"strings"
	"time"

	"gonum.org/v1/plot"
	"gonum.org/v1/plot/font"
	"gonum.org/v1/plot/plotter"
	"gonum.org/v1/plot/text"
	"gonum.org/v1/plot/vg"
	"gonum.org/v1/plot/vg/draw"
	"gonum.org/v1/plot/vg/vgsvg"

	"github.com/vigil-metrics/vigil/internal/safetext"
)

// Point is one value at the end of a step (a day, or an hour in a short
// period); V is NaN where there is nothing to show.
type Point struct {
	T time.Time
	V float64
}

// Image is one chart: an SVG beside a markdown report (File, relative to
// it) or inlined in an HTML one.
type Image struct {
	// Section is where it is shown: "budget" or "latency".
	Section, Alt, File string
	SVG                []byte
}

// Steps are the chart points' ends over the period: each day's end, or
// each hour's from 12 hours to two days, else the period split in 24 (an
// hour's report gets 24 points, not one).
func Steps(period time.Duration) (step time.Duration, n int) {
	switch {
	case period >= 48*time.Hour && period%(24*time.Hour) == 0:
		return 24 * time.Hour, int(period / (24 * time.Hour))
	case period >= 12*time.Hour && period <= 48*time.Hour && period%time.Hour == 0:
		return time.Hour, int(period / time.Hour)
	}
	step = (period / 24).Truncate(time.Millisecond)
	if step <= 0 {
		return period, 1
	}
	return step, int(period / step)
}

// StepText names the chart step ("day", "hour" or a duration).
func (r *Report) StepText() string {
	step, _ := Steps(r.Period)
	switch step {
	case 24 * time.Hour:
		return "day"
	case time.Hour:
		return "hour"
	}
	return step.String()
}

const sparks = "▁▂▃▄▅▆▇█"

// Sparkline draws vs as Unicode blocks scaled from their minimum to their
// maximum; a missing value (NaN) is a middle dot.
func Sparkline(ps []Point) string {
	lo, hi := math.Inf(1), math.Inf(-1)
	for _, p := range ps {
		if !math.IsNaN(p.V) {
			lo, hi = math.Min(lo, p.V), math.Max(hi, p.V)
		}
	}
	bars := []rune(sparks)
	var b strings.Builder
	for _, p := range ps {
		switch {
		case math.IsNaN(p.V):
			b.WriteRune('·')
		case hi == lo:
			b.WriteRune(bars[len(bars)/2-1])
		default:
			i := int(math.Round((p.V - lo) / (hi - lo) * float64(len(bars)-1)))
			b.WriteRune(bars[i])
		}
	}
	return b.String()
}

// BuildImages draws r's charts (budget burn-down per objective, latency
// p95 over time per key histogram) as SVG, named prefix-budget-SERVICE-SLI.svg
// and prefix-latency-METRIC.svg.
func BuildImages(r *Report, prefix string) error {
	r.Images = nil
	loc := r.Loc
	if loc == nil {
		loc = time.UTC
	}
	for _, b := range r.Budgets {
		if b.NoData || !hasValue(b.Burn) {
			continue
		}
		// Names from data are quoted (safetext.Terminal): a control
		// character makes the SVG ill-formed XML.
		name := safetext.Terminal(b.Service) + "/" + safetext.Terminal(b.SLI)
		o := chart{title: fmt.Sprintf("Error budget remaining: %s (%s window)", name, b.Window),
			ylabel: "budget remaining (%)", loc: loc, ref: 0, refLabel: "exhausted (0%)"}
		if start := r.At.Add(-r.Period); len(b.Burn) > 0 && start.After(b.Burn[0].T) {
			o.mark, o.markLabel = start, "report period"
		}
		svg, err := lineChart(o, []series{{name, b.Burn}})
		if err != nil {
			return err
		}
		r.Images = append(r.Images, Image{Section: "budget", SVG: svg,
			Alt:  fmt.Sprintf("error budget burn-down of %s/%s", b.Service, b.SLI),
			File: prefix + "-budget-" + slug(b.Service) + "-" + slug(b.SLI) + ".svg"})
	}
	var metrics []string
	byMetric := map[string][]series{}
	for _, l := range r.Latency {
		if !hasValue(l.Chart) {
			continue
		}
		if _, ok := byMetric[l.Metric]; !ok {
			metrics = append(metrics, l.Metric)
		}
		label := safetext.Terminal(l.Service)
		if label == "" {
			label = "(no service)"
		}
		byMetric[l.Metric] = append(byMetric[l.Metric], series{label, l.Chart})
	}
	for _, m := range metrics {
		svg, err := lineChart(chart{title: "Latency p95: " + safetext.Terminal(m), ylabel: "p95 (" + unit(m) + ")", loc: loc, ref: math.NaN()}, byMetric[m])
		if err != nil {
			return err
		}
		r.Images = append(r.Images, Image{Section: "latency", SVG: svg,
			Alt: "latency p95 of " + m + " per service", File: prefix + "-latency-" + slug(m) + ".svg"})
	}
	if r.Noise != nil {
		if r.Noise.Loc == nil {
			r.Noise.Loc = loc
		}
		ims, err := NoiseImages(r.Noise, prefix)
		if err != nil {
			return err
		}
		r.Images = append(r.Images, ims...)
	}
	return nil
}

// unit guesses a metric's unit from its name's suffix.
func unit(m string) string {
	for _, u := range []struct{ suffix, unit string }{{"_ms", "ms"}, {"_milliseconds", "ms"}, {"_seconds", "s"}, {"_us", "µs"}, {"_bytes", "bytes"}} {
		if strings.HasSuffix(m, u.suffix) {
			return u.unit
		}
	}
	return "value"
}

func hasValue(ps []Point) bool {
	for _, p := range ps {
		if !math.IsNaN(p.V) {
			return true
		}
	}
	return false
}

func slug(s string) string {
	var b strings.Builder
	for _, c := range strings.ToLower(s) {
		if c >= 'a' && c <= 'z' || c >= '0' && c <= '9' || c == '-' || c == '_' {
			b.WriteRune(c)
		} else {
			b.WriteByte('_')
		}
	}
	return b.String()
}

type series struct {
	Label  string
	Points []Point
}

var palette = []color.Color{
	color.RGBA{31, 119, 180, 255}, color.RGBA{255, 127, 14, 255}, color.RGBA{44, 160, 44, 255},
	color.RGBA{214, 39, 40, 255}, color.RGBA{148, 103, 189, 255}, color.RGBA{140, 86, 75, 255},
}

// chart is one line chart's texts and reference lines.
type chart struct {
	title, ylabel string
	loc           *time.Location
	// ref draws a dashed horizontal line at that value (NaN: none).
	ref      float64
	refLabel string
	// mark draws a dashed vertical line at that time where it falls within
	// the data (zero: none): the report period's start on a longer window.
	mark      time.Time
	markLabel string
}

// sans is the charts' font: the page's is sans-serif (report.css).
var sans = font.Font{Typeface: "Liberation", Variant: "Sans"}

// pageFonts is report.css's font stack, written into the SVG's text so
// that the charts show in the page's font wherever it has one (the layout
// is measured with Liberation Sans, of the same widths as Arial).
const pageFonts = "-apple-system, 'Segoe UI', Helvetica, Arial, 'Liberation Sans', sans-serif"

const chartW, chartH = 7 * vg.Inch, 3.5 * vg.Inch

// lineChart draws ss over time: a line per series, broken where a value is
// missing, the time axis spanning the points that have a value, and the
// legend in a column of its own on the right (it never covers a line,
// however many series there are).
func lineChart(o chart, ss []series) ([]byte, error) {
	p := plot.New()
	for _, st := range []*text.Style{&p.Title.TextStyle, &p.X.Label.TextStyle, &p.Y.Label.TextStyle, &p.X.Tick.Label, &p.Y.Tick.Label} {
		st.Font = font.From(sans, st.Font.Size)
	}
	p.Title.Text = o.title
	p.Y.Label.Text = o.ylabel
	p.X.Label.Text = "time (" + o.loc.String() + ")"
	leg := plot.NewLegend()
	leg.TextStyle.Font = font.From(sans, 10)
	leg.Top, leg.Left = true, true
	t0, t1 := math.Inf(1), math.Inf(-1)
	lo, hi := math.Inf(1), math.Inf(-1)
	for i, s := range ss {
		var seg plotter.XYs
		first := true
		flush := func() error {
			if len(seg) == 0 {
				return nil
			}
			l, pts, err := plotter.NewLinePoints(seg)
			if err != nil {
				return err
			}
			c := palette[i%len(palette)]
			l.Color, pts.Color = c, c
			l.Width = vg.Points(1.5)
			pts.Shape = draw.CircleGlyph{}
			pts.Radius = vg.Points(2)
			p.Add(l, pts)
			if first {
				leg.Add(s.Label, l)
				first = false
			}
			seg = nil
			return nil
		}
		for _, pt := range s.Points {
			if math.IsNaN(pt.V) {
				if err := flush(); err != nil {
					return nil, err
				}
				continue
			}
			x := float64(pt.T.Unix())
			t0, t1 = math.Min(t0, x), math.Max(t1, x)
			lo, hi = math.Min(lo, pt.V), math.Max(hi, pt.V)
			seg = append(seg, plotter.XY{X: x, Y: pt.V})
		}
		if err := flush(); err != nil {
			return nil, err
		}
	}
	if math.IsInf(t0, 0) { // nothing to draw: an empty frame
		t0, t1, lo, hi = 0, 0, 0, 1
	}
	if !math.IsNaN(o.ref) {
		lo, hi = math.Min(lo, o.ref), math.Max(hi, o.ref)
	}
	// Values from 0 (or below it, when some are negative) with head room
	// above the highest.
	lo = math.Min(lo, 0)
	if !(hi > lo) {
		hi = lo + 1
	}
	p.Y.Min, p.Y.Max = lo, hi+0.08*(hi-lo)
	if lo < 0 {
		p.Y.Min = lo - 0.05*(hi-lo)
	}
	if !math.IsNaN(o.ref) {
		l, err := plotter.NewLine(plotter.XYs{{X: t0, Y: o.ref}, {X: t1, Y: o.ref}})
		if err != nil {
			return nil, err
		}
		l.Color = color.RGBA{200, 0, 0, 255}
		l.Dashes = []vg.Length{vg.Points(4), vg.Points(3)}
		p.Add(l)
		leg.Add(o.refLabel, l)
	}
	if m := float64(o.mark.Unix()); !o.mark.IsZero() && m > t0 && m < t1 {
		l, err := plotter.NewLine(plotter.XYs{{X: m, Y: p.Y.Min}, {X: m, Y: p.Y.Max}})
		if err != nil {
			return nil, err
		}
		l.Color = color.RGBA{110, 119, 129, 255}
		l.Dashes = []vg.Length{vg.Points(2), vg.Points(2)}
		p.Add(l)
		leg.Add(o.markLabel, l)
	}
	// A margin on both sides of the time axis so that the first and last
	// labels are not cut at the image's edges; a lone point gets an hour.
	span := t1 - t0
	if span <= 0 {
		span = 7200
		t0, t1 = t0-3600, t1+3600
	}
	p.X.Min, p.X.Max = t0-span*0.03, t1+span*0.03
	p.Y.Min, p.Y.Max = math.Min(p.Y.Min, lo), math.Max(p.Y.Max, hi)
	p.Title.Padding = vg.Points(6)
	p.X.Tick.Marker = timeTicks(t0, t1, o.loc)
	p.Y.Tick.Marker = niceTicks{}
	p.Add(plotter.NewGrid())
	// The legend's column: its widest label and a thumbnail.
	var legW vg.Length
	for _, s := range ss {
		legW = max(legW, leg.TextStyle.Width(s.Label))
	}
	for _, l := range []string{o.refLabel, o.markLabel} {
		legW = max(legW, leg.TextStyle.Width(l))
	}
	legW += leg.ThumbnailWidth + leg.TextStyle.Width("  ") + vg.Points(20)
	legW = min(legW, chartW/3)
	c := vgsvg.New(chartW, chartH)
	dc := draw.New(c)
	p.Draw(draw.Crop(dc, 0, -legW, 0, 0))
	leg.Draw(draw.Crop(dc, chartW-legW+vg.Points(4), 0, 0, -vg.Points(24)))
	var buf bytes.Buffer
	if _, err := c.WriteTo(&buf); err != nil {
		return nil, err
	}
	return []byte(strings.ReplaceAll(buf.String(), "font-family:Liberation Sans;", "font-family:"+pageFonts+";")), nil
}

// tickSteps are the time axis's label intervals: the first that puts at
// most 7 intervals in the span is used.
var tickSteps = []time.Duration{time.Minute, 2 * time.Minute, 5 * time.Minute, 10 * time.Minute, 15 * time.Minute,
	30 * time.Minute, time.Hour, 2 * time.Hour, 3 * time.Hour, 6 * time.Hour, 12 * time.Hour,
	24 * time.Hour, 48 * time.Hour, 7 * 24 * time.Hour, 14 * 24 * time.Hour, 28 * 24 * time.Hour}

// timeTicks labels the time axis between t0 and t1 (unix seconds) at an
// interval chosen for the span (minutes, hours or days: a 15-minute chart
// gets labels every 2 or 5 minutes, a week one every day), aligned in loc
// (on the minute, on the hour, at midnight). Labels show the time of day
// within a day, with the date on the first and at each midnight; dates
// alone beyond.
func timeTicks(t0, t1 float64, loc *time.Location) plot.Ticker {
	return plot.TickerFunc(func(_, _ float64) []plot.Tick {
		span := time.Duration((t1 - t0) * float64(time.Second))
		step := tickSteps[len(tickSteps)-1]
		for _, s := range tickSteps {
			if span <= 7*s {
				step = s
				break
			}
		}
		from, to := time.Unix(int64(math.Ceil(t0)), 0).In(loc), time.Unix(int64(math.Floor(t1)), 0).In(loc)
		x := time.Date(from.Year(), from.Month(), from.Day(), 0, 0, 0, 0, loc)
		var ts []plot.Tick
		for ; !x.After(to); x = nextTick(x, step, loc) {
			if x.Before(from) {
				continue
			}
			format := "Jan 2"
			if step < 24*time.Hour {
				format = "15:04"
				if len(ts) == 0 || x.Hour() == 0 && x.Minute() == 0 {
					format = "Jan 2 15:04"
				}
			}
			ts = append(ts, plot.Tick{Value: float64(x.Unix()), Label: x.Format(format)})
		}
		if len(ts) == 0 { // a lone point (or a span shorter than a minute)
			ts = append(ts, plot.Tick{Value: t0, Label: from.Format("Jan 2 15:04")})
		}
		return ts
	})
}

// nextTick is x plus step, days counted on the calendar (a day across a
// daylight saving change is 23 or 25 hours, and the labels stay at
// midnight).
func nextTick(x time.Time, step time.Duration, loc *time.Location) time.Time {
	if step >= 24*time.Hour {
		y, m, d := x.Date()
		return time.Date(y, m, d+int(step/(24*time.Hour)), 0, 0, 0, 0, loc)
	}
	return x.Add(step)
}

// niceTicks labels the value axis every 1, 2 or 5 x 10^k, five or six
// labels, written as short as they go ("250", not "250.00"): plot's
// default gives two labels on most ranges.
type niceTicks struct{}

func (niceTicks) Ticks(min, max float64) []plot.Tick {
	if !(max > min) {
		return []plot.Tick{{Value: min, Label: strconv.FormatFloat(min, 'g', 6, 64)}}
	}
	raw := (max - min) / 5
	mag := math.Pow(10, math.Floor(math.Log10(raw)))
	step := mag
	for _, m := range []float64{1, 2, 5, 10} {
		if m*mag >= raw {
			step = m * mag
			break
		}
	}
	var out []plot.Tick
	for v := math.Ceil(min/step) * step; v <= max+step*1e-9; v += step {
		x := math.Round(v/step) * step // no 0.30000000000000004
		out = append(out, plot.Tick{Value: x, Label: strconv.FormatFloat(x, 'g', 6, 64)})
	}
	return out
}
