package rulestest

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"
)

const rules = `alert_rules:
  - name: cpu_high
    description: CPU above 80%
    metric_path: cpu_usage_percent.last
    condition: greater_than
    threshold: 80
    severity: high
    evaluation_window: 1m
    for: 2m
    group_by: [host]
  - name: errors
    metric_path: errors_total.increase
    condition: greater_than
    threshold: 5
    severity: high
    evaluation_window: 2m
  - name: heartbeat_lost
    metric_path: heartbeat.count
    condition: absent
    severity: high
    evaluation_window: 2m
  - name: cpu_silent
    metric_path: cpu_usage_percent.last
    condition: greater_than
    threshold: 80
    severity: high
    evaluation_window: 1m
    nodata: alert
  - name: gauge_rate
    metric_path: cpu_usage_percent.rate
    condition: greater_than
    threshold: 5
    severity: high
    evaluation_window: 2m
`

func setup(t *testing.T, test string) string {
	t.Helper()
	dir := t.TempDir()
	if err := os.WriteFile(filepath.Join(dir, "vigil.yaml"), []byte(rules), 0o644); err != nil {
		t.Fatal(err)
	}
	p := filepath.Join(dir, "t.yaml")
	if err := os.WriteFile(p, []byte(test), 0o644); err != nil {
		t.Fatal(err)
	}
	return p
}

func runFile(t *testing.T, test string, opt Options) *Result {
	t.Helper()
	f, err := Load(setup(t, test))
	if err != nil {
		t.Fatal(err)
	}
	opt.TempDir = t.TempDir()
	res, err := Run(context.Background(), f, opt)
	if err != nil {
		t.Fatal(err)
	}
	return res
}

func failures(r *Result) string {
	var b strings.Builder
	for _, tr := range r.Tests {
		for _, f := range tr.Failures {
			b.WriteString(tr.Name + ": " + f.What + "\n" + f.Detail + "\n")
		}
	}
	return b.String()
}

// for: 2m with a 1m interval: breached from 2m, pending at 2m and 3m,
// firing from 4m; the series stops at 6m, so at 8m the alert has no data
// (not firing); an eval_time between steps sees the step before it.
func TestRunStepsLikeEvaluate(t *testing.T) {
	res := runFile(t, `rule_files: [vigil.yaml]
tests:
  - input_series:
      - series: 'cpu_usage_percent{host="a"}'
        values: '50 60 90 90 90 90 90'
    alert_rule_test:
      - {eval_time: 3m, alertname: cpu_high}
      - eval_time: 4m
        alertname: cpu_high
        exp_alerts: [{exp_labels: {host: a}, exp_annotations: {description: CPU above 80%}}]
      - eval_time: 3m59s
        alertname: cpu_high
      - eval_time: 6m
        alertname: cpu_high
        exp_alerts: [{exp_labels: {host: a}}]
      - {eval_time: 8m, alertname: cpu_high}
`, Options{})
	if s := failures(res); s != "" {
		t.Error(s)
	}
}

// Counters are given cumulative and stored as increments: the first
// reading is only the baseline, a drop is a reset, _ and stale write
// nothing.
func TestRunCounters(t *testing.T) {
	res := runFile(t, `rule_files: [vigil.yaml]
tests:
  - interval: 1m
    input_series:
      - series: errors_total
        values: '100 101 102 1 _ stale 4'
    metric_path_test:
      - {path: errors_total.increase, eval_time: 2m, exp_value: 2}
      - {path: errors_total.increase, eval_time: 3m, window: 1m, exp_value: 1}
      - {path: errors_total.increase, eval_time: 6m, window: 3m, exp_value: 3}
      - {path: errors_total.count, eval_time: 6m, window: 10m, exp_value: 4}
    alert_rule_test:
      - {eval_time: 6m, alertname: errors}
  - name: explicit types
    input_series:
      - {series: latency_ms, type: histogram, values: '100 200 300'}
      - {series: temp_total, type: gauge, values: '-5 5'}
    metric_path_test:
      - {path: latency_ms.p50, eval_time: 2m, window: 10m, exp_value: 200}
      - {path: latency_ms.count, eval_time: 2m, window: 10m, exp_value: 3}
      - {path: temp_total.min, eval_time: 1m, exp_value: -5}
`, Options{})
	if s := failures(res); s != "" {
		t.Error(s)
	}
}

func TestRunFailureDetail(t *testing.T) {
	res := runFile(t, `rule_files: [vigil.yaml]
tests:
  - name: two hosts
    input_series:
      - {series: 'cpu_usage_percent{host="a"}', values: '90x5'}
      - {series: 'cpu_usage_percent{host="b"}', values: '90x5'}
    alert_rule_test:
      - eval_time: 5m
        alertname: cpu_high
        exp_alerts:
          - exp_labels: {host: a}
          - exp_labels: {host: c}
            exp_annotations: {description: nope}
    metric_path_test:
      - {path: cpu_usage_percent.last by (host), eval_time: 1m, exp_value: 90}
      - {path: nothing_here, eval_time: 1m, exp_value: 1}
`, Options{})
	got := failures(res)
	for _, want := range []string{
		"alert_rule_test cpu_high at 5m\nexpected 2 firing alerts:\n  {host=\"a\"}\n  {host=\"c\"}\ngot 2 firing alerts:\n  {host=\"a\"}\n  {host=\"b\"}\n",
		"  - {host=\"c\"}\n  + {host=\"b\"}",
		"got 2 results (give exp_labels to pick one):\n  {host=\"a\"} 90\n  {host=\"b\"} 90",
		"metric_path_test nothing_here at 1m\nexpected {} 1\ngot no data (window 5m ending at 1m)",
	} {
		if !strings.Contains(got, want) {
			t.Errorf("failures lack %q:\n%s", want, got)
		}
	}
	if res.Failed() != 1 || len(res.Tests[0].Failures) != 3 {
		t.Errorf("Failed() = %d, failures %d; want 1 test with 3", res.Failed(), len(res.Tests[0].Failures))
	}
}

func TestRunSelectsByName(t *testing.T) {
	res := runFile(t, `rule_files: [vigil.yaml]
tests:
  - {name: alpha}
  - {}
  - {name: beta}
`, Options{Run: regexp.MustCompile(`^(beta|test 2)$`)})
	if len(res.Tests) != 2 || res.Tests[0].Name != "test 2" || res.Tests[1].Name != "beta" {
		t.Errorf("selected %+v", res.Tests)
	}
}

// A rule the store cannot answer (the rate of a gauge) stops the test
// with an error that the CLI maps to exit 2.
func TestRunQueryError(t *testing.T) {
	f, err := Load(setup(t, `rule_files: [vigil.yaml]
tests:
  - input_series: [{series: cpu_usage_percent, values: '1 2'}]
    alert_rule_test: [{eval_time: 1m, alertname: gauge_rate}]
`))
	if err != nil {
		t.Fatal(err)
	}
	_, err = Run(context.Background(), f, Options{TempDir: t.TempDir()})
	var um interface{ UsageError() bool }
	if err == nil || !errors.As(err, &um) || !strings.Contains(err.Error(), "t.yaml:3: test \"test 1\"") {
		t.Errorf("err = %v, want a usage error placed at the test", err)
	}
}

func TestLoadErrors(t *testing.T) {
	_, err := Load(setup(t, `rule_files: [vigil.yaml, nothere.yaml]
evaluation_interval: 0s
tests:
  - name: x
    bogus: 1
    input_series:
      - {series: 'a{b="1"}', values: '1'}
      - {series: 'a{b="1"}', values: '2'}
      - {series: 'a', type: counter, values: '1'}
      - {series: 'c', type: summary, values: '1'}
    alert_rule_test:
      - {eval_time: 1m, alertname: cpu_high, exp_alerts: [{exp_labels: {alertname: other}}]}
      - {alertname: cpu_high}
`))
	var es Errors
	if !errors.As(err, &es) {
		t.Fatalf("err = %v, want Errors", err)
	}
	got := err.Error()
	for _, want := range []string{
		"t.yaml:1: rule_files: read ",
		"t.yaml:2: evaluation_interval must be positive",
		`t.yaml:5: tests[0]: unknown field "bogus"`,
		`t.yaml:8: series a{b="1"} is given twice (first at line 7)`,
		`t.yaml:9: series a is a counter, another series of that name a gauge`,
		`t.yaml:10: type: unknown type "summary"`,
		`t.yaml:12: exp_labels: alertname "other" is not the test's alertname "cpu_high"`,
		`t.yaml:13: alert_rule_test: missing eval_time`,
	} {
		if !strings.Contains(got, want) {
			t.Errorf("errors lack %q:\n%s", want, got)
		}
	}
}

// condition absent fires once the window holds no sample; nodata: alert
// counts as firing, as vigil notifies it like a firing alert.
func TestRunAbsentAndNoData(t *testing.T) {
	res := runFile(t, `rule_files: [vigil.yaml]
tests:
  - input_series:
      - {series: heartbeat, values: '1x3'}
      - {series: cpu_usage_percent, values: '10x3'}
    alert_rule_test:
      - {eval_time: 4m, alertname: heartbeat_lost}
      - {eval_time: 5m, alertname: heartbeat_lost, exp_alerts: [{exp_labels: {}}]}
      - {eval_time: 3m, alertname: cpu_silent}
      - {eval_time: 5m, alertname: cpu_silent, exp_alerts: [{exp_labels: {}}]}
`, Options{})
	if s := failures(res); s != "" {
		t.Error(s)
	}
}

// A test's Elapsed is read off the clock it is given (two readings per
// test, 1.5 s apart here), and is zero without one.
func TestRunTimesWithTheGivenClock(t *testing.T) {
	const file = `rule_files: [vigil.yaml]
tests:
  - {name: alpha}
  - {name: beta}
`
	t0 := time.Date(2026, 12, 1, 0, 0, 0, 0, time.UTC)
	calls := 0
	now := func() time.Time { calls++; return t0.Add(time.Duration(calls) * 1500 * time.Millisecond) }
	res := runFile(t, file, Options{Now: now})
	if len(res.Tests) != 2 || res.Tests[0].Elapsed != 1500*time.Millisecond || res.Tests[1].Elapsed != 1500*time.Millisecond {
		t.Errorf("with a clock: %+v", res.Tests)
	}
	for _, tr := range runFile(t, file, Options{}).Tests {
		if tr.Elapsed != 0 {
			t.Errorf("without a clock: %s took %v", tr.Name, tr.Elapsed)
		}
	}
}

// A second YAML document is refused, not ignored (issue 24): tests after
// "---" would never run, and the file would pass.
func TestSecondDocument(t *testing.T) {
	for _, c := range []struct{ text, want string }{
		{"tests: []\n---\ntests: [{name: x}]\n", `t.yaml:2: a second YAML document ("---"); vigil reads one document per file`},
		{"tests: []\n...\ntests: [{name: x}]\n", `t.yaml:2: did not find expected <document start>`},
	} {
		_, err := Parse("t.yaml", []byte(c.text))
		if err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%q: got %v, want %q", c.text, err, c.want)
		}
	}
}
