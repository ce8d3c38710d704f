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
	"gonum.org/v1/plot/plotter"
	"gonum.org/v1/plot/vg"
	"gonum.org/v1/plot/vg/draw"

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
// each hour's when the period is shorter than two days (at most 24 points
// beyond: the period split in 24).
func Steps(period time.Duration) (step time.Duration, n int) {
	switch {
	case period >= 48*time.Hour && period%(24*time.Hour) == 0:
		return 24 * time.Hour, int(period / (24 * time.Hour))
	case period <= 48*time.Hour && period%time.Hour == 0:
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
		svg, err := lineChart(fmt.Sprintf("Error budget consumed: %s (%s window)", name, b.Window),
			"budget consumed (%)", loc, []series{{name, b.Burn}}, 100, "budget (100%)")
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
		if !hasValue(l.Trend) {
			continue
		}
		if _, ok := byMetric[l.Metric]; !ok {
			metrics = append(metrics, l.Metric)
		}
		label := safetext.Terminal(l.Service)
		if label == "" {
			label = "(no service)"
		}
		byMetric[l.Metric] = append(byMetric[l.Metric], series{label, l.Trend})
	}
	for _, m := range metrics {
		svg, err := lineChart("Latency p95: "+safetext.Terminal(m), "p95 ("+unit(m)+")", loc, byMetric[m], math.NaN(), "")
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

// lineChart draws ss over time (a line per series, broken where a value
// is missing) with a dashed horizontal line at ref when ref is a number.
func lineChart(title, ylabel string, loc *time.Location, ss []series, ref float64, refLabel string) ([]byte, error) {
	p := plot.New()
	p.Title.Text = title
	p.Y.Label.Text = ylabel
	p.X.Label.Text = "time (" + loc.String() + ")"
	p.Legend.Top = true
	p.Legend.Left = true
	t0, t1 := math.Inf(1), math.Inf(-1)
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
				p.Legend.Add(s.Label, l)
				first = false
			}
			seg = nil
			return nil
		}
		for _, pt := range s.Points {
			x := float64(pt.T.Unix())
			t0, t1 = math.Min(t0, x), math.Max(t1, x)
			if math.IsNaN(pt.V) {
				if err := flush(); err != nil {
					return nil, err
				}
				continue
			}
			seg = append(seg, plotter.XY{X: x, Y: pt.V})
		}
		if err := flush(); err != nil {
			return nil, err
		}
	}
	p.Y.Min = 0
	if !math.IsNaN(ref) {
		l, err := plotter.NewLine(plotter.XYs{{X: t0, Y: ref}, {X: t1, Y: ref}})
		if err != nil {
			return nil, err
		}
		l.Color = color.RGBA{200, 0, 0, 255}
		l.Dashes = []vg.Length{vg.Points(4), vg.Points(3)}
		p.Add(l)
		p.Legend.Add(refLabel, l)
		if p.Y.Max < ref*1.1 {
			p.Y.Max = ref * 1.1
		}
	}
	// Head room above the data for the legend (top left), so it never
	// covers a line, and a margin on both sides of the time axis so the
	// first and last date labels are not cut at the image's edges.
	p.Y.Max *= 1.3
	if span := t1 - t0; span > 0 {
		p.X.Min, p.X.Max = t0-span*0.03, t1+span*0.05
	}
	p.Legend.XOffs, p.Legend.YOffs = vg.Points(8), vg.Points(-4)
	p.Title.Padding = vg.Points(6)
	p.X.Tick.Marker = timeTicks(t0, t1, loc)
	p.Y.Tick.Marker = niceTicks{}
	p.Add(plotter.NewGrid())
	wt, err := p.WriterTo(7*vg.Inch, 3.5*vg.Inch, "svg")
	if err != nil {
		return nil, err
	}
	var buf bytes.Buffer
	if _, err := wt.WriteTo(&buf); err != nil {
		return nil, err
	}
	return buf.Bytes(), nil
}

// timeTicks labels at most 8 days (6 hours, within two days) of the steps between t0 and t1 (unix
// seconds): dates, or times of day when they are within two days.
func timeTicks(t0, t1 float64, loc *time.Location) plot.Ticker {
	return plot.TickerFunc(func(min, max float64) []plot.Tick {
		span := t1 - t0
		format, step, most := "Jan 2", 86400.0, 8.0
		if span <= 2*86400 {
			format, step, most = "Jan 2 15:04", 3600, 6
		}
		n := math.Floor(span/step) + 1
		k := math.Max(1, math.Ceil(n/most))
		var ts []plot.Tick
		for x := t1; x >= t0-1e-9; x -= step * k {
			ts = append([]plot.Tick{{Value: x, Label: time.Unix(int64(x), 0).In(loc).Format(format)}}, ts...)
		}
		return ts
	})
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
