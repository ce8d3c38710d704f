// Package notify is vigil's delivery pipeline, shared by every channel:
// it decides which alerts are owed a notification and where (filters,
// escalation steps, silences, acknowledgements, cooldown, deduplication,
// correlation into incidents), records each owed notification in the
// state DB before anything is sent, then sends them under the rate limit
// and records every attempt and outcome.
//
// It runs in two halves because vigil runs from cron and may be killed at
// any moment: Decide returns the Plan, notices that the caller records
// (and commits) with the alerts' new state; Deliver sends what is
// recorded. A notice is marked sending (committed) right before its
// request and sent, failed or queued after, so a run that dies mid-way
// leaves the next run either a notice to send (never started) or one it
// must not resend (interrupted while sending: status unknown). Nothing is
// dropped silently: what the rate limit holds back stays queued for a later
// run, what no sender can deliver is failed with the reason, and what
// failed transiently is retried by later runs for a day, unless a later
// notice about the same alert to the same channel supersedes it (only the
// latest is sent, so a receiver's last word is the current one).
//
// Channels implement Notifier, each in its own package; nothing here knows
// a channel's wire format.
package notify

import (
	"context"
	"encoding/json"
	"math"
	"time"

	"github.com/vigil-metrics/vigil/alert/config"
	"github.com/vigil-metrics/vigil/alert/state"
)

// Notifier delivers one notification to one channel. err is nil when the
// channel accepted it; otherwise retry says whether a later run may send
// it again (a transient failure) or not (the channel rejected it).
type Notifier interface {
	Notify(ctx context.Context, n Notification) (retry bool, err error)
}

// Notification is one message to one channel: one alert, or the members
// of one incident that fired in the same run.
type Notification struct {
	Channel config.Channel
	// At is the evaluation time of the run that sends it.
	At   time.Time
	Kind string // firing or resolved
	// Refresh is set when the message is a refresh (Kind firing): an
	// Alertmanager channel re-told of a firing alert, not a notification.
	// Channels ignore it; replay's recorder leaves refreshes out of what
	// it counts.
	Refresh bool
	Alerts  []Alert
	// Recipients are escalation step recipients, for the channels that
	// address people (email); others ignore them.
	Recipients []string
	// Key is the message's idempotency key (see Key): the same for every
	// try, so a receiver can drop a copy. The channels that can carry it
	// send it (docs/channels.md).
	Key string
	// Attempt, when set, is called after each attempt (try counts from 1;
	// status is the HTTP status, 0 when there was none; err is redacted).
	Attempt func(try, status int, err error)
}

// Alert is what a notification says about one alert, as recorded when it
// was decided.
type Alert struct {
	Rule        string            `json:"rule"`
	Severity    string            `json:"severity"`
	Description string            `json:"description,omitempty"`
	Labels      map[string]string `json:"labels"`
	State       string            `json:"state"`
	Value       *float64          `json:"value"` // nil: not a number
	Threshold   float64           `json:"threshold"`
	StartsAt    time.Time         `json:"starts_at"`
	EndsAt      time.Time         `json:"ends_at"` // zero while firing; resolved or data lost (nodata)
	Fingerprint string            `json:"fingerprint"`
	// EscalationStep is the escalation step that sent it (0-based), -1 for
	// none.
	EscalationStep int `json:"escalation_step"`
	// EscalationPolicy names the policy whose step sent it, "" for a
	// notice its channel's filters sent: a policy's first step (0) is
	// otherwise told apart from a first notification by nothing (h31 H9).
	EscalationPolicy string `json:"escalation_policy,omitempty"`
	Incident         string `json:"incident,omitempty"`

	// Readable is what a person reads (docs/channels.md); notices
	// recorded by an older vigil lack it: channels print what there is.
	Readable
}

// Readable is what a notice says for people: the value and threshold as
// the CLI prints them (a ratio as a percentage), what the threshold is
// when it is not the rule's (ThresholdKind: burn_rate_factor,
// budget_alert_percent), a summary and detail lines (SLO alerts: what
// vigil budget prints), the window and metric path, the runbook, the
// command that acknowledges the alert, an SLO alert's numbers. Channels
// whose wire format is JSON embed it as it is.
type Readable struct {
	ValueText     string    `json:"value_text,omitempty"`
	ThresholdText string    `json:"threshold_text,omitempty"`
	ThresholdKind string    `json:"threshold_kind,omitempty"`
	Summary       string    `json:"summary,omitempty"`
	Details       []string  `json:"details,omitempty"`
	Window        string    `json:"window,omitempty"`
	Path          string    `json:"path,omitempty"`
	RunbookURL    string    `json:"runbook_url,omitempty"`
	AckCommand    string    `json:"ack_command,omitempty"`
	SLO           *SLOFacts `json:"slo,omitempty"`
}

// ValueOrNaN is Value as a float, NaN when there is none: ±Inf when
// ValueText says so (JSON numbers cannot hold it).
func (a Alert) ValueOrNaN() float64 {
	if a.Value == nil {
		return infText(a.ValueText)
	}
	return *a.Value
}

func snapshot(it *Item, step int, ackState string) Alert {
	r, a := it.Rule, it.Alert
	s := Alert{Rule: r.Name, Severity: r.Severity, Description: r.Description, Labels: a.Labels,
		State: a.State.String(), Threshold: r.Threshold, StartsAt: a.FiredAt, Fingerprint: state.FormatFingerprint(a.Fingerprint),
		EscalationStep: step, Incident: a.Incident}
	if step >= 0 {
		s.EscalationPolicy = a.EscPolicy
	}
	if s.Labels == nil {
		s.Labels = map[string]string{}
	}
	if !math.IsNaN(a.Value) && !math.IsInf(a.Value, 0) {
		v := a.Value
		s.Value = &v
	}
	if a.State == state.Resolved || a.State == state.NoData && !a.ResolvedAt.IsZero() {
		s.EndsAt = a.ResolvedAt // resolved, or lost its data (nodata: ok)
	}
	describe(&s, r, it.Facts, ackState)
	readable(&s, r, a, it.Facts)
	return s
}

func decode(n state.Notice) (Alert, error) {
	var a Alert
	err := json.Unmarshal(n.Alert, &a)
	return a, err
}
