package config

import (
	"strings"
	"testing"
	"time"
)

func TestConfigReference(t *testing.T) {
	t.Setenv("SLACK_WEBHOOK_URL", "https://hooks.example.com/T000/B000")
	cfg, err := Load("testdata/reference.yaml")
	if err != nil {
		t.Fatalf("reference config: %v", err)
	}
	if len(cfg.Rules) != 6 || len(cfg.Channels) != 4 || len(cfg.Escalation) != 2 || len(cfg.Silences) != 0 {
		t.Fatalf("got %d rules, %d channels, %d policies, %d silences; want 6, 4, 2, 0",
			len(cfg.Rules), len(cfg.Channels), len(cfg.Escalation), len(cfg.Silences))
	}
	r := cfg.Rules[0]
	if r.Name != "high_cpu_usage" || r.MetricPath != "cpu_usage_percent" || r.Condition != "greater_than" ||
		r.Threshold != 80 || r.Severity != "medium" || r.EvaluationWindow != 5*time.Minute ||
		r.CooldownPeriod != 10*time.Minute || r.Labels["component"] != "system" || r.Labels["category"] != "performance" {
		t.Errorf("rule 0 = %+v", r)
	}
	if r := cfg.Rules[5]; r.Threshold != 1800000 || r.EvaluationWindow != time.Hour || r.CooldownPeriod != 2*time.Hour {
		t.Errorf("rule 5 = %+v", r)
	}
	if r := cfg.Rules[2]; r.Path == nil || r.Path.Num.Agg.Text != "p95" {
		t.Errorf("rule 2 path = %+v", r.Path)
	}
	if got := cfg.Channels[0].Settings["url"]; got != "https://hooks.example.com/T000/B000" {
		t.Errorf("webhook url = %v", got)
	}
	if c := cfg.Channels[0]; c.Timeout != 10*time.Second || len(c.Filters) != 1 || strings.Join(c.Filters[0]["severity"], ",") != "critical,high" {
		t.Errorf("channel 0 = %+v", c)
	}
	if c := cfg.Channels[1]; c.Settings["smtp_port"] != 587 || len(c.Filters) != 2 {
		t.Errorf("channel 1 = %+v", c)
	}
	// "email" and "github" in steps are channel types.
	steps := cfg.Escalation[0].Steps
	if len(steps) != 3 || steps[0].Delay != 0 || steps[1].Delay != 15*time.Minute || steps[2].Delay != time.Hour ||
		strings.Join(steps[0].Resolved, ",") != "slack_alerts,engineering_team" ||
		strings.Join(steps[1].Resolved, ",") != "engineering_team,issue_tracker" ||
		strings.Join(steps[2].Recipients, ",") != "on-call@company.com" {
		t.Errorf("critical_escalation steps = %+v", steps)
	}
	s := cfg.Settings
	if s.EvaluationInterval != time.Minute || s.BatchSize != 100 || s.MaxAlertsPerMinute != 50 ||
		s.AlertRetentionDays != 30 || !s.EnableCorrelation || !s.EnableDeduplication {
		t.Errorf("settings = %+v", s)
	}
}

func TestConfigReferenceUnsetEnv(t *testing.T) {
	// t.Setenv then unsetting is not possible portably: use ParseEnv.
	cfg, err := ParseEnv("reference.yaml", mustRead(t, "testdata/reference.yaml"), func(string) (string, bool) { return "", false })
	ps, ok := AsProblems(err)
	if !ok || len(ps) != 1 {
		t.Fatalf("err = %v, want one problem", err)
	}
	// channels: line 69, `    url: "${SLACK_WEBHOOK_URL}"`, value at column 10.
	if got, want := ps[0].Error(), "reference.yaml:69:10: url: environment variable SLACK_WEBHOOK_URL is not set"; got != want {
		t.Errorf("got  %s\nwant %s", got, want)
	}
	// Secrets read at send time are warnings: SMTP password (email has a
	// username, item at line 74), GITHUB_TOKEN (line 84), SENTRY_DSN (line 92).
	var ws []string
	for _, w := range cfg.Warnings {
		ws = append(ws, w.Error())
	}
	want := []string{
		`reference.yaml:74:5: channel "engineering_team": SMTP_PASSWORD is not set (needed to log in as the username at send time)`,
		`reference.yaml:84:5: channel "issue_tracker": GITHUB_TOKEN is not set (the github channel needs it to send)`,
		`reference.yaml:92:5: channel "error_tracking": no dsn and SENTRY_DSN is not set (the sentry channel needs one to send)`,
	}
	if strings.Join(ws, "\n") != strings.Join(want, "\n") {
		t.Errorf("warnings:\n%s\nwant:\n%s", strings.Join(ws, "\n"), strings.Join(want, "\n"))
	}
}

func TestChannelFormatAndSendResolved(t *testing.T) {
	y := "channels:\n" +
		"  - {name: a, type: webhook, url: 'https://example.com/a'}\n" +
		"  - {name: b, type: webhook, url: 'https://example.com/b', format: alertmanager, send_resolved: false}\n" +
		"  - {name: c, type: webhook, url: 'https://example.com/c', format: vigil, send_resolved: true}\n" +
		"  - {name: d, type: slack, webhook_url: 'https://example.com/d', send_resolved: false}\n"
	cfg, err := ParseEnv("c.yaml", []byte(y), noEnv)
	if err != nil {
		t.Fatal(err)
	}
	want := []struct {
		format       any
		sendResolved bool
	}{{nil, true}, {"alertmanager", false}, {"vigil", true}, {nil, false}}
	for i, w := range want {
		c := cfg.Channels[i]
		if c.Settings["format"] != w.format || c.SendResolved != w.sendResolved {
			t.Errorf("channel %s: format %v, send_resolved %v; want %v, %v", c.Name, c.Settings["format"], c.SendResolved, w.format, w.sendResolved)
		}
	}
}

// The example config that make demo evaluates must stay valid.
func TestExampleConfig(t *testing.T) {
	env := map[string]string{"SLACK_WEBHOOK_URL": "https://hooks.example/a", "OPS_WEBHOOK_URL": "http://127.0.0.1:1/b"}
	cfg, err := ParseEnv("vigil.yaml", mustRead(t, "../../examples/vigil.yaml"), func(k string) (string, bool) { v, ok := env[k]; return v, ok })
	if err != nil {
		t.Fatal(err)
	}
	if len(cfg.Rules) != 4 || len(cfg.CorrelationRules) != 1 || len(cfg.Silences) != 1 || len(cfg.RecordingRules) != 2 {
		t.Errorf("rules %d, correlation rules %d, silences %d, recording rules %d", len(cfg.Rules), len(cfg.CorrelationRules), len(cfg.Silences), len(cfg.RecordingRules))
	}
}

// A dynamic rule's tuning is the settings' dynamic_thresholds (over the
// reference design's defaults) overridden by its own tuning block, in
// whatever order the sections come.
func TestTuning(t *testing.T) {
	cfg, err := ParseEnv("t.yaml", []byte(`
alert_rules:
  - {name: a, metric_path: m, condition: greater_than, threshold: 1, severity: low, evaluation_window: 60, labels: {dynamic_threshold: "true"}, tuning: {method: mad, mad_k: 4}}
  - {name: b, metric_path: m, condition: less_than, threshold: 1, severity: low, evaluation_window: 60, labels: {dynamic_threshold: "true"}}
  - {name: c, metric_path: m, condition: less_than, threshold: 1, severity: low, evaluation_window: 60}
settings:
  dynamic_thresholds: {percentile: 99, baseline_window: 14d, hysteresis_percent: 5}
`), func(string) (string, bool) { return "", false })
	if err != nil {
		t.Fatal(err)
	}
	want := DefaultTuning()
	want.Percentile, want.BaselineWindow, want.HysteresisPercent = 99, 14*24*time.Hour, 5
	wantA := want
	wantA.Method, wantA.MADK = "mad", 4
	if got := cfg.Rules[0].Tuning; got != wantA || !cfg.Rules[0].Dynamic {
		t.Errorf("rule a: %+v (dynamic %v), want %+v", got, cfg.Rules[0].Dynamic, wantA)
	}
	if got := cfg.Rules[1].Tuning; got != want {
		t.Errorf("rule b: %+v, want %+v", got, want)
	}
	if cfg.Rules[2].Dynamic {
		t.Error("rule c is not dynamic")
	}
	_, err = ParseEnv("t.yaml", []byte(`
alert_rules:
  - {name: a, metric_path: m, condition: greater_than, threshold: 1, severity: low, evaluation_window: 60, tuning: {method: magic, percentile: 100}}
`), func(string) (string, bool) { return "", false })
	ps, _ := AsProblems(err)
	if got := ps.Error(); got != `t.yaml:3:116: tuning: only for a dynamic rule (labels: {dynamic_threshold: "true"})
t.yaml:3:125: unknown method "magic" (want percentile, mad, seasonal)
t.yaml:3:144: percentile: want a number strictly between 0 and 100, got 100` {
		t.Errorf("problems:\n%s", got)
	}
}
