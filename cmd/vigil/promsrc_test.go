package main

import (
	"fmt"
	"net"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/vigil-metrics/vigil/internal/promtest"
)

// promsrcConfig holds rules, objectives and the source's settings; %s is
// the source's URL.
const promsrcConfig = `sources:
  %s:
    types:
      response_time_ms: histogram
slos:
  # A Prometheus-compatible source does not tell its history's start, so
  # min_coverage is judged over a store only: off, to compare the two.
  - service: api
    target: 99.9
    window: 1d
    latency_target: 98
    histogram: 'response_time_ms{service="api"}'
    threshold_ms: 300
    min_coverage: 0
  - service: web
    target: 99.5
    window: 1d
    min_coverage: 0
recording_rules:
  - target: cpu_p90_1h
    source: cpu
    aggregation: percentile
    percentile: 90
    window: 1h
  - target: requests_rate_5m
    metric_path: req_total.rate by (host)
    window: 5m
alert_rules:
  - name: cpu_high
    metric_path: cpu.p95
    group_by: [host]
    condition: greater_than
    threshold: 3.5
    severity: high
    evaluation_window: 15m
  - name: requests_fast
    metric_path: req_total.rate
    group_by: [host]
    condition: greater_than
    threshold: 0.1
    severity: medium
    evaluation_window: 5m
  - name: latency_dynamic
    metric_path: response_time_ms.p90
    condition: greater_than
    threshold: 400
    severity: high
    evaluation_window: 1h
    labels:
      dynamic_threshold: "true"
    tuning:
      baseline_window: 1d
      min_samples: 10
  - name: nightly_stuck
    metric_path: jobs_total.increase
    condition: less_than
    threshold: 1
    severity: low
    evaluation_window: 30m
`

// vigil's commands give the same output over a store and over a real
// Prometheus holding the same samples: query, slo, budget, evaluate,
// threshold tune and report.
func TestCommandsOverPrometheusSource(t *testing.T) {
	om, jsonl := promtest.Fixture(promtest.FixtureSeries())
	srv := promtest.Start(t, promtest.Blocks(t, om))
	dir := t.TempDir()
	t.Setenv("HOME", filepath.Join(dir, "no-home"))
	db := filepath.Join(dir, "fleet.db")
	in := filepath.Join(dir, "fixture.jsonl")
	cfg := filepath.Join(dir, "vigil.yaml")
	if err := os.WriteFile(in, []byte(jsonl), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(cfg, []byte(fmt.Sprintf(promsrcConfig, srv.URL)), 0o644); err != nil {
		t.Fatal(err)
	}
	if code, _, stderr := sloRun(t, "import", "--db", db, in); code != 0 {
		t.Fatalf("import: %d %s", code, stderr)
	}
	const at = "2026-11-29T10:00:00Z"
	for _, c := range []struct {
		name string
		args []string
	}{
		{"query", []string{"query", "cpu.p99 by (dc)", "--window", "6h", "-o", "json"}},
		{"query ratio", []string{"query", `sli_requests_total{success="false"}.increase by (service) / sli_requests_total.increase by (service)`, "--window", "1d", "-o", "json"}},
		{"query counter", []string{"query", "jobs_total.increase", "--window", "3h", "-o", "json"}},
		{"slo", []string{"slo", "-o", "json", "--no-fail"}},
		{"budget", []string{"budget", "-o", "json"}},
		{"evaluate", []string{"evaluate", "--dry-run", "-o", "json", "--state", filepath.Join(dir, "state-%s.db")}},
		{"evaluate, recording", []string{"evaluate", "-o", "json", "--state", filepath.Join(dir, "rec-state-%s.db"), "--record-db", filepath.Join(dir, "rec-%s.db")}},
		{"threshold tune", []string{"threshold", "tune", "--dry-run", "--backtest", "-o", "json", "--state", filepath.Join(dir, "tune-%s.db")}},
		// No state DB: none at the default path beside the config (a
		// --state named but missing is an error since issue 23).
		{"report", []string{"report", "--period", "1d", "--charts=false"}},
	} {
		outs := map[string]string{}
		for _, src := range []string{db, srv.URL} {
			kind := "kindstore"
			if src == srv.URL {
				kind = "kindsource"
			}
			args := []string{"--config", cfg}
			for _, a := range c.args {
				if strings.Contains(a, "%s") {
					a = fmt.Sprintf(a, kind)
				}
				args = append(args, a)
			}
			args = append(args, "--db", src, "--at", at, "--cache-dir", filepath.Join(dir, "cache"))
			code, stdout, stderr := sloRun(t, args...)
			if code != 0 && (c.name != "evaluate" || code != 3) {
				t.Fatalf("%s over the %s: exit %d\n%s", c.name, kind, code, stderr)
			}
			out := strings.ReplaceAll(stdout, src, "SOURCE")
			out = strings.ReplaceAll(out, kind, "KIND")
			outs[kind] = out
		}
		if c.name == "evaluate, recording" {
			// What the recording rules wrote, read back from each store.
			for _, kind := range []string{"kindstore", "kindsource"} {
				code, stdout, stderr := sloRun(t, "query", "--db", filepath.Join(dir, "rec-"+kind+".db"), "--at", at, "--window", "1m", "-o", "json",
					"cpu_p90_1h.last by (host)")
				code2, stdout2, stderr2 := sloRun(t, "query", "--db", filepath.Join(dir, "rec-"+kind+".db"), "--at", at, "--window", "1m", "-o", "json",
					"requests_rate_5m.last by (host)")
				if code != 0 || code2 != 0 {
					t.Fatalf("read back the recording: %s %s", stderr, stderr2)
				}
				// source: with its aggregation keeps every label (LabelNames
				// asks the source for them).
				for _, out := range []string{stdout, stdout2} {
					if !strings.Contains(out, `"host":"a"`) && !strings.Contains(out, `"host": "a"`) {
						t.Errorf("%s: the recording has no host a: %s", kind, out)
					}
				}
				outs[kind] += stdout + stdout2
			}
		}
		if outs["kindstore"] != outs["kindsource"] {
			t.Errorf("%s: over the store\n%s\nover the source\n%s", c.name, outs["kindstore"], outs["kindsource"])
		}
		if len(outs["kindstore"]) < 40 {
			t.Errorf("%s: little to compare: %q", c.name, outs["kindstore"])
		}
	}
}

// A source that cannot answer is exit 1 with what happened; commands that
// read store files refuse a source; credentials never reach the output.
func TestPrometheusSourceCLIErrors(t *testing.T) {
	dir := t.TempDir()
	t.Setenv("HOME", filepath.Join(dir, "no-home"))
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	closed := "http://" + l.Addr().String()
	l.Close()
	code, _, stderr := sloRun(t, "query", "--db", closed, "cpu.avg", "--at", "2026-11-29T10:00:00Z")
	if code != 1 || !strings.Contains(stderr, "source "+closed) || !strings.Contains(stderr, "cannot reach the server") {
		t.Errorf("unreachable: exit %d, %s", code, stderr)
	}
	for _, args := range [][]string{
		{"export", "--out", filepath.Join(dir, "out")},
		{"lint"},
		{"store", "stats"},
	} {
		code, _, stderr := sloRun(t, append(args, "--db", closed)...)
		if code != 2 || !strings.Contains(stderr, "this command reads store files, not a Prometheus-compatible source") {
			t.Errorf("%v: exit %d, %s", args, code, stderr)
		}
	}
	code, stdout, stderr := sloRun(t, "query", "--db", "http://vigil:hunter2@127.0.0.1:9/", "cpu.avg")
	if code != 2 || !strings.Contains(stderr, "credentials in the URL") || strings.Contains(stderr+stdout, "hunter2") {
		t.Errorf("credentials: exit %d, %s", code, stderr)
	}
}
