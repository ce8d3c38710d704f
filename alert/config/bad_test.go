package config

import (
	"os"
	"strings"
	"testing"
)

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

// rule is a valid rule to build bad ones from; its lines are 2 to 7,
// so a line added after it is line 8.
const rule = `alert_rules:
  - name: r1
    metric_path: cpu_usage_percent
    condition: greater_than
    threshold: 80
    severity: high
    evaluation_window: 5m
`

// Each case's expected position was counted by hand in its text.
func TestConfigBad(t *testing.T) {
	cases := []struct {
		name, yaml string
		want       []string
	}{
		{"unknown condition", strings.Replace(rule, "greater_than", "greater", 1),
			[]string{`4:16: unknown condition "greater" (want greater_than, less_than, equals, not_equals, greater_or_equal, less_or_equal, absent, spike)`}},
		{"unknown severity", strings.Replace(rule, "severity: high", "severity: urgent", 1),
			[]string{`6:15: unknown severity "urgent" (want critical, high, medium, low)`}},
		{"unknown field", rule + "    colour: blue\n",
			[]string{`8:5: unknown field "colour" in alert rule "r1" (want annotations, condition, cooldown_period, description, direction, evaluation_window, for, group_by, labels, lookback, metric_path, min_reference, name, nodata, reference_window, severity, spike_ratio, threshold, tuning)`}},
		{"threshold string", strings.Replace(rule, "threshold: 80", `threshold: "80"`, 1),
			[]string{`5:16: threshold: want a number, got the string "80"`}},
		{"zero window", strings.Replace(rule, "evaluation_window: 5m", "evaluation_window: 0", 1),
			[]string{`7:24: evaluation_window: want a positive duration, got 0`}},
		{"negative window", strings.Replace(rule, "evaluation_window: 5m", "evaluation_window: -300", 1),
			[]string{`7:24: evaluation_window: duration -300 is negative`}},
		{"negative window string", strings.Replace(rule, "evaluation_window: 5m", "evaluation_window: -5m", 1),
			[]string{`7:24: evaluation_window: duration "-5m" is negative`}},
		{"bad duration", strings.Replace(rule, "evaluation_window: 5m", "evaluation_window: 5 minutes", 1),
			[]string{`7:24: evaluation_window: invalid duration "5 minutes" (want e.g. 90s, 5m, 1h30m, 7d, 2w)`}},
		// "cpu.p1000": the aggregation starts at column 5 of the path, the
		// path at column 18 of the line, so 18+5-1 = 22.
		{"bad metric path", strings.Replace(rule, "cpu_usage_percent", "cpu.p1000", 1),
			[]string{`3:22: metric_path: percentile p1000 is out of range (want p0 to p100)`}},
		// Quoted: one more column for the quote.
		{"bad metric path quoted", strings.Replace(rule, "cpu_usage_percent", `"cpu.bogus"`, 1),
			[]string{`3:23: metric_path: unknown aggregation "bogus" (want last, min, max, avg, sum, count, stddev, rate, increase, pNN like p95, p99.9 or count_le(T) like count_le(300))`}},
		{"missing fields", "alert_rules:\n  - name: r1\n    metric_path: cpu\n",
			[]string{
				`2:5: alert rule "r1": missing required field "condition"`,
				`2:5: alert rule "r1": missing required field "threshold"`,
				`2:5: alert rule "r1": missing required field "severity"`,
				`2:5: alert rule "r1": missing required field "evaluation_window"`,
			}},
		{"duplicate rule", rule + strings.TrimPrefix(rule, "alert_rules:\n"),
			[]string{`8:11: duplicate rule name "r1" (first at line 2)`}},
		{"unknown top-level key", "alerts: []\n",
			[]string{`1:1: unknown field "alerts" in the config file (want alert_rules, cache_dir, channels, correlation_rules, db, escalation, inhibit_rules, lint, log_format, log_level, recording_rules, report, retention, serve, settings, silences, slos, sources, state)`}},
		{"silence ends before start", "silences:\n  - matchers: {alertname: r1}\n    starts_at: 2026-01-02T00:00:00Z\n    ends_at: 2026-01-01T00:00:00Z\n",
			[]string{`4:14: ends_at: must be after starts_at`}},
		{"settings type", "settings:\n  enable_correlation: yes please\n",
			[]string{`2:23: enable_correlation: want true or false, got the string "yes please"`}},
		{"recording percentile", "recording_rules:\n  - source: response_time_ms\n    target: rt_p95\n    aggregation: percentile\n    window: 1h\n",
			[]string{`4:18: recording rule: aggregation percentile needs a percentile field (e.g. 95)`}},
		{"syntax error", "alert_rules:\n  - name: [\n",
			[]string{`2: did not find expected node content`}}, // yaml gives no column: none is invented
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			_, err := ParseEnv("f.yaml", []byte(c.yaml), noEnv, nil)
			ps, ok := AsProblems(err)
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

// A bare metric name and string durations are accepted; for, group_by.
func TestConfigGood(t *testing.T) {
	y := rule + "    cooldown_period: 1h30m\n    for: 2m\n    group_by: [host]\n" +
		"correlation_rules:\n  - name: db\n    group_key: service\n    time_window: 7d\n    alert_patterns: ['db_*']\n    label_matchers: {service: db}\n" +
		"recording_rules:\n  - source: http_requests_total\n    target: http_requests_rate_5m\n    aggregation: rate\n    window: 300\n" +
		"  - metric_path: response_time_ms.p95\n    target: response_time_p95_1h\n    window: 3600\n" +
		"silences:\n  - matchers: {alertname: r1}\n    ends_at: 2026-01-01T00:00:00Z\n    comment: maintenance\n    created_by: ops\n"
	cfg, err := ParseEnv("g.yaml", []byte(y), noEnv, nil)
	if err != nil {
		t.Fatal(err)
	}
	r := cfg.Rules[0]
	if r.CooldownPeriod.String() != "1h30m0s" || r.For.String() != "2m0s" || len(r.GroupBy) != 1 {
		t.Errorf("rule = %+v", r)
	}
	if cfg.CorrelationRules[0].TimeWindow.Hours() != 168 || len(cfg.RecordingRules) != 2 || len(cfg.Silences) != 1 {
		t.Errorf("cfg = %+v", cfg)
	}
}
