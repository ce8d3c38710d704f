package main

import (
	"bytes"
	"context"
	"errors"
	"io/fs"
	"math"
	"os"
	"path/filepath"
	"slices"
	"sort"
	"strings"
	"time"
	_ "time/tzdata" // --tz works where the system has no zoneinfo

	"github.com/spf13/cobra"

	"github.com/vigil-metrics/vigil/analyze"
	"github.com/vigil-metrics/vigil/analyze/slo"
	"github.com/vigil-metrics/vigil/cmd/internal/cli"
	"github.com/vigil-metrics/vigil/internal/metricpath"
	"github.com/vigil-metrics/vigil/internal/vtime"
	"github.com/vigil-metrics/vigil/report"
)

type reportOptions struct {
	Period, At, Out, Format, Compare, TZ, File string
	Charts                                     bool
}

// resourceMetrics are the resources section's gauges, each reported per
// host when the stores have it.
var resourceMetrics = []string{"cpu_usage_percent", "memory_usage_percent", "disk_usage_percent", "gpu_utilization_percent"}

// latencyQuantiles are the latency section's percentiles.
var latencyQuantiles = []string{"p50", "p90", "p95", "p99"}

func newReportCmd(a *app) *cobra.Command {
	o := &reportOptions{}
	cmd := &cobra.Command{
		Use:   "report",
		Short: "Write a period's report: SLOs, error budgets, alerts, latency and resources (markdown or HTML)",
		Long: `Write a report of the period (--at minus --period, --at] as GitHub-flavoured
markdown: highlights, service level objectives (as vigil slo finds them:
target, actual, met, budget consumed, burn rate and the trend since the
previous period), error budgets (as vigil budget computes them), alerts
from the state DB (fired, resolved, mean time to resolve, noisiest rules,
open incidents, notifications sent and failed), the latency percentiles of
the key histograms, and each host's CPU, memory, disk and GPU.

Key histograms are those the alert rules take percentiles of, the SLOs'
histograms, and the config's report.metrics. A section with no data says
so in one line.

Charts: each objective's error budget burn-down and each key histogram's
p95 over the period (per day, or per hour for periods under two days) as
SVG, and p95 sparklines in the latency table. With --out report.md the
SVGs are written beside it (report-budget-SERVICE-SLI.svg,
report-latency-METRIC.svg) and linked; markdown on stdout has only the
sparklines. --format html writes one self-contained file with the charts
inlined. --charts=false leaves them all out. See docs/report.md.`,
		Example: `  vigil report --db vigil.db --period 7d --out weekly.md
  vigil report --config examples/vigil.yaml --db demo/vigil.db --at 2026-11-29T12:00:00Z --tz Europe/Berlin`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error { return a.runReport(cmd, o) },
	}
	cmd.Flags().StringVar(&o.Period, "period", "7d", "the period reported on, ending at --at (1d, 7d, 30d)")
	cmd.Flags().StringVar(&o.At, "at", "", "end of the period and generation time, RFC 3339 or unix seconds (default now)")
	cmd.Flags().StringVar(&o.Out, "out", "", "write the report to this file (default stdout)")
	cmd.Flags().StringVar(&o.Format, "format", "markdown", "output format: markdown or html (one self-contained file)")
	cmd.Flags().BoolVar(&o.Charts, "charts", true, "draw charts (SVG) and sparklines; --charts=false leaves them out")
	cmd.Flags().StringVar(&o.Compare, "compare", "previous", "compare with: previous (the period before) or none")
	cmd.Flags().StringVar(&o.TZ, "tz", "UTC", "time zone for the times shown (IANA name, e.g. Europe/Berlin)")
	cmd.Flags().StringVar(&o.File, "slo-file", "", "objectives file: slos: entries or OpenSLO v1 documents")
	addStateFlag(cmd)
	addDBFlag(cmd.Flags(), false)
	return cmd
}

func (a *app) runReport(cmd *cobra.Command, o *reportOptions) error {
	if !slices.Contains(report.Formats, o.Format) {
		return cli.Usagef("--format %q: want markdown or html", o.Format)
	}
	period, err := vtime.ParseDuration(o.Period)
	if err != nil || period <= 0 || period%time.Millisecond != 0 {
		return cli.Usagef("--period %q: want a positive duration like 1d, 7d, 30d", o.Period)
	}
	if o.Compare != "previous" && o.Compare != "none" {
		return cli.Usagef("--compare %q: want previous or none", o.Compare)
	}
	loc, err := time.LoadLocation(o.TZ)
	if err != nil {
		return cli.Usagef("--tz %q: %v", o.TZ, err)
	}
	at, err := a.at(o.At)
	if err != nil {
		return err
	}
	cf, err := a.reportFile()
	if err != nil {
		return err
	}
	objs, err := a.objectives(o.File, "", "")
	if err != nil {
		return err
	}
	r := &report.Report{Title: cf.Report.Title, Period: period, PeriodText: o.Period, At: at, Loc: loc, Compare: o.Compare == "previous", Charts: o.Charts}
	db, err := a.openAnalyze(cmd)
	if err != nil {
		return err
	}
	err = a.reportData(cmd.Context(), db, r, objs, cf)
	db.Close()
	if err != nil {
		return err
	}
	if r.Alerts, err = a.reportAlerts(cmd, r.From(), at); err != nil {
		return err
	}
	r.Highlights = report.Highlights(r)
	// Images: inlined in HTML, beside a markdown file, none on stdout.
	files := o.Format == "markdown" && o.Out != ""
	if o.Charts && (o.Format == "html" || files) {
		prefix := "report"
		if o.Out != "" {
			prefix = strings.TrimSuffix(filepath.Base(o.Out), filepath.Ext(o.Out))
		}
		if err := report.BuildImages(r, prefix); err != nil {
			return err
		}
	}
	var buf bytes.Buffer
	if err := report.Render(&buf, r, o.Format); err != nil {
		return err
	}
	if o.Out == "" {
		_, err = a.stdout.Write(buf.Bytes())
		return err
	}
	if files {
		for _, im := range r.Images {
			if err := os.WriteFile(filepath.Join(filepath.Dir(o.Out), im.File), im.SVG, 0o644); err != nil {
				return err
			}
		}
	}
	return os.WriteFile(o.Out, buf.Bytes(), 0o644)
}

// reportFile reads the config file's report: section and alert rules
// (none without a config file).
func (a *app) reportFile() (report.File, error) {
	file := a.cfgFile
	if file == "" {
		file = "vigil.yaml"
	}
	data, err := os.ReadFile(file)
	if errors.Is(err, fs.ErrNotExist) && a.cfgFile == "" {
		return report.File{}, nil
	}
	if err != nil {
		return report.File{}, cli.Usagef("read config %s: %v", file, err)
	}
	f, err := report.ParseFile(file, data)
	if err != nil {
		return f, cli.Usage(err)
	}
	return f, nil
}

func (a *app) reportData(ctx context.Context, db *analyze.DB, r *report.Report, objs []slo.Objective, cf report.File) error {
	r.Stores = db.Stores
	at, prevAt := r.At, r.At.Add(-r.Period)
	ev, prevEv := slo.NewEvaluator(db, at), slo.NewEvaluator(db, prevAt)
	for _, ob := range objs {
		b, err := budgetOf(ctx, ev, ob, at)
		if err != nil {
			return err
		}
		e, err := ev.Events(ctx, ob, ob.Window.Length(at))
		if err != nil {
			return err
		}
		s := report.SLO{Service: ob.Service, SLI: ob.SLI, Window: ob.Window.String(), TargetPercent: ob.Target.Percent(),
			Good: e.Good, Total: e.Total, Percent: e.Percent(), NoData: !(e.Total > 0), Invalid: e.Total < ob.MinEvents,
			ConsumptionPercent: b.ConsumptionPercent, BurnRate: b.BurnRates[ob.Window.String()]}
		s.Met = !s.Invalid && e.Met(ob.Target)
		if r.Compare {
			p, err := prevEv.Events(ctx, ob, ob.Window.Length(prevAt))
			if err != nil {
				return err
			}
			s.Previous = &report.SLOPoint{Percent: p.Percent(), NoData: !(p.Total > 0)}
		}
		r.SLOs = append(r.SLOs, s)
		rb := report.Budget{Service: b.Service, SLI: b.SLI, Window: b.Window, ConsumptionPercent: b.ConsumptionPercent,
			RemainingMinutes: round2(b.RemainingMinutes, 1), Exhausted: b.Exhausted, NoData: b.NoData, BurnRate1h: b.BurnRates["1h"]}
		if b.TimeToExhaustionSeconds != nil {
			d := time.Duration(*b.TimeToExhaustionSeconds * float64(time.Second))
			rb.TimeToExhaustion = &d
		}
		for _, x := range b.Alerts {
			rb.Alerts = append(rb.Alerts, report.BudgetAlert{Severity: x.Severity, Reason: x.Reason})
		}
		if r.Charts && !b.NoData {
			if rb.Burn, err = burnDown(ctx, db, ob, at, r.Period); err != nil {
				return err
			}
		}
		r.Budgets = append(r.Budgets, rb)
	}

	eval := func(path string, at time.Time) ([]analyze.Result, error) {
		e, err := metricpath.Parse(path)
		if err != nil {
			return nil, err
		}
		rs, err := db.Eval(ctx, e, analyze.Window{At: at, Length: r.Period})
		var qe *analyze.QueryError
		if errors.As(err, &qe) { // a metric of another type than the section reads: not reported
			a.log.Warn("report: metric skipped", "path", path, "err", err)
			return nil, nil
		}
		return rs, err
	}
	for _, m := range keyHistograms(objs, cf) {
		rows := map[string]*report.Latency{}
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
					l = &report.Latency{Metric: m, Service: svc}
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
			if err := latencyTrend(ctx, db, m, at, r.Period, rows); err != nil {
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
	}

	hosts := map[string]bool{}
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
			if h == "" || (len(cf.Report.Hosts) > 0 && !slices.Contains(cf.Report.Hosts, h)) {
				continue
			}
			hosts[h] = true
			res := report.Resource{Host: h, Metric: m, Avg: x.Value, PrevAvg: byHost(prev, h)}
			if p := byHost(peak, h); p != nil {
				res.Max = *p
			}
			r.Resources = append(r.Resources, res)
		}
	}
	sort.SliceStable(r.Resources, func(i, j int) bool { return r.Resources[i].Host < r.Resources[j].Host })
	for h := range hosts {
		r.Hosts = append(r.Hosts, h)
	}
	sort.Strings(r.Hosts)
	return nil
}

// burnDown is ob's budget consumption (%) at each step's end over the
// period: the events from the start of ob's window ending at at, to the
// step's end (vigil budget's consumption at at for the last step).
func burnDown(ctx context.Context, db *analyze.DB, ob slo.Objective, at time.Time, period time.Duration) ([]report.Point, error) {
	start := ob.Window.Bounds(at)
	step, n := report.Steps(period)
	out := make([]report.Point, 0, n)
	for i := n - 1; i >= 0; i-- {
		t := at.Add(-time.Duration(i) * step)
		p := report.Point{T: t, V: math.NaN()}
		if t.After(start) {
			e, err := slo.NewEvaluator(db, t).Events(ctx, ob, t.Sub(start))
			if err != nil {
				return nil, err
			}
			if e.Total > 0 {
				p.V = e.Consumption(ob.Target)
			}
		}
		out = append(out, p)
	}
	return out, nil
}

// latencyTrend sets each service's p95 of metric per step of the period
// (one query: analyze's Buckets).
func latencyTrend(ctx context.Context, db *analyze.DB, metric string, at time.Time, period time.Duration, rows map[string]*report.Latency) error {
	e, err := metricpath.Parse(metric + ".p95 by (service)")
	if err != nil {
		return err
	}
	step, n := report.Steps(period)
	ss, err := db.Buckets(ctx, e, at, step, n)
	if err != nil {
		var qe *analyze.QueryError
		if errors.As(err, &qe) {
			return nil
		}
		return err
	}
	for _, s := range ss {
		l := rows[s.Labels["service"]]
		if l == nil {
			continue
		}
		l.Trend = make([]report.Point, n)
		for i, v := range s.Values {
			l.Trend[i] = report.Point{T: at.Add(-time.Duration(n-1-i) * step), V: v}
		}
	}
	return nil
}

// keyHistograms are the latency section's metrics: those the alert rules
// take percentiles (or count_le) of, the SLOs' histograms, and the
// config's report.metrics, in that order, each once.
func keyHistograms(objs []slo.Objective, cf report.File) []string {
	var out []string
	add := func(m string) {
		if m != "" && !slices.Contains(out, m) {
			out = append(out, m)
		}
	}
	for _, p := range cf.RulePaths {
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
	for _, m := range cf.Report.Metrics {
		add(strings.TrimSpace(m))
	}
	return out
}

// reportAlerts summarises the state DB's history over (from, to]; nil
// when there is no state DB.
func (a *app) reportAlerts(cmd *cobra.Command, from, to time.Time) (*report.Alerts, error) {
	p := a.cfg.State
	if f, _ := cmd.Flags().GetString("state"); f != "" {
		p = f
	}
	if p == "" {
		p = "vigil-state.db"
	}
	if _, err := os.Stat(p); errors.Is(err, fs.ErrNotExist) {
		return nil, nil
	}
	run, done, err := a.stateSnapshot(cmd)
	if err != nil {
		return nil, err
	}
	defer done()
	evs, err := run.Events(time.Unix(0, 0))
	if err != nil {
		return nil, err
	}
	atts, err := run.Attempts(from)
	if err != nil {
		return nil, err
	}
	incs, err := run.Incidents()
	if err != nil {
		return nil, err
	}
	return report.Summarize(evs, atts, incs, from, to), nil
}
