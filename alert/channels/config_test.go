package channels_test

import (
	"os"
	"strings"
	"testing"
	"time"

	"github.com/vigil-metrics/vigil/alert/channels"
	"github.com/vigil-metrics/vigil/alert/config"
	"github.com/vigil-metrics/vigil/alert/email"
	"github.com/vigil-metrics/vigil/alert/webhook"
)

// These tests decode whole config files with every channel type: they
// moved here from alert/config, which imports no channel.

func mustRead(t *testing.T, path string) []byte {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func noEnv(name string) (string, bool) {
	if name == "SET" {
		return "https://example.com/hook", true
	}
	return "", false
}

// Each case's expected position was counted by hand in its text.
func TestConfigBadChannels(t *testing.T) {
	cases := []struct {
		name, yaml string
		want       []string
	}{
		{"unknown channel type", "channels:\n  - name: c\n    type: pager\n    url: x\n",
			[]string{`3:11: unknown channel type "pager" (want webhook, email, github, sentry, slack, alertmanager, pagerduty)`}},
		{"webhook without url", "channels:\n  - name: c\n    type: webhook\n",
			[]string{`2:5: channel "c": missing required field "url"`}},
		// "    format: " is 12 columns, so the value starts at column 13.
		{"unknown webhook format", "channels:\n  - name: c\n    type: webhook\n    url: ${SET}\n    format: slack\n",
			[]string{`5:13: unknown webhook format "slack" (want vigil, alertmanager)`}},
		{"webhook format not a string", "channels:\n  - name: c\n    type: webhook\n    url: ${SET}\n    format: [vigil]\n",
			[]string{`5:13: format: want a string, got a list`}},
		// format belongs to webhook channels only.
		{"format on email", "channels:\n  - name: m\n    type: email\n    smtp_server: s\n    from_email: a@b.c\n    to_emails: [x@y.z]\n    format: vigil\n",
			[]string{`7:5: unknown field "format" in channel "m" (type email) (want enabled, filters, from, from_email, name, password_env, password_file, retry_attempts, retry_delay, send_resolved, smtp_port, smtp_server, timeout, tls, to_emails, type, use_tls, username)`}},
		// "    send_resolved: " is 19 columns.
		{"send_resolved not a bool", "channels:\n  - name: c\n    type: webhook\n    url: ${SET}\n    send_resolved: \"no\"\n",
			[]string{`5:20: send_resolved: want true or false, got the string "no"`}},
		{"bad github repo", "channels:\n  - name: gh\n    type: github\n    repo: aivillage\n",
			[]string{`4:11: repo: want owner/name, got "aivillage"`}},
		{"unset env", "channels:\n  - name: c\n    type: webhook\n    url: ${NOPE}\n",
			[]string{`4:10: url: environment variable NOPE is not set`}},
		{"step names nothing", "channels:\n  - name: c\n    type: webhook\n    url: ${SET}\n" +
			"escalation:\n  - name: p\n    steps:\n      - delay: 0\n        channels: [c, webhook, pagerduty]\n",
			[]string{`9:32: channel "pagerduty" matches no channel name or type (have c (webhook))`}},
		{"filter severity", "channels:\n  - name: c\n    type: webhook\n    url: ${SET}\n    filters:\n      - severity: [critical, urgent]\n",
			[]string{`6:30: unknown severity "urgent" (want critical, high, medium, low)`}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			_, err := config.ParseEnv("f.yaml", []byte(c.yaml), noEnv, channels.Types())
			ps, ok := config.AsProblems(err)
			if !ok {
				t.Fatalf("err = %v, want problems", err)
			}
			var got []string
			for _, p := range ps {
				got = append(got, strings.TrimPrefix(p.Error(), "f.yaml:"))
			}
			if strings.Join(got, "\n") != strings.Join(c.want, "\n") {
				t.Errorf("got:\n%s\nwant:\n%s", strings.Join(got, "\n"), strings.Join(c.want, "\n"))
			}
		})
	}
}

// An unknown key in a channel is an error at the key, naming the keys
// its type has.
func TestUnknownChannelKey(t *testing.T) {
	hook := "channels:\n  - name: c\n    type: webhook\n    url: ${SET}\n"
	for _, c := range []struct{ name, yaml, want string }{
		{"channel", hook + "    header: x\n",
			`5:5: unknown field "header" in channel "c" (type webhook) (want enabled, filters, format, headers, name, retry_attempts, retry_delay, send_resolved, timeout, type, url)`},
	} {
		_, err := config.ParseEnv("f.yaml", []byte(c.yaml), noEnv, channels.Types())
		ps, ok := config.AsProblems(err)
		if !ok || len(ps) != 1 || ps[0].Error() != "f.yaml:"+c.want {
			t.Errorf("%s: got %v\nwant f.yaml:%s", c.name, err, c.want)
		}
	}
}

// Every problem in a file is listed, sorted by position.
func TestConfigManyProblems(t *testing.T) {
	_, err := config.ParseEnv("many.yaml", mustRead(t, "../config/testdata/many.yaml"), noEnv, channels.Types())
	ps, ok := config.AsProblems(err)
	if !ok {
		t.Fatalf("err = %v", err)
	}
	want := []string{
		`many.yaml:4:16: unknown condition "above" (want greater_than, less_than, equals, not_equals, greater_or_equal, less_or_equal, absent, spike)`,
		`many.yaml:7:24: evaluation_window: want a positive duration, got 0s`,
		`many.yaml:8:5: alert rule "mem_high": missing required field "metric_path"`,
		`many.yaml:8:5: alert rule "mem_high": missing required field "condition"`,
		`many.yaml:8:5: alert rule "mem_high": missing required field "threshold"`,
		`many.yaml:8:5: alert rule "mem_high": missing required field "severity"`,
		`many.yaml:8:5: alert rule "mem_high": missing required field "evaluation_window"`,
		`many.yaml:9:11: duplicate rule name "cpu_high" (first at line 2)`,
		`many.yaml:17:11: unknown channel type "pager" (want webhook, email, github, sentry, slack, alertmanager, pagerduty)`,
		`many.yaml:21:20: channel "nobody" matches no channel name or type (have ops (pager))`,
	}
	var got []string
	for _, p := range ps {
		got = append(got, p.Error())
	}
	if strings.Join(got, "\n") != strings.Join(want, "\n") {
		t.Errorf("got:\n%s\nwant:\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
}

func TestConfigReference(t *testing.T) {
	t.Setenv("SLACK_WEBHOOK_URL", "https://hooks.example.com/T000/B000")
	cfg, err := config.Load("../config/testdata/reference.yaml", channels.Types())
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
	if got := cfg.Channels[0].Settings.(*webhook.Config).URL; got != "https://hooks.example.com/T000/B000" {
		t.Errorf("webhook url = %v", got)
	}
	if c := cfg.Channels[0]; c.Timeout != 10*time.Second || len(c.Filters) != 1 || strings.Join(c.Filters[0]["severity"], ",") != "critical,high" {
		t.Errorf("channel 0 = %+v", c)
	}
	if c := cfg.Channels[1]; c.Settings.(*email.Config).SMTPPort != 587 || len(c.Filters) != 2 {
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
	cfg, err := config.ParseEnv("reference.yaml", mustRead(t, "../config/testdata/reference.yaml"), func(string) (string, bool) { return "", false }, channels.Types())
	ps, ok := config.AsProblems(err)
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
	cfg, err := config.ParseEnv("c.yaml", []byte(y), noEnv, channels.Types())
	if err != nil {
		t.Fatal(err)
	}
	format := func(c config.Channel) string { // "" when not given (and for slack, which has none)
		if s, ok := c.Settings.(*webhook.Config); ok {
			return s.Format
		}
		return ""
	}
	want := []struct {
		format       string
		sendResolved bool
	}{{"", true}, {"alertmanager", false}, {"vigil", true}, {"", false}}
	for i, w := range want {
		c := cfg.Channels[i]
		if format(c) != w.format || c.SendResolved != w.sendResolved {
			t.Errorf("channel %s: format %q, send_resolved %v; want %q, %v", c.Name, format(c), c.SendResolved, w.format, w.sendResolved)
		}
	}
}

// The example config that make demo evaluates must stay valid.
func TestExampleConfig(t *testing.T) {
	env := map[string]string{"SLACK_WEBHOOK_URL": "https://hooks.example/a", "OPS_WEBHOOK_URL": "http://127.0.0.1:1/b"}
	cfg, err := config.ParseEnv("vigil.yaml", mustRead(t, "../../examples/vigil.yaml"), func(k string) (string, bool) { v, ok := env[k]; return v, ok }, channels.Types())
	if err != nil {
		t.Fatal(err)
	}
	if len(cfg.Rules) != 4 || len(cfg.CorrelationRules) != 1 || len(cfg.Silences) != 1 || len(cfg.RecordingRules) != 2 {
		t.Errorf("rules %d, correlation rules %d, silences %d, recording rules %d", len(cfg.Rules), len(cfg.CorrelationRules), len(cfg.Silences), len(cfg.RecordingRules))
	}
}
