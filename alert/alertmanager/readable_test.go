package alertmanager

import (
	"testing"
	"time"

	"github.com/vigil-metrics/vigil/alert/config"
	"github.com/vigil-metrics/vigil/alert/notify/notifytest"
)

// An SLO alert reaches Alertmanager with Alertmanager's conventional
// annotations (summary, runbook_url), what the threshold is, and the
// command that acknowledges it in vigil (issue 30).
func TestAlertsReadable(t *testing.T) {
	as := Alerts(notifytest.SLOPage(config.Channel{Name: "am", Type: "alertmanager"}), 5*time.Minute)
	ann := as[0].Annotations
	want := map[string]string{"threshold": "14.4", "value": "14.5", "threshold_kind": "burn_rate_factor",
		"summary":     "burn rate 14.5 over 1h and 30 over 5m, both above 14.4 (2% of the budget in 1h)",
		"runbook_url": "https://runbooks.example.com/slo", "vigil_ack_command": "vigil alerts ack e067a2f6b9737d99"}
	for k, v := range want {
		if ann[k] != v {
			t.Errorf("annotation %s = %q, want %q", k, ann[k], v)
		}
	}
}

// A resolved alert is posted without the ack command (h30 D18).
func TestResolvedHasNoAckCommand(t *testing.T) {
	n := notifytest.SLOPage(config.Channel{Name: "am", Type: "alertmanager"})
	n.Kind = "resolved"
	if v, ok := Alerts(n, 5*time.Minute)[0].Annotations["vigil_ack_command"]; ok {
		t.Errorf("resolved: vigil_ack_command %q", v)
	}
}

// vigil budget --notify runs every few minutes, not every evaluation
// interval: its SLO alerts' endsAt is 4 of its runs ahead (4 x 15m), so
// Alertmanager does not resolve a page that still burns between two runs
// (h30 D24). An evaluate rule's stays 4 evaluation intervals.
func TestSLOAlertsOutliveBudgetRuns(t *testing.T) {
	n := notifytest.SLOPage(config.Channel{Name: "am", Type: "alertmanager"})
	n.Kind = "firing"
	want := n.At.Add(time.Hour).UTC().Format(time.RFC3339Nano)
	if got := Alerts(n, 4*time.Minute)[0].EndsAt; got != want {
		t.Errorf("SLO page endsAt %s, want %s", got, want)
	}
	n.Alerts[0].Rule = "high_cpu"
	want = n.At.Add(4 * time.Minute).UTC().Format(time.RFC3339Nano)
	if got := Alerts(n, 4*time.Minute)[0].EndsAt; got != want {
		t.Errorf("rule endsAt %s, want %s", got, want)
	}
}
