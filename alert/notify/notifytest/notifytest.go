// Package notifytest holds what every channel's tests share: a sample
// notification and the check that no secret leaks into anything a
// channel produces (errors, logs, dry-run text, history).
//
// It is for tests alone: no non-test code may import it.
package notifytest

import (
	"strings"
	"testing"
	"time"

	"github.com/vigil-metrics/vigil/alert/config"
	"github.com/vigil-metrics/vigil/alert/notify"
)

// At is the evaluation time of Firing and Resolved.
var At = time.Date(2026, 11, 29, 10, 0, 30, 0, time.UTC)

func value(v float64) *float64 { return &v }

// Firing is a notification about one firing alert to ch.
func Firing(ch config.Channel) notify.Notification {
	return notify.Notification{Channel: ch, At: At, Kind: "firing", Alerts: []notify.Alert{{
		Rule: "high_cpu", Severity: "critical", Description: "CPU above 80%", Labels: map[string]string{"host": "db-01", "team": "infra"},
		State: "firing", Value: value(92.5), Threshold: 80, StartsAt: At.Add(-2 * time.Minute),
		Fingerprint: "f372fee676ae0d86", EscalationStep: -1,
	}}}
}

// Resolved is the resolution of Firing's alert.
func Resolved(ch config.Channel) notify.Notification {
	n := Firing(ch)
	n.Kind = "resolved"
	a := &n.Alerts[0]
	a.State, a.EndsAt, a.Value = "resolved", At.Add(5*time.Minute), value(41)
	n.At = a.EndsAt
	return n
}

// NoSecrets fails t when any secret (a token, password, DSN key, routing
// key, the secret part of a URL) appears in any of texts: errors, logs,
// dry-run output, history rows. Empty secrets are ignored.
func NoSecrets(t testing.TB, secrets []string, texts ...string) {
	t.Helper()
	for _, s := range secrets {
		if s == "" {
			continue
		}
		for i, x := range texts {
			if strings.Contains(x, s) {
				t.Errorf("secret %q leaked in text %d: %s", s, i, x)
			}
		}
	}
}

// Err is err's text, "" for nil: for NoSecrets.
func Err(err error) string {
	if err == nil {
		return ""
	}
	return err.Error()
}

// SLOPage is a notification about an SLO page alert as the pipeline
// records it (alert/run.BudgetBuild's facts: budget.txtar's service a),
// with a runbook: what every channel's notice must say (issue 30).
func SLOPage(ch config.Channel) notify.Notification {
	return notify.Notification{Channel: ch, At: At, Kind: "firing", Alerts: []notify.Alert{{
		Rule: "slo_burn_rate_page", Severity: "critical", Description: "error budget burning fast (page)",
		Labels: map[string]string{"service": "a", "sli": "availability", "window": "30d"}, State: "firing",
		Value: value(14.5), Threshold: 14.4, StartsAt: At, Fingerprint: "e067a2f6b9737d99", EscalationStep: -1,
		Readable: notify.Readable{ValueText: "14.5", ThresholdText: "14.4", ThresholdKind: notify.ThresholdBurnFactor, Window: "1h",
			Summary: "burn rate 14.5 over 1h and 30 over 5m, both above 14.4 (2% of the budget in 1h)",
			Details: []string{"SLO: a availability 99.9% over 30d", "burn rates: 5m 30, 30m 30, 1h 14.5, 2h 14.5, 6h 2.42, 1d 2.42, 3d 0.97, 30d 0.58",
				"budget: 58% consumed, 42% remaining (18.1 minutes of full outage)", "time to exhaustion: 1251m at the 1h burn rate"},
			RunbookURL: "https://runbooks.example.com/slo", AckCommand: "vigil alerts ack e067a2f6b9737d99"},
	}}}
}
