package main

import (
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strings"
	"text/tabwriter"

	"github.com/spf13/cobra"

	"github.com/vigil-metrics/vigil/analyze/slo"
	"github.com/vigil-metrics/vigil/cmd/internal/cli"
	"github.com/vigil-metrics/vigil/internal/lint"
	"github.com/vigil-metrics/vigil/internal/safetext"
	"github.com/vigil-metrics/vigil/internal/vtime"
	"github.com/vigil-metrics/vigil/internal/yamlconf"
)

type lintOptions struct {
	At             string
	Window         string
	Output         string
	MaxLabelValues int
	Ignore         []string
}

// newLintCmd checks what the stores hold against the reference design's
// conventions and the config's rules and SLOs against what the stores hold
// (docs/lint.md). Exit 3 when any finding is an error: a CI gate.
func newLintCmd(a *app) *cobra.Command {
	o := &lintOptions{}
	cmd := &cobra.Command{
		Use:   "lint",
		Short: "Check stored metric names and labels, and the rules and SLOs that reference them",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if err := checkOutput(cmd); err != nil {
				return err
			}
			if o.MaxLabelValues <= 0 {
				return cli.Usagef("--max-label-values %d: want a positive number", o.MaxLabelValues)
			}
			at, err := a.at(o.At)
			if err != nil {
				return err
			}
			window, err := vtime.ParseDuration(o.Window)
			if err != nil || window <= 0 {
				return cli.Usagef("--window %q: want a positive duration (1h, 1d, 7d)", o.Window)
			}
			paths, err := a.storeFiles()
			if err != nil {
				return err
			}
			refs, produced, err := a.lintRefs()
			if err != nil {
				return err
			}
			start, end := lint.Window(at, window)
			var series []lint.Series
			for _, p := range paths {
				ss, err := lint.Read(cmd.Context(), p, start, end)
				if err != nil {
					return err
				}
				series = append(series, ss...)
			}
			ignores, err := a.lintIgnores(o.Ignore)
			if err != nil {
				return err
			}
			findings, ignored := lint.Apply(lint.Run(series, lint.Options{MaxLabelValues: o.MaxLabelValues, Refs: refs, Produced: produced}), ignores)
			if err := a.printLint(o.Output, findings, ignored); err != nil {
				return err
			}
			if lint.Errors(findings) > 0 {
				return &cli.SilentError{Code: cli.ExitGate}
			}
			return nil
		},
	}
	cmd.Flags().StringVar(&o.At, "at", "", "end of the window (default now)")
	cmd.Flags().StringVar(&o.Window, "window", "1d", "how far back to look at stored series")
	outputFlag(cmd, &o.Output, "table", "json")
	cmd.Flags().IntVar(&o.MaxLabelValues, "max-label-values", 100, "most distinct values one label of one metric may take over the window")
	cmd.Flags().StringArrayVar(&o.Ignore, "ignore", nil, "accept the findings of CHECK[:METRIC_GLOB] (repeatable; counted in the summary, as lint: ignore: in the config)")
	addDBFlag(cmd.Flags(), false)
	return cmd
}

// lintIgnores are the config's lint: ignore: entries and the --ignore
// flags.
func (a *app) lintIgnores(flags []string) ([]lint.Ignore, error) {
	var out []lint.Ignore
	if a.file != nil {
		ig, err := lint.FromConfig(a.file)
		if ps, ok := yamlconf.AsProblems(err); ok {
			for _, p := range ps {
				fmt.Fprintf(a.stderr, "vigil: error: %s\n", p.Error())
			}
			return nil, &cli.SilentError{Code: cli.ExitUsage}
		} else if err != nil {
			return nil, cli.Usagef("%v", err)
		}
		out = ig
	}
	for _, f := range flags {
		i, err := lint.ParseIgnore(f)
		if err != nil {
			return nil, cli.Usagef("--ignore %q: %v", f, err)
		}
		out = append(out, i)
	}
	return out, nil
}

// printLint writes the findings (JSON: the list, each with its family, the
// ignored ones and the summary; table: a row per family and check with a
// count, then a line per check).
func (a *app) printLint(output string, findings, ignored []lint.Finding) error {
	summary := lint.Summarize(findings, ignored)
	if output == "json" {
		if ignored == nil {
			ignored = []lint.Finding{}
		}
		enc := json.NewEncoder(a.stdout)
		enc.SetIndent("", "  ")
		return enc.Encode(map[string]any{"findings": findings, "ignored": ignored, "summary": summary})
	}
	if len(findings) == 0 {
		fmt.Fprintln(a.stdout, "no findings")
	} else {
		tw := tabwriter.NewWriter(a.stdout, 0, 0, 2, ' ', 0)
		fmt.Fprintln(tw, "SEVERITY\tCHECK\tFAMILY\tLABEL\tMESSAGE")
		for _, g := range lint.Groups(findings) {
			// Names and messages quote the store's data.
			f := g.Findings[0]
			fam := safetext.Terminal(g.Family)
			if n := len(g.Findings); n > 1 {
				fam += fmt.Sprintf(" (%d)", n)
			}
			fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\n", g.Severity, g.Check, fam, orDash(safetext.Terminal(g.Label)), safetext.Terminal(f.Message))
			if len(g.Findings) > 1 {
				var ms []string
				for _, m := range g.Findings {
					if !slices.Contains(ms, m.Metric) {
						ms = append(ms, m.Metric)
					}
				}
				fmt.Fprintf(tw, "\t\t\t\t  metrics: %s\n", safetext.Terminal(strings.Join(ms, ", ")))
			}
			fmt.Fprintf(tw, "\t\t\t\t  hint: %s\n", f.Hint)
		}
		if err := tw.Flush(); err != nil {
			return err
		}
	}
	if len(summary) > 0 {
		fmt.Fprintln(a.stdout)
	}
	for _, s := range summary {
		fmt.Fprintln(a.stdout, s.String())
	}
	return nil
}

func orDash(s string) string {
	if s == "" {
		return "-"
	}
	return s
}

// lintRefs reads the metric paths of the config's alert rules and SLOs
// (--config, else ./vigil.yaml when present; no file means nothing to
// check) and the names its recording rules write.
func (a *app) lintRefs() ([]lint.Ref, []string, error) {
	if a.file == nil || a.file.Path == "" {
		return nil, nil, nil
	}
	file := a.file.Path
	cfg, err := a.decodeAlertConfig()
	if err != nil {
		return nil, nil, err
	}
	var refs []lint.Ref
	var produced []string
	for _, r := range cfg.Rules {
		path := r.MetricPath
		if r.Path != nil {
			path = r.Path.String()
		}
		refs = append(refs, lint.Ref{Source: fmt.Sprintf("rule %s (%s:%d)", r.Name, file, r.Pos.Line), Path: path, Absent: r.Condition == "absent"})
	}
	for _, r := range cfg.RecordingRules {
		if r.Target != "" {
			produced = append(produced, r.Target)
		}
		if r.MetricPath != "" {
			refs = append(refs, lint.Ref{Source: fmt.Sprintf("recording rule %s (%s:%d)", r.Target, file, r.Pos.Line), Path: r.MetricPath})
		} else if r.Source != "" {
			refs = append(refs, lint.Ref{Source: fmt.Sprintf("recording rule %s (%s:%d)", r.Target, file, r.Pos.Line), Path: r.Source})
		}
	}
	objs, found, err := slo.FromConfig(a.file)
	var sps slo.Problems
	if errors.As(err, &sps) {
		ps := sps
		for _, p := range ps {
			fmt.Fprintf(a.stderr, "vigil: error: %s\n", p.Error())
		}
		return nil, nil, &cli.SilentError{Code: cli.ExitUsage}
	} else if err != nil {
		return nil, nil, cli.Usagef("read objectives %s: %v", file, err)
	}
	if !found {
		return refs, produced, nil
	}
	for _, o := range objs {
		src := fmt.Sprintf("slo %s (%s:%d)", o.Name(), file, o.Line)
		switch {
		case o.SLI == slo.Availability && o.Total == "":
			refs = append(refs, lint.Ref{Source: src, Path: slo.RequestsMetric, Service: o.Service})
		case o.SLI == slo.Latency && o.Histogram == "":
			refs = append(refs, lint.Ref{Source: src, Path: slo.LatencyRequestsMetric, Service: o.Service})
		case o.SLI == slo.Latency:
			refs = append(refs, lint.Ref{Source: src, Path: o.Histogram})
		default:
			for _, p := range []string{o.Good, o.Bad, o.Total} {
				if p != "" {
					refs = append(refs, lint.Ref{Source: src, Path: p})
				}
			}
		}
	}
	return refs, produced, nil
}
