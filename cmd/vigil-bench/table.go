package main

import (
	"fmt"
	"io"
	"strconv"
	"strings"
)

// row is one measure of the final table. ratio is the value over the
// reference named by vs (0: no ratio); target is what the value or the
// ratio should be, and ok says whether it is ("-" where there is no
// target, only a reference figure).
type row struct {
	measure string
	value   string
	ratio   float64
	vs      string
	target  string
	ok      string
}

const noTarget = "-"

// rateTarget is the write rate (rows/s) that imports and the store's
// writer must reach.
const rateTarget = 1e6

func verdict(ok bool) string { return strconv.FormatBool(ok) }

// failed is the row of a measure that could not be taken: it fails its
// target if it has one.
func failed(measure, target string) row {
	ok := noTarget
	if target != "ref" {
		ok = "false"
	}
	return row{measure: measure, value: "error", target: target, ok: ok}
}

// Fixed widths rather than a tabwriter: the layout must not move with the
// figures, so that runs can be compared line by line and pasted into docs.
const rowFormat = "%-46s %12s %8s %-9s %-15s %s"

func printTable(w io.Writer, rows []row) {
	fmt.Fprintf(w, rowFormat+"\n", "measure", "value", "ratio", "vs", "target", "ok")
	for _, r := range rows {
		ratio := ""
		if r.ratio > 0 {
			ratio = strconv.FormatFloat(r.ratio, 'f', 2, 64)
		}
		fmt.Fprintf(w, rowFormat+"\n", r.measure, r.value, ratio, r.vs, r.target, r.ok)
	}
}

// printLine prints one line of a table without the blanks that empty last
// columns leave, which editors strip from pasted tables anyway.
func printLine(format string, args ...any) {
	fmt.Println(strings.TrimRight(fmt.Sprintf(format, args...), " "))
}

// humanCount writes 3000000 as 3M, 8640000 as 8.64M and 300000 as 300k,
// for measure names.
func humanCount(n int) string {
	switch {
	case n >= 1_000_000 && n%10_000 == 0:
		return strconv.FormatFloat(float64(n)/1e6, 'f', -1, 64) + "M"
	case n >= 1000 && n%100 == 0:
		return strconv.FormatFloat(float64(n)/1e3, 'f', -1, 64) + "k"
	}
	return strconv.Itoa(n)
}

// rateRow is a rate in rows/s, against rateTarget unless target is "ref".
func rateRow(measure string, rate float64, target string) row {
	r := row{measure: measure, value: fmt.Sprintf("%.0f", rate), target: target, ok: noTarget}
	if target != "ref" {
		r.ratio, r.vs, r.ok = rate/rateTarget, "1e6", verdict(rate >= rateTarget)
	}
	return r
}
