// Package numfmt writes numbers as vigil's CLI prints them, so that a
// notice, a table and a report say the same number the same way.
package numfmt

import (
	"math"
	"strconv"
	"strings"
	"time"

	"github.com/vigil-metrics/vigil/internal/vtime"
)

// Value keeps short values exact and rounds long ones to 6 significant
// digits: 0.25 stays 0.25, 5.095541401273885 reads 5.09554.
func Value(v float64) string {
	if math.IsNaN(v) {
		return "NaN"
	}
	s := strconv.FormatFloat(v, 'f', -1, 64)
	if len(s) <= 12 {
		return s
	}
	return strconv.FormatFloat(v, 'g', 6, 64)
}

// Percent writes a ratio (0.25) as a percentage ("25%"), through Value.
func Percent(ratio float64) string {
	return Value(ratio*100) + "%"
}

// IsRatio says whether a metric or unit names a ratio, whose values
// people read as percentages: the unit "ratio" or "percentunit" (Grafana's
// name for a 0..1 ratio), or a metric name ending in _ratio (Prometheus'
// naming convention). A path that divides two paths is a ratio too: the
// caller knows that from the parsed path.
func IsRatio(metric, unit string) bool {
	switch strings.ToLower(unit) {
	case "ratio", "percentunit":
		return true
	}
	if i := strings.IndexAny(metric, "{["); i >= 0 {
		metric = metric[:i]
	}
	return strings.HasSuffix(strings.TrimSpace(metric), "_ratio")
}

// Span writes a duration for people, as vigil budget prints a time to
// exhaustion: minutes up to two days, days with one decimal beyond.
func Span(d time.Duration) string {
	if d < time.Minute/2 {
		return "0m" // rounds to no minute: the rest is (all but) used up
	}
	if d >= 48*time.Hour {
		return strconv.FormatFloat(math.Round(d.Hours()/24*10)/10, 'f', -1, 64) + "d"
	}
	return vtime.FormatDuration(d.Round(time.Minute))
}

// Apart is Value of v and of t, with as many more significant digits as
// it takes for them to differ when they differ but would print the same:
// a value that crossed its threshold never reads as the threshold
// ("0.9999 (threshold 0.9999)"), nor on its wrong side.
func Apart(v, t float64) (string, string) {
	a, b := Value(v), Value(t)
	if a != b || v == t || math.IsNaN(v) || math.IsNaN(t) {
		return a, b
	}
	for p := 7; p <= 17; p++ {
		if a, b = strconv.FormatFloat(v, 'g', p, 64), strconv.FormatFloat(t, 'g', p, 64); a != b {
			break
		}
	}
	return a, b
}

// PercentApart is Apart for two ratios written as percentages.
func PercentApart(v, t float64) (string, string) {
	a, b := Apart(v*100, t*100)
	return a + "%", b + "%"
}
