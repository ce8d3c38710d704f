// Package state is vigil's alert memory between runs. `vigil evaluate` runs
// from cron once a minute and exits, yet it must behave like one long-lived
// alert manager: it has to know which alerts were pending, since when, which
// fired and who acknowledged them. That memory lives in a SQLite file
// (vigil-state.db) that this package opens, migrates and locks, so two
// overlapping cron runs cannot both decide to notify.
//
// The package has two halves. Step is the state machine: a pure function of
// the previous alert, one observation and the evaluation time, so every
// transition can be tested without a clock or a file. DB and Run are the
// storage: one Run per evaluate run, holding the run lock (lock.go) for its
// whole life and committing as it goes (Save), so that what a run decided
// to send is durable before it sends. Besides the alerts and their state
// changes (events), the DB keeps the outbox of notifications, every
// delivery attempt and the correlation incidents.
//
// Time is always passed in (Step's at, Alert's times); nothing here reads
// the clock to make a decision. Times are stored as unix milliseconds.
package state

import (
	"fmt"
	"math"
	"time"
)

// State is where an alert is in its lifecycle.
type State uint8

// The zero State is Inactive, so a zero Alert is an alert never seen.
const (
	Inactive State = iota // condition not met (or never evaluated)
	Pending               // condition met, waiting out the rule's for
	Firing                // condition met for at least for
	Resolved              // was firing, condition now false; Inactive next run
	NoData                // the rule's path returned no value
)

var stateNames = [...]string{"inactive", "pending", "firing", "resolved", "nodata"}

// String returns the lower-case name used in the DB, JSON and output.
func (s State) String() string {
	if int(s) < len(stateNames) {
		return stateNames[s]
	}
	return fmt.Sprintf("state(%d)", uint8(s))
}

// ParseState reads what String writes.
func ParseState(s string) (State, error) {
	for i, n := range stateNames {
		if n == s {
			return State(i), nil
		}
	}
	return 0, fmt.Errorf("unknown alert state %q: want inactive, pending, firing, resolved or nodata", s)
}

// Alert is one rule's alert for one label set, as remembered between runs.
// Zero times mean "never".
type Alert struct {
	Fingerprint uint64
	Rule        string
	Labels      map[string]string
	State       State
	// Value is the last observed value; it is kept through NoData so a
	// notification about lost data can still say what was last seen. NaN
	// when never observed.
	Value float64

	// ActiveSince is when the current breach began (first Pending or
	// Firing run); zero while Inactive or NoData.
	ActiveSince time.Time
	// FiredAt is when the current or last episode started firing.
	FiredAt time.Time
	// ResolvedAt is when the last firing episode resolved, or lost its
	// data (nodata: ok).
	ResolvedAt time.Time
	// LastEval is the at of the last Step.
	LastEval time.Time

	// Notification bookkeeping belongs to the pipeline, not to Step: Step
	// copies these through unchanged so cooldowns survive flapping.
	LastNotified time.Time
	NotifyCount  int

	// An acknowledgement covers one episode: Step clears it when a new
	// breach starts, so last week's ack cannot mute today's incident.
	Acked      bool
	AckComment string
	AckedAt    time.Time

	// Incident is the correlation incident the current episode joined
	// ("" for none); it is kept through resolution so the resolved notice
	// names it.
	Incident string
	// EscPolicy and EscSteps are the escalation policy of the current
	// episode and how many of its steps have been executed.
	EscPolicy string
	EscSteps  int

	// InhibitedBy names the firing alert ("rule{labels}") whose inhibit
	// rule held this one's notices back at the last run; "" when that
	// run did not. The pipeline sets it at every run (Step copies it), so
	// it is gone once the alert is notified, resolves or stops firing.
	InhibitedBy string
}

// Observation is what one evaluation of a rule saw for one label set.
type Observation struct {
	// HasData is false when the rule's path returned nothing (no samples in
	// the window, store missing); Breached and Value are then ignored.
	HasData  bool
	Breached bool
	Value    float64
}

// Step advances prev by one evaluation at time at for a rule whose for is
// forDur. It is pure: it never reads the clock and does not modify prev.
//
// Transitions:
//
//	no data                  -> NoData (ActiveSince cleared, FiredAt kept;
//	                            from Firing, ResolvedAt=at)
//	breached, new breach     -> Pending (ActiveSince=at), or Firing at once
//	                            (FiredAt=at) when forDur <= 0
//	breached, Pending        -> Firing once at-ActiveSince >= forDur
//	breached, Firing         -> Firing
//	not breached, Firing     -> Resolved (ResolvedAt=at)
//	not breached, otherwise  -> Inactive (ResolvedAt kept)
//
// A new breach is one from Inactive, Resolved or NoData; it starts a new
// episode, clearing FiredAt, ResolvedAt, the acknowledgement, the
// incident and the escalation progress.
//
// Firing with no data becomes NoData, not "still firing": like Prometheus,
// which keeps an alert only while its expression returns it, vigil does not
// claim a breach it cannot see. The state does not claim a recovery either
// (NoData, not Resolved: silence is not evidence of health), but the
// episode ends there (ResolvedAt=at): Prometheus resolves an alert whose
// series vanished, and the receivers told "firing" must not believe it
// fires forever, so the pipeline tells them "resolved" (with state nodata).
// FiredAt is kept so that message can tell how long the alert had been
// firing. When data returns breached, that is a new episode: pending
// restarts.
func Step(prev Alert, obs Observation, at time.Time, forDur time.Duration) Alert {
	return StepPolicy(prev, obs, at, forDur, NoDataOK)
}

// No-data policies (a rule's nodata).
const (
	// NoDataOK: no data is the nodata state, never firing; a firing
	// alert's episode ends there and is notified as resolved (Step's
	// behaviour).
	NoDataOK = "ok"
	// NoDataAlert: losing data is an alert of its own: the alert enters
	// nodata as a new episode (FiredAt = at, notified like a firing
	// alert), and resolves when data comes back below the threshold.
	NoDataAlert = "alert"
	// NoDataKeep: a gap changes nothing: the alert keeps its state (a
	// scrape gap neither resolves nor fires it); only LastEval moves.
	NoDataKeep = "keep"
)

// StepPolicy is Step under a rule's no-data policy (NoDataOK, NoDataAlert
// or NoDataKeep); Step is StepPolicy with NoDataOK.
func StepPolicy(prev Alert, obs Observation, at time.Time, forDur time.Duration, nodata string) Alert {
	a := prev
	a.LastEval = at
	if !obs.HasData {
		switch nodata {
		case NoDataKeep:
			return a
		case NoDataAlert:
			if prev.State != NoData {
				a.newEpisode(at)
				a.FiredAt = at
			}
			a.State = NoData
			return a
		}
		if prev.State == Firing {
			a.ResolvedAt = at // the episode ends: see Step
		}
		a.State = NoData
		a.ActiveSince = time.Time{}
		return a
	}
	a.Value = obs.Value
	if obs.Breached {
		switch prev.State {
		case Firing:
			// Still firing: nothing changes but the value.
		case Pending:
			if at.Sub(a.ActiveSince) >= forDur {
				a.State, a.FiredAt = Firing, at
			}
		default: // Inactive, Resolved, NoData: a new episode.
			a.newEpisode(at)
			a.State = Pending
			if forDur <= 0 {
				a.State, a.FiredAt = Firing, at
			}
		}
		return a
	}
	if prev.State == Firing || prev.State == NoData && nodata == NoDataAlert {
		a.State, a.ResolvedAt = Resolved, at
		return a
	}
	a.State = Inactive
	a.ActiveSince = time.Time{}
	return a
}

// newEpisode starts a breach at at: the previous episode's times, its
// acknowledgement, incident and escalation progress are cleared.
func (a *Alert) newEpisode(at time.Time) {
	a.ActiveSince = at
	a.FiredAt, a.ResolvedAt = time.Time{}, time.Time{}
	a.Acked, a.AckComment, a.AckedAt = false, "", time.Time{}
	a.Incident, a.EscPolicy, a.EscSteps = "", "", 0
}

// NewAlert is the alert for rule and labels before its first Step: Inactive,
// with its fingerprint computed and no value seen.
func NewAlert(rule string, labels map[string]string) Alert {
	return NewAlertFingerprint(rule, labels, Fingerprint(rule, labels))
}

// NewAlertFingerprint is NewAlert for a caller that has computed fp,
// Fingerprint(rule, labels), already (a run, which looked the alert up by
// it).
func NewAlertFingerprint(rule string, labels map[string]string, fp uint64) Alert {
	return Alert{Fingerprint: fp, Rule: rule, Labels: labels, Value: math.NaN()}
}
