package main

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"strings"
	"text/tabwriter"
	"time"
	"unicode"

	"github.com/spf13/cobra"

	"github.com/vigil-metrics/vigil/analyze"
	"github.com/vigil-metrics/vigil/cmd/internal/cli"
	"github.com/vigil-metrics/vigil/internal/metricpath"
	"github.com/vigil-metrics/vigil/internal/numfmt"
	"github.com/vigil-metrics/vigil/internal/vtime"
)

type queryOptions struct {
	Path   string
	Window string
	At     string
	Output string
}

func newQueryCmd(a *app) *cobra.Command {
	o := &queryOptions{}
	p := &promqlOptions{}
	cmd := &cobra.Command{
		Use:   "query PATH",
		Short: "Evaluate a metric path over a window",
		Long: `Evaluate a metric path over the window (at-window, at]:

  name{label="v",label!="v",label=~"re",label!~"re"}.agg [by (l1, l2)] [/ path]

Aggregations: last min max avg sum count stddev rate increase, pNN or
pNN.N (type-7 percentiles, numpy's default), and count_le(T) (samples at
most T: latency SLIs over raw histograms); a bare name (no ".agg") is the
rate of a counter and the avg of a gauge or histogram. Without "by", one aggregate over
all samples of all matching series. "A / B" pairs results with equal labels;
a zero denominator gives no result for that pair.

Regular expressions match the whole value (=~"p|v" is exactly p or v). The
name is written before the braces, never as a __name__ matcher. --window is
a whole number of milliseconds.

With --promql, the expression is PromQL, run by Prometheus's own engine
over the stores as vigil serve serves them (docs/serve.md): at --at, or
over --from..--to (default now) every --step.`,
		Example: `  vigil query 'response_time_ms.p95 by (endpoint)' --window 1h
  vigil query 'http_requests_total{status=~"5.."}.increase / http_requests_total.increase' -o json
  vigil query 'cpu_usage_percent.avg by (host)' --db 'hosts/*.db' --at 2026-11-29T10:00:00Z
  vigil query --promql 'sum by (service) (rate(http_requests_total[5m]))' --from 2026-11-29T09:00:00Z --step 1m`,
		// A path, or --promql and no path (runPromQL refuses both).
		Args: func(cmd *cobra.Command, args []string) error {
			if p.Expr != "" {
				return cobra.MaximumNArgs(1)(cmd, args)
			}
			return cobra.ExactArgs(1)(cmd, args)
		},
		RunE: func(cmd *cobra.Command, args []string) error {
			if len(args) == 1 {
				o.Path = args[0]
			}
			if p.Expr != "" {
				return a.runPromQL(cmd, o, p)
			}
			return a.runQuery(cmd, o)
		},
	}
	promqlFlags(cmd, p)
	cmd.Flags().StringVarP(&o.Window, "window", "w", "5m", "window length (90s, 5m, 1h, 7d, 2w)")
	cmd.Flags().StringVar(&o.At, "at", "", "evaluation instant, RFC 3339 or unix seconds (default now)")
	outputFlag(cmd, &o.Output, "table", "json", "markdown")
	addDBFlag(cmd.Flags(), false)
	return cmd
}

// parsePath turns a syntax error into a usage error that points at the
// column.
func parsePath(path string) (*metricpath.Expr, error) {
	e, err := metricpath.Parse(path)
	if err == nil {
		return e, nil
	}
	var se *metricpath.SyntaxError
	if errors.As(err, &se) {
		return nil, &cli.UsageError{
			Err:  fmt.Errorf("metric path: %w", se),
			Hint: caret(path, se.Offset),
		}
	}
	return nil, cli.Usage(err)
}

// caret prints path on one line and a "^" under the character at byte
// offset. Positions count runes, not bytes ("é" is one column), and tabs
// are expanded to spaces (stops every 8) in both lines, so the caret
// lands right whatever the terminal's tab stops and the "vigil: hint: "
// prefix. Newlines and other control characters print as one space: the
// hint must stay two lines. (Wide characters, such as CJK, still count as
// one column.)
func caret(path string, offset int) string {
	var line strings.Builder
	col, at := 0, -1
	for i, r := range path {
		if i == offset {
			at = col
		}
		switch {
		case r == '\t':
			n := 8 - col%8
			line.WriteString(strings.Repeat(" ", n))
			col += n
		case unicode.IsControl(r):
			line.WriteByte(' ')
			col++
		default:
			line.WriteRune(r)
			col++
		}
	}
	if at < 0 {
		at = col // the error is at the end of the path
	}
	return line.String() + "\n" + strings.Repeat(" ", at) + "^"
}

// parseWindow reads --window. Samples have millisecond timestamps and the
// window selects (at-w, at] in whole milliseconds, so a window like 1.5ms
// would select 1 ms of samples while rate divides by 1.5 ms: refuse it
// rather than answer a rate off by a third.
func parseWindow(s string) (time.Duration, error) {
	w, err := vtime.ParseDuration(s)
	if err != nil || w <= 0 {
		return 0, cli.WithHint(cli.Usagef("--window %q: want a positive duration like 90s, 5m, 1h, 7d", s),
			"durations are Go's (ms, s, m, h) plus d and w")
	}
	if w%time.Millisecond != 0 {
		lo := w.Truncate(time.Millisecond)
		hint := "use a whole number of milliseconds, like 1ms"
		if lo > 0 {
			hint = fmt.Sprintf("use a whole number of milliseconds, like %s or %s", lo, lo+time.Millisecond)
		}
		return 0, cli.WithHint(cli.Usagef("--window %q is not a whole number of milliseconds (samples have millisecond timestamps)", s), hint)
	}
	return w, nil
}

func (a *app) runQuery(cmd *cobra.Command, o *queryOptions) error {
	expr, err := parsePath(o.Path)
	if err != nil {
		return err
	}
	w, err := parseWindow(o.Window)
	if err != nil {
		return err
	}
	at, err := a.at(o.At)
	if err != nil {
		return err
	}
	if err := checkOutput(cmd); err != nil {
		return err
	}
	stores, err := a.storePaths()
	if err != nil {
		return err
	}
	db, err := a.openStores(cmd, stores, 0)
	if err != nil {
		return err
	}
	defer db.Close()
	rs, err := db.Eval(cmd.Context(), expr, analyze.Window{At: at, Length: w})
	if err != nil {
		return err
	}
	switch o.Output {
	case "json":
		return writeQueryJSON(a.stdout, o.Path, at, w, rs)
	case "markdown":
		return writeQueryMarkdown(a.stdout, rs)
	}
	return writeQueryTable(a.stdout, rs)
}

type queryJSON struct {
	Query         string           `json:"query"`
	At            string           `json:"at"`
	WindowSeconds float64          `json:"window_seconds"`
	Results       []analyze.Result `json:"results"`
}

func writeQueryJSON(w io.Writer, path string, at time.Time, win time.Duration, rs []analyze.Result) error {
	enc := json.NewEncoder(w)
	enc.SetEscapeHTML(false)
	enc.SetIndent("", "  ")
	return enc.Encode(queryJSON{Query: path, At: at.UTC().Format(time.RFC3339Nano), WindowSeconds: win.Seconds(), Results: rs})
}

// formatValue keeps short values exact and rounds long ones to 6 digits:
// numfmt.Value, which notices share.
func formatValue(v float64) string { return numfmt.Value(v) }

func writeQueryTable(w io.Writer, rs []analyze.Result) error {
	if len(rs) == 0 {
		_, err := fmt.Fprintln(w, "no results")
		return err
	}
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "LABELS\tVALUE\tSAMPLES")
	for _, r := range rs {
		fmt.Fprintf(tw, "%s\t%s\t%d\n", metricpath.FormatLabels(r.Labels), formatValue(r.Value), r.Samples)
	}
	return tw.Flush()
}

func writeQueryMarkdown(w io.Writer, rs []analyze.Result) error {
	fmt.Fprintln(w, "| labels | value | samples |")
	fmt.Fprintln(w, "|---|---:|---:|")
	for _, r := range rs {
		fmt.Fprintf(w, "| %s | %s | %d |\n", markdownCode(metricpath.FormatLabels(r.Labels)), formatValue(r.Value), r.Samples)
	}
	return nil
}

// markdownCode writes s as a code span inside a GitHub (GFM) table cell.
//   - Newlines and tabs never reach here raw: metricpath.FormatLabels
//     quotes values with strconv.Quote, so a newline is the two characters
//     \n, exact and on one row (a raw one would end the row; <br> would
//     show literally inside a code span).
//   - "|" is written "\|": GFM splits table cells before it parses inline
//     code, and "\|" is the one escape it honours for that, even inside a
//     code span (where it renders as "|").
//   - Backticks cannot be escaped inside a code span (backslash escapes
//     and entities such as &#96; show literally there), so the span is
//     fenced with one backtick more than the longest run inside it, padded
//     with spaces when s starts or ends with a backtick (CommonMark strips
//     one space on each side).
func markdownCode(s string) string {
	longest, run := 0, 0
	for _, r := range s {
		if r == '`' {
			run++
			longest = max(longest, run)
		} else {
			run = 0
		}
	}
	fence := strings.Repeat("`", longest+1)
	s = strings.ReplaceAll(s, "|", `\|`)
	if strings.HasPrefix(s, "`") || strings.HasSuffix(s, "`") {
		s = " " + s + " "
	}
	return fence + s + fence
}
