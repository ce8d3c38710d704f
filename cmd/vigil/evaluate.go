package main

import (
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"math"
	"os"
	"sort"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/spf13/cobra"

	alertconfig "github.com/vigil-metrics/vigil/alert/config"
	"github.com/vigil-metrics/vigil/alert/eval"
	"github.com/vigil-metrics/vigil/alert/route"
	"github.com/vigil-metrics/vigil/alert/state"
	"github.com/vigil-metrics/vigil/analyze"
	"github.com/vigil-metrics/vigil/cmd/internal/cli"
)

type evaluateOptions struct {
	At           string
	Output       string
	DryRun       bool
	FailOnFiring bool
	LockTimeout  time.Duration
}

func newEvaluateCmd(a *app) *cobra.Command {
	o := &evaluateOptions{}
	cmd := &cobra.Command{
		Use:   "evaluate",
		Short: "Evaluate the alert rules once (from cron), stepping each alert's state",
		Long: `Evaluate every alert rule of the config file at --at (default now) over the
stores, step each alert's state (inactive, pending, firing, resolved, nodata)
from the previous run's, kept in the state DB (--state, config state:,
default vigil-state.db beside the config file), and print the alerts.

Notification channels are not wired yet: an alert that should notify a
channel is reported as held (its state is kept, so a later vigil sends it)
and the run exits 1 naming the channels. --dry-run changes no state.`,
		Example: `  * * * * * cd /etc/vigil && vigil evaluate --db '/var/lib/vigil/*.db'
  vigil evaluate --at 2026-11-29T10:00:00Z --dry-run -o json`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error { return a.runEvaluate(cmd, o) },
	}
	cmd.Flags().StringVar(&o.At, "at", "", "evaluation instant, RFC 3339 or unix seconds (default now)")
	cmd.Flags().StringVarP(&o.Output, "output", "o", "table", "output: table or json")
	cmd.Flags().BoolVar(&o.DryRun, "dry-run", false, "evaluate and show, change no state")
	cmd.Flags().BoolVar(&o.FailOnFiring, "fail-on-firing", false, "exit 3 when any alert is firing (for CI)")
	cmd.Flags().DurationVar(&o.LockTimeout, "lock-timeout", 30*time.Second, "how long to wait for an overlapping run")
	cmd.Flags().String("state", "", "state DB (default: config state:, else vigil-state.db beside the config file)")
	addDBFlag(cmd.Flags(), false)
	return cmd
}

// alertJSON is one alert of the run's JSON (docs/alerting.md).
type alertJSON struct {
	Rule         string            `json:"rule"`
	Fingerprint  string            `json:"fingerprint"`
	State        string            `json:"state"`
	Severity     string            `json:"severity"`
	Value        any               `json:"value"`
	Threshold    float64           `json:"threshold"`
	Labels       map[string]string `json:"labels"`
	Incident     *string           `json:"incident"`
	Notified     []string          `json:"notified"`
	Held         []string          `json:"held,omitempty"`
	SuppressedBy *string           `json:"suppressed_by"`
}

func (a *app) runEvaluate(cmd *cobra.Command, o *evaluateOptions) error {
	if o.Output != "table" && o.Output != "json" {
		return cli.Usagef("--output %q: want table or json", o.Output)
	}
	at, err := a.at(o.At)
	if err != nil {
		return err
	}
	file := a.cfgFile
	if file == "" {
		file = "vigil.yaml"
	}
	cfg, err := alertconfig.Load(file)
	if ps, invalid := alertconfig.AsProblems(err); invalid {
		for _, p := range ps {
			fmt.Fprintf(a.stderr, "vigil: error: %s\n", p.Error())
		}
		return &cli.SilentError{Code: cli.ExitUsage}
	}
	if err != nil {
		var pe *fs.PathError
		if errors.As(err, &pe) {
			return cli.WithHint(cli.Usagef("read config %s: %v", file, pe.Err), "vigil evaluate needs alert_rules: see docs/alerting.md")
		}
		return cli.Usagef("read config %s: %v", file, err)
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
	obs, err := eval.Rules(cmd.Context(), db, cfg.Rules, at)
	if err != nil {
		return err
	}

	statePath := a.cfg.State
	if f, _ := cmd.Flags().GetString("state"); f != "" {
		statePath = f
	}
	if statePath == "" {
		statePath = "vigil-state.db"
	}
	sdb, err := state.Open(cmd.Context(), statePath)
	if err != nil {
		return err
	}
	defer sdb.Close() //nolint:errcheck // a committed run is already on disk
	host, _ := os.Hostname()
	run, err := sdb.Begin(cmd.Context(), fmt.Sprintf("pid %d on %s", os.Getpid(), host), o.LockTimeout)
	if err != nil {
		return err
	}
	defer run.Rollback()
	prev, err := run.Alerts()
	if err != nil {
		return err
	}

	rules := map[string]*alertconfig.Rule{}
	for i := range cfg.Rules {
		rules[cfg.Rules[i].Name] = &cfg.Rules[i]
	}
	var out []alertJSON
	held := map[string]bool{}
	firing := false
	seen := map[uint64]bool{}
	step := func(r *alertconfig.Rule, labels map[string]string, ob state.Observation) error {
		fp := state.Fingerprint(r.Name, labels)
		seen[fp] = true
		p, ok := prev[fp]
		if !ok {
			p = state.NewAlert(r.Name, labels)
		}
		next := state.Step(p, ob, at, r.For)
		if !o.DryRun {
			if err := run.Put(next); err != nil {
				return err
			}
		}
		aj := alertJSON{Rule: r.Name, Fingerprint: state.FormatFingerprint(fp), State: next.State.String(),
			Severity: r.Severity, Value: jsonValue(next.Value), Threshold: r.Threshold, Labels: labels, Notified: []string{}}
		// Owed a notice: firing and not told since it fired, or resolved
		// after its firing was told. No sender is wired yet: name the
		// channels that would hear it, on every run until one is, never
		// skip silently.
		owed := (next.State == state.Firing && next.LastNotified.Before(next.FiredAt)) ||
			(next.State == state.Resolved && !next.LastNotified.IsZero() && next.LastNotified.Before(next.ResolvedAt))
		if owed && !next.Acked {
			for _, c := range route.Channels(cfg.Channels, route.Labels(r, labels)) {
				aj.Held = append(aj.Held, c.Name)
				held[c.Name+" ("+c.Type+")"] = true
			}
		}
		firing = firing || next.State == state.Firing
		out = append(out, aj)
		return nil
	}
	for _, ob := range obs {
		if err := step(ob.Rule, ob.Labels, ob.Observation); err != nil {
			return err
		}
	}
	// Alerts of existing rules whose label set was not seen this run: their
	// group vanished from the data (nodata). One already inactive or
	// without data is left as it is, so vanished groups do not pile up in
	// every run's output.
	for fp, p := range prev {
		if r, ok := rules[p.Rule]; ok && !seen[fp] && p.State != state.Inactive && p.State != state.NoData {
			if err := step(r, p.Labels, state.Observation{}); err != nil {
				return err
			}
		}
	}
	if !o.DryRun {
		if err := run.Commit(); err != nil {
			return err
		}
	}
	sort.Slice(out, func(i, j int) bool {
		if out[i].Rule != out[j].Rule {
			return out[i].Rule < out[j].Rule
		}
		return formatLabels(out[i].Labels) < formatLabels(out[j].Labels)
	})
	if err := writeAlerts(a, o.Output, at, out); err != nil {
		return err
	}
	if len(held) > 0 && !o.DryRun {
		names := make([]string, 0, len(held))
		for n := range held {
			names = append(names, n)
		}
		sort.Strings(names)
		return cli.WithHint(fmt.Errorf("cannot notify %s: notification channels are not wired yet; the alerts' state is kept and they are not marked notified", strings.Join(names, ", ")),
			"run with --dry-run to evaluate without this error")
	}
	if o.FailOnFiring && firing {
		return &cli.SilentError{Code: cli.ExitGate}
	}
	return nil
}

func jsonValue(v float64) any {
	if math.IsNaN(v) || math.IsInf(v, 0) {
		return nil
	}
	return v
}

func writeAlerts(a *app, output string, at time.Time, out []alertJSON) error {
	if output == "json" {
		if out == nil {
			out = []alertJSON{}
		}
		return json.NewEncoder(a.stdout).Encode(map[string]any{"at": at.UTC().Format(time.RFC3339Nano), "alerts": out})
	}
	tw := tabwriter.NewWriter(a.stdout, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "RULE\tSTATE\tSEVERITY\tVALUE\tLABELS\tHELD FOR")
	for _, x := range out {
		v := "-"
		if f, ok := x.Value.(float64); ok {
			v = formatValue(f)
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%s\n", x.Rule, x.State, x.Severity, v, formatLabels(x.Labels), strings.Join(x.Held, ","))
	}
	return tw.Flush()
}
