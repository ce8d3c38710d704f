package main

import (
	"encoding/json"
	"errors"
	"fmt"
	"github.com/vigil-metrics/vigil/cmd/internal/cli"
	"io"
	"sort"
	"strconv"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/spf13/cobra"

	"github.com/vigil-metrics/vigil/analyze"
	"github.com/vigil-metrics/vigil/analyze/metricpath"
	"github.com/vigil-metrics/vigil/collect/vtime"
)

type queryOptions struct {
	Path   string
	Window string
	At     string
	Output string
}

func newQueryCmd(a *app) *cobra.Command {
	o := &queryOptions{}
	cmd := &cobra.Command{
		Use:   "query PATH",
		Short: "Evaluate a metric path over a window",
		Long: `Evaluate a metric path over the window (at-window, at]:

  name{label="v",label!="v",label=~"re",label!~"re"}.agg [by (l1, l2)] [/ path]

Aggregations: last min max avg sum count stddev rate increase, and pNN or
pNN.N (type-7 percentiles, numpy's default). Without "by", one aggregate over
all samples of all matching series. "A / B" pairs results with equal labels;
a zero denominator gives no result for that pair.`,
		Example: `  vigil query 'response_time_ms.p95 by (endpoint)' --window 1h
  vigil query 'http_requests_total{status=~"5.."}.increase / http_requests_total.increase' -o json
  vigil query 'cpu_usage_percent.avg by (host)' --db 'hosts/*.db' --at 2026-11-29T10:00:00Z`,
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			o.Path = args[0]
			return a.runQuery(cmd, o)
		},
	}
	cmd.Flags().StringVarP(&o.Window, "window", "w", "5m", "window length (90s, 5m, 1h, 7d, 2w)")
	cmd.Flags().StringVar(&o.At, "at", "", "evaluation instant, RFC 3339 or unix seconds (default now)")
	cmd.Flags().StringVarP(&o.Output, "output", "o", "table", "output: table, json or markdown")
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
			Hint: fmt.Sprintf("%s\n%s^", path, strings.Repeat(" ", se.Col-1)),
		}
	}
	return nil, cli.Usage(err)
}

func (a *app) runQuery(cmd *cobra.Command, o *queryOptions) error {
	expr, err := parsePath(o.Path)
	if err != nil {
		return err
	}
	w, err := vtime.ParseDuration(o.Window)
	if err != nil || w <= 0 {
		return cli.Usagef("--window %q: want a positive duration like 90s, 5m, 1h, 7d", o.Window)
	}
	at, err := a.at(o.At)
	if err != nil {
		return err
	}
	switch o.Output {
	case "table", "json", "markdown":
	default:
		return cli.Usagef("--output %q: want table, json or markdown", o.Output)
	}
	stores, err := a.storePaths()
	if err != nil {
		return err
	}
	db, err := analyze.Open(cmd.Context(), stores, analyze.Options{CacheDir: a.cfg.CacheDir, Logger: a.log})
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

// formatLabels prints a label set the Prometheus way: {a="1", b="2"}.
func formatLabels(l map[string]string) string {
	keys := make([]string, 0, len(l))
	for k := range l {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	parts := make([]string, len(keys))
	for i, k := range keys {
		parts[i] = k + "=" + strconv.Quote(l[k])
	}
	return "{" + strings.Join(parts, ", ") + "}"
}

// formatValue keeps short values exact and rounds long ones to 6 digits.
func formatValue(v float64) string {
	s := strconv.FormatFloat(v, 'f', -1, 64)
	if len(s) <= 12 {
		return s
	}
	return strconv.FormatFloat(v, 'g', 6, 64)
}

func writeQueryTable(w io.Writer, rs []analyze.Result) error {
	if len(rs) == 0 {
		_, err := fmt.Fprintln(w, "no results")
		return err
	}
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "LABELS\tVALUE\tSAMPLES")
	for _, r := range rs {
		fmt.Fprintf(tw, "%s\t%s\t%d\n", formatLabels(r.Labels), formatValue(r.Value), r.Samples)
	}
	return tw.Flush()
}

func writeQueryMarkdown(w io.Writer, rs []analyze.Result) error {
	fmt.Fprintln(w, "| labels | value | samples |")
	fmt.Fprintln(w, "|---|---:|---:|")
	for _, r := range rs {
		fmt.Fprintf(w, "| `%s` | %s | %d |\n", formatLabels(r.Labels), formatValue(r.Value), r.Samples)
	}
	return nil
}
