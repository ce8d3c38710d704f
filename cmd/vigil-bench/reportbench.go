package main

import (
	"context"
	"fmt"
	"math/rand/v2"
	"os"
	"path/filepath"
	"time"
)

// The report target: `vigil report --period 7d` (markdown with --out, its
// SVG charts written beside it; and --format html) over the query
// section's 10M-sample store, cache warm, within reportTargetS.
const (
	reportTargetS = 3.0
	reportRows    = 10_000_000
	reportRuns    = 3
)

// reportConfig makes bench_metric a key histogram of the report.
const reportConfig = "report:\n  title: vigil-bench report\n  metrics: [bench_metric]\n"

// reportSLOs are a latency objective over bench_metric (count_le for the
// good events, so the burn-down has data) and the default availability
// one (no events in the bench store: its one line).
const reportSLOs = `slos:
  - service: bench
    target: 99
    latency_target: 95
    histogram: 'bench_metric'
    threshold_ms: 100
`

// benchReport builds the query section's store shape at 10M samples
// (-series series, one sample per series per second, ending at end), runs
// one report to build the cache, then times warm reports: markdown with
// its charts, markdown without (--charts=false) and HTML.
func benchReport(cfg *config) ([]row, error) {
	ctx := context.Background()
	db := filepath.Join(cfg.dir, "report-10M.db")
	if err := removeStore(db); err != nil {
		return nil, err
	}
	if _, _, err := buildStore(ctx, db, cfg.series, reportRows, rand.New(rand.NewPCG(1, 2))); err != nil {
		return nil, err
	}
	conf, slos := filepath.Join(cfg.dir, "report.yaml"), filepath.Join(cfg.dir, "report-slos.yaml")
	if err := os.WriteFile(conf, []byte(reportConfig), 0o644); err != nil {
		return nil, err
	}
	if err := os.WriteFile(slos, []byte(reportSLOs), 0o644); err != nil {
		return nil, err
	}
	out := filepath.Join(cfg.dir, "report-out")
	if err := os.MkdirAll(out, 0o755); err != nil {
		return nil, err
	}
	// No state DB: none at the default path beside the config (a --state
	// named but missing is an error).
	if err := removeStore(filepath.Join(cfg.dir, "vigil-state.db")); err != nil {
		return nil, err
	}
	report := func(format, file string, extra ...string) func() (run, error) {
		return func() (run, error) {
			args := append([]string{"report", "--config", conf, "--slo-file", slos, "--db", db,
				"--at", end.Format(time.RFC3339), "--period", "7d", "--format", format, "--out", filepath.Join(out, file)}, extra...)
			return measure(cfg.vigil, args...)
		}
	}
	cold, err := report("markdown", "report.md")()
	if err != nil {
		return nil, fmt.Errorf("cold report: %w", err)
	}
	md, err := repeat(reportRuns, report("markdown", "report.md"))
	if err != nil {
		return nil, fmt.Errorf("warm report: %w", err)
	}
	plain, err := repeat(reportRuns, report("markdown", "plain.md", "--charts=false"))
	if err != nil {
		return nil, fmt.Errorf("warm report --charts=false: %w", err)
	}
	html, err := repeat(reportRuns, report("html", "report.html"))
	if err != nil {
		return nil, fmt.Errorf("warm report --format html: %w", err)
	}
	svgs, _ := filepath.Glob(filepath.Join(out, "report-*.svg"))
	fmt.Printf("report: vigil report --period 7d over %s samples of bench_metric (%d series), 2 objectives, 1 key histogram; %d charts; best of %d\n",
		humanCount(reportRows), cfg.series, len(svgs), reportRuns)
	secs := func(d time.Duration) float64 { return d.Seconds() }
	target := func(name string, rs runs) row {
		b := secs(rs.best())
		return row{measure: name, value: fmt.Sprintf("%.2f", b), ratio: b / reportTargetS, vs: fmt.Sprintf("%g s", reportTargetS),
			target: fmt.Sprintf("<= %g s", reportTargetS), ok: verdict(b <= reportTargetS)}
	}
	rows := []row{
		{measure: "report 7d cold, builds the cache (s)", value: fmt.Sprintf("%.2f", secs(cold.wall)), ratio: secs(cold.wall) / reportTargetS,
			vs: fmt.Sprintf("%g s", reportTargetS), target: "ref", ok: noTarget},
		target("report 7d warm, markdown + SVG charts (s)", md),
		target("report 7d warm, --format html (s)", html),
		{measure: "report 7d warm, --charts=false (s)", value: fmt.Sprintf("%.2f", secs(plain.best())), ratio: secs(plain.best()) / reportTargetS,
			vs: fmt.Sprintf("%g s", reportTargetS), target: "ref", ok: noTarget},
		{measure: "report peak RSS warm (MiB)", value: fmt.Sprintf("%.0f", mib(max(md.peakRSS(), html.peakRSS()))), target: "ref", ok: noTarget},
	}
	for _, r := range rows {
		fmt.Printf("  %-44s %8s\n", r.measure, r.value)
	}
	return rows, nil
}
