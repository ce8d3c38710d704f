package main

import (
	"encoding/json"
	"flag"
	"math"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/vigil-metrics/vigil/report"
)

var updateGolden = flag.Bool("update", false, "rewrite report/testdata's golden reports")

const reportAt = "2026-11-29T12:00:00Z"

// reportFixture builds the demo store (and a state DB of
// testdata/alerting/demo.yaml evaluated at reportAt) in a temporary
// folder, makes it the working directory and returns the config
// examples/vigil.yaml's absolute path and the repository root.
func reportFixture(t *testing.T) (cfg, root string) {
	t.Helper()
	root, err := filepath.Abs("../..")
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	t.Setenv("HOME", filepath.Join(dir, "no-home"))
	t.Chdir(dir)
	if code, _, stderr := sloRun(t, "store", "demo", "--db", "demo.db", "--at", reportAt); code != 0 {
		t.Fatalf("store demo: exit %d: %s", code, stderr)
	}
	if code, _, stderr := sloRun(t, "evaluate", "--config", filepath.Join(root, "testdata/alerting/demo.yaml"),
		"--db", "demo.db", "--state", "state.db", "--at", reportAt); code != 0 {
		t.Fatalf("evaluate: exit %d: %s", code, stderr)
	}
	return filepath.Join(root, "examples/vigil.yaml"), root
}

// TestReportGolden compares vigil report on the demo store with the
// golden files; go test ./cmd/vigil -run TestReportGolden -update
// rewrites them (review the diff by eye).
func TestReportGolden(t *testing.T) {
	cfg, root := reportFixture(t)
	for _, c := range []struct {
		golden string
		args   []string
	}{
		{"demo_7d.md", nil},
		{"demo_1d_berlin.md", []string{"--period", "1d", "--tz", "Europe/Berlin"}},
		{"demo_no_state.md", []string{"--period", "1d", "--compare", "none", "--state", "missing.db"}},
	} {
		t.Run(c.golden, func(t *testing.T) {
			args := append([]string{"report", "--config", cfg, "--db", "demo.db", "--state", "state.db", "--at", reportAt, "--out", "out.md"}, c.args...)
			if code, stdout, stderr := sloRun(t, args...); code != 0 || stdout != "" {
				t.Fatalf("exit %d, stdout %q, stderr %s", code, stdout, stderr)
			}
			got, err := os.ReadFile("out.md")
			if err != nil {
				t.Fatal(err)
			}
			path := filepath.Join(root, "report/testdata", c.golden)
			if *updateGolden {
				if err := os.WriteFile(path, got, 0o644); err != nil {
					t.Fatal(err)
				}
				return
			}
			want, err := os.ReadFile(path)
			if err != nil {
				t.Fatalf("%v (go test -run TestReportGolden -update writes it)", err)
			}
			if string(got) != string(want) {
				t.Errorf("report differs from %s (go test -run TestReportGolden -update rewrites it):\n%s", path, got)
			}
		})
	}
}

// TestReportMatchesCommands: the report's numbers are those of vigil slo,
// vigil budget and vigil query for the same store and time.
func TestReportMatchesCommands(t *testing.T) {
	cfg, _ := reportFixture(t)
	code, md, stderr := sloRun(t, "report", "--config", cfg, "--db", "demo.db", "--state", "state.db", "--at", reportAt)
	if code != 0 {
		t.Fatalf("report: exit %d: %s", code, stderr)
	}
	jsonOf := func(v any, args ...string) {
		t.Helper()
		code, out, stderr := sloRun(t, append(args, "--config", cfg, "--db", "demo.db", "--at", reportAt, "-o", "json")...)
		if code != 0 && code != 3 {
			t.Fatalf("%v: exit %d: %s", args, code, stderr)
		}
		if err := json.Unmarshal([]byte(out), v); err != nil {
			t.Fatalf("%v: %v", args, err)
		}
	}
	has := func(want string) {
		t.Helper()
		if !strings.Contains(md, want) {
			t.Errorf("report lacks %q:\n%s", want, md)
		}
	}
	// cell is column i (from 0) of the table row that starts with prefix.
	cell := func(prefix string, i int) string {
		t.Helper()
		for _, line := range strings.Split(md, "\n") {
			if strings.HasPrefix(line, prefix) {
				cells := strings.Split(strings.Trim(line, "|"), "|")
				return strings.TrimSpace(cells[i])
			}
		}
		t.Errorf("report has no row %q:\n%s", prefix, md)
		return ""
	}
	r4 := func(v float64, d float64) string { p := math.Pow(10, d); return report.Num(math.Round(v*p) / p) }

	var s struct{ SLOs []sloJSON }
	jsonOf(&s, "slo", "--no-fail")
	if len(s.SLOs) != 4 {
		t.Fatalf("slo: %d objectives, want 4", len(s.SLOs))
	}
	for _, x := range s.SLOs {
		has("| " + x.Service + " | " + x.SLI + " | " + x.Window + " | " + report.Num(x.TargetPercent) + "% | " + r4(x.Percent, 4) + "% | ")
	}
	var b struct{ Budgets []budgetJSON }
	jsonOf(&b, "budget")
	for _, x := range b.Budgets {
		has("| " + x.Service + " | " + x.SLI + " | " + x.Window + " | " + r4(x.ConsumptionPercent, 2) + "% | " + r4(x.RemainingMinutes, 1) + " | " + r4(*x.BurnRates["1h"], 2) + " | ")
	}
	// The incident the issue names: api overspent its availability budget.
	has("- api used 249% of its availability error budget (7d): it is exhausted.")

	var q struct {
		Results []struct {
			Labels map[string]string
			Value  float64
		}
	}
	jsonOf(&q, "query", "response_time_ms.p95 by (service)", "--window", "7d")
	for _, x := range q.Results {
		if got, want := cell("| response_time_ms | "+x.Labels["service"]+" | ", 4), r4(x.Value, 2); got != want {
			t.Errorf("%s p95: report %s, query %s", x.Labels["service"], got, want)
		}
	}
	jsonOf(&q, "query", "cpu_usage_percent.max by (host)", "--window", "7d")
	if len(q.Results) != 3 {
		t.Fatalf("cpu max: %d hosts, want 3", len(q.Results))
	}
	for _, x := range q.Results {
		if got, want := cell("| "+x.Labels["host"]+" | cpu_usage_percent | ", 3), r4(x.Value, 2); got != want {
			t.Errorf("%s cpu peak: report %s, query %s", x.Labels["host"], got, want)
		}
	}
}
