package github

import (
	"strings"
	"testing"

	"github.com/vigil-metrics/vigil/alert/config"
	"github.com/vigil-metrics/vigil/alert/notify/notifytest"
)

// An issue about an SLO alert says what crossed what, the runbook and the
// acknowledge command (issue 30).
func TestBodyReadable(t *testing.T) {
	n := notifytest.SLOPage(config.Channel{Name: "gh", Type: "github"})
	for what, body := range map[string]string{"issue": alertBody(n.At, n.Alerts[0]), "comment": comment(n, false)} {
		for _, want := range []string{"- **Metric Value**: 14.5 (1h)", "- **Threshold**: 14.4 (burn-rate factor)",
			"burn rate 14.5 over 1h and 30 over 5m, both above 14.4 (2% of the budget in 1h)",
			"https://runbooks.example.com/slo", "`vigil alerts ack e067a2f6b9737d99`"} {
			if !strings.Contains(body, want) {
				t.Errorf("%s lacks %q:\n%s", what, want, body)
			}
		}
	}
	if b := alertBody(n.At, n.Alerts[0]); !strings.Contains(b, "time to exhaustion: 1251m at the 1h burn rate") {
		t.Errorf("issue lacks the details:\n%s", b)
	}
}
