package main

import (
	"bufio"
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
	samples  int
	write    time.Duration
	load     run
	first    run
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
	res := tuneResult{samples: steps * tuneSeries, counts: map[string]int{}}
	rows, err := tuneStore(cfg, steps, &res)
	printTuneTable(&res)
	return rows, err
}

func tuneStore(cfg *config, steps int, res *tuneResult) ([]row, error) {
	name := fmt.Sprintf("threshold tune --dry-run %d rules %s", tuneRules, humanCount(res.samples))
	fail := func(err error) ([]row, error) {
		return []row{failed("tune import "+humanCount(res.samples)+" .jsonl (rows/s)", "ref"), failed(name+" first run (s)", "ref"),
			failed(name+fmt.Sprintf(" warm, best of %d (s)", tuneRuns), fmt.Sprintf("<= %g s", tuneTargetS)),
			failed(name+" warm peak RSS (MiB)", "ref"), failed(name+" --backtest (s)", "ref")}, err
	}
	db := filepath.Join(cfg.dir, "tune.db")
	if err := removeStore(db); err != nil {
		return fail(err)
	}
	data := filepath.Join(cfg.dir, "tune.jsonl")
	start := time.Now()
	if err := writeTuneData(data, steps); err != nil {
		return fail(fmt.Errorf("write %s: %w", data, err))
	}
	res.write = time.Since(start)
	load, err := measure(cfg.vigil, "import", "--db", db, "-o", "json", data)
	_ = os.Remove(data)
	if err != nil {
		return fail(fmt.Errorf("import: %w", err))
	}
	var out struct {
		Samples int `json:"samples"`
	}
	if err := json.Unmarshal(load.out, &out); err != nil {
		return fail(fmt.Errorf("vigil import -o json: %w", err))
	} else if out.Samples != res.samples {
		return fail(fmt.Errorf("imported %d samples, want %d", out.Samples, res.samples))
	}
	res.load = load
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
	first, err := tune()
	if err != nil {
		return fail(fmt.Errorf("first tune: %w", err))
	}
	res.first = first
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
	best, rss := warm.best().Seconds(), mib(warm.peakRSS())
	return []row{
		rateRow("tune import "+humanCount(res.samples)+" .jsonl (rows/s)", float64(res.samples)/res.load.wall.Seconds(), "ref"),
		{measure: name + " first run (s)", value: fmt.Sprintf("%.3f", res.first.wall.Seconds()), target: "ref", ok: noTarget},
		{measure: name + fmt.Sprintf(" warm, best of %d (s)", len(warm)), value: fmt.Sprintf("%.3f", best),
			ratio: best / tuneTargetS, vs: fmt.Sprintf("%g s", tuneTargetS), target: fmt.Sprintf("<= %g s", tuneTargetS), ok: verdict(best <= tuneTargetS)},
		{measure: name + " warm peak RSS (MiB)", value: fmt.Sprintf("%.0f", rss), target: "ref", ok: noTarget},
		{measure: name + " --backtest (s)", value: fmt.Sprintf("%.3f", res.backtest.wall.Seconds()), target: "ref", ok: noTarget},
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
	fmt.Printf("%-44s %10s %13s\n", "step", "seconds", "peak RSS MiB")
	line := func(name string, d time.Duration, kib int64) {
		rss := ""
		if kib > 0 {
			rss = fmt.Sprintf("%.0f", mib(kib))
		}
		printLine("%-44s %10.3f %13s", name, d.Seconds(), rss)
	}
	if res.write > 0 {
		line("write .jsonl", res.write, 0)
	}
	if res.load.wall > 0 {
		line(fmt.Sprintf("vigil import (%.0f rows/s)", float64(res.samples)/res.load.wall.Seconds()), res.load.wall, res.load.rssKiB)
	}
	if res.first.wall > 0 {
		line("vigil threshold tune, first (builds cache)", res.first.wall, res.first.rssKiB)
	}
	if len(res.warm) > 0 {
		line(fmt.Sprintf("vigil threshold tune warm, best of %d", len(res.warm)), res.warm.best(), res.warm.peakRSS())
		line(fmt.Sprintf("vigil threshold tune warm, median of %d", len(res.warm)), res.warm.median(), 0)
	}
	if res.backtest.wall > 0 {
		line("vigil threshold tune --backtest", res.backtest.wall, res.backtest.rssKiB)
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
	f, err := os.Create(path)
	if err != nil {
		return err
	}
	defer f.Close()
	w := bufio.NewWriterSize(f, 1<<20)
	tails := make([][]byte, tuneSeries)
	for i := range tails {
		tails[i] = []byte(fmt.Sprintf(`,"labels":{"svc":"s%02d"}}`+"\n", i))
	}
	head := []byte(`,"name":"tune_latency_ms","type":"gauge","value":`)
	first := end.Add(-time.Duration(steps-1) * tuneInterval).Unix()
	var buf []byte
	for step := range steps {
		ts := first + int64(step)*int64(tuneInterval/time.Second)
		day := 2 * math.Pi * float64(ts%86400) / 86400
		for i := range tuneSeries {
			level := 50 + 5*float64(i)
			noise := float64(splitmix(uint64(step)*1000003+uint64(i))%1000) / 1000 // [0, 1)
			v := level * (1 + 0.3*math.Sin(day-math.Pi/2) + 0.2*noise)
			buf = append(buf[:0], `{"ts":`...)
			buf = strconv.AppendInt(buf, ts, 10)
			buf = append(buf, head...)
			buf = strconv.AppendFloat(buf, math.Round(v*100)/100, 'f', -1, 64)
			buf = append(buf, tails[i]...)
			w.Write(buf) //nolint:errcheck // bufio keeps the first error for Flush
		}
	}
	if err := w.Flush(); err != nil {
		return err
	}
	return f.Close()
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
