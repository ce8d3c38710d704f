package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"path/filepath"
	"slices"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/spf13/cobra"

	"github.com/vigil-metrics/vigil/alert/channels"
	alertconfig "github.com/vigil-metrics/vigil/alert/config"
	"github.com/vigil-metrics/vigil/alert/eval"
	"github.com/vigil-metrics/vigil/alert/notify"
	alertrun "github.com/vigil-metrics/vigil/alert/run"
	"github.com/vigil-metrics/vigil/alert/state"
	"github.com/vigil-metrics/vigil/analyze"
	"github.com/vigil-metrics/vigil/cmd/internal/cli"
	"github.com/vigil-metrics/vigil/internal/metricpath"
	"github.com/vigil-metrics/vigil/internal/numfmt"
	"github.com/vigil-metrics/vigil/internal/safetext"
)

// Crash points for the tests (which kill a run there), passed to every
// run (alertrun.Options.AfterRecord, BeforeSend): afterRecord runs once
// the run's decisions and notices are committed, beforeSend right before
// each notification request, after its notices are marked sending.
var afterRecord, beforeSend func()

type evaluateOptions struct {
	At           string
	Output       string
	DryRun       bool
	FailOnFiring bool
	LockTimeout  time.Duration
	RunTimeout   time.Duration
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
--lock-timeout, then exits 1 naming the holder. Channels send at the same
time, so a hung receiver delays only its own; at --run-timeout the run stops
sending and what is unsent stays queued for the next run (exit 1). Every notification is
recorded before it is sent, so a run killed mid-way never makes the next
one send twice. Exit 1 when a notification could not be delivered (it is
retried by later runs when the failure was transient, or when SIGTERM stopped
the run), a notification may have arrived and is not resent (unknown: a run
was stopped while its request was in flight), a rule could not be
evaluated (its alerts keep their state) or a channel could not be built
(its notifications stay queued): each is named, and every other rule and
channel goes on. Exit 2 only for a config that is invalid as a whole.`,
		Example: `  * * * * * cd /etc/vigil && vigil evaluate --db '/var/lib/vigil/*.db'
  vigil evaluate --at 2026-11-29T10:00:00Z --dry-run -o json`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error { return a.runEvaluate(cmd, o) },
	}
	cmd.Flags().StringVar(&o.At, "at", "", "evaluation instant, RFC 3339 or unix seconds (default now)")
	outputFlag(cmd, &o.Output, "table", "json")
	cmd.Flags().BoolVar(&o.DryRun, "dry-run", false, "evaluate and show what would be sent; change no state, send nothing")
	cmd.Flags().BoolVar(&o.FailOnFiring, "fail-on-firing", false, "exit 3 when any alert is firing (for CI)")
	cmd.Flags().DurationVar(&o.LockTimeout, "lock-timeout", 30*time.Second, "how long to wait for an overlapping run")
	runTimeoutFlag(cmd, &o.RunTimeout)
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
	// InhibitedBy names the firing alert that inhibits this one
	// (suppressed_by "inhibited"): rule{labels}.
	InhibitedBy string `json:"inhibited_by,omitempty"`
	// InhibitedByRule and InhibitedByLabels are that alert's rule and
	// labels as its own rule and labels fields have them (raw values,
	// which inhibited_by's Go quoting is not): what a consumer matches.
	InhibitedByRule   string            `json:"inhibited_by_rule,omitempty"`
	InhibitedByLabels map[string]string `json:"inhibited_by_labels,omitzero"` // {} for a source with no labels
	// Extensions: notices recorded this run, held by the rate limit, and
	// failed this run.
	Queued []string `json:"queued,omitempty"`
	Held   []string `json:"held,omitempty"`
	Failed []string `json:"failed,omitempty"`
	// Retrying: failed in an earlier run, waiting out the backoff.
	Retrying []string `json:"retrying,omitempty"`
	// Deferred: not tried, the run was stopped or reached its deadline;
	// still queued for the next run.
	Deferred []string `json:"deferred,omitempty"`
}

func (a *app) runEvaluate(cmd *cobra.Command, o *evaluateOptions) error {
	if err := checkOutput(cmd); err != nil {
		return err
	}
	deadline, err := a.runDeadline(o.RunTimeout)
	if err != nil {
		return err
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
	// A channel that cannot be built fails its own notices; the others
	// send, and the run exits 1 naming it.
	snd, chanErrs := senders(cfg)
	stores, err := a.storePaths()
	if err != nil {
		return err
	}
	opt := a.runOptions(cmd, cfg, at, o.DryRun, o.LockTimeout, snd)
	opt.RecordDB, opt.Log, opt.Deadline = o.RecordDB, a.log, deadline
	opt.OpenStores = func(context.Context) (*analyze.DB, error) { return a.openStores(cmd, stores, o.LockTimeout) }
	res, err := alertrun.Evaluate(cmd.Context(), opt)
	if overtaken(a, err, o.At) {
		return nil
	}
	if err != nil {
		return err
	}
	out, firing := alertsJSON(res)
	errs := errorsJSON(res.RuleErrors, chanErrs)
	if err := writeAlerts(a, o.Output, at, out, errs, o.DryRun, res.WouldSend); err != nil {
		return err
	}
	outcome := res.Outcome
	if outcome.Interrupted > 0 {
		a.log.Warn("a previous run stopped while sending; those notifications are marked unknown and not resent (vigil alerts history shows them)",
			"count", outcome.Interrupted)
	}
	if held := len(outcome.Held); held > 0 {
		a.log.Warn("settings.max_alerts_per_minute reached: notifications held back for a later run", "alerts", held)
	}
	if err := a.runFailures(len(cfg.Rules), res.RuleErrors, chanErrs, outcome); err != nil {
		return err
	}
	if o.FailOnFiring && firing {
		return &cli.SilentError{Code: cli.ExitGate}
	}
	return nil
}

// runError is one entry of the run's JSON errors: a rule that could not
// be evaluated or a channel that could not be built (docs/alerting.md).
type runError struct {
	Rule    string `json:"rule,omitempty"`
	Channel string `json:"channel,omitempty"`
	Message string `json:"message"`
}

func errorsJSON(rules []*eval.RuleError, chans []*channels.BuildError) []runError {
	out := []runError{}
	for _, e := range rules {
		out = append(out, runError{Rule: e.Rule, Message: e.Err.Error()})
	}
	for _, e := range chans {
		out = append(out, runError{Channel: e.Channel, Message: e.Err.Error()})
	}
	return out
}

// runFailures reports a run's partial failures, each rule that could not
// be evaluated and each channel that could not be built on a line of its
// own, and returns the error the run exits 1 with (nil when there is
// none): everything else was evaluated and sent, and the summary says so.
func (a *app) runFailures(rules int, ruleErrs []*eval.RuleError, chanErrs []*channels.BuildError, outcome notify.Outcome) error {
	for _, e := range ruleErrs {
		fmt.Fprintf(a.stderr, "vigil: error: %s\n", e.Error())
	}
	for _, e := range chanErrs {
		fmt.Fprintf(a.stderr, "vigil: error: %s\n", e.Error())
	}
	var parts []string
	if n := len(ruleErrs); n > 0 {
		names := make([]string, n)
		for i, e := range ruleErrs {
			names[i] = e.Rule
		}
		parts = append(parts, fmt.Sprintf("%d of %d rules could not be evaluated (%s)", n, rules, strings.Join(names, ", ")))
	}
	if n := len(chanErrs); n > 0 {
		names := make([]string, n)
		for i, e := range chanErrs {
			names[i] = e.Channel
		}
		parts = append(parts, fmt.Sprintf("%d channel(s) could not be built (%s): their notifications stay queued", n, strings.Join(names, ", ")))
	}
	if len(outcome.Errors) > 0 {
		msgs := make([]string, len(outcome.Errors))
		for i, e := range outcome.Errors {
			msgs[i] = e.Error()
		}
		slices.Sort(msgs)
		msgs = slices.Compact(msgs)
		parts = append(parts, fmt.Sprintf("%d notification(s) not delivered: %s", len(outcome.Errors), strings.Join(msgs, "; ")))
	} else if len(parts) > 0 {
		parts[len(parts)-1] += "; the others were evaluated and their notifications delivered"
	}
	if n := len(outcome.Unknown); n > 0 {
		parts = append(parts, fmt.Sprintf("%d notification(s) may have arrived and are not resent (unknown): %s",
			n, strings.Join(outcome.Unknown, ", ")))
	}
	if n := countAll(outcome.Deferred); n > 0 {
		why := "the run was stopped (a signal)"
		if errors.Is(outcome.Stopped, notify.ErrRunDeadline) {
			why = notify.ErrRunDeadline.Error()
		}
		parts = append(parts, fmt.Sprintf("%d notification(s) not tried, queued for the next run: %s", n, why))
	}
	if len(parts) == 0 {
		return nil
	}
	return errors.New(strings.Join(parts, "; "))
}

// runTimeoutFlag is --run-timeout of evaluate and budget --notify.
func runTimeoutFlag(cmd *cobra.Command, d *time.Duration) {
	cmd.Flags().DurationVar(d, "run-timeout", 45*time.Second,
		"stop sending after this long (from the start); what is unsent stays queued for the next run")
}

// runDeadline is when a run started now stops sending: --run-timeout
// from now. The default (45 s) ends a run well inside the cron minute,
// so a hung receiver never makes the next run wait on the lock.
func (a *app) runDeadline(d time.Duration) (time.Time, error) {
	if d <= 0 {
		return time.Time{}, cli.Usagef("--run-timeout must be positive, got %s", d)
	}
	return a.now().Add(d), nil
}

func countAll(m map[uint64][]string) int {
	n := 0
	for _, v := range m {
		n += len(v)
	}
	return n
}

// runOptions are the options of a run (alertrun.Evaluate, Notify) that
// evaluate and budget --notify set alike: the state DB, the lock, the
// notifiers and the crash hooks of the tests.
func (a *app) runOptions(cmd *cobra.Command, cfg *alertconfig.Config, at time.Time, dry bool, lockTimeout time.Duration,
	snd map[string]notify.Notifier) alertrun.Options {
	return alertrun.Options{Config: cfg, At: at, DryRun: dry, StatePath: a.statePath(cmd), AckState: a.ackState(cmd), Holder: holderName(),
		LockTimeout: lockTimeout, Senders: snd, Target: target, AfterRecord: afterRecord, BeforeSend: beforeSend, Secrets: a.secrets}
}

// ackState is the state DB as the notices' `vigil alerts ack` command
// names it: "" for the default (vigil-state.db where the command runs,
// which is what ack picks without --state), else the run's state DB as an
// absolute path, since whoever pastes the command runs it elsewhere
// (not in cron's directory, often not with its config).
func (a *app) ackState(cmd *cobra.Command) string {
	p := a.statePath(cmd)
	if p == defaultStatePath {
		return ""
	}
	if abs, err := filepath.Abs(p); err == nil {
		return abs
	}
	return p
}

// alertsJSON is the run's alerts as the JSON output has them, and whether
// any is firing.
func alertsJSON(res alertrun.Result) ([]alertJSON, bool) {
	outcome := res.Outcome
	out := make([]alertJSON, 0, len(res.Alerts))
	firing := false
	for _, it := range res.Alerts {
		x := it.Alert
		aj := alertJSON{Rule: it.Rule.Name, Fingerprint: state.FormatFingerprint(x.Fingerprint), State: x.State.String(),
			Severity: it.Rule.Severity, Value: jsonValue(x.Value), Threshold: it.Rule.Threshold, Labels: x.Labels,
			Notified: nonNil(outcome.Sent[x.Fingerprint]), Queued: it.Queued,
			Held: outcome.Held[x.Fingerprint], Failed: outcome.Failed[x.Fingerprint], Retrying: outcome.Waiting[x.Fingerprint],
			Deferred: outcome.Deferred[x.Fingerprint]}
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
		aj.InhibitedBy = it.InhibitedBy
		if rule, labels, ok := notify.InhibitedByParts(it.InhibitedBy); ok {
			aj.InhibitedByRule, aj.InhibitedByLabels = rule, labels
		}
		firing = firing || x.State == state.Firing
		out = append(out, aj)
	}
	return out, firing
}

func nonNil(s []string) []string {
	if s == nil {
		return []string{}
	}
	return s
}

// jsonValue is v for JSON: null for NaN (no value), the string "+Inf" or
// "-Inf" for an infinite one, as vigil query -o json writes it (h30 D12).
func jsonValue(v float64) any {
	switch {
	case math.IsNaN(v):
		return nil
	case math.IsInf(v, 0):
		return numfmt.Value(v)
	}
	return v
}

func writeAlerts(a *app, output string, at time.Time, out []alertJSON, errs []runError, dry bool, sends []alertrun.Send) error {
	if output == "json" {
		doc := map[string]any{"at": at.UTC().Format(time.RFC3339Nano), "alerts": out, "errors": errs}
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
		switch f := x.Value.(type) {
		case float64:
			v = formatValue(f)
		case string: // ±Inf
			v = f
		}
		inc, sup := "-", "-"
		if x.Incident != nil {
			inc = safetext.Terminal(*x.Incident) // holds a label value
		}
		if x.SuppressedBy != nil {
			sup = *x.SuppressedBy
		}
		if x.InhibitedBy != "" {
			sup = "inhibited by " + safetext.Terminal(x.InhibitedBy) // holds label values
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
			inc = safetext.Terminal(s.Incident)
		}
		alerts := make([]string, len(s.Alerts))
		for i, x := range s.Alerts {
			alerts[i] = x.Rule + " " + metricpath.FormatLabels(x.Labels)
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%s\t%s\n", s.Channel, s.Type, s.Target, s.Kind, step, inc, strings.Join(alerts, "; "))
	}
	return tw.Flush()
}

// overtaken says a run at the clock's now (no --at) found that a later run
// already stepped the state: two cron runs overlapped, and this one, slower
// to the lock, has nothing to add. That is not an error for cron to mail
// about: a warning, exit 0, nothing changed. An explicit --at in the past
// stays refused (exit 2): that one was asked for.
func overtaken(a *app, err error, atFlag string) bool {
	var te *alertrun.TimeError
	if atFlag != "" || !errors.As(err, &te) {
		return false
	}
	a.log.Warn("a later run already evaluated this state DB; nothing to do", "at", te.At.UTC().Format(time.RFC3339Nano),
		"last_run", te.Last.UTC().Format(time.RFC3339Nano))
	return true
}
