package main

import (
	"encoding/json"
	"fmt"
	"io"
	"sort"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/spf13/cobra"

	"github.com/vigil-metrics/vigil/alert/notify"
	"github.com/vigil-metrics/vigil/alert/state"
	"github.com/vigil-metrics/vigil/cmd/internal/cli"
	"github.com/vigil-metrics/vigil/internal/metricpath"
	"github.com/vigil-metrics/vigil/internal/safetext"
	"github.com/vigil-metrics/vigil/internal/vtime"
)

func newAlertsCmd(a *app) *cobra.Command {
	cmd := &cobra.Command{
		Use:   "alerts",
		Short: "List, acknowledge and trace the alerts kept in the state DB",
		Long: `The alerts vigil evaluate keeps in its state DB (--state, config state:,
default vigil-state.db beside the config file): list them, acknowledge one
(its escalation stops and it is not re-notified until it resolves), or show
the history of state changes and notification attempts.`,
	}
	cmd.AddCommand(newAlertsListCmd(a), newAlertsAckCmd(a), newAlertsHistoryCmd(a))
	return cmd
}

type alertRowJSON struct {
	Fingerprint  string            `json:"fingerprint"`
	Rule         string            `json:"rule"`
	State        string            `json:"state"`
	Value        any               `json:"value"`
	Labels       map[string]string `json:"labels"`
	ActiveSince  *time.Time        `json:"active_since"`
	FiredAt      *time.Time        `json:"fired_at"`
	ResolvedAt   *time.Time        `json:"resolved_at"`
	LastEval     *time.Time        `json:"last_eval"`
	LastNotified *time.Time        `json:"last_notified"`
	Incident     *string           `json:"incident"`
	Acked        bool              `json:"acked"`
	AckComment   string            `json:"ack_comment,omitempty"`
	EscSteps     int               `json:"escalation_steps_done"`
	// InhibitedBy names the firing alert whose inhibit rule held this
	// one's notices back at the last run ("rule{labels}"); null when none.
	InhibitedBy *string `json:"inhibited_by"`
	// InhibitedByRule and InhibitedByLabels are that alert's rule and
	// labels as its own rule and labels fields have them (raw values);
	// null when none.
	InhibitedByRule   *string           `json:"inhibited_by_rule"`
	InhibitedByLabels map[string]string `json:"inhibited_by_labels"`
}

func timePtr(t time.Time) *time.Time {
	if t.IsZero() {
		return nil
	}
	t = t.UTC()
	return &t
}

// stateSnapshot opens the state DB for reading (it must exist); done
// closes it.
func (a *app) stateSnapshot(cmd *cobra.Command) (*state.Run, func(), error) {
	sdb, err := a.openStateExisting(cmd)
	if err != nil {
		return nil, nil, err
	}
	run, err := sdb.Snapshot(cmd.Context())
	if err != nil {
		sdb.Close() //nolint:errcheck // read only
		return nil, nil, err
	}
	return run, func() { run.Rollback(); sdb.Close() }, nil //nolint:errcheck // read only
}

func newAlertsListCmd(a *app) *cobra.Command {
	var output string
	var all bool
	cmd := &cobra.Command{
		Use:   "list",
		Short: "List the active alerts (pending, firing, just resolved, nodata); --all for every one",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if err := checkOutput(cmd); err != nil {
				return err
			}
			run, done, err := a.stateSnapshot(cmd)
			if err != nil {
				return err
			}
			defer done()
			m, err := run.Alerts()
			if err != nil {
				return err
			}
			var rows []alertRowJSON
			for _, x := range m {
				if all || x.State != state.Inactive {
					rows = append(rows, alertRow(x))
				}
			}
			sort.Slice(rows, func(i, j int) bool {
				if rows[i].Rule != rows[j].Rule {
					return rows[i].Rule < rows[j].Rule
				}
				return metricpath.FormatLabels(rows[i].Labels) < metricpath.FormatLabels(rows[j].Labels)
			})
			if output == "json" {
				if rows == nil {
					rows = []alertRowJSON{}
				}
				return json.NewEncoder(a.stdout).Encode(map[string]any{"alerts": rows})
			}
			return writeAlertsTable(a.stdout, rows)
		},
	}
	cmd.Flags().BoolVar(&all, "all", false, "include inactive alerts")
	outputFlag(cmd, &output, "table", "json")
	addStateFlag(cmd)
	return cmd
}

func newAlertsAckCmd(a *app) *cobra.Command {
	var output, comment, atFlag string
	var wait time.Duration
	cmd := &cobra.Command{
		Use:   "ack FINGERPRINT",
		Short: "Acknowledge a pending or firing alert: its escalation stops and it is not re-notified until it resolves",
		Args:  cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			if err := checkOutput(cmd); err != nil {
				return err
			}
			fp, err := state.ParseFingerprint(args[0])
			if err != nil {
				return cli.WithHint(cli.Usagef("%v", err), "vigil alerts list shows the fingerprints")
			}
			at, err := a.at(atFlag)
			if err != nil {
				return err
			}
			sdb, err := a.openStateExisting(cmd) // nothing to acknowledge in a new one
			if err != nil {
				return err
			}
			defer sdb.Close() //nolint:errcheck // a committed run is already on disk
			// The run lock: an evaluate run in progress would otherwise
			// write back the alert it loaded, unacknowledged.
			run, err := sdb.Begin(cmd.Context(), holderName()+" (alerts ack)", wait)
			if err != nil {
				return err
			}
			defer run.Rollback()
			x, err := run.Ack(fp, comment, at)
			if err != nil {
				return err
			}
			if err := run.Commit(); err != nil {
				return err
			}
			if output == "json" {
				return json.NewEncoder(a.stdout).Encode(map[string]any{"fingerprint": args[0], "rule": x.Rule,
					"state": x.State.String(), "acked": true, "ack_comment": comment, "acked_at": at.UTC().Format(time.RFC3339Nano)})
			}
			fmt.Fprintf(a.stdout, "acknowledged %s (%s %s, %s)\n", state.FormatFingerprint(fp), x.Rule, metricpath.FormatLabels(x.Labels), x.State)
			return nil
		},
	}
	cmd.Flags().StringVar(&comment, "comment", "", "why, or who is on it")
	cmd.Flags().StringVar(&atFlag, "at", "", "acknowledgement time, RFC 3339 or unix seconds (default now)")
	cmd.Flags().DurationVar(&wait, "lock-timeout", 30*time.Second, "how long to wait for a running vigil evaluate")
	outputFlag(cmd, &output, "table", "json")
	addStateFlag(cmd)
	return cmd
}

type historyJSON struct {
	At          time.Time `json:"at"`
	Kind        string    `json:"kind"` // state | notification | rule_error
	Fingerprint string    `json:"fingerprint"`
	Rule        string    `json:"rule"`
	From        string    `json:"from,omitempty"`
	To          string    `json:"to,omitempty"`
	Value       any       `json:"value,omitempty"`
	Channel     string    `json:"channel,omitempty"`
	Try         int       `json:"try,omitempty"`
	Result      string    `json:"result,omitempty"`
	Status      int       `json:"status,omitempty"`
	Error       string    `json:"error,omitempty"`
}

func newAlertsHistoryCmd(a *app) *cobra.Command {
	var output, since, atFlag string
	cmd := &cobra.Command{
		Use:   "history",
		Short: "Show state changes and notification attempts, oldest first",
		Long: `Show the alerts' state changes and every notification attempt (channel,
try, result, HTTP status, error with secrets redacted), oldest first.
--since is a duration back from --at (24h, 7d) or a time (RFC 3339 or
unix seconds); the default is everything kept (settings.alert_retention_days).`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if err := checkOutput(cmd); err != nil {
				return err
			}
			from := time.Unix(0, 0)
			if since != "" {
				if d, err := vtime.ParseDuration(since); err == nil {
					at, err := a.at(atFlag)
					if err != nil {
						return err
					}
					from = at.Add(-d)
				} else if from, err = a.at(since); err != nil {
					return cli.Usagef("--since %q: want a duration (24h, 7d) or a time", since)
				}
			}
			run, done, err := a.stateSnapshot(cmd)
			if err != nil {
				return err
			}
			defer done()
			evs, err := run.Events(from)
			if err != nil {
				return err
			}
			atts, err := run.Attempts(from)
			if err != nil {
				return err
			}
			rerrs, err := run.RuleErrors(from)
			if err != nil {
				return err
			}
			rows := make([]historyJSON, 0, len(evs)+len(rerrs)+len(atts))
			for _, e := range evs {
				rows = append(rows, historyJSON{At: e.At, Kind: "state", Fingerprint: state.FormatFingerprint(e.Fingerprint),
					Rule: e.Rule, From: e.From.String(), To: e.To.String(), Value: jsonValue(e.Value)})
			}
			// A rule a run could not evaluate: its alerts kept their state.
			for _, e := range rerrs {
				rows = append(rows, historyJSON{At: e.At, Kind: "rule_error", Rule: e.Rule, Error: e.Error})
			}
			for _, x := range atts {
				rows = append(rows, historyJSON{At: x.At, Kind: "notification", Fingerprint: state.FormatFingerprint(x.Fingerprint),
					Rule: x.Rule, Channel: x.Channel, Try: x.Try, Result: x.Result, Status: x.Status, Error: x.Error})
			}
			// State changes of a run come before what it sent.
			sort.SliceStable(rows, func(i, j int) bool {
				if !rows[i].At.Equal(rows[j].At) {
					return rows[i].At.Before(rows[j].At)
				}
				return rows[i].Kind == "state" && rows[j].Kind != "state"
			})
			if output == "json" {
				return json.NewEncoder(a.stdout).Encode(map[string]any{"history": rows})
			}
			tw := tabwriter.NewWriter(a.stdout, 0, 0, 2, ' ', 0)
			fmt.Fprintln(tw, "AT\tFINGERPRINT\tRULE\tWHAT")
			for _, r := range rows {
				what, fp := r.From+" -> "+r.To, r.Fingerprint
				if r.Kind == "rule_error" {
					what, fp = "error: "+safetext.Terminal(strings.ReplaceAll(r.Error, "\n", " ")), "-"
				}
				if r.Kind == "notification" {
					what = fmt.Sprintf("%s try %d: %s", r.Channel, r.Try, r.Result)
					if r.Try == 0 { // given up without a request (no sender, expired)
						what = fmt.Sprintf("%s: %s", r.Channel, r.Result)
					}
					if r.Status != 0 {
						what += fmt.Sprintf(" (HTTP %d)", r.Status)
					}
					if r.Error != "" {
						// A receiver's answer may hold control characters.
						what += ": " + safetext.Terminal(strings.ReplaceAll(r.Error, "\n", " "))
					}
				}
				fmt.Fprintf(tw, "%s\t%s\t%s\t%s\n", r.At.UTC().Format(time.RFC3339), fp, r.Rule, what)
			}
			return tw.Flush()
		},
	}
	cmd.Flags().StringVar(&since, "since", "", "duration back from --at (24h, 7d) or a time")
	cmd.Flags().StringVar(&atFlag, "at", "", "the time --since counts back from (default now)")
	outputFlag(cmd, &output, "table", "json")
	addStateFlag(cmd)
	return cmd
}

// alertRow is a stored alert as vigil alerts list -o json has it.
func alertRow(x state.Alert) alertRowJSON {
	r := alertRowJSON{Fingerprint: state.FormatFingerprint(x.Fingerprint), Rule: x.Rule, State: x.State.String(),
		Value: jsonValue(x.Value), Labels: x.Labels, ActiveSince: timePtr(x.ActiveSince), FiredAt: timePtr(x.FiredAt),
		ResolvedAt: timePtr(x.ResolvedAt), LastEval: timePtr(x.LastEval), LastNotified: timePtr(x.LastNotified),
		Acked: x.Acked, AckComment: x.AckComment, EscSteps: x.EscSteps}
	if x.Incident != "" {
		inc := x.Incident
		r.Incident = &inc
	}
	if x.InhibitedBy != "" {
		by := x.InhibitedBy
		r.InhibitedBy = &by
		if rule, labels, ok := notify.InhibitedByParts(by); ok {
			r.InhibitedByRule, r.InhibitedByLabels = &rule, labels
		}
	}
	if r.Labels == nil {
		r.Labels = map[string]string{}
	}
	return r
}

// writeAlertsTable is vigil alerts list's table of rows.
func writeAlertsTable(w io.Writer, rows []alertRowJSON) error {
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "FINGERPRINT\tRULE\tSTATE\tVALUE\tLABELS\tSINCE\tINCIDENT\tACKED\tINHIBITED BY")
	for _, r := range rows {
		v, since, inc, acked, by := "-", "-", "-", "-", "-"
		if f, ok := r.Value.(float64); ok {
			v = formatValue(f)
		}
		for _, t := range []*time.Time{r.FiredAt, r.ActiveSince} {
			if t != nil && since == "-" {
				since = t.Format(time.RFC3339)
			}
		}
		if r.State == "resolved" && r.ResolvedAt != nil {
			since = r.ResolvedAt.Format(time.RFC3339)
		}
		if r.Incident != nil {
			inc = safetext.Terminal(*r.Incident) // holds a label value
		}
		if r.Acked {
			acked = "yes"
			if r.AckComment != "" {
				acked += ": " + safetext.Terminal(r.AckComment)
			}
		}
		if r.InhibitedBy != nil {
			by = safetext.Terminal(*r.InhibitedBy) // holds label values
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\n", r.Fingerprint, r.Rule, r.State, v, metricpath.FormatLabels(r.Labels), since, inc, acked, by)
	}
	return tw.Flush()
}
