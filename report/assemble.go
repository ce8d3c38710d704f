package report

import (
	"context"
	"errors"
	"log/slog"
	"math"
	"slices"
	"sort"
	"strings"
	"time"

	"github.com/vigil-metrics/vigil/analyze"
	"github.com/vigil-metrics/vigil/analyze/slo"
	"github.com/vigil-metrics/vigil/internal/metricpath"
)

// resourceMetrics are the resources section's gauges, each reported per
// host when the stores have it.
var resourceMetrics = []string{"cpu_usage_percent", "memory_usage_percent", "disk_usage_percent", "gpu_utilization_percent"}

// latencyQuantiles are the latency section's percentiles.
var latencyQuantiles = []string{"p50", "p90", "p95", "p99"}

// Source answers the metric paths a report asks; *analyze.DB is one.
type Source interface {
	Eval(ctx context.Context, e *metricpath.Expr, w analyze.Window) ([]analyze.Result, error)
	Buckets(ctx context.Context, e *metricpath.Expr, end time.Time, bucket time.Duration, n int) ([]analyze.BucketSeries, error)
}

// Inputs are what a report covers.
type Inputs struct {
	Objectives []slo.Objective
	// Histograms are the latency section's metrics (see KeyHistograms).
	Histograms []string
	// Hosts limits the resources section to these hosts (none: all).
	Hosts []string
	// Logger hears of the metrics left out (nil: nobody).
	Logger *slog.Logger
}

// Assemble fills r's SLO, budget, latency and resource sections with what
// src answers over r's period (r.At, r.Period; the period before it too
// when r.Compare; the charts' series when r.Charts). The numbers are
// analyze's (the SLOs and budgets as vigil slo and vigil budget compute
// them); this only arranges them.
func Assemble(ctx context.Context, src Source, r *Report, in Inputs) error {
	if in.Logger == nil {
		in.Logger = slog.New(slog.DiscardHandler)
	}
	if err := assembleSLOs(ctx, src, r, in.Objectives); err != nil {
		return err
	}
	eval := func(path string, at time.Time) ([]analyze.Result, error) {
		e, err := metricpath.Parse(path)
		if err != nil {
			return nil, err
		}
		rs, err := src.Eval(ctx, e, analyze.Window{At: at, Length: r.Period})
		var qe *analyze.QueryError
		if errors.As(err, &qe) { // a metric of another type than the section reads: not reported
			in.Logger.Warn("report: metric skipped", "path", path, "err", err)
			return nil, nil
		}
		return rs, err
	}
	hists := in.Histograms
	if lister, ok := src.(histogramLister); ok && len(hists) == 0 {
		// Nothing names a key histogram: the stores' most sampled ones
		// rather than "No latency data" over a store full of it.
		var err error
		if hists, err = lister.SampledHistograms(ctx, r.At.Add(-r.Period), r.At, autoHistograms); err != nil {
			return err
		}
		r.LatencyAuto = len(hists) > 0
	}
	for _, m := range hists {
		if err := assembleLatency(ctx, src, r, m, eval); err != nil {
			return err
		}
	}
	return assembleResources(r, in.Hosts, eval)
}

// histogramLister lists the stores' histograms by samples in a period;
// *analyze.DB is one.
type histogramLister interface {
	SampledHistograms(ctx context.Context, start, end time.Time, n int) ([]string, error)
}

// autoHistograms is how many histograms the latency section shows when
// none is configured.
const autoHistograms = 3

// evalFunc evaluates a path over the report's period ending at at.
type evalFunc func(path string, at time.Time) ([]analyze.Result, error)

// assembleSLOs adds each objective's SLO (at the period's end and, when
// comparing, the previous one's) and budget.
func assembleSLOs(ctx context.Context, src Source, r *Report, objs []slo.Objective) error {
	at, prevAt := r.At, r.At.Add(-r.Period)
	ev := slo.NewEvaluator(src, at)
	prevEv := ev.AtTime(prevAt) // shares the time slices read
	for _, ob := range objs {
		b, err := slo.BudgetOf(ctx, ev, ob)
		if err != nil {
			return err
		}
		e := b.Events
		s := SLO{Service: ob.Service, SLI: ob.SLIName(), Window: ob.Window.String(), TargetPercent: ob.Target.Percent(),
			Good: e.Good, Total: e.Total, Percent: e.Percent(), NoData: !(e.Total > 0), Invalid: b.Invalid != "",
			ConsumptionPercent: b.ConsumptionPercent, BurnRate: b.BurnRates[ob.Window.String()],
			PercentText: slo.SLIText(e, ob.Target), TargetText: ob.Target.Text(), ConsumedText: slo.ConsumptionText(e, ob.Target, ob.BudgetAlertPercent),
			BurnText: b.BurnTexts[ob.Window.String()]}
		s.Met = !s.Invalid && e.Met(ob.Target)
		s.InvalidReason = b.Invalid
		// A note only where the data starts materially after the window
		// does (a store that began a minute late covers 99.99%).
		if c := b.Coverage; c.Known && ob.MinCoverage > 0 && c.Percent < 99 {
			s.Coverage = &c
		}
		if r.Compare {
			// Not judged (it only feeds the trend): clamped, as a burn
			// window is, so good ahead of total at its edge is no error.
			p, err := prevEv.BurnEvents(ctx, ob, ob.Window.Length(prevAt))
			if err != nil {
				return err
			}
			s.Previous = &SLOPoint{Percent: p.Percent(), NoData: !(p.Total > 0)}
		}
		r.SLOs = append(r.SLOs, s)
		rb := Budget{Service: ob.Service, SLI: ob.SLIName(), Window: ob.Window.String(), ConsumptionPercent: b.ConsumptionPercent,
			ConsumedText:     slo.ConsumptionText(e, ob.Target, ob.BudgetAlertPercent),
			RemainingMinutes: b.RemainingMinutes, Exhausted: b.Exhausted, NoData: b.NoData, Invalid: b.Invalid != "", BurnRate1h: b.BurnRates["1h"],
			BurnText1h: b.BurnTexts["1h"]}
		if b.TimeToExhaustion != nil {
			// Through the seconds vigil budget prints, so that the two
			// agree to the nanosecond.
			d := time.Duration(b.TimeToExhaustion.Seconds() * float64(time.Second))
			rb.TimeToExhaustion = &d
		}
		for _, x := range b.Alerts {
			rb.Alerts = append(rb.Alerts, BudgetAlert{Severity: x.Severity, Reason: x.Reason})
		}
		if r.Charts && !b.NoData {
			if rb.Burn, err = burnDown(ctx, ev, ob); err != nil {
				return err
			}
		}
		r.Budgets = append(r.Budgets, rb)
	}
	return nil
}

// assembleLatency adds histogram m's percentiles per service (and their
// trend, and the previous period's p95).
func assembleLatency(ctx context.Context, src Source, r *Report, m string, eval evalFunc) error {
	at, prevAt := r.At, r.At.Add(-r.Period)
	rows := map[string]*Latency{}
	var order []string
	for _, q := range latencyQuantiles {
		rs, err := eval(m+"."+q+" by (service)", at)
		if err != nil {
			return err
		}
		for _, x := range rs {
			svc := x.Labels["service"]
			l := rows[svc]
			if l == nil {
				l = &Latency{Metric: m, Service: svc}
				rows[svc] = l
				order = append(order, svc)
			}
			switch q {
			case "p50":
				l.P50 = x.Value
			case "p90":
				l.P90 = x.Value
			case "p95":
				l.P95 = x.Value
			case "p99":
				l.P99 = x.Value
			}
		}
	}
	if r.Charts && len(rows) > 0 {
		if err := latencyTrend(ctx, src, m, at, r.Period, rows); err != nil {
			return err
		}
	}
	if r.Compare && len(rows) > 0 {
		rs, err := eval(m+".p95 by (service)", prevAt)
		if err != nil {
			return err
		}
		for _, x := range rs {
			if l := rows[x.Labels["service"]]; l != nil {
				v := x.Value
				l.PrevP95 = &v
			}
		}
	}
	sort.Strings(order)
	for _, s := range order {
		r.Latency = append(r.Latency, *rows[s])
	}
	return nil
}

// assembleResources adds each host's average and peak of the resource
// metrics (only hosts' when hosts names any), and the hosts seen.
func assembleResources(r *Report, hosts []string, eval evalFunc) error {
	at, prevAt := r.At, r.At.Add(-r.Period)
	seen := map[string]bool{}
	for _, m := range resourceMetrics {
		avg, err := eval(m+".avg by (host)", at)
		if err != nil {
			return err
		}
		if len(avg) == 0 {
			continue
		}
		peak, err := eval(m+".max by (host)", at)
		if err != nil {
			return err
		}
		var prev []analyze.Result
		if r.Compare {
			if prev, err = eval(m+".avg by (host)", prevAt); err != nil {
				return err
			}
		}
		byHost := func(rs []analyze.Result, h string) *float64 {
			for _, x := range rs {
				if x.Labels["host"] == h {
					v := x.Value
					return &v
				}
			}
			return nil
		}
		for _, x := range avg {
			h := x.Labels["host"]
			if h == "" || (len(hosts) > 0 && !slices.Contains(hosts, h)) {
				continue
			}
			seen[h] = true
			res := Resource{Host: h, Metric: m, Avg: x.Value, PrevAvg: byHost(prev, h)}
			if p := byHost(peak, h); p != nil {
				res.Max = *p
			}
			r.Resources = append(r.Resources, res)
		}
	}
	sort.SliceStable(r.Resources, func(i, j int) bool { return r.Resources[i].Host < r.Resources[j].Host })
	for h := range seen {
		r.Hosts = append(r.Hosts, h)
	}
	sort.Strings(r.Hosts)
	return nil
}

// burnDown is ob's error budget remaining (%) over its SLO window ending
// at ev's time, as Pyrra's and sloth's dashboards chart it: 100 at the
// window's start, less each bad event's share of the whole window's budget
// ((1 - target) x the window's events), below 0 once overspent, at each
// step's end (a day's, or an hour's within two days: Steps of the
// window). The last point is 100 less vigil budget's consumption. The
// steps' evaluators share ev's time slices (a sliced objective's paths are
// read once for the whole chart). Nil without events in the window.
func burnDown(ctx context.Context, ev *slo.Evaluator, ob slo.Objective) ([]Point, error) {
	at := ev.At
	start := ob.Window.Bounds(at)
	whole, err := ev.BurnEvents(ctx, ob, at.Sub(start)) // not judged: clamped
	if err != nil || !(whole.Total > 0) {
		return nil, err
	}
	allowed := whole.Total * ob.Target.BudgetPercent() / 100
	step, n := Steps(at.Sub(start))
	out := make([]Point, 0, n+1)
	out = append(out, Point{T: start, V: 100})
	for i := n - 1; i >= 0; i-- {
		t := at.Add(-time.Duration(i) * step)
		if !t.After(start) {
			continue
		}
		e, err := ev.AtTime(t).BurnEvents(ctx, ob, t.Sub(start))
		if err != nil {
			return nil, err
		}
		out = append(out, Point{T: t, V: 100 * (1 - e.Bad()/allowed)})
	}
	return out, nil
}

// latencyTrend sets each service's p95 of metric per step of the period
// (one query: analyze's Buckets).
func latencyTrend(ctx context.Context, src Source, metric string, at time.Time, period time.Duration, rows map[string]*Latency) error {
	e, err := metricpath.Parse(metric + ".p95 by (service)")
	if err != nil {
		return err
	}
	step, n := Steps(period)
	trends, err := p95Steps(ctx, src, e, at, step, n)
	if err != nil || trends == nil {
		return err
	}
	for svc, ps := range trends {
		if l := rows[svc]; l != nil {
			l.Trend, l.Chart = ps, ps
		}
	}
	// Data in the last steps only (a store a day old in a weekly report):
	// the chart gets finer steps over the span that has data, so that it
	// shows a line rather than a dot at its right edge. The sparkline
	// keeps the period's steps (its caption names them).
	for range 3 {
		first, last := n, -1
		for _, ps := range trends {
			for i, p := range ps {
				if !math.IsNaN(p.V) {
					first, last = min(first, i), max(last, i)
				}
			}
		}
		if last < 0 || last-first+1 >= 4 || n == 1 {
			return nil
		}
		at = at.Add(-time.Duration(n-1-last) * step) // the chart ends with the data
		covered := time.Duration(last-first+1) * step
		if step, n = Steps(covered); n <= 1 {
			return nil
		}
		if trends, err = p95Steps(ctx, src, e, at, step, n); err != nil || trends == nil {
			return err
		}
		for svc, ps := range trends {
			if l := rows[svc]; l != nil {
				l.Chart = ps
			}
		}
	}
	return nil
}

// p95Steps is e's value per service at each of n steps ending at at (one
// query: analyze's Buckets); nil when the metric is not of a type the
// path reads.
func p95Steps(ctx context.Context, src Source, e *metricpath.Expr, at time.Time, step time.Duration, n int) (map[string][]Point, error) {
	ss, err := src.Buckets(ctx, e, at, step, n)
	if err != nil {
		var qe *analyze.QueryError
		if errors.As(err, &qe) {
			return nil, nil
		}
		return nil, err
	}
	out := map[string][]Point{}
	for _, s := range ss {
		ps := make([]Point, n)
		for i, v := range s.Values {
			ps[i] = Point{T: at.Add(-time.Duration(n-1-i) * step), V: v}
		}
		out[s.Labels["service"]] = ps
	}
	return out, nil
}

// KeyHistograms are the latency section's metrics: those the alert rules'
// paths take percentiles (or count_le) of, the objectives' histograms,
// and the config's report metrics, in that order, each once.
func KeyHistograms(rulePaths []string, objs []slo.Objective, metrics []string) []string {
	var out []string
	add := func(m string) {
		if m != "" && !slices.Contains(out, m) {
			out = append(out, m)
		}
	}
	for _, p := range rulePaths {
		e, err := metricpath.Parse(p)
		if err != nil {
			continue // vigil check reports it
		}
		for _, s := range []*metricpath.Selector{&e.Num, e.Den} {
			if s != nil && (s.Agg.Kind == metricpath.Percentile || s.Agg.Kind == metricpath.CountLE) {
				add(s.Name)
			}
		}
	}
	for _, ob := range objs {
		add(ob.Histogram)
	}
	for _, m := range metrics {
		add(strings.TrimSpace(m))
	}
	return out
}
