package email

import (
	"html"
	"strings"
	"testing"
	"time"

	"github.com/vigil-metrics/vigil/alert/config"
	"github.com/vigil-metrics/vigil/alert/notify"
)

// sloPage is budget.txtar's page of service a as the pipeline records it
// (notify.Alert with the facts of alert/run.BudgetBuild).
func sloPage() notify.Alert {
	v := 14.5
	return notify.Alert{Rule: "slo_burn_rate_page", Severity: "critical", Description: "error budget burning fast (page)",
		Labels: map[string]string{"service": "a", "sli": "availability", "window": "30d"}, State: "firing", Value: &v,
		Threshold: 14.4, StartsAt: time.Date(2026, 11, 29, 12, 0, 0, 0, time.UTC), Fingerprint: "e067a2f6b9737d99",
		EscalationStep: -1, Readable: notify.Readable{ValueText: "14.5", ThresholdText: "14.4", ThresholdKind: notify.ThresholdBurnFactor,
			Summary: "burn rate 14.5 over 1h and 30 over 5m, both above 14.4 (2% of the budget in 1h)",
			Details: []string{"SLO: a availability 99.9% over 30d", "burn rates: 5m 30, 1h 14.5",
				"budget: 58% consumed, 42% remaining (18.1 minutes of full outage)", "time to exhaustion: 1251m at the 1h burn rate"},
			Window: "1h", AckCommand: "vigil alerts ack e067a2f6b9737d99", RunbookURL: "https://runbooks.example.com/slo?a=1&b=2"}}
}

// An SLO notice says what vigil budget prints, never "threshold 0", in
// the text and the HTML part alike (issue 30).
func TestBodySLOFacts(t *testing.T) {
	n := notify.Notification{Channel: config.Channel{Name: "mail", Type: "email"}, Kind: "firing",
		At: time.Date(2026, 11, 29, 12, 0, 0, 0, time.UTC), Alerts: []notify.Alert{sloPage()}}
	text, htm, err := Body("mail", n)
	if err != nil {
		t.Fatal(err)
	}
	for typ, body := range map[string]string{"text/plain": text, "text/html": html.UnescapeString(htm)} {
		contains(t, typ, body, "burn rate 14.5 over 1h and 30 over 5m, both above 14.4 (2% of the budget in 1h)",
			"14.5 (burn-rate factor 14.4)", "1h", "a availability 99.9% over 30d", "5m 30, 1h 14.5",
			"58% consumed, 42% remaining (18.1 minutes of full outage)", "1251m at the 1h burn rate",
			"vigil alerts ack e067a2f6b9737d99", "https://runbooks.example.com/slo?a=1&b=2")
		if containsAny(body, "threshold 0", "threshold 14.4") {
			t.Errorf("%s says threshold, not the factor:\n%s", typ, body)
		}
	}
}

// A rule's value and threshold as the CLI prints them: a ratio path in
// percent, with the window and the path.
func TestBodyRuleValues(t *testing.T) {
	v := 0.0523
	a := notify.Alert{Rule: "error_ratio", Severity: "high", State: "firing", Value: &v, Threshold: 0.05,
		Fingerprint: "00000000000000aa", EscalationStep: -1, Readable: notify.Readable{ValueText: "5.23%", ThresholdText: "5%",
			Window: "5m", Path: "http_errors_ratio", AckCommand: "vigil alerts ack 00000000000000aa"}}
	text, _, err := Body("mail", notify.Notification{Kind: "firing", Alerts: []notify.Alert{a}})
	if err != nil {
		t.Fatal(err)
	}
	contains(t, "text/plain", text, "Value:               5.23% (threshold 5%)", "Window:              5m",
		"Metric:              http_errors_ratio", "Acknowledge:         vigil alerts ack 00000000000000aa")
}

func containsAny(s string, subs ...string) bool {
	for _, x := range subs {
		if strings.Contains(s, x) {
			return true
		}
	}
	return false
}
