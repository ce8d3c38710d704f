// Package config decodes vigil's alerting configuration (alert_rules,
// channels, escalation, settings, silences, correlation_rules,
// recording_rules and inhibit_rules): the sections internal/configfile hands it, walked as
// YAML nodes with internal/yamlconf so that every problem names its place
// in the file (FILE:LINE:COL: reason) and every problem is listed, like
// promtool check rules. It must not read the file's other sections, send
// anything or know a channel's wire format.
package config

import (
	"time"

	"github.com/vigil-metrics/vigil/internal/metricpath"
	"github.com/vigil-metrics/vigil/internal/yamlconf"
)

// Conditions a rule may use.
var Conditions = []string{"greater_than", "less_than", "equals", "not_equals", "greater_or_equal", "less_or_equal", "absent", "spike"}

// NoDataPolicies are a rule's nodata values, the default first.
var NoDataPolicies = []string{"ok", "alert", "keep"}

// SpikeDirections are a spike rule's direction values, the default first.
var SpikeDirections = []string{"up", "down", "both"}

// DefaultLookback is how far back an absent rule looks for the label sets
// that used to report.
const DefaultLookback = 24 * time.Hour

// Severities, most severe first.
var Severities = []string{"critical", "high", "medium", "low"}

// Config is a decoded, validated alerting configuration.
type Config struct {
	File             string
	Rules            []Rule
	Channels         []Channel
	Escalation       []EscalationPolicy
	Settings         Settings
	Silences         []Silence
	CorrelationRules []CorrelationRule
	RecordingRules   []RecordingRule
	InhibitRules     []InhibitRule
	// Warnings do not make the configuration invalid: a secret that is
	// read from the environment at send time and is missing now.
	Warnings []Problem
}

// Pos is a place in the file, 1-based.
type Pos struct{ Line, Col int }

// Rule is one alert rule.
type Rule struct {
	Pos              Pos
	Name             string
	Description      string
	MetricPath       string
	Path             *metricpath.Expr // nil only when the path was accepted as a bare name without parsing
	Condition        string
	Threshold        float64
	Severity         string
	EvaluationWindow time.Duration
	CooldownPeriod   time.Duration
	For              time.Duration // 0: fire on the first breach
	GroupBy          []string
	Labels           map[string]string
	// Annotations are for people, as in Prometheus: runbook_url is the
	// link every notice of the rule carries.
	Annotations map[string]string

	// NoData is the no-data policy: ok (default), alert or keep.
	NoData string
	// Lookback (condition absent) is how far back the label sets that
	// used to report are looked for (default 24h).
	Lookback time.Duration
	// Spike rules (condition spike): the window's aggregate against the
	// same aggregate over the ReferenceWindow before it (default: as long
	// as the evaluation window); fires when it moved by more than
	// SpikeRatio in Direction (up, down or both), if the reference is at
	// least MinReference.
	SpikeRatio      float64
	ReferenceWindow time.Duration
	Direction       string
	MinReference    float64

	// Dynamic is set by the label dynamic_threshold: "true": vigil
	// threshold tune derives the threshold from history with Tuning
	// (settings.dynamic_thresholds, then the rule's tuning: block).
	Dynamic bool
	Tuning  Tuning
}

// TuningMethods are the dynamic threshold methods, the default first.
var TuningMethods = []string{"percentile", "mad", "seasonal"}

// Seasons are the seasonal method's periods, the default first.
var Seasons = []string{"day", "week"}

// Tuning configures how a dynamic threshold is derived (the reference
// design's DynamicThresholdManager, and more).
type Tuning struct {
	Method         string        // percentile, mad or seasonal
	Percentile     float64       // of the baseline (type 7); the low tail (100 - p) for less_than rules
	BaselineWindow time.Duration // history read
	Factor         float64       // the threshold is the baseline statistic times this (divided, for less_than)
	// A new threshold is applied only when it moved by more than
	// Hysteresis (absolute) and, when set, HysteresisPercent of the old.
	Hysteresis        float64
	HysteresisPercent float64
	MinSamples        int     // fewer: keep the old threshold
	MADK              float64 // mad: median + k x MAD
	Season            string  // seasonal: day (hour of day) or week (hour of week)
}

// DefaultTuning is the reference design's: p95 of 7 days x 1.2, applied
// when it moved by more than 0.1.
func DefaultTuning() Tuning {
	return Tuning{Method: "percentile", Percentile: 95, BaselineWindow: 7 * 24 * time.Hour, Factor: 1.2,
		Hysteresis: 0.1, MinSamples: 100, MADK: 3, Season: "day"}
}

// Filter is one channel filter: a label and the values it accepts.
type Filter map[string][]string

// Channel is a notification channel: the settings every type has, and the
// type's own, typed by its channel package.
type Channel struct {
	Pos           Pos
	Name          string
	Type          string
	Enabled       bool
	Timeout       time.Duration
	RetryAttempts int
	// RetryAttemptsSet says retry_attempts was given: an explicit 0 is
	// one try, where leaving it out means the default.
	RetryAttemptsSet bool
	RetryDelay       time.Duration
	// SendResolved says whether the channel is told when an alert
	// resolves (send_resolved, any channel type). Parse fills in true
	// when the file leaves it out; a Channel built by hand must set it.
	SendResolved bool
	Filters      []Filter
	// Settings are the type's own settings (a *webhook.Config for a
	// webhook channel, ...), ${ENV} expanded; nil for an unknown type.
	Settings ChannelSettings
}

// EscalationPolicy is a named list of steps for matching alerts.
type EscalationPolicy struct {
	Pos      Pos
	Name     string
	Triggers []Filter
	Steps    []EscalationStep
}

// EscalationStep notifies channels after a delay. Channels is as written
// (a channel name, or a type meaning every channel of that type); Resolved
// holds the channel names it designates.
type EscalationStep struct {
	Delay      time.Duration
	Channels   []string
	Resolved   []string
	Recipients []string
}

// Settings are the global settings, defaults filled in.
type Settings struct {
	EvaluationInterval  time.Duration
	BatchSize           int
	MaxAlertsPerMinute  int
	AlertRetentionDays  int
	EnableCorrelation   bool
	EnableDeduplication bool
	// DynamicThresholds are the defaults of every dynamic rule's tuning.
	DynamicThresholds Tuning
}

// DefaultSettings are the reference design's values.
func DefaultSettings() Settings {
	return Settings{EvaluationInterval: time.Minute, BatchSize: 100, MaxAlertsPerMinute: 50,
		AlertRetentionDays: 30, EnableCorrelation: true, EnableDeduplication: true, DynamicThresholds: DefaultTuning()}
}

// Silence mutes alerts whose labels equal every matcher during
// [StartsAt, EndsAt).
type Silence struct {
	Pos       Pos
	Matchers  map[string]string
	StartsAt  time.Time // zero: already started
	EndsAt    time.Time
	Comment   string
	CreatedBy string
}

// CorrelationRule groups related alerts (reference design, CorrelationRule).
type CorrelationRule struct {
	Pos           Pos
	Name          string
	GroupKey      string
	TimeWindow    time.Duration
	AlertPatterns []string // globs (path.Match syntax) over alert names
	LabelMatchers map[string]string
}

// RecordingRule pre-aggregates a metric into Target (the reference
// design's aggregation rules). Either Source with Aggregation (and
// Percentile for "percentile"), or MetricPath.
type RecordingRule struct {
	Pos         Pos
	Source      string
	Target      string
	Aggregation string
	Percentile  float64
	MetricPath  string
	Window      time.Duration
}

// Problem is one error or warning at a place in the file (yamlconf's:
// every config reader shares it).
type Problem = yamlconf.Problem

// Problems is every problem found in one file, sorted by position. It is
// a usage error (exit 2) for the CLI.
type Problems = yamlconf.Problems

// AsProblems returns the problems behind err, if it holds any.
func AsProblems(err error) (Problems, bool) { return yamlconf.AsProblems(err) }
