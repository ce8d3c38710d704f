// Package tune derives a rule's threshold from its metric's history (the
// reference design's DynamicThresholdManager: the 95th percentile of 7
// days x 1.2, applied only when it moved by more than 0.1), with a robust
// (median absolute deviation) and a seasonal (hour of day or of week)
// method, and replays the history to compare the old threshold with the
// new one.
//
// The history of a rule is its metric_path evaluated over consecutive,
// tumbling windows of its evaluation_window across the baseline window,
// the last ending at the tuning time: one value per window and label set,
// every label set's values pooled into one distribution (the rule has one
// threshold).
//
// Decisions:
//   - Percentiles are type 7 (numpy's default), as analyze computes them.
//   - percentile: greater_than / greater_or_equal rules take
//     p(percentile) x factor; less_than / less_or_equal rules the low tail,
//     p(100 - percentile) / factor.
//   - mad: median + k x MAD (less_than: median - k x MAD), MAD =
//     median(|x - median|), unscaled (not x 1.4826), and no factor: k is
//     the method's one scale.
//   - seasonal: the history windows are put in hour slots (UTC) by the
//     hour of their last instant (end - 1 ms), hour of the day (24 slots)
//     or of the week (168, Monday 00:00 the first); the threshold is the
//     percentile method over the slot of the tuning time (at - 1 ms, the
//     last instant its evaluation window covers). It needs three seasons
//     of history (from the first window with data to at: 3 days, or 3
//     weeks), else it falls back to the percentile method and says so.
//     min_samples counts the slot's values.
//   - min_samples counts the values the statistic is taken of; fewer keep
//     the old threshold.
//   - Hysteresis: the new threshold is applied only when |new - old| >
//     hysteresis and, if hysteresis_percent > 0, |new - old| >
//     hysteresis_percent% of |old|. A NaN old threshold is always replaced.
//   - Conditions other than the four comparisons (equals, not_equals,
//     absent, spike) have no dynamic threshold: nothing is applied and
//     the reason says so.
package tune

import (
	"context"
	"fmt"
	"math"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/vigil-metrics/vigil/alert/config"
	"github.com/vigil-metrics/vigil/alert/eval"
	"github.com/vigil-metrics/vigil/alert/state"
	"github.com/vigil-metrics/vigil/analyze"
	"github.com/vigil-metrics/vigil/internal/metricpath"
)

// Source is the history a rule is tuned from; *analyze.DB is one.
type Source interface {
	// Buckets evaluates a path over n tumbling windows of length bucket,
	// the last ending at end (analyze.DB.Buckets).
	Buckets(ctx context.Context, e *metricpath.Expr, end time.Time, bucket time.Duration, n int) ([]analyze.BucketSeries, error)
	// Sliding evaluates a path over n windows of length window whose ends
	// are step apart, the last ending at end (analyze.DB.Sliding).
	Sliding(ctx context.Context, e *metricpath.Expr, end time.Time, step, window time.Duration, n int) ([]analyze.BucketSeries, error)
}

// Backtest is a replay of the baseline window at the evaluation interval
// under the old and the new threshold: the firing episodes started, and
// the time spent firing (steps firing x interval).
type Backtest struct {
	OldFires, NewFires                 int
	OldFiringSeconds, NewFiringSeconds float64
}

// Result is one rule's tuning. New is the computed threshold even when it
// is not applied (NaN when none could be computed); Reason says how it was
// computed and why it was, or was not, applied.
type Result struct {
	Rule, MetricPath, Method string
	Old, New                 float64
	Applied                  bool
	Reason                   string
	Samples                  int
	Backtest                 *Backtest
}

// Tune computes rule r's threshold from the history before at (old is its
// current threshold) and, with backtest, replays the baseline window at
// interval (settings.evaluation_interval; 0 means 1m) under both.
func Tune(ctx context.Context, src Source, r *config.Rule, old float64, at time.Time, interval time.Duration, backtest bool) (Result, error) {
	tn := withDefaults(r.Tuning)
	res := Result{Rule: r.Name, MetricPath: r.MetricPath, Method: tn.Method, Old: old, New: math.NaN()}
	if interval <= 0 {
		interval = time.Minute
	}
	var low bool
	switch r.Condition {
	case "greater_than", "greater_or_equal":
	case "less_than", "less_or_equal":
		low = true
	default:
		res.Reason = fmt.Sprintf("condition %s has no dynamic threshold: kept %s", r.Condition, num(old))
		return res, nil
	}
	if r.EvaluationWindow <= 0 {
		return res, fmt.Errorf("rule %s: evaluation_window must be positive", r.Name)
	}
	e, err := eval.Expr(r)
	if err != nil {
		return res, err
	}
	n := int(tn.BaselineWindow / r.EvaluationWindow)
	var hist []analyze.BucketSeries
	if n > 0 {
		if hist, err = src.Buckets(ctx, e, at, r.EvaluationWindow, n); err != nil {
			return res, fmt.Errorf("rule %s: history: %w", r.Name, err)
		}
	}
	var how string
	var vals []float64
	res.New, vals, how = compute(tn, hist, n, r.EvaluationWindow, at, low)
	res.Samples = len(vals)
	switch {
	case len(vals) < tn.MinSamples || len(vals) == 0:
		res.Reason = fmt.Sprintf("%d samples < min_samples %d%s: kept %s", len(vals), tn.MinSamples, fallbackNote(how), num(old))
	case math.IsNaN(res.New) || math.IsInf(res.New, 0):
		res.Reason = fmt.Sprintf("%s is %s: kept %s", how, num(res.New), num(old))
	default:
		moved := math.Abs(res.New - old)
		switch {
		case math.IsNaN(old):
			res.Applied = true
			res.Reason = fmt.Sprintf("%s = %s; no previous threshold", how, num(res.New))
		case !(moved > tn.Hysteresis):
			res.Reason = fmt.Sprintf("%s = %s; moved %s <= hysteresis %s", how, num(res.New), num(moved), num(tn.Hysteresis))
		case tn.HysteresisPercent > 0 && !(moved > tn.HysteresisPercent/100*math.Abs(old)):
			res.Reason = fmt.Sprintf("%s = %s; moved %s <= hysteresis_percent %s%% of %s", how, num(res.New), num(moved), num(tn.HysteresisPercent), num(old))
		default:
			res.Applied = true
			res.Reason = fmt.Sprintf("%s = %s; moved %s > hysteresis %s", how, num(res.New), num(moved), num(tn.Hysteresis))
			if tn.HysteresisPercent > 0 {
				res.Reason += fmt.Sprintf(" and %s%% of %s", num(tn.HysteresisPercent), num(old))
			}
		}
	}
	if backtest {
		bt, note, err := replay(ctx, src, r, e, old, res.New, at, tn.BaselineWindow, interval)
		if err != nil {
			return res, fmt.Errorf("rule %s: backtest: %w", r.Name, err)
		}
		res.Backtest = bt
		if note != "" {
			res.Reason += "; " + note
		}
	}
	return res, nil
}

func fallbackNote(how string) string {
	if i := strings.Index(how, " (seasonal"); i >= 0 {
		return how[i:]
	}
	return ""
}

// withDefaults fills what a Tuning built by hand (not by the config
// loader) may lack with DefaultTuning's values.
func withDefaults(t config.Tuning) config.Tuning {
	d := config.DefaultTuning()
	if t.Method == "" {
		t.Method = d.Method
	}
	if t.Percentile == 0 {
		t.Percentile = d.Percentile
	}
	if t.BaselineWindow <= 0 {
		t.BaselineWindow = d.BaselineWindow
	}
	if t.Factor == 0 {
		t.Factor = d.Factor
	}
	if t.MADK == 0 {
		t.MADK = d.MADK
	}
	if t.Season == "" {
		t.Season = d.Season
	}
	return t
}

// compute returns the new threshold, the values it was taken of and how.
func compute(tn config.Tuning, hist []analyze.BucketSeries, n int, win time.Duration, at time.Time, low bool) (float64, []float64, string) {
	var all []float64
	first := -1 // the oldest window with data
	for _, s := range hist {
		for i, v := range s.Values {
			if !math.IsNaN(v) {
				all = append(all, v)
				if first < 0 || i < first {
					first = i
				}
			}
		}
	}
	over := " over " + dur(tn.BaselineWindow)
	if tn.Method != "seasonal" {
		return threshold(tn, all, low), all, describe(tn, len(all), low) + over
	}
	season := 24 * time.Hour
	if tn.Season == "week" {
		season = 7 * 24 * time.Hour
	}
	have := 0
	if first >= 0 {
		have = int(time.Duration(n-first) * win / season)
	}
	if have < 3 {
		tp := tn
		tp.Method = "percentile"
		return threshold(tp, all, low), all, fmt.Sprintf("%s%s (seasonal needs 3 %ss of history, have %d: fell back to percentile)",
			describe(tp, len(all), low), over, tn.Season, have)
	}
	want := slot(at.Add(-time.Millisecond), tn.Season)
	var in []float64
	for _, s := range hist {
		for i, v := range s.Values {
			end := at.Add(-time.Duration(n-1-i) * win)
			if !math.IsNaN(v) && slot(end.Add(-time.Millisecond), tn.Season) == want {
				in = append(in, v)
			}
		}
	}
	tp := tn
	tp.Method = "percentile"
	label := fmt.Sprintf("hour %02d", want)
	if tn.Season == "week" {
		label = fmt.Sprintf("hour %d of the week (%s %02d)", want, time.Weekday((want/24+1)%7), want%24)
	}
	return threshold(tp, in, low), in, fmt.Sprintf("%s in %s (UTC)%s", describe(tp, len(in), low), label, over)
}

// slot is t's hour of the day, or of the week from Monday 00:00, in UTC.
func slot(t time.Time, season string) int {
	t = t.UTC()
	if season == "week" {
		return (int(t.Weekday())+6)%7*24 + t.Hour()
	}
	return t.Hour()
}

func describe(tn config.Tuning, n int, low bool) string {
	if tn.Method == "mad" {
		if low {
			return fmt.Sprintf("median - %s x MAD of %d values", num(tn.MADK), n)
		}
		return fmt.Sprintf("median + %s x MAD of %d values", num(tn.MADK), n)
	}
	if low {
		return fmt.Sprintf("p%s of %d values / %s", num(100-tn.Percentile), n, num(tn.Factor))
	}
	return fmt.Sprintf("p%s of %d values x %s", num(tn.Percentile), n, num(tn.Factor))
}

// threshold is the method's statistic of vals (NaN for none).
func threshold(tn config.Tuning, vals []float64, low bool) float64 {
	if len(vals) == 0 {
		return math.NaN()
	}
	v := slices.Clone(vals)
	if tn.Method == "mad" {
		med := analyze.Percentile(v, 0.5)
		dev := make([]float64, len(v))
		for i, x := range vals {
			dev[i] = math.Abs(x - med)
		}
		mad := analyze.Percentile(dev, 0.5)
		if low {
			return med - tn.MADK*mad
		}
		return med + tn.MADK*mad
	}
	if low {
		return analyze.Percentile(v, (100-tn.Percentile)/100) / tn.Factor
	}
	return analyze.Percentile(v, tn.Percentile/100) * tn.Factor
}

// replay steps every label set through alert/state.StepPolicy (the
// rule's for and nodata) at each interval across the baseline window,
// the rule's value at step t being its path over (t - evaluation_window,
// t], once under each threshold. A label set without a value at a step is
// a no-data observation. A fire is a step entering Firing. A NaN
// threshold (none computed) never fires.
func replay(ctx context.Context, src Source, r *config.Rule, e *metricpath.Expr, old, nw float64, at time.Time, baseline, interval time.Duration) (*Backtest, string, error) {
	n := int(baseline / interval)
	if n <= 0 {
		return &Backtest{}, "", nil
	}
	series, err := src.Sliding(ctx, e, at, interval, r.EvaluationWindow, n)
	if err != nil {
		return nil, "", err
	}
	bt := &Backtest{}
	nodata := r.NoData
	if nodata == "" {
		nodata = state.NoDataOK
	}
	run := func(th float64) (int, float64) {
		fires, firing := 0, 0
		if math.IsNaN(th) {
			return 0, 0
		}
		for _, s := range series {
			a := state.NewAlert(r.Name, s.Labels)
			for j, v := range s.Values {
				t := at.Add(-time.Duration(n-1-j) * interval)
				obs := state.Observation{Value: v}
				if !math.IsNaN(v) || s.Samples[j] > 0 {
					obs.HasData, obs.Breached = true, eval.Breached(r.Condition, v, th)
				}
				was := a.State
				a = state.StepPolicy(a, obs, t, r.For, nodata)
				if a.State == state.Firing {
					firing++
					if was != state.Firing {
						fires++
					}
				}
			}
		}
		return fires, float64(firing) * interval.Seconds()
	}
	bt.OldFires, bt.OldFiringSeconds = run(old)
	bt.NewFires, bt.NewFiringSeconds = run(nw)
	note := fmt.Sprintf("backtest over %s at %s: %d fires (%s firing) with %s, %d (%s) with %s", dur(baseline), dur(interval),
		bt.OldFires, dur(time.Duration(bt.OldFiringSeconds)*time.Second), num(old), bt.NewFires, dur(time.Duration(bt.NewFiringSeconds)*time.Second), num(nw))
	return bt, note, nil
}

func num(v float64) string { return strconv.FormatFloat(v, 'g', 6, 64) }

// dur writes whole days as "7d", else as time.Duration does, without a
// trailing "0s" or "0m".
func dur(d time.Duration) string {
	if d > 0 && d%(24*time.Hour) == 0 {
		return strconv.Itoa(int(d/(24*time.Hour))) + "d"
	}
	s := d.String()
	if strings.HasSuffix(s, "m0s") {
		s = strings.TrimSuffix(s, "0s")
	}
	if strings.HasSuffix(s, "h0m") {
		s = strings.TrimSuffix(s, "0m")
	}
	return s
}
