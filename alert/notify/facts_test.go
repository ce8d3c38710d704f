package notify

import (
	"testing"
	"time"

	"github.com/vigil-metrics/vigil/alert/config"
	"github.com/vigil-metrics/vigil/alert/state"
	"github.com/vigil-metrics/vigil/internal/metricpath"
)

// A recorded notice says the value and threshold as the CLI prints them
// (a ratio path's in percent, issue 30), the window, the path and the
// command that acknowledges the alert.
func TestSnapshotReadable(t *testing.T) {
	path, err := metricpath.Parse(`http_errors_total / http_requests_total`)
	if err != nil {
		t.Fatal(err)
	}
	r := &config.Rule{Name: "error_ratio", MetricPath: "http_errors_total / http_requests_total", Path: path,
		Threshold: 0.05, EvaluationWindow: 5 * time.Minute, Annotations: map[string]string{"runbook_url": "https://runbooks.example.com/errors"}}
	a := state.NewAlert("error_ratio", map[string]string{"job": "api"})
	a.State, a.Value = state.Firing, 0.052345678901234
	s := snapshot(&Item{Rule: r, Alert: a}, -1, "")
	want := Readable{ValueText: "5.23457%", ThresholdText: "5%", Window: "5m", Path: "http_errors_total / http_requests_total",
		AckCommand: "vigil alerts ack " + state.FormatFingerprint(a.Fingerprint)}
	if s.ValueText != want.ValueText || s.ThresholdText != want.ThresholdText || s.Window != want.Window || s.Path != want.Path || s.AckCommand != want.AckCommand ||
		s.RunbookURL != "https://runbooks.example.com/errors" {
		t.Errorf("snapshot = %+v, want %+v", s, want)
	}
	// Not a ratio: the value as vigil query prints it, 6 digits when long.
	r = &config.Rule{Name: "cpu", MetricPath: "cpu_usage_percent", Threshold: 80, EvaluationWindow: time.Hour}
	a.Value = 92.1234567891 // 13 characters: rounded
	s = snapshot(&Item{Rule: r, Alert: a}, -1, "")
	if s.ValueText != "92.1235" || s.ThresholdText != "80" || s.Window != "1h" || s.ThresholdKind != "" {
		t.Errorf("snapshot = %+v", s)
	}
}

// The ack command names a state DB other than the default with --state,
// as one shell word whatever the path holds (issue 30): pasted into sh,
// it reaches that state DB.
func TestAckCommandState(t *testing.T) {
	for path, want := range map[string]string{
		"":                    "vigil alerts ack 00000000000000aa",
		"/var/lib/vigil/s.db": "vigil alerts ack 00000000000000aa --state /var/lib/vigil/s.db",
		"/srv/st x/s.db":      `vigil alerts ack 00000000000000aa --state '/srv/st x/s.db'`,
		"/srv/it's/$HOME;db":  `vigil alerts ack 00000000000000aa --state '/srv/it'\''s/$HOME;db'`,
	} {
		if got := AckCommandState("00000000000000aa", path); got != want {
			t.Errorf("state %q: %s, want %s", path, got, want)
		}
	}
}
