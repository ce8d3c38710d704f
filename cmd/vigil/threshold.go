package main

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"maps"
	"math"
	"os"
	"slices"
	"sort"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/spf13/cobra"

	alertconfig "github.com/vigil-metrics/vigil/alert/config"
	"github.com/vigil-metrics/vigil/alert/state"
	"github.com/vigil-metrics/vigil/alert/tune"
	"github.com/vigil-metrics/vigil/alert/yamledit"
	"github.com/vigil-metrics/vigil/cmd/internal/cli"
)

type thresholdTuneOptions struct {
	At          string
	Output      string
	Rule        string
	DryRun      bool
	Backtest    bool
	Write       bool
	rewrote     bool // set by the run: --write changed the file
	LockTimeout time.Duration
}

type thresholdListOptions struct {
	Output string
	Rule   string
}

func newThresholdCmd(a *app) *cobra.Command {
	cmd := &cobra.Command{
		Use:   "threshold",
		Short: "Derive dynamic rules' thresholds from history, and show them",
		Long: `A rule labelled dynamic_threshold: "true" has its threshold derived from
the history of its metric (settings.dynamic_thresholds and the rule's
tuning: block say how). vigil threshold tune derives it and stores it in
the state DB, where vigil evaluate takes it instead of the config's value;
vigil threshold list shows what is in use. See docs/thresholds.md.`,
		Args: cobra.NoArgs,
	}
	cmd.AddCommand(newThresholdTuneCmd(a), newThresholdListCmd(a))
	return cmd
}

func newThresholdTuneCmd(a *app) *cobra.Command {
	o := &thresholdTuneOptions{}
	cmd := &cobra.Command{
		Use:   "tune",
		Short: "Derive the dynamic rules' thresholds from history and store them",
		Long: `Derive the threshold of every dynamic rule (labels: {dynamic_threshold:
"true"}), or of --rule, from its metric's history over the tuning's
baseline_window before --at (default now), with its method (percentile,
mad or seasonal). A new value is applied when there were min_samples
values at least and it moved by more than the hysteresis from the old one:
the stored tuned value, else the config's threshold.

Applied values go into the state DB (--state), which vigil evaluate reads;
--write also rewrites them into the config file, in place (comments, order
and layout kept, only the numbers change; atomically). --dry-run shows
what would change and changes nothing. --backtest replays the rule over the
baseline with the old and the new threshold and counts the firings.`,
		Example: `  0 3 * * * cd /etc/vigil && vigil threshold tune --db '/var/lib/vigil/*.db'
  vigil threshold tune --dry-run --backtest --rule cpu_high
  vigil threshold tune --write -o json`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error { return a.runThresholdTune(cmd, o) },
	}
	cmd.Flags().StringVar(&o.At, "at", "", "tune as of this instant, RFC 3339 or unix seconds (default now)")
	outputFlag(cmd, &o.Output, "table", "json")
	cmd.Flags().StringVar(&o.Rule, "rule", "", "tune this dynamic rule only")
	cmd.Flags().BoolVar(&o.DryRun, "dry-run", false, "show what would change; store and write nothing")
	cmd.Flags().BoolVar(&o.Backtest, "backtest", false, "count the firings over the baseline with the old and the new threshold")
	cmd.Flags().BoolVar(&o.Write, "write", false, "also rewrite the applied thresholds into the config file")
	cmd.Flags().DurationVar(&o.LockTimeout, "lock-timeout", 30*time.Second, "how long to wait for a run holding the state DB")
	addStateFlag(cmd)
	addDBFlag(cmd.Flags(), false)
	return cmd
}

func newThresholdListCmd(a *app) *cobra.Command {
	o := &thresholdListOptions{}
	cmd := &cobra.Command{
		Use:   "list",
		Short: "Show the dynamic rules' thresholds in use and their history",
		Args:  cobra.NoArgs,
		RunE:  func(cmd *cobra.Command, _ []string) error { return a.runThresholdList(cmd, o) },
	}
	outputFlag(cmd, &o.Output, "table", "json")
	cmd.Flags().StringVar(&o.Rule, "rule", "", "this rule only")
	addStateFlag(cmd)
	return cmd
}

// statePath is the state DB: --state, else the config's state: (or
// vigil-state.db beside the config file), else vigil-state.db here.
func (a *app) statePath(cmd *cobra.Command) string {
	p := a.cfg.State
	if f, _ := cmd.Flags().GetString("state"); f != "" {
		p = f
	}
	if p == "" {
		p = defaultStatePath
	}
	return p
}

// defaultStatePath is the state DB of a command given none (no --state,
// VIGIL_STATE nor config state:): in the working directory.
const defaultStatePath = "vigil-state.db"

// storedThresholds reads the tuned thresholds and, with history, their
// changes, from a snapshot. A state DB that does not exist yet holds none
// and is not created.
func (a *app) storedThresholds(cmd *cobra.Command, history bool) (map[string]state.Threshold, []state.ThresholdChange, error) {
	sdb, err := a.openStateExisting(cmd)
	if errors.Is(err, fs.ErrNotExist) {
		return map[string]state.Threshold{}, nil, nil
	}
	if err != nil {
		return nil, nil, err
	}
	defer sdb.Close() //nolint:errcheck // read only
	run, err := sdb.Snapshot(cmd.Context())
	if err != nil {
		return nil, nil, err
	}
	defer run.Rollback()
	ts, err := run.Thresholds()
	if err != nil {
		return nil, nil, err
	}
	var hs []state.ThresholdChange
	if history {
		if hs, err = run.ThresholdHistory(""); err != nil {
			return nil, nil, err
		}
	}
	return ts, hs, nil
}

// useTunedThresholds gives every dynamic rule of cfg its tuned threshold,
// where the state DB holds one (tune.Apply; vigil evaluate calls it before
// evaluating).
func (a *app) useTunedThresholds(cmd *cobra.Command, cfg *alertconfig.Config) error {
	dynamic := false
	for _, r := range cfg.Rules {
		dynamic = dynamic || r.Dynamic
	}
	if !dynamic {
		return nil
	}
	ts, _, err := a.storedThresholds(cmd, false)
	if err != nil {
		return err
	}
	tune.Apply(cfg, ts)
	return nil
}

// thresholdJSON is one rule's result in vigil threshold tune -o json.
type thresholdJSON struct {
	Rule       string        `json:"rule"`
	MetricPath string        `json:"metric_path"`
	Method     string        `json:"method"`
	Old        any           `json:"old"`
	New        any           `json:"new"`
	Applied    bool          `json:"applied"`
	Reason     string        `json:"reason"`
	Samples    int           `json:"samples"`
	Backtest   *backtestJSON `json:"backtest"`
}

type backtestJSON struct {
	OldFires         int     `json:"old_fires"`
	NewFires         int     `json:"new_fires"`
	OldFiringSeconds float64 `json:"old_firing_seconds"`
	NewFiringSeconds float64 `json:"new_firing_seconds"`
}

// dynamicRules are the rules to tune: the dynamic ones, or --rule.
func dynamicRules(cfg *alertconfig.Config, name string) ([]*alertconfig.Rule, error) {
	var out []*alertconfig.Rule
	for i := range cfg.Rules {
		r := &cfg.Rules[i]
		if name != "" && r.Name != name {
			continue
		}
		if name != "" && !r.Dynamic {
			return nil, cli.Usagef("--rule %q: not a dynamic rule (labels: {dynamic_threshold: \"true\"})", name)
		}
		if r.Dynamic {
			out = append(out, r)
		}
	}
	if name != "" && len(out) == 0 {
		return nil, cli.Usagef("--rule %q: no such alert rule in %s", name, cfg.File)
	}
	return out, nil
}

func (a *app) runThresholdTune(cmd *cobra.Command, o *thresholdTuneOptions) error {
	ctx := cmd.Context()
	if err := checkOutput(cmd); err != nil {
		return err
	}
	if o.DryRun && o.Write {
		return cli.Usagef("--dry-run and --write: a dry run writes nothing")
	}
	at, err := a.at(o.At)
	if err != nil {
		return err
	}
	cfg, err := a.loadAlertConfig()
	if err != nil {
		return err
	}
	rules, err := dynamicRules(cfg, o.Rule)
	if err != nil {
		return err
	}
	if len(rules) == 0 {
		a.log.Warn("no dynamic rules: label a rule dynamic_threshold: \"true\" to tune it", "config", cfg.File)
	}
	stored, _, err := a.storedThresholds(cmd, false)
	if err != nil {
		return err
	}

	var results []tune.Result
	if len(rules) > 0 {
		stores, err := a.storePaths()
		if err != nil {
			return err
		}
		db, err := a.openStores(cmd, stores, o.LockTimeout)
		if err != nil {
			return err
		}
		for _, r := range rules {
			old := r.Threshold
			if t, ok := stored[r.Name]; ok {
				old = t.Value
			}
			res, err := tune.Tune(ctx, db, r, old, at, cfg.Settings.EvaluationInterval, o.Backtest)
			if err != nil {
				db.Close()
				return fmt.Errorf("tune rule %s: %w", r.Name, err)
			}
			results = append(results, res)
		}
		db.Close()
	}

	var applied []tune.Result
	for _, res := range results {
		if res.Applied {
			applied = append(applied, res)
		}
	}
	// --write makes the file hold every tuned rule's threshold in use: the
	// new value where one was applied, else the stored one (a tune run
	// earlier without --write leaves the file behind the state, and a
	// rerun moves nothing against the state). The file's new text is made
	// (and a threshold that cannot be changed in place refused) before
	// anything is stored.
	var file string
	var text []byte
	rewrite := false
	if o.Write && len(results) > 0 {
		vals := map[string]float64{}
		for _, res := range results {
			switch {
			case res.Applied:
				vals[res.Rule] = res.New
			case !math.IsNaN(res.Old):
				vals[res.Rule] = res.Old
			}
		}
		file = cfg.File
		src, err := os.ReadFile(file)
		if err != nil {
			return err
		}
		if text, err = yamledit.SetThresholds(src, vals); err != nil {
			return cli.Usagef("--write %s: %v", file, err)
		}
		rewrite = !bytes.Equal(src, text)
	}
	if !o.DryRun && len(applied) > 0 {
		if err := a.storeThresholds(cmd, applied, at, o); err != nil {
			return err
		}
	}
	if rewrite {
		if err := yamledit.WriteFile(file, text); err != nil {
			if len(applied) > 0 {
				return fmt.Errorf("--write %s: %w (the state DB holds the new values)", file, err)
			}
			return fmt.Errorf("--write %s: %w", file, err)
		}
	}
	o.rewrote = rewrite
	return writeTuneResults(a, o, cfg, results, len(applied))
}

// storeThresholds records the applied results under the run lock.
func (a *app) storeThresholds(cmd *cobra.Command, applied []tune.Result, at time.Time, o *thresholdTuneOptions) error {
	sdb, err := a.openState(cmd)
	if err != nil {
		return err
	}
	defer sdb.Close() //nolint:errcheck // committed or nothing to keep
	run, err := sdb.Begin(cmd.Context(), holderName(), o.LockTimeout)
	if err != nil {
		return err
	}
	defer run.Rollback()
	for _, res := range applied {
		if err := run.PutThreshold(state.ThresholdChange{Rule: res.Rule, TunedAt: at, Old: res.Old, New: res.New,
			Method: res.Method, Reason: res.Reason, Samples: res.Samples, Written: o.Write}); err != nil {
			return err
		}
	}
	return run.Commit()
}

func writeTuneResults(a *app, o *thresholdTuneOptions, cfg *alertconfig.Config, results []tune.Result, applied int) error {
	if o.Output == "json" {
		out := make([]thresholdJSON, 0, len(results))
		for _, r := range results {
			j := thresholdJSON{Rule: r.Rule, MetricPath: r.MetricPath, Method: r.Method, Old: jsonValue(r.Old), New: jsonValue(r.New),
				Applied: r.Applied, Reason: r.Reason, Samples: r.Samples}
			if b := r.Backtest; b != nil && o.Backtest {
				j.Backtest = &backtestJSON{OldFires: b.OldFires, NewFires: b.NewFires, OldFiringSeconds: b.OldFiringSeconds, NewFiringSeconds: b.NewFiringSeconds}
			}
			out = append(out, j)
		}
		doc := map[string]any{"thresholds": out}
		if o.DryRun {
			doc["dry_run"] = true
		}
		return encodeJSON(a, doc)
	}
	tw := tabwriter.NewWriter(a.stdout, 0, 0, 2, ' ', 0)
	head := "RULE\tMETHOD\tOLD\tNEW\tAPPLIED\tSAMPLES"
	if o.Backtest {
		head += "\tFIRES OLD\tFIRES NEW\tFIRING OLD\tFIRING NEW"
	}
	fmt.Fprintln(tw, head+"\tREASON")
	for _, r := range results {
		applied := "no"
		if r.Applied {
			applied = "yes"
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%d", r.Rule, r.Method, numberText(r.Old), numberText(r.New), applied, r.Samples)
		if o.Backtest {
			if b := r.Backtest; b != nil {
				fmt.Fprintf(tw, "\t%d\t%d\t%s\t%s", b.OldFires, b.NewFires, secondsText(b.OldFiringSeconds), secondsText(b.NewFiringSeconds))
			} else {
				fmt.Fprint(tw, "\t-\t-\t-\t-")
			}
		}
		fmt.Fprintf(tw, "\t%s\n", r.Reason)
	}
	if err := tw.Flush(); err != nil {
		return err
	}
	switch {
	case o.DryRun:
		fmt.Fprintf(a.stdout, "\ndry run: %d of %d threshold(s) would change; nothing stored\n", applied, len(results))
	case o.Write && applied > 0:
		fmt.Fprintf(a.stdout, "\n%d of %d threshold(s) changed: stored, and written to %s\n", applied, len(results), cfg.File)
	case o.Write && o.rewrote:
		fmt.Fprintf(a.stdout, "\n0 of %d threshold(s) changed; %s rewritten to hold the thresholds in use\n", len(results), cfg.File)
	case o.Write:
		fmt.Fprintf(a.stdout, "\n0 of %d threshold(s) changed; %s already holds the thresholds in use\n", len(results), cfg.File)
	default:
		fmt.Fprintf(a.stdout, "\n%d of %d threshold(s) changed and stored\n", applied, len(results))
	}
	return nil
}

func numberText(v float64) string {
	if math.IsNaN(v) || math.IsInf(v, 0) {
		return "-"
	}
	return formatValue(v)
}

func secondsText(s float64) string {
	return (time.Duration(s) * time.Second).String()
}

// thresholdListJSON is one rule in vigil threshold list -o json.
type thresholdListJSON struct {
	Rule    string              `json:"rule"`
	Dynamic bool                `json:"dynamic"`
	Config  any                 `json:"config"` // null: the rule is no longer in the config
	Tuned   any                 `json:"tuned"`  // null: never tuned
	TunedAt *string             `json:"tuned_at"`
	Method  string              `json:"method"`
	Reason  string              `json:"reason"`
	InUse   any                 `json:"in_use"` // what vigil evaluate compares with
	History []thresholdHistJSON `json:"history"`
}

type thresholdHistJSON struct {
	At      string `json:"at"`
	Old     any    `json:"old"`
	New     any    `json:"new"`
	Method  string `json:"method"`
	Reason  string `json:"reason"`
	Samples int    `json:"samples"`
	Written bool   `json:"written"`
}

func (a *app) runThresholdList(cmd *cobra.Command, o *thresholdListOptions) error {
	if err := checkOutput(cmd); err != nil {
		return err
	}
	// Listing stored values needs only the state DB: without a config
	// file (none named, none in the working directory) the config column
	// stays empty and "in use" is unknown.
	cfg := &alertconfig.Config{}
	if a.cfgFile != "" || (a.file != nil && a.file.Path != "") {
		var err error
		if cfg, err = a.loadAlertConfig(); err != nil {
			return err
		}
	}
	stored, hist, err := a.storedThresholds(cmd, true)
	if err != nil {
		return err
	}
	out, byRule := thresholdList(cfg, stored, hist)
	if o.Rule != "" {
		x := byRule[o.Rule]
		if x == nil {
			return cli.Usagef("--rule %q: no dynamic or tuned rule of that name", o.Rule)
		}
		out = []*thresholdListJSON{x}
	}
	// After the usage errors: a --state named but missing is exit 1.
	if err := a.namedStateMissing(cmd); err != nil {
		return err
	}
	if o.Output == "json" {
		return encodeJSON(a, map[string]any{"thresholds": out})
	}
	return writeThresholdList(a, out)
}

// thresholdList lists the config's dynamic rules, then the tuned ones
// (by name; those no longer in the config too), with their history.
func thresholdList(cfg *alertconfig.Config, stored map[string]state.Threshold, hist []state.ThresholdChange) ([]*thresholdListJSON, map[string]*thresholdListJSON) {
	byRule := map[string]*thresholdListJSON{}
	var out []*thresholdListJSON
	add := func(name string) *thresholdListJSON {
		x := &thresholdListJSON{Rule: name, History: []thresholdHistJSON{}}
		byRule[name] = x
		out = append(out, x)
		return x
	}
	for _, r := range cfg.Rules {
		if _, tuned := stored[r.Name]; !r.Dynamic && !tuned {
			continue
		}
		x := add(r.Name)
		x.Dynamic, x.Config, x.InUse = r.Dynamic, r.Threshold, r.Threshold
		if r.Dynamic {
			x.Method = r.Tuning.Method
		}
	}
	for _, n := range slices.Sorted(maps.Keys(stored)) {
		t := stored[n]
		x := byRule[n]
		if x == nil { // tuned once, since removed from the config
			x = add(n)
		}
		at := t.TunedAt.UTC().Format(time.RFC3339)
		x.Tuned, x.TunedAt, x.Method, x.Reason = t.Value, &at, t.Method, t.Reason
		if x.Dynamic {
			x.InUse = t.Value
		}
	}
	for _, c := range hist {
		x := byRule[c.Rule]
		if x == nil {
			x = add(c.Rule)
		}
		x.History = append(x.History, thresholdHistJSON{At: c.TunedAt.UTC().Format(time.RFC3339), Old: jsonValue(c.Old),
			New: jsonValue(c.New), Method: c.Method, Reason: c.Reason, Samples: c.Samples, Written: c.Written})
	}
	return out, byRule
}

// writeThresholdList writes the list as a table, then the history (by
// time, then rule).
func writeThresholdList(a *app, out []*thresholdListJSON) error {
	text := func(v any) string {
		if f, ok := v.(float64); ok {
			return formatValue(f)
		}
		return "-"
	}
	tw := tabwriter.NewWriter(a.stdout, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "RULE\tCONFIG\tTUNED\tIN USE\tTUNED AT\tMETHOD\tREASON")
	for _, x := range out {
		at := "-"
		if x.TunedAt != nil {
			at = *x.TunedAt
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%s\t%s\n", x.Rule, text(x.Config), text(x.Tuned), text(x.InUse), at, dash(x.Method), dash(x.Reason))
	}
	if err := tw.Flush(); err != nil {
		return err
	}
	var rows []string
	for _, x := range out {
		for _, h := range x.History {
			written := ""
			if h.Written {
				written = " (written to the config)"
			}
			rows = append(rows, fmt.Sprintf("%s\t%s\t%s\t%s\t%s\t%s%s", h.At, x.Rule, text(h.Old), text(h.New), h.Method, dash(h.Reason), written))
		}
	}
	if len(rows) == 0 {
		fmt.Fprintln(a.stdout, "\nhistory: none")
		return nil
	}
	sort.Strings(rows) // by time, then rule
	fmt.Fprintln(a.stdout, "\nhistory")
	tw = tabwriter.NewWriter(a.stdout, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "AT\tRULE\tOLD\tNEW\tMETHOD\tREASON")
	for _, r := range rows {
		fmt.Fprintln(tw, r)
	}
	return tw.Flush()
}

func dash(s string) string {
	if strings.TrimSpace(s) == "" {
		return "-"
	}
	return s
}

// encodeJSON writes v as one line, with < and > as they are: reasons say
// "moved 0 <= hysteresis 0.1".
func encodeJSON(a *app, v any) error {
	enc := json.NewEncoder(a.stdout)
	enc.SetEscapeHTML(false)
	return enc.Encode(v)
}
