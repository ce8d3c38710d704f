package slack

import (
	"encoding/json"
	"strings"
	"testing"

	"github.com/vigil-metrics/vigil/alert/config"
	"github.com/vigil-metrics/vigil/alert/notify/notifytest"
)

// A Slack message about an SLO alert says what crossed what, the runbook
// and the acknowledge command (issue 30).
func TestMessageReadable(t *testing.T) {
	n := notifytest.SLOPage(config.Channel{Name: "s", Type: "slack"})
	a := n.Alerts[0]
	_, text, details := oneAlert(a, "", false)
	b, _ := json.Marshal(details)
	all := text + "\n" + string(b)
	for _, want := range []string{"value 14.5, burn-rate factor 14.4", "*Value:* `14.5` vs *burn-rate factor:* `14.4`",
		"burn rate 14.5 over 1h and 30 over 5m, both above 14.4 (2% of the budget in 1h)",
		"https://runbooks.example.com/slo", "`vigil alerts ack e067a2f6b9737d99`"} {
		if !strings.Contains(all, want) {
			t.Errorf("message lacks %q:\n%s", want, all)
		}
	}
}
