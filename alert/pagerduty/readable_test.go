package pagerduty

import (
	"encoding/json"
	"strings"
	"testing"

	"github.com/vigil-metrics/vigil/alert/config"
	"github.com/vigil-metrics/vigil/alert/notify/notifytest"
)

// A PagerDuty event about an SLO alert says what crossed what, the
// runbook and the acknowledge command (issue 30).
func TestEventReadable(t *testing.T) {
	n := notifytest.SLOPage(config.Channel{Name: "pd", Type: "pagerduty"})
	e := NewEvent("key", "firing", n.At, n.Alerts[0])
	if want := "slo_burn_rate_page: error budget burning fast (page) (value 14.5, burn-rate factor 14.4)"; e.Payload.Summary != want {
		t.Errorf("summary %q, want %q", e.Payload.Summary, want)
	}
	b, _ := json.Marshal(e)
	for _, want := range []string{`"summary":"burn rate 14.5 over 1h and 30 over 5m, both above 14.4 (2% of the budget in 1h)"`,
		`"runbook_url":"https://runbooks.example.com/slo"`, `"ack_command":"vigil alerts ack e067a2f6b9737d99"`,
		`"threshold_kind":"burn_rate_factor"`} {
		if !strings.Contains(string(b), want) {
			t.Errorf("event lacks %s:\n%s", want, b)
		}
	}
}
