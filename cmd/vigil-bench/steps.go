package main

import (
	"bufio"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"time"
)

// The steps that the evaluate, slo and tune sections share: write their
// data as JSON Lines, import it with vigil into a fresh store, run the
// command measured once to build the cache, then warm; print the steps'
// table; and the rows of the final table.

// stored is what a section measures before its warm runs.
type stored struct {
	samples int
	write   time.Duration // writing the JSON Lines file
	load    run           // vigil import
	first   run           // the first run: builds the DuckDB cache
}

// importJSONL replaces the store dir/base.db with the samples that write
// puts into dir/base.jsonl, imported with `vigil import`, and checks that
// all st.samples arrived. Each figure goes into st only once it is good:
// the section's table shows what was measured, and no failed command's
// time. It returns the store's path.
func (st *stored) importJSONL(cfg *config, base string, write func(path string) error) (string, error) {
	db := filepath.Join(cfg.dir, base+".db")
	if err := removeStore(db); err != nil {
		return "", err
	}
	data := filepath.Join(cfg.dir, base+".jsonl")
	start := time.Now()
	if err := write(data); err != nil {
		return "", fmt.Errorf("write %s: %w", data, err)
	}
	st.write = time.Since(start)
	load, err := measure(cfg.vigil, "import", "--db", db, "-o", "json", data)
	// The file is the biggest thing the section writes and has served.
	_ = os.Remove(data)
	if err != nil {
		return "", fmt.Errorf("import: %w", err)
	}
	var out struct {
		Samples int `json:"samples"`
	}
	if err := json.Unmarshal(load.out, &out); err != nil {
		return "", fmt.Errorf("vigil import -o json: %w", err)
	} else if out.Samples != st.samples {
		return "", fmt.Errorf("imported %d samples, want %d", out.Samples, st.samples)
	}
	st.load = load
	return db, nil
}

// runFirst runs the command measured once, cold, into st.first.
func (st *stored) runFirst(what string, f func() (run, error)) error {
	first, err := f()
	if err != nil {
		return fmt.Errorf("first %s: %w", what, err)
	}
	st.first = first
	return nil
}

// importRate is the import's rate, in rows/s.
func (st *stored) importRate() float64 {
	return float64(st.samples) / st.load.wall.Seconds()
}

// importMeasure is the name of the import's row for the section.
func (st *stored) importMeasure(section string) string {
	return section + " import " + humanCount(st.samples) + " .jsonl (rows/s)"
}

// importRow is the import's row of the final table.
func (st *stored) importRow(section string) row {
	return rateRow(st.importMeasure(section), st.importRate(), "ref")
}

// importFailed is the import's row when the section failed.
func (st *stored) importFailed(section string) row {
	return failed(st.importMeasure(section), "ref")
}

// ---- the JSON Lines file ----

// jsonlWriter writes samples as JSON Lines, each line spelled from the
// parts of its series around its timestamp and value.
type jsonlWriter struct {
	w   *bufio.Writer
	buf []byte
}

// sample writes the line {"ts":ts<head>v<tail>: head from the comma after
// ts up to the value, tail from after the value to the newline.
func (j *jsonlWriter) sample(ts, head []byte, v float64, tail []byte) {
	j.buf = append(j.buf[:0], `{"ts":`...)
	j.buf = append(j.buf, ts...)
	j.buf = append(j.buf, head...)
	j.buf = strconv.AppendFloat(j.buf, v, 'f', -1, 64)
	j.buf = append(j.buf, tail...)
	j.w.Write(j.buf) //nolint:errcheck // bufio keeps the first error for Flush
}

// writeJSONL creates path and has fill write its samples.
func writeJSONL(path string, fill func(*jsonlWriter) error) error {
	f, err := os.Create(path)
	if err != nil {
		return err
	}
	defer f.Close()
	j := &jsonlWriter{w: bufio.NewWriterSize(f, 1<<20)}
	if err := fill(j); err != nil {
		return err
	}
	if err := j.w.Flush(); err != nil {
		return err
	}
	return f.Close()
}

// ---- the section's table ----

// stepTable prints a section's steps, one a line: the step, its seconds
// and its peak RSS, the step's column width wide.
type stepTable struct{ width int }

// newStepTable prints the table's header.
func newStepTable(width int) stepTable {
	fmt.Printf("%-*s %10s %13s\n", width, "step", "seconds", "peak RSS MiB")
	return stepTable{width}
}

// line prints one step; kib 0 leaves the RSS blank.
func (t stepTable) line(name string, d time.Duration, kib int64) {
	rss := ""
	if kib > 0 {
		rss = fmt.Sprintf("%.0f", mib(kib))
	}
	printLine("%-*s %10.3f %13s", t.width, name, d.Seconds(), rss)
}

// stored prints the steps of st that were measured; first names the
// command's first run.
func (t stepTable) stored(st *stored, first string) {
	if st.write > 0 {
		t.line("write .jsonl", st.write, 0)
	}
	if st.load.wall > 0 {
		t.line(fmt.Sprintf("vigil import (%.0f rows/s)", st.importRate()), st.load.wall, st.load.rssKiB)
	}
	if st.first.wall > 0 {
		t.line(first+", first (builds cache)", st.first.wall, st.first.rssKiB)
	}
}

// warm prints the best (with the peak RSS) and the median of warm runs;
// of names what they are counted in ("" for runs).
func (t stepTable) warm(what string, rs runs, of string) {
	t.line(fmt.Sprintf("%s warm, best of %d%s", what, len(rs), of), rs.best(), rs.peakRSS())
	t.line(fmt.Sprintf("%s warm, median of %d%s", what, len(rs), of), rs.median(), 0)
}

// ---- rows of the final table ----

// secsRow is a time for reference, in seconds.
func secsRow(measure string, d time.Duration) row {
	return row{measure: measure, value: fmt.Sprintf("%.3f", d.Seconds()), target: "ref", ok: noTarget}
}

// mibRow is a peak RSS for reference, in MiB.
func mibRow(measure string, kib int64) row {
	return row{measure: measure, value: fmt.Sprintf("%.0f", mib(kib)), target: "ref", ok: noTarget}
}

// secsTarget is the target of a time within targetS seconds.
func secsTarget(targetS float64) string { return fmt.Sprintf("<= %g s", targetS) }

// targetRow is a time in seconds against targetS, whose target applies
// only where full (the section at the shape or bigger).
func targetRow(measure string, d time.Duration, targetS float64, full bool) row {
	s := d.Seconds()
	r := row{measure: measure, value: fmt.Sprintf("%.3f", s), ratio: s / targetS, vs: fmt.Sprintf("%g s", targetS), target: "ref", ok: noTarget}
	if full {
		r.target, r.ok = secsTarget(targetS), verdict(s <= targetS)
	}
	return r
}

// bestOf names a measure of the best of n warm runs.
func bestOf(name string, n int) string {
	return name + fmt.Sprintf(" warm, best of %d (s)", n)
}
