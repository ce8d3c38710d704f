package main

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	junit "github.com/joshdk/go-junit"
)

const rulesTestConfig = `alert_rules:
  - name: cpu_high
    metric_path: cpu_usage_percent.last
    condition: greater_than
    threshold: 80
    severity: high
    evaluation_window: 5m
    for: 2m
    group_by: [host]
`

const rulesTestFile = `rule_files: [vigil.yaml]
tests:
  - name: fires
    input_series:
      - series: 'cpu_usage_percent{host="a"}'
        values: '90x5'
    alert_rule_test:
      - eval_time: 1m
        alertname: cpu_high
      - eval_time: 2m
        alertname: cpu_high
        exp_alerts:
          - exp_labels: {host: a}
  - name: wrong
    input_series:
      - series: 'cpu_usage_percent{host="a"}'
        values: '90x5'
    alert_rule_test:
      - eval_time: 1m
        alertname: cpu_high
        exp_alerts:
          - exp_labels: {host: a}
  - input_series:
      - series: 'cpu_usage_percent{host="b"}'
        values: '10 20 30'
    metric_path_test:
      - path: cpu_usage_percent.avg
        eval_time: 2m
        exp_value: 20
`

// vigil rules test --junit writes XML that a JUnit parser accepts: one
// suite per file, one testcase per test, a failure for a failed test and
// for an invalid file.
func TestRulesTestJUnit(t *testing.T) {
	dir := t.TempDir()
	t.Setenv("HOME", filepath.Join(dir, "no-home"))
	write := func(name, body string) string {
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, []byte(body), 0o644); err != nil {
			t.Fatal(err)
		}
		return p
	}
	write("vigil.yaml", rulesTestConfig)
	good := write("cpu.test.yaml", rulesTestFile)
	bad := write("bad.test.yaml", "rule_files: [vigil.yaml]\ntests:\n  - interval: soon\n")
	report := filepath.Join(dir, "junit.xml")

	code, out, stderr := sloRun(t, "rules", "test", "--junit", report, good, bad)
	if code != 2 {
		t.Fatalf("exit %d, want 2 (an invalid file)\nstdout:\n%s\nstderr:\n%s", code, out, stderr)
	}
	if !strings.Contains(stderr, "bad.test.yaml:3: interval:") {
		t.Errorf("stderr does not place the problem:\n%s", stderr)
	}
	b, err := os.ReadFile(report)
	if err != nil {
		t.Fatal(err)
	}
	suites, err := junit.Ingest(b)
	if err != nil {
		t.Fatalf("go-junit refuses the report: %v\n%s", err, b)
	}
	if len(suites) != 2 {
		t.Fatalf("%d suites, want 2:\n%s", len(suites), b)
	}
	want := []struct {
		name   string
		status junit.Status
	}{{"fires", junit.StatusPassed}, {"wrong", junit.StatusFailed}, {"test 3", junit.StatusPassed}}
	s := suites[0]
	if s.Name != good || len(s.Tests) != len(want) {
		t.Fatalf("suite %q with %d tests, want %q with %d:\n%s", s.Name, len(s.Tests), good, len(want), b)
	}
	for i, w := range want {
		c := s.Tests[i]
		if c.Name != w.name || c.Status != w.status || c.Classname != good {
			t.Errorf("test %d = %q %s (class %q), want %q %s", i, c.Name, c.Status, c.Classname, w.name, w.status)
		}
	}
	if f := s.Tests[1].Error; f == nil || !strings.Contains(f.Error(), "alert_rule_test cpu_high at 1m") {
		t.Errorf("failure does not say which assertion: %v", f)
	}
	if s.Totals.Failed != 1 || s.Totals.Passed != 2 {
		t.Errorf("totals %+v, want 1 failed, 2 passed", s.Totals)
	}
	if bs := suites[1]; bs.Name != bad || len(bs.Tests) != 1 || bs.Tests[0].Status != junit.StatusFailed {
		t.Errorf("invalid file's suite = %+v, want one failed testcase", bs)
	}

	// --run selects tests by name; the report has only those.
	code, _, stderr = sloRun(t, "rules", "test", "--junit", report, "--run", "^(fires|test 3)$", good)
	if code != 0 {
		t.Fatalf("--run: exit %d, want 0: %s", code, stderr)
	}
	b, _ = os.ReadFile(report)
	suites, err = junit.Ingest(b)
	if err != nil || len(suites) != 1 || len(suites[0].Tests) != 2 || suites[0].Totals.Failed != 0 {
		t.Fatalf("--run report: %v\n%s", err, b)
	}

	// Only a failed test: exit 3.
	if code, _, _ := sloRun(t, "rules", "test", good); code != 3 {
		t.Errorf("a failing test exits %d, want 3", code)
	}

	// A link planted at the report's path is replaced by the report, its
	// target left as it was (issue 23: output files are not followed
	// through links); a folder that does not exist is a usage error that
	// names the path, not a temporary file.
	victim := write("victim.txt", "keep me\n")
	link := filepath.Join(dir, "linked.xml")
	if err := os.Symlink(victim, link); err != nil {
		t.Fatal(err)
	}
	if code, _, stderr := sloRun(t, "rules", "test", "--junit", link, "--run", "^fires$", good); code != 0 {
		t.Fatalf("--junit through a link: exit %d: %s", code, stderr)
	}
	if b, _ := os.ReadFile(victim); string(b) != "keep me\n" {
		t.Errorf("the link's target was written: %q", b)
	}
	if fi, err := os.Lstat(link); err != nil || fi.Mode()&os.ModeSymlink != 0 {
		t.Errorf("the link is still a link: %v %v", fi, err)
	}
	missing := filepath.Join(dir, "nope", "r.xml")
	code, _, stderr = sloRun(t, "rules", "test", "--junit", missing, "--run", "^fires$", good)
	if want := "vigil: error: --junit " + missing + ": no such file or directory\n"; code != 2 || stderr != want {
		t.Errorf("missing folder: exit %d, stderr %q, want 2, %q", code, stderr, want)
	}
}
