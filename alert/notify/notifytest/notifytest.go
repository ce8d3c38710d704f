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
