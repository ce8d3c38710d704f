// Package replay steps the evaluate pipeline over a range of past instants
// on a fresh in-memory state, with no delivery, and says what it would
// have done: episodes per rule, notices per channel, pages, incidents and
// the full timeline of notices. It is the same code as `vigil evaluate`
// and `vigil budget --notify` (alert/run's shared run function), fed by
// precomputed sliding windows instead of one store query per rule per
// step.
//
// It must not parse flags, format output, read the clock or send: the
// caller passes the range, the configs and the store.
package replay

import (
	"log/slog"
	"time"

	alertconfig "github.com/vigil-metrics/vigil/alert/config"
	alertrun "github.com/vigil-metrics/vigil/alert/run"
	"github.com/vigil-metrics/vigil/analyze/slo"
)

// Options configure a replay.
type Options struct {
	// Config holds the rules, channels and settings replayed.
	Config *alertconfig.Config
	// Objectives are the SLOs whose burn-rate and budget alerts go through
	// the pipeline at each step, as `vigil budget --notify` would (none:
	// no budget run).
	Objectives []slo.Objective
	// From and To bound the replay: steps are From+Step, From+2*Step, ...
	// up to To, so (From, To] as cron runs would have covered it.
	From, To time.Time
	// Step is the interval between two runs (the cron interval).
	Step time.Duration
	// Thresholds gives a dynamic rule's threshold as tuned at an instant
	// (the state DB's threshold history); nil, or false for a rule: the
	// config's threshold.
	Thresholds func(rule string, at time.Time) (float64, bool)
	// Log receives warnings and the debug account of what was read (nil:
	// discarded).
	Log *slog.Logger

	// NoSkip evaluates every rule at every step (tests prove skipping
	// exact with it); Exact queries the stores per rule per step instead
	// of the precomputed tables (slow; for checking one rule).
	NoSkip, Exact bool
	// ChunkBytes bounds the memory the precomputed windows hold at once
	// (0: DefaultChunkBytes); see TablesOptions.
	ChunkBytes int64

	// observe, when set (tests), sees every run's result as the replay
	// makes it: source "evaluate" or "budget", at the step's instant.
	observe func(source string, at time.Time, res alertrun.Result)
	// querier, when set (tests, benchmarks), answers instead of the stores.
	querier querier
}

// Replay is what a replay found. Times are the replayed instants, never
// the wall clock.
type Replay struct {
	From, To time.Time
	Step     time.Duration
	// Steps is the number of runs replayed.
	Steps int
	// Rules are per rule (every rule of the config, and the budget
	// rules that fired), the noisiest first: most notices, then most
	// firing time, then name.
	Rules []RuleSummary
	// Channels are per channel of the config, in the config's order.
	Channels []ChannelSummary
	// Incidents are the correlation incidents opened, by opening time.
	Incidents []Incident
	// Episodes are every firing episode, by start then rule then
	// fingerprint.
	Episodes []Episode
	// Notices is the full timeline: one entry per alert per notification
	// a channel would have received, in the order they would have gone out.
	Notices []Notice
	// Warnings are what the caller should print on stderr (history
	// shorter than asked, a step finer than the data ...).
	Warnings []string

	// steadied counts the alert steps left out as steady, over the
	// replay (the tests check that skipping did skip).
	steadied int
}

// RuleSummary is one rule's noise over the replay.
type RuleSummary struct {
	Rule     string
	Severity string
	// Episodes counts firing episodes (pending that never fired is none);
	// an episode still firing at To counts, ended at To.
	Episodes int
	// FiringSeconds is the total time in firing, summed over episodes.
	FiringSeconds float64
	// MedianEpisodeSeconds and LongestEpisodeSeconds (0 with no episode).
	MedianEpisodeSeconds, LongestEpisodeSeconds float64
	// Flapping counts the episodes shorter than twice the step, or fired
	// again within the rule's cooldown of the previous episode's end.
	Flapping int
	// Notices is the number of notices per channel name (firing and
	// resolved; refreshes are not notifications and are left out).
	Notices map[string]int
	// Pages are the firing notifications of a critical alert: one per
	// alert per run, however many channels carried it.
	Pages int
	// PagesPerWeek is Pages over the replayed range, in weeks.
	PagesPerWeek float64
	// FirstFiring and LastFiring are the first and last instants the rule
	// had a firing alert (zero when it never fired).
	FirstFiring, LastFiring time.Time
}

// ChannelSummary is one channel's share.
type ChannelSummary struct {
	Channel string
	Type    string
	// Notices are the notices it would have received.
	Notices int
	// RateLimited counts the notices max_alerts_per_minute held back at
	// least once (they went out in a later run).
	RateLimited int
	// Deduplicated counts the notifications dedup held back: a firing
	// alert whose episode this channel had already been told of within
	// the dedup window.
	Deduplicated int
}

// Incident is one correlation incident and its members.
type Incident struct {
	ID          string
	Correlation string
	GroupValue  string
	Opened      time.Time
	Closed      time.Time // zero: still open at To
	// Members are "rule{labels}" of the alerts it grouped, sorted.
	Members []string
}

// Episode is one alert's firing episode.
type Episode struct {
	Rule        string
	Fingerprint string // 16 hex digits, as notices carry it
	Labels      map[string]string
	Severity    string
	Start       time.Time // the run that made it firing
	End         time.Time // the run that resolved it; To while still firing
	Open        bool      // still firing at To
	// Notified are the channels told it fired, sorted (empty: nobody
	// heard of it: silenced, filtered, or no channel).
	Notified []string
}

// Notice is one alert in one notification.
type Notice struct {
	At          time.Time
	Channel     string
	Rule        string
	Fingerprint string
	Labels      map[string]string
	Severity    string
	// State is the alert's state the notice tells ("firing", "resolved").
	State string
	// Step is the escalation step (0: the first notification, or a
	// policy's first step).
	Step int
	// EscalationPolicy names the policy whose step sent it, "" when the
	// channel's filters did (h31 H9: Step alone tells a policy's first
	// step from a first notification by nothing).
	EscalationPolicy string
	// Kind is the notification's kind: "firing", "resolved", or "refresh"
	// (an Alertmanager channel re-told of a firing alert on every run; in
	// the timeline, never counted as a notice or a page).
	Kind string
	// Incident is the correlation incident the alert belongs to ("" for
	// none).
	Incident string

	// episode is when the episode the notice is about started firing (its
	// alert's starts_at): the summary matches notices to episodes by it.
	episode time.Time
}
