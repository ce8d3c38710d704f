// Command vigil-bench measures vigil's performance targets side by side in
// one run, so that the ratios hold even on a noisy machine. Its sections
// (-sections, all by default):
//
//   - import: `vigil import` of the same samples as JSON Lines, CSV and
//     OpenMetrics text, each into a fresh store, against promtool's
//     backfill of the OpenMetrics file; with -import-big-gb, the import of
//     a big JSON Lines file and its peak RSS;
//   - query: at each -query-rows size, the sqlite3 CLI's full scan of the
//     store (the floor for reading it at all) and `vigil query` cold, warm
//     with the cache synced, and warm after 1% new rows, with peak RSS;
//     then the warm p95 as users time it (table output), each run right
//     after a scan, with both's CPU time beside their wall time;
//   - demo: a warm query on the demo store against `vigil version`, the
//     floor of any vigil command;
//   - evaluate: `vigil evaluate` of 200 alert rules (-eval-rules) over a
//     store of a day (-eval-span) of 1,000 series (-eval-series) at 10 s,
//     imported with `vigil import`: warm runs a minute apart against 1 s
//     and 500 MiB of peak RSS;
//   - slo: `vigil slo` then `vigil budget` of 30-day objectives for 20
//     services (-slo-services) over 30 days (-slo-days) of the reference
//     design's SLI counters at 10 s, imported with `vigil import`, each
//     service also with an OpenSLO objective over one-minute time slices
//     (Timeslices or RatioTimeslices): warm, both together against 2 s;
//   - report: `vigil report --period 7d` over a store of 10M samples of
//     the query section's shape, with a latency objective and the store's
//     histogram as a key one: cold, then warm (markdown with its SVG
//     charts, --format html, --charts=false), best of 3, against 3 s;
//   - tune: `vigil threshold tune --dry-run` of 100 dynamic rules
//     (percentile, mad and seasonal) over 7 days of 100 series at 10 s
//     (6.05M samples), imported with `vigil import`: warm, best of 3,
//     against 2 s, with peak RSS and one --backtest run for reference;
//   - replay: `vigil replay` of the evaluate section's rules, with
//     channels, routing, correlation, a silence and a rate limit, over a
//     store of -replay-span (30 days) of its series at one sample a
//     minute, imported with `vigil import`, at 1-minute steps (43,200):
//     warm, one run, against 20 s and 1 GiB of peak RSS, with the time per
//     rule-step;
//   - source: `vigil query` warm over the same samples (-source-samples)
//     in a store and in a real Prometheus (promtool's blocks): a
//     percentile from the raw samples, and a max pushed down to PromQL;
//   - serve: issue 28's query_range of sum by (service) (rate(x_total[5m]))
//     over 1,000 counters and quantile_over_time(0.99, g[5m]) over 100
//     gauges, a day at 1m, against `vigil serve` and a real Prometheus
//     over the same samples (promtool's blocks), warm, interleaved, the
//     answers compared, against 2x Prometheus, with both's peak RSS;
//   - agent: vigil-agent against prometheus-node-exporter, CPU and RSS.
//
// Each section prints its figures; a final table gives every measure with
// its ratio, target and whether it is met. All commands measured run as
// subprocesses, as a user runs them, with their peak RSS from rusage.
package main

import (
	"errors"
	"flag"
	"fmt"
	"os"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/vigil-metrics/vigil/internal/vtime"
)

// config is the command line.
type config struct {
	dir, vigil, sqlite, promtool string
	prometheus                   string
	sourceSamples                int
	sourceBase                   string
	agentBin, nodeExporter       string
	agentSpan                    time.Duration
	series                       int
	importRows                   int
	importBigGB                  float64
	queryRows                    []int
	evalSeries, evalRules        int
	evalSpan                     time.Duration
	replaySpan                   time.Duration
	sloServices, sloDays         int
	serveInterval                time.Duration
	serveProfile                 string
	sections                     []string
}

// section is one part of the bench; sections run in this order.
type section struct {
	name string
	run  func(*config) ([]row, error)
}

var sections = []section{
	{"import", benchImport},
	{"query", benchQuery},
	{"demo", benchDemo},
	{"evaluate", benchEvaluate},
	{"slo", benchSLO},
	{"report", benchReport},
	{"tune", benchTune},
	{"replay", benchReplay},
	{"source", benchSource},
	{"serve", benchServe},
	{"agent", func(c *config) ([]row, error) { return benchAgent(c.dir, c.agentBin, c.nodeExporter, c.agentSpan) }},
}

func main() {
	cfg, err := parseFlags(os.Args[1:])
	if err != nil {
		fmt.Fprintln(os.Stderr, "vigil-bench:", err)
		os.Exit(2)
	}
	os.RemoveAll(cfg.dir)
	if err := os.MkdirAll(cfg.dir, 0o755); err != nil {
		fmt.Fprintln(os.Stderr, "vigil-bench:", err)
		os.Exit(1)
	}
	var rows []row
	failed := false
	for _, s := range sections {
		if !slices.Contains(cfg.sections, s.name) {
			continue
		}
		// A failed section still leaves the others' figures worth having.
		r, err := s.run(cfg)
		rows = append(rows, r...)
		if err != nil {
			fmt.Fprintf(os.Stderr, "vigil-bench: %s: %v\n", s.name, err)
			failed = true
		}
	}
	fmt.Println("summary (ratio: value / vs; ok: target met, - for reference figures)")
	printTable(os.Stdout, rows)
	if failed {
		os.Exit(1)
	}
}

func parseFlags(args []string) (*config, error) {
	cfg := &config{}
	fs := flag.NewFlagSet("vigil-bench", flag.ContinueOnError)
	fs.StringVar(&cfg.dir, "dir", ".bench", "work folder (replaced)")
	fs.StringVar(&cfg.vigil, "vigil", "bin/vigil", "the vigil binary to measure")
	fs.StringVar(&cfg.sqlite, "sqlite3", "sqlite3", "the sqlite3 CLI")
	fs.StringVar(&cfg.promtool, "promtool", "promtool", "promtool, to compare the import with (skipped if not found)")
	fs.StringVar(&cfg.agentBin, "agent", "bin/vigil-agent", "the vigil-agent binary to measure (empty: skip the agent section)")
	fs.StringVar(&cfg.nodeExporter, "node-exporter", "prometheus-node-exporter", "node exporter to compare the agent with")
	fs.DurationVar(&cfg.agentSpan, "agent-span", 60*time.Second, "how long to run the agent")
	fs.IntVar(&cfg.series, "series", 1000, "series in the synthetic data (import and query)")
	importRows := fs.String("import-rows", "3e6", "samples in each import file (a multiple of -series)")
	fs.Float64Var(&cfg.importBigGB, "import-big-gb", 0, "also import a JSON Lines file of this many GB (0: skip)")
	queryRows := fs.String("query-rows", "3e6,10e6", "store sizes for the query section, comma-separated")
	fs.IntVar(&cfg.evalSeries, "eval-series", evalFullSeries, "series in the evaluate section's store")
	fs.IntVar(&cfg.evalRules, "eval-rules", evalFullRules, "alert rules in the evaluate section's config")
	fs.DurationVar(&cfg.evalSpan, "eval-span", evalFullSpan, "time the evaluate section's store spans, one sample per series every 10s")
	replaySpan := fs.String("replay-span", vtime.FormatDuration(replayFullSpan), "time the replay section's store spans and is replayed over at 1m, one sample per series a minute (7d, 48h ...)")
	fs.IntVar(&cfg.sloServices, "slo-services", sloFullServices, "services in the slo section's store and objectives")
	fs.IntVar(&cfg.sloDays, "slo-days", sloFullDays, "days the slo section's store spans, one sample per series every 10s")
	fs.StringVar(&cfg.prometheus, "prometheus", "prometheus", "Prometheus, for the source section (skipped if not found)")
	fs.StringVar(&cfg.sourceBase, "source-base", "", "another vigil binary (an earlier build) to time the source section's raw query over the same Prometheus with (empty: none)")
	sourceSamples := fs.String("source-samples", "1e6", "samples in the source section's store and Prometheus")
	fs.DurationVar(&cfg.serveInterval, "serve-interval", 15*time.Second, "the serve section's sample interval (a multiple of 5s that divides a day)")
	fs.StringVar(&cfg.serveProfile, "serve-cpuprofile", "", "write vigil serve's CPU profile there (VIGIL_CPUPROFILE) in the serve section")
	sectionList := fs.String("sections", "import,query,demo,evaluate,slo,report,tune,replay,source,serve,agent", "sections to run, comma-separated (import, query, demo, evaluate, slo, report, tune, replay, source, serve, agent)")
	if err := fs.Parse(args); err != nil {
		return nil, err
	}
	var err error
	if cfg.importRows, err = parseCount(*importRows); err != nil {
		return nil, fmt.Errorf("-import-rows: %w", err)
	}
	for _, s := range strings.Split(*queryRows, ",") {
		n, err := parseCount(s)
		if err != nil {
			return nil, fmt.Errorf("-query-rows: %w", err)
		}
		cfg.queryRows = append(cfg.queryRows, n)
	}
	if cfg.sourceSamples, err = parseCount(*sourceSamples); err != nil || cfg.sourceSamples < sourceSeries {
		return nil, fmt.Errorf("-source-samples: want %d or more", sourceSeries)
	}
	if cfg.replaySpan, err = vtime.ParseDuration(*replaySpan); err != nil || cfg.replaySpan < replayMinSpan || cfg.replaySpan%replayStep != 0 {
		return nil, fmt.Errorf("-replay-span: %q: want whole minutes, %s at least (the rules' windows and the injected incidents)", *replaySpan, vtime.FormatDuration(replayMinSpan))
	}
	// Multiples of 5 s keep the samples, 7 s past them, off the queries'
	// whole minutes.
	if cfg.serveInterval <= 0 || serveSpan%cfg.serveInterval != 0 || cfg.serveInterval%(5*time.Second) != 0 {
		return nil, fmt.Errorf("-serve-interval: %s: want a multiple of 5s that divides a day (15s, 30s)", cfg.serveInterval)
	}
	if cfg.sections, err = parseSections(*sectionList); err != nil {
		return nil, err
	}
	if cfg.agentBin == "" {
		cfg.sections = slices.DeleteFunc(cfg.sections, func(s string) bool { return s == "agent" })
	}
	if cfg.series <= 0 {
		return nil, errors.New("-series: want a positive count")
	}
	if cfg.evalSeries <= 0 || cfg.evalRules <= 0 {
		return nil, errors.New("-eval-series, -eval-rules: want a positive count")
	}
	if cfg.sloServices <= 0 || cfg.sloDays <= 0 {
		return nil, errors.New("-slo-services, -slo-days: want a positive count")
	}
	if cfg.evalSpan < evalLead+evalRuns*time.Minute+time.Hour {
		return nil, fmt.Errorf("-eval-span: want %s at least, for the rules' windows of up to 1h before the runs", evalLead+evalRuns*time.Minute+time.Hour)
	}
	return cfg, nil
}

// parseCount reads a positive count, also as 3e6 or 3_000_000 (the sizes
// are easier to read that way).
func parseCount(s string) (int, error) {
	f, err := strconv.ParseFloat(strings.ReplaceAll(strings.TrimSpace(s), "_", ""), 64)
	if err != nil || f < 1 || f != float64(int(f)) {
		return 0, fmt.Errorf("%q: want a positive whole count like 3000000 or 3e6", s)
	}
	return int(f), nil
}

func parseSections(list string) ([]string, error) {
	var out []string
	for _, name := range strings.Split(list, ",") {
		name = strings.TrimSpace(name)
		if !slices.ContainsFunc(sections, func(s section) bool { return s.name == name }) {
			return nil, fmt.Errorf("-sections: unknown section %q (want import, query, demo, evaluate, slo, report, tune, replay, source, serve or agent)", name)
		}
		out = append(out, name)
	}
	return out, nil
}
