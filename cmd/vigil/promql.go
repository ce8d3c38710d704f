package main

import (
	"encoding/json"
	"fmt"
	"io"
	"math"
	"text/tabwriter"
	"time"

	"github.com/spf13/cobra"

	"github.com/vigil-metrics/vigil/analyze/promstore"
	"github.com/vigil-metrics/vigil/cmd/internal/cli"
	"github.com/vigil-metrics/vigil/internal/metricpath"
	"github.com/vigil-metrics/vigil/internal/vtime"
)

// promqlOptions are vigil query --promql's own flags.
type promqlOptions struct {
	Expr           string
	From, To, Step string
}

func promqlFlags(cmd *cobra.Command, o *promqlOptions) {
	f := cmd.Flags()
	f.StringVar(&o.Expr, "promql", "", "run a PromQL expression with Prometheus's engine instead of a metric path (docs/serve.md)")
	f.StringVar(&o.From, "from", "", "with --promql: start of a range query (RFC 3339 or unix seconds)")
	f.StringVar(&o.To, "to", "", "with --promql: end of a range query (default now)")
	f.StringVar(&o.Step, "step", "", "with --promql: step of a range query (e.g. 1m)")
}

// runPromQL is vigil query --promql: an instant query at --at, or a
// range query over --from..--to by --step.
func (a *app) runPromQL(cmd *cobra.Command, o *queryOptions, p *promqlOptions) error {
	if o.Path != "" {
		return cli.Usagef("give a metric path or --promql, not both")
	}
	if cmd.Flags().Changed("window") {
		return cli.WithHint(cli.Usagef("--window is the metric path's; PromQL gives its ranges in the expression"), `rate(x[5m])`)
	}
	at, err := a.at(o.At)
	if err != nil {
		return err
	}
	from, to, step := at, at, time.Duration(0)
	if p.From != "" || p.Step != "" || p.To != "" {
		if o.At != "" || p.From == "" || p.Step == "" {
			return cli.Usagef("a range query takes --from and --step (and --to, default now), and no --at")
		}
		if from, err = vtime.ParseInstant(p.From); err != nil {
			return cli.Usagef("--from: %v", err)
		}
		if to, err = a.at(p.To); err != nil {
			return err
		}
		if step, err = vtime.ParseDuration(p.Step); err != nil || step <= 0 {
			return cli.Usagef("--step %q: want a positive duration like 1m", p.Step)
		}
		if to.Before(from) {
			return cli.Usagef("--to is before --from")
		}
		if to.Sub(from)/step > 11000 {
			return cli.Usagef("more than 11,000 steps (Prometheus's limit): use a longer --step")
		}
	}
	if err := checkOutput(cmd); err != nil {
		return err
	}
	src, err := a.promSource(cmd.Context(), a.cfg.CacheDir)
	if err != nil {
		return err
	}
	defer src.Close()
	ans, err := src.Query(cmd.Context(), promstore.DefaultLimits, p.Expr, from, to, step)
	if err != nil {
		return err
	}
	for _, w := range ans.Warnings {
		a.log.Warn("promql", "warning", w)
	}
	switch o.Output {
	case "json":
		return writePromQLJSON(a.stdout, p.Expr, from, to, step, ans)
	case "markdown":
		return writePromQLRows(a.stdout, ans, true)
	}
	return writePromQLRows(a.stdout, ans, false)
}

type promqlJSON struct {
	Query       string         `json:"query"`
	At          string         `json:"at,omitempty"`
	From        string         `json:"from,omitempty"`
	To          string         `json:"to,omitempty"`
	StepSeconds float64        `json:"step_seconds,omitempty"`
	ResultType  string         `json:"result_type"`
	Series      []promqlSeries `json:"series"`
}

type promqlSeries struct {
	Labels map[string]string `json:"labels"`
	Points []promqlPoint     `json:"points"`
}

type promqlPoint struct {
	T string `json:"t"`
	V any    `json:"v"` // a number, or "NaN", "+Inf", "-Inf"
}

func jsonNumber(v float64) any {
	switch {
	case math.IsNaN(v):
		return "NaN"
	case math.IsInf(v, 1):
		return "+Inf"
	case math.IsInf(v, -1):
		return "-Inf"
	}
	return v
}

func writePromQLJSON(w io.Writer, expr string, from, to time.Time, step time.Duration, ans *promstore.Answer) error {
	out := promqlJSON{Query: expr, ResultType: ans.ResultType, Series: []promqlSeries{}}
	if step == 0 {
		out.At = from.UTC().Format(time.RFC3339Nano)
	} else {
		out.From, out.To, out.StepSeconds = from.UTC().Format(time.RFC3339Nano), to.UTC().Format(time.RFC3339Nano), step.Seconds()
	}
	for _, s := range ans.Series {
		ps := promqlSeries{Labels: s.Labels, Points: []promqlPoint{}}
		for _, p := range s.Points {
			ps.Points = append(ps.Points, promqlPoint{p.T.Format(time.RFC3339Nano), jsonNumber(p.V)})
		}
		out.Series = append(out.Series, ps)
	}
	enc := json.NewEncoder(w)
	enc.SetEscapeHTML(false)
	enc.SetIndent("", "  ")
	return enc.Encode(out)
}

// writePromQLRows writes one row per point: labels, time, value.
func writePromQLRows(w io.Writer, ans *promstore.Answer, markdown bool) error {
	if len(ans.Series) == 0 && !markdown {
		_, err := fmt.Fprintln(w, "no results")
		return err
	}
	if markdown {
		fmt.Fprintln(w, "| labels | time | value |")
		fmt.Fprintln(w, "|---|---|---:|")
		for _, s := range ans.Series {
			for _, p := range s.Points {
				fmt.Fprintf(w, "| %s | %s | %s |\n", markdownCode(metricpath.FormatLabels(s.Labels)), p.T.Format(time.RFC3339Nano), formatValue(p.V))
			}
		}
		return nil
	}
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "LABELS\tTIME\tVALUE")
	for _, s := range ans.Series {
		for _, p := range s.Points {
			fmt.Fprintf(tw, "%s\t%s\t%s\n", metricpath.FormatLabels(s.Labels), p.T.Format(time.RFC3339Nano), formatValue(p.V))
		}
	}
	return tw.Flush()
}
