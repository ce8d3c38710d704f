package notify

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/vigil-metrics/vigil/alert/config"
	"github.com/vigil-metrics/vigil/alert/state"
	"github.com/vigil-metrics/vigil/internal/secret"
)

// RetryFor is how long a notice that failed transiently is retried by
// later runs before it is given up (failed, with the last error).
const RetryFor = 24 * time.Hour

// Writer is the state Deliver records into; *state.Run is one.
type Writer interface {
	Notices(statuses ...string) ([]state.Notice, error)
	SetStatus(id int64, status string, tries int, lastError string, at time.Time) error
	RetryAt(id int64, tries int, lastError string, next time.Time) error
	AddAttempt(a state.Attempt) error
	SentBetween(from, to time.Time) (int, error)
	Save() error
}

// Options tune one Deliver.
type Options struct {
	// Senders are the notifiers by channel name; a configured channel
	// without one (a type this vigil cannot send through) fails its
	// notices with that reason.
	Senders map[string]Notifier
	// MaxPerMinute caps the notices sent in the minute of at (0: no cap).
	MaxPerMinute int
	// BeforeSend, when set, runs after a message's notices are marked
	// sending and committed, right before the request: tests use it to
	// kill a run at the worst moment.
	BeforeSend func()
	// Secrets are scrubbed from every error recorded (the history, the
	// outbox's last error) and returned in Outcome.Errors: a receiver
	// that echoes the request puts the channel's secrets in its answer,
	// whatever the channel. nil scrubs nothing.
	Secrets *secret.Set
}

// Outcome is what Deliver did, per alert fingerprint.
type Outcome struct {
	Sent   map[uint64][]string // channels that accepted a notice
	Held   map[uint64][]string // held back by the rate limit, still queued
	Failed map[uint64][]string // failed this run (given up or to retry)
	// Waiting are notices that failed in an earlier run and wait out
	// their backoff before a later run retries them.
	Waiting map[uint64][]string
	// Interrupted counts notices found sending: a previous run died while
	// sending them. They are marked unknown and not resent.
	Interrupted int
	// Unknown names ("rule fingerprint on channel") the notices this run
	// marked unknown: found sending (a previous run died mid-request) or
	// cut mid-request by a signal. Each may or may not have arrived; a run
	// with any should exit 1.
	Unknown []string
	// Deferred are notices not tried because the run was stopped (a
	// signal) or reached its deadline before their turn: still queued for
	// the next run.
	Deferred map[uint64][]string
	// Stopped is why delivery stopped early (ErrRunDeadline, or the
	// signal's cancellation), nil when it did not.
	Stopped error
	// Errors are the delivery failures, one per message; a run with any
	// should exit 1.
	Errors []error
}

type message struct {
	channel string
	notices []state.Notice
}

// Deliver sends every queued notice at at, oldest first, recording each
// attempt and outcome; a notice a later one about the same alert and
// channel replaced is not sent (superseded, see current). It returns an error only when the state DB fails;
// delivery failures are in the Outcome.
func Deliver(ctx context.Context, w Writer, cfg *config.Config, at time.Time, o Options) (Outcome, error) {
	if o.Secrets.Len() > 0 {
		w = scrubbing{Writer: w, set: o.Secrets}
	}
	out, err := deliver(ctx, w, cfg, at, o)
	for i, e := range out.Errors {
		out.Errors[i] = o.Secrets.Err(e)
	}
	return out, err
}

func deliver(ctx context.Context, w Writer, cfg *config.Config, at time.Time, o Options) (Outcome, error) {
	out := newOutcome()
	if err := markInterrupted(w, at, &out); err != nil {
		return out, err
	}
	queued, err := w.Notices(state.Queued)
	if err != nil {
		return out, err
	}
	if queued, err = supersede(w, queued, at); err != nil {
		return out, err
	}
	channels := map[string]config.Channel{}
	for _, c := range cfg.Channels {
		channels[c.Name] = c
	}
	budget := -1
	if o.MaxPerMinute > 0 {
		minute := at.Truncate(time.Minute)
		used, err := w.SentBetween(minute, minute.Add(time.Minute))
		if err != nil {
			return out, err
		}
		budget = max(o.MaxPerMinute-used, 0)
	}
	// The rate limit is decided here, in queue order, before anything is
	// sent: which messages go does not depend on which channel is faster.
	var todo []*message
	for _, m := range group(queued) {
		n0 := m.notices[0]
		ch, ok := channels[m.channel]
		var reason string
		switch {
		case at.Sub(n0.Created) > RetryFor:
			reason = fmt.Sprintf("gave up after %s unsent", RetryFor)
			if n0.LastError != "" {
				reason += "; last error: " + n0.LastError
			}
		case !ok:
			reason = fmt.Sprintf("channel %q is no longer in the config", m.channel)
		case o.Senders[m.channel] == nil:
			reason = fmt.Sprintf("channel %q: vigil cannot send through type %s yet", m.channel, ch.Type)
		}
		if reason != "" {
			if err := fail(w, m, reason, at, &out); err != nil {
				return out, err
			}
			continue
		}
		if at.Before(n0.Next) {
			for _, n := range m.notices {
				out.Waiting[n.Fingerprint] = append(out.Waiting[n.Fingerprint], n.Channel)
			}
			continue
		}
		// A message bigger than a whole minute's allowance (an incident
		// with more members than the cap) goes in a minute nothing else
		// went in: held, it could never go, and would hold back every
		// message after it until it expired.
		oversize := budget == o.MaxPerMinute && len(m.notices) > o.MaxPerMinute
		refresh := n0.Kind == Refresh // not a notification: outside the cap
		if budget >= 0 && len(m.notices) > budget && !oversize && !refresh {
			budget = 0 // keep the order: nothing later overtakes what is held
			for _, n := range m.notices {
				out.Held[n.Fingerprint] = append(out.Held[n.Fingerprint], n.Channel)
			}
			continue
		}
		if budget > 0 && !refresh {
			budget = max(budget-len(m.notices), 0)
		}
		todo = append(todo, m)
	}
	return out, sendAll(ctx, w, channels, o, todo, at, &out)
}

// markInterrupted marks unknown the notices a previous run left sending:
// it died mid-request, so each may have arrived, and resending could page
// twice.
func markInterrupted(w Writer, at time.Time, out *Outcome) error {
	stale, err := w.Notices(state.Sending)
	if err != nil {
		return err
	}
	for _, n := range stale {
		const why = "a run stopped while sending it; not resent, so it cannot arrive twice"
		// The interrupted request was its next try.
		if err := markUnknown(w, n, n.Tries+1, why, at, out); err != nil {
			return err
		}
		out.Interrupted++
	}
	return nil
}

func markUnknown(w Writer, n state.Notice, try int, why string, at time.Time, out *Outcome) error {
	if err := w.SetStatus(n.ID, state.Unknown, try, why, at); err != nil {
		return err
	}
	if err := w.AddAttempt(state.Attempt{Notice: n.ID, Fingerprint: n.Fingerprint, Rule: n.Rule, Channel: n.Channel,
		At: at, Try: try, Result: state.Unknown, Error: why}); err != nil {
		return err
	}
	out.Unknown = append(out.Unknown, fmt.Sprintf("%s %s on %s", n.Rule, state.FormatFingerprint(n.Fingerprint), n.Channel))
	return nil
}

// deferMsg leaves m's notices queued, untried, with a history row saying
// why.
func deferMsg(w Writer, m *message, why string, at time.Time, out *Outcome) error {
	for _, n := range m.notices {
		if err := w.AddAttempt(state.Attempt{Notice: n.ID, Fingerprint: n.Fingerprint, Rule: n.Rule, Channel: n.Channel,
			At: at, Result: "deferred", Error: why}); err != nil {
			return err
		}
		out.Deferred[n.Fingerprint] = append(out.Deferred[n.Fingerprint], n.Channel)
	}
	return w.Save()
}

// group batches the notices of one incident decided in one run for one
// channel into one message; every other notice is a message of its own.
func group(ns []state.Notice) []*message {
	var out []*message
	byKey := map[string]*message{}
	for _, n := range ns {
		if n.Incident != "" {
			key := n.Channel + "\xff" + n.Incident + "\xff" + n.Kind + "\xff" + n.Created.String()
			if m, ok := byKey[key]; ok {
				m.notices = append(m.notices, n)
				continue
			}
			m := &message{channel: n.Channel, notices: []state.Notice{n}}
			byKey[key] = m
			out = append(out, m)
			continue
		}
		out = append(out, &message{channel: n.Channel, notices: []state.Notice{n}})
	}
	return out
}

func fail(w Writer, m *message, reason string, at time.Time, out *Outcome) error {
	for _, n := range m.notices {
		if err := w.SetStatus(n.ID, state.Failed, n.Tries, reason, at); err != nil {
			return err
		}
		if err := w.AddAttempt(state.Attempt{Notice: n.ID, Fingerprint: n.Fingerprint, Rule: n.Rule, Channel: n.Channel,
			At: at, Try: n.Tries, Result: "error", Error: reason}); err != nil {
			return err
		}
		out.Failed[n.Fingerprint] = append(out.Failed[n.Fingerprint], n.Channel)
	}
	out.Errors = append(out.Errors, errors.New(reason))
	return w.Save()
}

func send(ctx context.Context, w Writer, ch config.Channel, o Options, m *message, at time.Time, out *Outcome) error {
	n := Notification{Channel: ch, At: at, Kind: m.notices[0].Kind, Key: Key(m.notices)}
	if n.Kind == Refresh {
		n.Kind, n.Refresh = "firing", true
	}
	for _, x := range m.notices {
		a, err := decode(x)
		if err != nil {
			return fmt.Errorf("notification %d: %w", x.ID, err)
		}
		n.Alerts = append(n.Alerts, a)
		n.Recipients = appendNew(n.Recipients, x.Recipients...)
	}
	// Intent: committed before the request, so a crash from here on
	// leaves the notices "sending", which the next run will not resend.
	for _, x := range m.notices {
		if err := w.SetStatus(x.ID, state.Sending, x.Tries, x.LastError, at); err != nil {
			return err
		}
	}
	if err := w.Save(); err != nil {
		return err
	}
	if o.BeforeSend != nil {
		o.BeforeSend()
	}
	type attempt struct {
		status int
		err    error
	}
	var attempts []attempt
	n.Attempt = func(_, status int, err error) { attempts = append(attempts, attempt{status, err}) }
	retry, err := o.Senders[ch.Name].Notify(ctx, n)
	if len(attempts) == 0 && err != nil { // failed before any request
		attempts = append(attempts, attempt{0, err})
	}
	// A signal that cut the last request while in flight (not a wait
	// between tries, not the receiver's answer): it may have arrived.
	cut := err != nil && ctx.Err() != nil && len(attempts) > 0 &&
		errors.Is(attempts[len(attempts)-1].err, context.Canceled)
	if cut {
		attempts = attempts[:len(attempts)-1] // recorded as unknown below
	}
	for _, x := range m.notices {
		tries := x.Tries
		for _, a := range attempts {
			tries++
			r := state.Attempt{Notice: x.ID, Fingerprint: x.Fingerprint, Rule: x.Rule, Channel: x.Channel,
				At: at, Try: tries, Result: "ok", Status: a.status}
			if a.err != nil {
				r.Result, r.Error = "error", a.err.Error()
			}
			if err := w.AddAttempt(r); err != nil {
				return err
			}
		}
		if cut {
			const why = "the run was stopped (a signal) while the request was in flight; it may have arrived, so it is not resent"
			if err := markUnknown(w, x, tries+1, why, at, out); err != nil {
				return err
			}
			continue
		}
		status, last := state.Sent, ""
		switch {
		case err != nil && retry:
			status, last = state.Queued, err.Error()
		case err != nil:
			status, last = state.Failed, err.Error()
		}
		if status == state.Queued {
			if err := w.RetryAt(x.ID, tries, last, at.Add(retryBackoff(at.Sub(x.Created)))); err != nil {
				return err
			}
		} else if err := w.SetStatus(x.ID, status, tries, last, at); err != nil {
			return err
		}
		if status == state.Sent {
			out.Sent[x.Fingerprint] = append(out.Sent[x.Fingerprint], x.Channel)
		} else {
			out.Failed[x.Fingerprint] = append(out.Failed[x.Fingerprint], x.Channel)
		}
	}
	if err != nil && !cut {
		out.Errors = append(out.Errors, err)
	}
	return w.Save()
}

// scrubbing is a Writer that scrubs the errors it records.
type scrubbing struct {
	Writer
	set *secret.Set
}

func (s scrubbing) SetStatus(id int64, status string, tries int, lastError string, at time.Time) error {
	return s.Writer.SetStatus(id, status, tries, s.set.Scrub(lastError), at)
}

func (s scrubbing) RetryAt(id int64, tries int, lastError string, next time.Time) error {
	return s.Writer.RetryAt(id, tries, s.set.Scrub(lastError), next)
}

func (s scrubbing) AddAttempt(a state.Attempt) error {
	a.Error = s.set.Scrub(a.Error)
	return s.Writer.AddAttempt(a)
}

// retryBackoff is how long a notice that has been failing for age waits
// before the next run retries it: as long again as it has been failing
// (so the waits double: 1m, 1m, 2m, 4m, ...), between 1 and 30 minutes.
// A receiver down for ten minutes gets its notices a few minutes after it
// is back; one down for a day is not hammered every minute.
func retryBackoff(age time.Duration) time.Duration {
	return min(max(age, time.Minute), 30*time.Minute)
}

func appendNew(list []string, xs ...string) []string {
	for _, x := range xs {
		found := false
		for _, y := range list {
			if x == y {
				found = true
				break
			}
		}
		if !found {
			list = append(list, x)
		}
	}
	return list
}
