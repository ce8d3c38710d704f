package sentry

import (
	"testing"

	"github.com/vigil-metrics/vigil/alert/config"
	"github.com/vigil-metrics/vigil/alert/notify/notifytest"
)

// A Sentry event about an SLO alert carries, in its alert context, what
// crossed what, the runbook and the acknowledge command (issue 30).
func TestEventReadable(t *testing.T) {
	n := notifytest.SLOPage(config.Channel{Name: "s", Type: "sentry"})
	ctx := NewEvent("firing", n.At, "", n.Alerts[0]).Contexts["alert"]
	want := map[string]string{"threshold_kind": "burn_rate_factor", "value_text": "14.5", "threshold_text": "14.4",
		"summary":     "burn rate 14.5 over 1h and 30 over 5m, both above 14.4 (2% of the budget in 1h)",
		"runbook_url": "https://runbooks.example.com/slo", "ack_command": "vigil alerts ack e067a2f6b9737d99", "window": "1h"}
	for k, v := range want {
		if got, _ := ctx[k].(string); got != v {
			t.Errorf("context %s = %v, want %q", k, ctx[k], v)
		}
	}
}
