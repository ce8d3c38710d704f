package config

import (
	"testing"
	"time"
)

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
`), func(string) (string, bool) { return "", false }, nil)
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
`), func(string) (string, bool) { return "", false }, nil)
	ps, _ := AsProblems(err)
	if got := ps.Error(); got != `t.yaml:3:116: tuning: only for a dynamic rule (labels: {dynamic_threshold: "true"})
t.yaml:3:125: unknown method "magic" (want percentile, mad, seasonal)
t.yaml:3:144: percentile: want a number strictly between 0 and 100, got 100` {
		t.Errorf("problems:\n%s", got)
	}
}
