package main

import (
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
)

// importBigRSSMiB is the bound on the peak RSS of importing a big (3 GB)
// JSON Lines file: the import must stream.
const importBigRSSMiB = 200

// importRun is one timed import of one file.
type importRun struct {
	label string // what ran on what, for the section table
	ext   string
	size  int64
	run   run
	err   error
}

func (r importRun) rate(n int) float64 { return float64(n) / r.run.wall.Seconds() }

// benchImport times `vigil import` of the same samples as JSON Lines, CSV
// and OpenMetrics, each into a fresh store, against promtool's backfill of
// the OpenMetrics file; then, if asked, the import of a big JSON Lines file.
func benchImport(cfg *config) ([]row, error) {
	steps := max(1, cfg.importRows/cfg.series)
	n := steps * cfg.series
	formats := []*textFormat{&jsonlFormat, &csvFormat, &omFormat}
	files, err := writeImportFiles(cfg.dir, steps, cfg.series, formats)
	if err != nil {
		return nil, fmt.Errorf("write import files: %w", err)
	}
	var vigilRuns []importRun
	for _, f := range files {
		vigilRuns = append(vigilRuns, vigilImport(cfg, f.path, f.format.ext, f.size, n))
	}
	pt, havePromtool := promtoolImport(cfg, files[2])
	fams := importFamilies(cfg.series)
	fmt.Printf("import: %d samples over %d series (%d gauges %s, %d counters %s), one per %d s\n",
		n, cfg.series, fams[0].n, fams[0].name, fams[1].n, fams[1].name, importInterval)
	table := vigilRuns
	if havePromtool {
		table = slices.Concat(vigilRuns, []importRun{pt})
	}
	printImportTable(table, n, pt, havePromtool)
	if !havePromtool {
		fmt.Printf("(%s not on PATH: no comparison)\n", cfg.promtool)
	}
	rows := importRows(vigilRuns, pt, havePromtool, n)
	if cfg.importBigGB > 0 {
		rows = append(rows, benchBigImport(cfg)...)
	}
	fmt.Println()
	return rows, nil
}

// vigilImport imports one file into a fresh store and checks that every
// sample arrived: a fast import that drops rows would be no result.
func vigilImport(cfg *config, path, ext string, size int64, want int) importRun {
	r := importRun{label: "vigil import ." + ext, ext: ext, size: size}
	db := filepath.Join(cfg.dir, "import-"+ext+".db")
	if r.err = removeStore(db); r.err != nil {
		return r
	}
	r.run, r.err = measure(cfg.vigil, "import", "--db", db, "-o", "json", path)
	if r.err != nil {
		return r
	}
	var out struct {
		Samples int `json:"samples"`
	}
	if err := json.Unmarshal(r.run.out, &out); err != nil {
		r.err = fmt.Errorf("vigil import -o json: %w", err)
	} else if out.Samples != want {
		r.err = fmt.Errorf("imported %d samples, want %d", out.Samples, want)
	}
	return r
}

// promtoolImport backfills the OpenMetrics file into fresh TSDB blocks;
// false when promtool is not installed.
func promtoolImport(cfg *config, om *textFile) (importRun, bool) {
	r := importRun{label: "promtool tsdb create-blocks .om", ext: "om", size: om.size}
	path, err := exec.LookPath(cfg.promtool)
	if err != nil {
		return r, false
	}
	out := filepath.Join(cfg.dir, "promtool-blocks")
	if r.err = os.RemoveAll(out); r.err != nil {
		return r, true
	}
	r.run, r.err = measure(path, "tsdb", "create-blocks-from", "openmetrics", om.path, out)
	return r, true
}

const importFormat = "%-32s %9s %9s %11s %13s %11s"

func printImportTable(runs []importRun, n int, pt importRun, havePromtool bool) {
	printLine(importFormat, "command", "file MiB", "seconds", "rows/s", "peak RSS MiB", "x promtool")
	for _, r := range runs {
		if r.err != nil {
			fmt.Printf("%-32s %9.1f error: %v\n", r.label, mib(r.size>>10), r.err)
			continue
		}
		printLine(importFormat, r.label, fmt.Sprintf("%.1f", mib(r.size>>10)), fmt.Sprintf("%.3f", r.run.wall.Seconds()),
			fmt.Sprintf("%.0f", r.rate(n)), fmt.Sprintf("%.1f", mib(r.run.rssKiB)), xPromtool(r, pt, havePromtool))
	}
}

// xPromtool is an import's time over promtool's on the same samples, or ""
// when either is missing.
func xPromtool(r, pt importRun, havePromtool bool) string {
	if !havePromtool || pt.err != nil || r.err != nil {
		return ""
	}
	return fmt.Sprintf("%.2f", r.run.wall.Seconds()/pt.run.wall.Seconds())
}

// importRows are the import section's rows of the final table. JSON Lines
// and CSV have targets; OpenMetrics (and promtool) are for reference.
func importRows(vigilRuns []importRun, pt importRun, havePromtool bool, n int) []row {
	var rows []row
	secTarget := fmt.Sprintf("<= %.3g s", float64(n)/rateTarget)
	for _, r := range vigilRuns {
		rateGoal, timeGoal := ">= 1e6", secTarget
		if r.ext == "om" {
			rateGoal, timeGoal = "ref", "ref"
		}
		name := "import " + humanCount(n) + " ." + r.ext
		if r.err != nil {
			// The same rows as a success, so that the layout never moves.
			rows = append(rows, failed(name+" (rows/s)", rateGoal), failed(name+" (s)", timeGoal), failed(name+" peak RSS (MiB)", "ref"))
			continue
		}
		rate := r.rate(n)
		rows = append(rows, rateRow(name+" (rows/s)", rate, rateGoal))
		secs := row{measure: name + " (s)", value: fmt.Sprintf("%.3f", r.run.wall.Seconds()), target: timeGoal, ok: noTarget}
		if x := xPromtool(r, pt, havePromtool); x != "" {
			secs.ratio, secs.vs = r.run.wall.Seconds()/pt.run.wall.Seconds(), "promtool"
		}
		if timeGoal != "ref" {
			secs.ok = verdict(rate >= rateTarget)
		}
		rows = append(rows, secs,
			row{measure: name + " peak RSS (MiB)", value: fmt.Sprintf("%.0f", mib(r.run.rssKiB)), target: "ref", ok: noTarget})
	}
	if havePromtool {
		name := "promtool create-blocks " + humanCount(n) + " .om"
		if pt.err != nil {
			return append(rows, failed(name+" (s)", "ref"), failed(name+" peak RSS (MiB)", "ref"))
		}
		rows = append(rows,
			row{measure: name + " (s)", value: fmt.Sprintf("%.3f", pt.run.wall.Seconds()), ratio: 1, vs: "promtool", target: "ref", ok: noTarget},
			row{measure: name + " peak RSS (MiB)", value: fmt.Sprintf("%.0f", mib(pt.run.rssKiB)), target: "ref", ok: noTarget})
	}
	return rows
}

// benchBigImport imports a JSON Lines file of cfg.importBigGB GB, written
// to disk as a stream (holding it in memory would measure the wrong
// process), to show that the import's memory does not grow with the file.
func benchBigImport(cfg *config) []row {
	path := filepath.Join(cfg.dir, "import-big.jsonl")
	limit := int64(cfg.importBigGB * 1e9)
	name := fmt.Sprintf("import %g GB .jsonl", cfg.importBigGB)
	n, size, err := writeBigJSONL(path, limit, cfg.series)
	if err != nil {
		fmt.Printf("big import: write %s: %v\n", path, err)
		return bigFailed(name)
	}
	r := vigilImport(cfg, path, "big.jsonl", size, n)
	// The file and its store are the largest things the bench writes, and
	// they have served; left behind, they would only cost disk.
	_ = os.Remove(path)
	_ = removeStore(filepath.Join(cfg.dir, "import-big.jsonl.db"))
	fmt.Printf("\nbig import: %d samples, %.2f GB of JSON Lines (peak RSS target <= %d MiB)\n", n, float64(size)/1e9, importBigRSSMiB)
	printImportTable([]importRun{r}, n, importRun{}, false)
	if r.err != nil {
		return bigFailed(name)
	}
	rss := mib(r.run.rssKiB)
	return []row{
		rateRow(name+" (rows/s)", r.rate(n), ">= 1e6"),
		{measure: name + " (s)", value: fmt.Sprintf("%.3f", r.run.wall.Seconds()), target: "ref", ok: noTarget},
		{measure: name + " peak RSS (MiB)", value: fmt.Sprintf("%.0f", rss), ratio: rss / importBigRSSMiB, vs: "200 MiB",
			target: fmt.Sprintf("<= %d", importBigRSSMiB), ok: verdict(rss <= importBigRSSMiB)},
	}
}

func bigFailed(name string) []row {
	return []row{failed(name+" (rows/s)", ">= 1e6"), failed(name+" (s)", "ref"), failed(name+" peak RSS (MiB)", fmt.Sprintf("<= %d", importBigRSSMiB))}
}
