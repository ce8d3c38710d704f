package config

import (
	"strings"
	"testing"

	"go.yaml.in/yaml/v3"

	"github.com/vigil-metrics/vigil/internal/yamlconf"
)

// An unknown key is an error in every section, at the key's line and
// column, naming the keys there are. Positions are counted by hand: the
// key of the last line of each case starts after its indentation.
func TestUnknownKeyInEverySection(t *testing.T) {
	// A channel type of the test's own (the real ones are alert/channels',
	// tested there), for escalation steps to name.
	hook := "channels:\n  - name: c\n    type: test\n    url: x\n"
	cases := []struct{ name, yaml, want string }{
		{"alert rule", rule + "    colour: blue\n",
			`8:5: unknown field "colour" in alert rule "r1" (want annotations, condition, cooldown_period, description, direction, evaluation_window, for, group_by, labels, lookback, metric_path, min_reference, name, nodata, reference_window, severity, spike_ratio, threshold, tuning)`},
		{"rule tuning", strings.Replace(rule, "    severity: high\n", "    severity: high\n    labels: {dynamic_threshold: \"true\"}\n    tuning:\n      metod: mad\n", 1),
			`9:7: unknown field "metod" in tuning (want adjustment_factor, baseline_window, hysteresis, hysteresis_percent, mad_k, method, min_samples, percentile, season)`},
		{"escalation policy", hook + "escalation:\n  - name: p\n    steps: [{channels: [c]}]\n    trigger: []\n",
			`8:5: unknown field "trigger" in escalation policy (want name, steps, triggers)`},
		{"escalation step", hook + "escalation:\n  - name: p\n    steps:\n      - channels: [c]\n        wait: 5m\n",
			`9:9: unknown field "wait" in escalation step (want channels, delay, recipients)`},
		{"settings", "settings:\n  batch: 10\n",
			`2:3: unknown field "batch" in settings (want alert_retention_days, batch_size, dynamic_thresholds, enable_correlation, enable_deduplication, evaluation_interval, max_alerts_per_minute)`},
		{"settings dynamic_thresholds", "settings:\n  dynamic_thresholds:\n    factor: 2\n",
			`3:5: unknown field "factor" in dynamic_thresholds (want adjustment_factor, baseline_window, hysteresis, hysteresis_percent, mad_k, method, min_samples, percentile, season)`},
		{"silence", "silences:\n  - matchers: {alertname: r1}\n    ends_at: 2026-01-01T00:00:00Z\n    reason: x\n",
			`4:5: unknown field "reason" in silence (want comment, created_by, ends_at, matchers, starts_at)`},
		{"correlation rule", "correlation_rules:\n  - name: db\n    group_key: service\n    time_window: 5m\n    window: 5m\n",
			`5:5: unknown field "window" in correlation rule (want alert_patterns, group_key, label_matchers, name, time_window)`},
		{"recording rule", "recording_rules:\n  - metric_path: x.p95\n    target: x_p95\n    window: 1h\n    every: 1m\n",
			`5:5: unknown field "every" in recording rule (want aggregation, metric_path, percentile, source, target, window)`},
		{"top level", "db: x.db\nalert_rule: []\n",
			`2:1: unknown field "alert_rule" in the config file (want alert_rules, cache_dir, channels, correlation_rules, db, escalation, inhibit_rules, lint, log_format, log_level, recording_rules, report, retention, serve, settings, silences, slos, sources, state)`},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			_, err := ParseEnv("f.yaml", []byte(c.yaml), noEnv, testTypes)
			ps, ok := AsProblems(err)
			if !ok || len(ps) != 1 {
				t.Fatalf("err = %v, want one problem", err)
			}
			if got := ps[0].Error(); got != "f.yaml:"+c.want {
				t.Errorf("got  %s\nwant f.yaml:%s", got, c.want)
			}
		})
	}
}

// testSettings are a channel type's settings with one key, url, and
// nothing to check.
type testSettings struct{}

func (testSettings) Fields(*yamlconf.Decoder) map[string]func(*yaml.Node) {
	return map[string]func(*yaml.Node){"url": nil}
}
func (testSettings) Check(ChannelAt)       {}
func (testSettings) Validate(string) error { return nil }
func (testSettings) Target() string        { return "" }

var testTypes = ChannelTypes{{Name: "test", Settings: func() ChannelSettings { return testSettings{} }}}
