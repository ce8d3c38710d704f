package main

import (
	"bytes"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"time"
	_ "time/tzdata" // --tz works where the system has no zoneinfo

	"github.com/spf13/cobra"

	"github.com/vigil-metrics/vigil/alert/replay"
	"github.com/vigil-metrics/vigil/analyze"
	"github.com/vigil-metrics/vigil/cmd/internal/cli"
	"github.com/vigil-metrics/vigil/internal/vtime"
	"github.com/vigil-metrics/vigil/report"
)

type reportOptions struct {
	Period, At, Out, Format, Compare, TZ, File string
	Charts                                     bool
}

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
	// A state DB named but missing is an error before any work is done.
	if err := a.namedStateMissing(cmd); err != nil {
		return err
	}
	objs, err := a.objectives(o.File, "", "")
	if err != nil {
		return err
	}
	generated, err := generatedAt(a.now)
	if err != nil {
		return err
	}
	r := &report.Report{Title: cf.Report.Title, Period: period, PeriodText: o.Period, At: at, Loc: loc, Compare: o.Compare == "previous", Charts: o.Charts,
		Generated: generated}
	db, err := a.openAnalyze(cmd)
	if err != nil {
		return err
	}
	r.Stores = db.Stores
	err = report.Assemble(cmd.Context(), db, r, report.Inputs{Objectives: objs,
		Histograms: report.KeyHistograms(cf.RulePaths, objs, cf.Report.Metrics), Hosts: cf.Report.Hosts, Logger: a.log})
	if err == nil && cf.Report.AlertNoise != nil {
		r.Noise, err = a.reportNoise(cmd, db, cf.Report.AlertNoise, at, period, loc)
	}
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
	// Each file is replaced whole (atomicfile), the charts first.
	var images []report.Image
	if files {
		images = r.Images
	}
	return writeWithImages(o.Out, images, buf.Bytes())
}

// reportFile reads the config file's report: section and alert rules
// (none without a config file).
func (a *app) reportFile() (report.File, error) {
	if a.file == nil || a.file.Path == "" {
		return report.File{}, nil
	}
	f, err := report.FromConfig(a.file)
	if err != nil {
		return f, cli.Usage(err)
	}
	return f, nil
}

// reportAlerts summarises the state DB's history over (from, to]; nil
// when there is none (runReport has refused one named but missing).
func (a *app) reportAlerts(cmd *cobra.Command, from, to time.Time) (*report.Alerts, error) {
	run, done, err := a.stateSnapshot(cmd)
	if errors.Is(err, fs.ErrNotExist) {
		return nil, nil // "No alert history"
	}
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

// reportNoise is the "Alert noise" section (report: alert_noise:): the
// config's alert rules and slos: replayed as vigil replay does, over
// alert_noise.from (default: the period) back from the report's end.
func (a *app) reportNoise(cmd *cobra.Command, db *analyze.DB, nc *report.NoiseConfig, at time.Time, period time.Duration,
	loc *time.Location) (*report.Noise, error) {
	cfg, err := a.loadAlertConfig()
	if err != nil {
		return nil, err
	}
	objs, err := a.configObjectives(a.file)
	if err != nil {
		return nil, err
	}
	back, step := nc.FromDuration, nc.StepDuration
	if back == 0 {
		back = period
	}
	if step == 0 {
		step = cfg.Settings.EvaluationInterval
	}
	from := at.Add(-back)
	if n := at.Sub(from) / step; n < 1 || n > maxReplaySteps {
		return nil, cli.Usagef("%s: report: alert_noise: %d runs of %s over %s: want 1 to %d (a longer step: or a shorter from:)",
			a.file.Path, n, vtime.FormatDuration(step), vtime.FormatDuration(back), maxReplaySteps)
	}
	res, err := replay.Run(cmd.Context(), db, replay.Options{Config: cfg, Objectives: objs, From: from, To: at, Step: step, Log: a.log})
	if err != nil {
		return nil, err
	}
	for _, w := range res.Warnings {
		fmt.Fprintf(a.stderr, "vigil: warning: alert noise: %s\n", w)
	}
	return &report.Noise{Replay: res, Loc: loc}, nil
}

// maxSourceDateEpoch is 9999-12-31T23:59:59Z: a later "Generated" has a
// five-digit year, and a larger value is a mistake, not a date.
const maxSourceDateEpoch = 253402300799

// generatedAt is the report's "Generated" time: the wall clock, or
// SOURCE_DATE_EPOCH (reproducible-builds.org) when set, so that a report
// made twice from the same data is the same file (golden tests, the demo).
// Set but empty is unset; malformed or out of range (a fraction, spaces,
// an exponent, a negative or a far-future value) is a usage error, as the
// spec asks, never the wall clock or a wrapped date in silence (h30 D14).
func generatedAt(now func() time.Time) (time.Time, error) {
	v := os.Getenv("SOURCE_DATE_EPOCH")
	if v == "" {
		return now(), nil
	}
	s, err := strconv.ParseInt(v, 10, 64)
	if err != nil || s < 0 || s > maxSourceDateEpoch || strings.TrimLeft(v, "0123456789") != "" {
		return time.Time{}, cli.Usagef("SOURCE_DATE_EPOCH %q: want unix seconds, a whole number from 0 to %d (9999-12-31T23:59:59Z)", v, maxSourceDateEpoch)
	}
	return time.Unix(s, 0).UTC(), nil
}
