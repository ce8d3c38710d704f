package main

import (
	"encoding/json"
	"fmt"
	"math"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"
)

// The tune target: `vigil threshold tune --dry-run` of tuneRules dynamic
// rules over tuneSeries series for tuneSpan at 10 s (6.05M samples), the
// cache warm, within tuneTargetS.
const (
	tuneTargetS  = 2.0
	tuneRuns     = 3
	tuneRules    = 100
	tuneSeries   = 100
	tuneSpan     = 7 * 24 * time.Hour
	tuneInterval = 10 * time.Second
)

// tuneMethods are the rules' methods, in turn: a third each.
var tuneMethods = []string{"percentile", "mad", "seasonal"}

type tuneResult struct {
	stored   // first: the first tune
	warm     runs
	backtest run // one run with --backtest, for reference
	applied  int
	counts   map[string]int // rules by method
}

// benchTune builds a week of a latency gauge for 100 services (a daily
// cycle plus noise), then times `vigil threshold tune --dry-run` of 100
// dynamic rules over it (one per service; percentile, mad and seasonal in
// turn, each over the default 7-day baseline at a 5m evaluation window),
// warm, best of tuneRuns.
func benchTune(cfg *config) ([]row, error) {
	steps := int(tuneSpan / tuneInterval)
	res := tuneResult{counts: map[string]int{}}
	res.samples = steps * tuneSeries
	rows, err := tuneStore(cfg, steps, &res)
	printTuneTable(&res)
	return rows, err
}

func tuneStore(cfg *config, steps int, res *tuneResult) ([]row, error) {
	name := fmt.Sprintf("threshold tune --dry-run %d rules %s", tuneRules, humanCount(res.samples))
	fail := func(err error) ([]row, error) {
		return []row{res.importFailed("tune"), failed(name+" first run (s)", "ref"),
			failed(bestOf(name, tuneRuns), secsTarget(tuneTargetS)),
			failed(name+" warm peak RSS (MiB)", "ref"), failed(name+" --backtest (s)", "ref")}, err
	}
	db, err := res.importJSONL(cfg, "tune", func(path string) error { return writeTuneData(path, steps) })
	if err != nil {
		return fail(err)
	}
	conf := filepath.Join(cfg.dir, "tune.yaml")
	if err := writeTuneRules(conf); err != nil {
		return fail(fmt.Errorf("write %s: %w", conf, err))
	}
	statePath := filepath.Join(cfg.dir, "tune-state.db")
	tune := func(extra ...string) (run, error) {
		args := append([]string{"threshold", "tune", "--config", conf, "--db", db, "--state", statePath,
			"--at", end.Format(time.RFC3339), "--dry-run", "-o", "json"}, extra...)
		return measure(cfg.vigil, args...)
	}
	if err := res.runFirst("tune", func() (run, error) { return tune() }); err != nil {
		return fail(err)
	}
	warm, err := repeat(tuneRuns, func() (run, error) { return tune() })
	if err != nil {
		return fail(fmt.Errorf("warm tune: %w", err))
	}
	res.warm = warm
	if err := checkTune(warm[len(warm)-1].out, res); err != nil {
		return fail(err)
	}
	if res.backtest, err = tune("--backtest"); err != nil {
		return fail(fmt.Errorf("tune --backtest: %w", err))
	}
	return []row{
		res.importRow("tune"),
		secsRow(name+" first run (s)", res.first.wall),
		targetRow(bestOf(name, len(warm)), warm.best(), tuneTargetS, true),
		mibRow(name+" warm peak RSS (MiB)", warm.peakRSS()),
		secsRow(name+" --backtest (s)", res.backtest.wall),
	}, nil
}

// checkTune makes sure the run tuned every rule from data: a run that
// found nothing would time nothing worth having.
func checkTune(out []byte, res *tuneResult) error {
	var doc struct {
		Thresholds []struct {
			Method  string `json:"method"`
			Applied bool   `json:"applied"`
			Samples int    `json:"samples"`
			Reason  string `json:"reason"`
		} `json:"thresholds"`
	}
	if err := json.Unmarshal(out, &doc); err != nil {
		return fmt.Errorf("vigil threshold tune -o json: %w", err)
	}
	if len(doc.Thresholds) != tuneRules {
		return fmt.Errorf("tuned %d rules, want %d", len(doc.Thresholds), tuneRules)
	}
	for _, t := range doc.Thresholds {
		if t.Samples == 0 {
			return fmt.Errorf("a rule was tuned from no samples: %s", t.Reason)
		}
		res.counts[t.Method]++
		if t.Applied {
			res.applied++
		}
	}
	return nil
}

func printTuneTable(res *tuneResult) {
	fmt.Printf("tune: %d dynamic rules (%s) over %d series, one sample per %s for %s: %d samples\n",
		tuneRules, strings.Join(tuneMethods, ", "), tuneSeries, tuneInterval, tuneSpan, res.samples)
	t := newStepTable(44)
	t.stored(&res.stored, "vigil threshold tune")
	if len(res.warm) > 0 {
		t.warm("vigil threshold tune", res.warm, "")
	}
	if res.backtest.wall > 0 {
		t.line("vigil threshold tune --backtest", res.backtest.wall, res.backtest.rssKiB)
	}
	if len(res.counts) > 0 {
		fmt.Printf("rules by method: %d percentile, %d mad, %d seasonal; %d would change\n",
			res.counts["percentile"], res.counts["mad"], res.counts["seasonal"], res.applied)
	}
	fmt.Println()
}

// writeTuneData writes tune_latency_ms for services s00..s99: a daily
// cycle (peak in the afternoon, UTC) around a per-service level, plus
// noise.
func writeTuneData(path string, steps int) error {
	tails := make([][]byte, tuneSeries)
	for i := range tails {
		tails[i] = []byte(fmt.Sprintf(`,"labels":{"svc":"s%02d"}}`+"\n", i))
	}
	head := []byte(`,"name":"tune_latency_ms","type":"gauge","value":`)
	first := end.Add(-time.Duration(steps-1) * tuneInterval).Unix()
	return writeJSONL(path, func(j *jsonlWriter) error {
		var tsb []byte
		for step := range steps {
			ts := first + int64(step)*int64(tuneInterval/time.Second)
			tsb = strconv.AppendInt(tsb[:0], ts, 10)
			day := 2 * math.Pi * float64(ts%86400) / 86400
			for i := range tuneSeries {
				level := 50 + 5*float64(i)
				noise := float64(splitmix(uint64(step)*1000003+uint64(i))%1000) / 1000 // [0, 1)
				v := level * (1 + 0.3*math.Sin(day-math.Pi/2) + 0.2*noise)
				j.sample(tsb, head, math.Round(v*100)/100, tails[i])
			}
		}
		return nil
	})
}

// writeTuneRules writes one dynamic rule per service, the methods in
// turn, over the default 7-day baseline.
func writeTuneRules(path string) error {
	var b strings.Builder
	b.WriteString("# vigil-bench tune: dynamic rules, one per service; no channels.\nsettings:\n  evaluation_interval: 1m\nalert_rules:\n")
	for i := range tuneRules {
		m := tuneMethods[i%len(tuneMethods)]
		fmt.Fprintf(&b, "  - name: latency_s%02d\n", i%tuneSeries)
		fmt.Fprintf(&b, "    metric_path: 'tune_latency_ms{svc=\"s%02d\"}.avg'\n", i%tuneSeries)
		b.WriteString("    condition: greater_than\n    threshold: 1000\n    severity: high\n    evaluation_window: 5m\n")
		b.WriteString("    labels: {dynamic_threshold: \"true\"}\n")
		// A week holds 7 x 12 five-minute windows of an hour slot: the
		// seasonal rules take fewer than the default 100.
		if m == "seasonal" {
			fmt.Fprintf(&b, "    tuning: {method: %s, min_samples: 50}\n", m)
		} else {
			fmt.Fprintf(&b, "    tuning: {method: %s}\n", m)
		}
	}
	return os.WriteFile(path, []byte(b.String()), 0o644)
}
