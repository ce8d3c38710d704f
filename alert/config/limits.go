package config

import (
	"time"

	"go.yaml.in/yaml/v3"

	"github.com/vigil-metrics/vigil/internal/vtime"
)

// Limits on the settings. A value past one is refused by vigil check and
// evaluate alike, with the limit and its reason in the message: a typo
// (1000d for 1000s, a million retries) must not pass check and then make
// a cron run that never ends, a rule that can never fire, or a retention
// that overflows. docs/alerting.md and docs/channels.md list them.
const (
	// MaxTimeout bounds a channel's timeout: one attempt must fit in the
	// cron minute between two runs.
	MaxTimeout = time.Minute
	// MaxRetryAttempts bounds a channel's retry_attempts (all tries of one
	// run): what ten tries did not deliver, later runs retry (the outbox
	// keeps a notice 24 h), so more tries only hold the run longer.
	MaxRetryAttempts = 10
	// MaxRetryDelay bounds a channel's retry_delay: no longer than the
	// longest Retry-After vigil honours from a receiver (alert/retry's
	// MaxRetryAfter), which also caps every wait between two tries.
	MaxRetryDelay = 30 * time.Second
	// MaxWindow bounds the windows a rule reads (evaluation_window,
	// reference_window, lookback, a recording rule's window, a dynamic
	// threshold's baseline_window): a year; longer is a typo, and a
	// window reads every sample in it.
	MaxWindow = 366 * 24 * time.Hour
	// MaxHold bounds what makes a person wait (for, cooldown_period, an
	// escalation step's delay, a correlation rule's time_window): a
	// month; longer is a typo that makes a rule that never fires, an
	// alert never reminded, a step never reached.
	MaxHold = 30 * 24 * time.Hour
	// MinEvaluationInterval and MaxEvaluationInterval bound
	// settings.evaluation_interval: threshold tune's backtest steps the
	// baseline window at it (a year at 10 s is 3.2M steps), and an
	// Alertmanager channel's alerts last four intervals past the run.
	MinEvaluationInterval = 10 * time.Second
	MaxEvaluationInterval = 24 * time.Hour
	// MaxRetentionDays bounds settings.alert_retention_days: ten years
	// (far beyond it, days in hours overflow and the cut-off would fall
	// in the future: every row of history pruned).
	MaxRetentionDays = 3650
)

// Reasons for the limits, as messages give them.
const (
	whyTimeout   = "one attempt must fit in a cron minute"
	whyAttempts  = "later runs retry what a run could not deliver"
	whyDelay     = "the longest wait vigil takes between two tries"
	whyWindow    = "a year; longer is a typo"
	whyHold      = "a month; longer is a typo"
	whyInterval  = "how often evaluate runs"
	whyRetention = "ten years"
)

// durationIn reads a duration (Duration's rules) of at most max, and at
// least min when min > 0; out of bounds is a problem naming the limit.
func (d *decoder) durationIn(v *yaml.Node, field string, zero bool, min, max time.Duration, why string) (time.Duration, bool) {
	x, ok := d.Duration(v, field, zero)
	switch {
	case !ok:
		return 0, false
	case x > max:
		d.Errf(v, "%s: %s is over the limit of %s (%s)", field, vtime.FormatDuration(x), vtime.FormatDuration(max), why)
		return 0, false
	case x < min:
		d.Errf(v, "%s: %s is under the limit of %s (%s)", field, vtime.FormatDuration(x), vtime.FormatDuration(min), why)
		return 0, false
	}
	return x, true
}

// intIn reads a whole number of at least min and at most max.
func (d *decoder) intIn(v *yaml.Node, field string, min, max int, why string) (int, bool) {
	x, ok := d.Int(v, field, min)
	if ok && x > max {
		d.Errf(v, "%s: %d is over the limit of %d (%s)", field, x, max, why)
		return 0, false
	}
	return x, ok
}
