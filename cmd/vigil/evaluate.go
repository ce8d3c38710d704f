package main

import (
	"encoding/json"
	"fmt"
	"github.com/vigil-metrics/vigil/internal/metricpath"
	"math"
	"slices"
	"sort"
	"strings"
	"sync"
	"text/tabwriter"
	"time"

	"github.com/spf13/cobra"

	alertconfig "github.com/vigil-metrics/vigil/alert/config"
	"github.com/vigil-metrics/vigil/alert/eval"
	"github.com/vigil-metrics/vigil/alert/notify"
	"github.com/vigil-metrics/vigil/alert/record"
	"github.com/vigil-metrics/vigil/alert/state"
	"github.com/vigil-metrics/vigil/cmd/internal/cli"
	"github.com/vigil-metrics/vigil/internal/store"
)

// Crash points for the tests (which kill a run there): afterRecord runs
// once the run's decisions and notices are committed, beforeSend right
// before each notification request, after its notices are marked sending.
var afterRecord, beforeSend func()

type evaluateOptions struct {
	At           string
	Output       string
	DryRun       bool
	FailOnFiring bool
	LockTimeout  time.Duration
	RecordDB     string
}

func newEvaluateCmd(a *app) *cobra.Command {
	o := &evaluateOptions{}
	cmd := &cobra.Command{
		Use:   "evaluate",
		Short: "Evaluate the alert rules once (from cron) and send what is owed",
		Long: `Evaluate every alert rule of the config file at --at (default now) over the
stores, step each alert's state (inactive, pending, firing, resolved, nodata)
from the previous run's, kept in the state DB (--state, config state:,
default vigil-state.db beside the config file), decide the notifications
(channel filters, escalation steps, silences, acks, cooldown, dedup,
incidents), record them, send them under settings.max_alerts_per_minute,
and print the alerts.

A run holds the state DB's lock from start to end; an overlapping run waits
--lock-timeout, then exits 1 naming the holder. Every notification is
recorded before it is sent, so a run killed mid-way never makes the next
one send twice. Exit 1 when a notification could not be delivered (it is
retried by later runs when the failure was transient).`,
		Example: `  * * * * * cd /etc/vigil && vigil evaluate --db '/var/lib/vigil/*.db'
  vigil evaluate --at 2026-11-29T10:00:00Z --dry-run -o json`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error { return a.runEvaluate(cmd, o) },
	}
	cmd.Flags().StringVar(&o.At, "at", "", "evaluation instant, RFC 3339 or unix seconds (default now)")
	cmd.Flags().StringVarP(&o.Output, "output", "o", "table", "output: table or json")
	cmd.Flags().BoolVar(&o.DryRun, "dry-run", false, "evaluate and show what would be sent; change no state, send nothing")
	cmd.Flags().BoolVar(&o.FailOnFiring, "fail-on-firing", false, "exit 3 when any alert is firing (for CI)")
	cmd.Flags().DurationVar(&o.LockTimeout, "lock-timeout", 30*time.Second, "how long to wait for an overlapping run")
	cmd.Flags().StringVar(&o.RecordDB, "record-db", "", "store that recording_rules write their series into")
	addStateFlag(cmd)
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
	SuppressedBy *string           `json:"suppressed_by"`
	// Extensions: notices recorded this run, held by the rate limit, and
	// failed this run.
	Queued []string `json:"queued,omitempty"`
	Held   []string `json:"held,omitempty"`
	Failed []string `json:"failed,omitempty"`
	// Retrying: failed in an earlier run, waiting out the backoff.
	Retrying []string `json:"retrying,omitempty"`
}

// sendJSON is one message a dry run would send.
type sendJSON struct {
	Channel    string          `json:"channel"`
	Type       string          `json:"type"`
	Target     string          `json:"target,omitempty"`
	Kind       string          `json:"kind"`
	Alerts     []sendAlertJSON `json:"alerts"`
	Step       *int            `json:"escalation_step"`
	Incident   string          `json:"incident,omitempty"`
	Recipients []string        `json:"recipients,omitempty"`
}

type sendAlertJSON struct {
	Rule        string            `json:"rule"`
	Fingerprint string            `json:"fingerprint"`
	Labels      map[string]string `json:"labels"`
}

func (a *app) runEvaluate(cmd *cobra.Command, o *evaluateOptions) error {
	ctx := cmd.Context()
	if o.Output != "table" && o.Output != "json" {
		return cli.Usagef("--output %q: want table or json", o.Output)
	}
	at, err := a.at(o.At)
	if err != nil {
		return err
	}
	cfg, err := a.loadAlertConfig()
	if err != nil {
		return err
	}
	// A dynamic rule's threshold: the tuned one when the state DB holds
	// one (vigil threshold tune), else the config's.
	if err := a.useTunedThresholds(cmd, cfg); err != nil {
		return err
	}
	if len(cfg.RecordingRules) > 0 && o.RecordDB == "" && !o.DryRun {
		a.log.Warn("recording_rules are not evaluated without --record-db")
	}
	// A channel that cannot be built is a config error: say so before
	// evaluating anything.
	if _, err := senders(cfg); err != nil {
		return err
	}
	stores, err := a.storePaths()
	if err != nil {
		return err
	}
	db, err := a.openStores(cmd, stores, o.LockTimeout)
	if err != nil {
		return err
	}
	// The stores' caches are locked while open: close them before waiting
	// for the state lock and sending, or an overlapping run would wait here
	// for the whole delivery instead of honouring --lock-timeout.
	closeDB := sync.OnceFunc(func() { db.Close() })
	defer closeDB()
	obs, err := eval.Rules(ctx, db, cfg.Rules, at)
	if err != nil {
		return err
	}
	if o.RecordDB != "" && !o.DryRun && len(cfg.RecordingRules) > 0 {
		st, err := store.Open(ctx, o.RecordDB, store.Options{})
		if err != nil {
			return err
		}
		sum, err := record.Record(ctx, record.WithStoreLabels(db, db.Stores), cfg.RecordingRules, at, st)
		st.Close()
		if err != nil {
			return fmt.Errorf("recording rules: %w", err)
		}
		a.log.Info("recording rules", "summary", sum.String())
	}

	closeDB()

	rules := map[string]*alertconfig.Rule{}
	for i := range cfg.Rules {
		rules[cfg.Rules[i].Name] = &cfg.Rules[i]
	}
	build := func(prev map[uint64]state.Alert) []*notify.Item {
		var items []*notify.Item
		for _, st := range eval.StepRun(prev, rules, obs, at) {
			items = append(items, &notify.Item{Rule: st.Rule, Prev: st.Prev, Alert: st.Next})
		}
		return items
	}
	items, outcome, wouldSend, err := a.notifyRun(cmd, cfg, at, o.DryRun, o.LockTimeout, build)
	if err != nil {
		return err
	}

	out := make([]alertJSON, 0, len(items))
	firing := false
	for _, it := range items {
		x := it.Alert
		aj := alertJSON{Rule: it.Rule.Name, Fingerprint: state.FormatFingerprint(x.Fingerprint), State: x.State.String(),
			Severity: it.Rule.Severity, Value: jsonValue(x.Value), Threshold: it.Rule.Threshold, Labels: x.Labels,
			Notified: nonNil(outcome.Sent[x.Fingerprint]), Queued: it.Queued,
			Held: outcome.Held[x.Fingerprint], Failed: outcome.Failed[x.Fingerprint], Retrying: outcome.Waiting[x.Fingerprint]}
		if aj.Labels == nil {
			aj.Labels = map[string]string{}
		}
		if x.Incident != "" {
			aj.Incident = &x.Incident
		}
		by := it.SuppressedBy
		if by == "" && len(aj.Held) > 0 && len(aj.Notified) == 0 {
			by = notify.ByRateLimit
		}
		if by != "" {
			aj.SuppressedBy = &by
		}
		firing = firing || x.State == state.Firing
		out = append(out, aj)
	}
	if err := writeAlerts(a, o.Output, at, out, o.DryRun, wouldSend); err != nil {
		return err
	}
	if outcome.Interrupted > 0 {
		a.log.Warn("a previous run stopped while sending; those notifications are marked unknown and not resent (vigil alerts history shows them)",
			"count", outcome.Interrupted)
	}
	if held := len(outcome.Held); held > 0 {
		a.log.Warn("settings.max_alerts_per_minute reached: notifications held back for a later run", "alerts", held)
	}
	if len(outcome.Errors) > 0 {
		msgs := make([]string, len(outcome.Errors))
		for i, e := range outcome.Errors {
			msgs[i] = e.Error()
		}
		slices.Sort(msgs)
		msgs = slices.Compact(msgs)
		return fmt.Errorf("%d notification(s) not delivered: %s", len(outcome.Errors), strings.Join(msgs, "; "))
	}
	if o.FailOnFiring && firing {
		return &cli.SilentError{Code: cli.ExitGate}
	}
	return nil
}

// quiet says an alert need not be written (eval.Stepped.Quiet).
func quiet(prev map[uint64]state.Alert, it *notify.Item) bool {
	_, known := prev[it.Alert.Fingerprint]
	return eval.Stepped{Prev: prev[it.Alert.Fingerprint], Next: it.Alert}.Quiet(known)
}

func nonNil(s []string) []string {
	if s == nil {
		return []string{}
	}
	return s
}

// describeSends says what a dry run would send where, one entry per
// message, with every target redacted to what identifies it without its
// secret.
func describeSends(cfg *alertconfig.Config, ns []state.Notice) []sendJSON {
	chans := map[string]alertconfig.Channel{}
	for _, c := range cfg.Channels {
		chans[c.Name] = c
	}
	out := []sendJSON{}
	for _, m := range notify.Messages(ns) {
		n := m[0]
		c := chans[n.Channel]
		s := sendJSON{Channel: n.Channel, Type: c.Type, Target: target(c), Kind: n.Kind, Incident: n.Incident}
		for _, x := range m {
			var body struct {
				Labels map[string]string `json:"labels"`
			}
			_ = json.Unmarshal(x.Alert, &body) // written by this vigil: plain data
			s.Alerts = append(s.Alerts, sendAlertJSON{Rule: x.Rule, Fingerprint: state.FormatFingerprint(x.Fingerprint), Labels: body.Labels})
			s.Recipients = append(s.Recipients, x.Recipients...)
			if x.Step >= 0 && (s.Step == nil || x.Step > *s.Step) {
				step := x.Step
				s.Step = &step
			}
		}
		out = append(out, s)
	}
	return out
}

func jsonValue(v float64) any {
	if math.IsNaN(v) || math.IsInf(v, 0) {
		return nil
	}
	return v
}

func writeAlerts(a *app, output string, at time.Time, out []alertJSON, dry bool, sends []sendJSON) error {
	if output == "json" {
		doc := map[string]any{"at": at.UTC().Format(time.RFC3339Nano), "alerts": out}
		if dry {
			doc["dry_run"] = true
			doc["would_send"] = sends
		}
		return json.NewEncoder(a.stdout).Encode(doc)
	}
	tw := tabwriter.NewWriter(a.stdout, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "RULE\tSTATE\tSEVERITY\tVALUE\tLABELS\tINCIDENT\tNOTIFIED\tSUPPRESSED")
	for _, x := range out {
		v := "-"
		if f, ok := x.Value.(float64); ok {
			v = formatValue(f)
		}
		inc, sup := "-", "-"
		if x.Incident != nil {
			inc = *x.Incident
		}
		if x.SuppressedBy != nil {
			sup = *x.SuppressedBy
		}
		notified := strings.Join(x.Notified, ",")
		if len(x.Held) > 0 {
			notified = strings.TrimPrefix(notified+",held:"+strings.Join(x.Held, ","), ",")
		}
		if len(x.Failed) > 0 {
			notified = strings.TrimPrefix(notified+",failed:"+strings.Join(x.Failed, ","), ",")
		}
		if notified == "" {
			notified = "-"
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\n", x.Rule, x.State, x.Severity, v, metricpath.FormatLabels(x.Labels), inc, notified, sup)
	}
	if err := tw.Flush(); err != nil {
		return err
	}
	if !dry {
		return nil
	}
	if len(sends) == 0 {
		fmt.Fprintln(a.stdout, "\ndry run: nothing would be sent")
		return nil
	}
	fmt.Fprintln(a.stdout, "\ndry run: would send")
	tw = tabwriter.NewWriter(a.stdout, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "CHANNEL\tTYPE\tTARGET\tKIND\tSTEP\tINCIDENT\tALERTS")
	for _, s := range sends {
		step, inc := "-", "-"
		if s.Step != nil {
			step = fmt.Sprint(*s.Step)
		}
		if s.Incident != "" {
			inc = s.Incident
		}
		alerts := make([]string, len(s.Alerts))
		for i, x := range s.Alerts {
			alerts[i] = x.Rule + " " + metricpath.FormatLabels(x.Labels)
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%s\t%s\n", s.Channel, s.Type, s.Target, s.Kind, step, inc, strings.Join(alerts, "; "))
	}
	return tw.Flush()
}

// notifyRun is the part of a run that alerts share, whoever raises them
// (evaluate's rules, budget's burn alerts): under the state lock (or a
// snapshot for a dry run), build steps the alerts from their previous
// state, the pipeline decides, the decisions and notices are committed,
// then delivered. A dry run returns what would be sent instead.
func (a *app) notifyRun(cmd *cobra.Command, cfg *alertconfig.Config, at time.Time, dry bool, lockTimeout time.Duration,
	build func(prev map[uint64]state.Alert) []*notify.Item) ([]*notify.Item, notify.Outcome, []sendJSON, error) {
	ctx := cmd.Context()
	snd, err := senders(cfg)
	if err != nil {
		return nil, notify.Outcome{}, nil, err
	}
	sdb, err := a.openState(cmd)
	if err != nil {
		return nil, notify.Outcome{}, nil, err
	}
	defer sdb.Close() //nolint:errcheck // a committed run is already on disk
	var run *state.Run
	if dry {
		run, err = sdb.Snapshot(ctx)
	} else {
		run, err = sdb.Begin(ctx, holderName(), lockTimeout)
	}
	if err != nil {
		return nil, notify.Outcome{}, nil, err
	}
	defer run.Rollback()
	prev, err := run.Alerts()
	if err != nil {
		return nil, notify.Outcome{}, nil, err
	}

	items := build(prev)
	sort.Slice(items, func(i, j int) bool {
		if items[i].Rule.Name != items[j].Rule.Name {
			return items[i].Rule.Name < items[j].Rule.Name
		}
		return metricpath.FormatLabels(items[i].Alert.Labels) < metricpath.FormatLabels(items[j].Alert.Labels)
	})
	plan, err := notify.Decide(run, cfg, at, items)
	if err != nil {
		return nil, notify.Outcome{}, nil, err
	}

	var outcome notify.Outcome
	var wouldSend []sendJSON
	if dry {
		queued, err := run.Notices(state.Queued)
		if err != nil {
			return nil, notify.Outcome{}, nil, err
		}
		wouldSend = describeSends(cfg, append(queued, plan.Notices...))
	} else {
		for _, it := range items {
			if quiet(prev, it) {
				continue
			}
			if err := run.Put(it.Alert); err != nil {
				return nil, notify.Outcome{}, nil, err
			}
		}
		for _, inc := range plan.Incidents {
			if err := run.PutIncident(inc); err != nil {
				return nil, notify.Outcome{}, nil, err
			}
		}
		for i := range plan.Notices {
			if err := run.Enqueue(&plan.Notices[i]); err != nil {
				return nil, notify.Outcome{}, nil, err
			}
		}
		if _, err := run.PruneHistory(at.Add(-time.Duration(cfg.Settings.AlertRetentionDays) * 24 * time.Hour)); err != nil {
			return nil, notify.Outcome{}, nil, err
		}
		// The decisions and the intent to send are durable before any
		// request goes out.
		if err := run.Save(); err != nil {
			return nil, notify.Outcome{}, nil, err
		}
		if afterRecord != nil {
			afterRecord()
		}
		outcome, err = notify.Deliver(ctx, run, cfg, at, notify.Options{Senders: snd,
			MaxPerMinute: cfg.Settings.MaxAlertsPerMinute, BeforeSend: beforeSend})
		if err != nil {
			return nil, notify.Outcome{}, nil, err
		}
		if err := run.Commit(); err != nil {
			return nil, notify.Outcome{}, nil, err
		}
	}

	return items, outcome, wouldSend, nil
}
