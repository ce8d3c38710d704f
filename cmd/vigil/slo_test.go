package main

import (
	"bytes"
	"encoding/json"
	"encoding/xml"
	"math/big"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	junit "github.com/joshdk/go-junit"

	"github.com/vigil-metrics/vigil/analyze/slo"
)

// The fixture of testdata/script/slo.txtar, counted by hand there:
// api 111 good of 118 at 95%: breached; web availability 999 of 1000 at
// 99.9% and latency 9 of 10 at 90%: met (exactly at target); low 5 events
// under min_events 100: invalid; quiet no events: no data (invalid).
const sloFixture = `{"ts":"2026-11-27T12:30:00Z","name":"sli_requests_total","type":"counter","value":50,"labels":{"service":"api","success":"True"}}
{"ts":"2026-11-27T18:00:00Z","name":"sli_requests_total","type":"counter","value":3,"labels":{"service":"api","success":"false"}}
{"ts":"2026-11-28T06:00:00Z","name":"sli_requests_total","type":"counter","value":40,"labels":{"service":"api","success":"true"}}
{"ts":"2026-11-28T12:00:00Z","name":"sli_requests_total","type":"counter","value":2,"labels":{"service":"api","success":"False"}}
{"ts":"2026-11-28T20:00:00Z","name":"sli_requests_total","type":"counter","value":21,"labels":{"service":"api","success":"1"}}
{"ts":"2026-11-29T09:00:00Z","name":"sli_requests_total","type":"counter","value":1,"labels":{"service":"api","success":"0"}}
{"ts":"2026-11-29T11:30:00Z","name":"sli_requests_total","type":"counter","value":1,"labels":{"service":"api"}}
{"ts":"2026-11-29T10:00:00Z","name":"sli_requests_total","type":"counter","value":999,"labels":{"service":"web","success":"TRUE"}}
{"ts":"2026-11-29T10:00:00Z","name":"sli_requests_total","type":"counter","value":1,"labels":{"service":"web","success":"false"}}
{"ts":"2026-11-29T10:00:00Z","name":"sli_latency_requests_total","type":"counter","value":9,"labels":{"service":"web","fast":"True"}}
{"ts":"2026-11-29T10:00:00Z","name":"sli_latency_requests_total","type":"counter","value":1,"labels":{"service":"web","fast":"False"}}
{"ts":"2026-11-29T10:00:00Z","name":"sli_requests_total","type":"counter","value":5,"labels":{"service":"low","success":"true"}}
`

const sloConfig = `slos:
  # Two days of data in 30d windows: min_coverage off (slo_coverage.txtar
  # tests it).
  - service: api
    target: 95
    window: 30d
    min_coverage: 0
  - service: web
    target: 99.9
    window: 30d
    latency_target: 90
    min_coverage: 0
  - service: low
    target: 99
    window: 30d
    min_events: 100
    min_coverage: 0
  - service: quiet
    target: 99
    window: 30d
    min_coverage: 0
`

// sloRun runs vigil in-process and returns its exit code and output.
func sloRun(t *testing.T, args ...string) (int, string, string) {
	t.Helper()
	var stdout, stderr bytes.Buffer
	code := run(args, strings.NewReader(""), &stdout, &stderr)
	return code, stdout.String(), stderr.String()
}

func sloSetup(t *testing.T) (db, cfg string) {
	t.Helper()
	dir := t.TempDir()
	t.Setenv("HOME", filepath.Join(dir, "no-home"))
	// The test's own CI may set it: never append to the real summary.
	t.Setenv("GITHUB_STEP_SUMMARY", "")
	db, cfg = filepath.Join(dir, "m.db"), filepath.Join(dir, "slo.yaml")
	jsonl := filepath.Join(dir, "slo.jsonl")
	if err := os.WriteFile(jsonl, []byte(sloFixture), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(cfg, []byte(sloConfig), 0o644); err != nil {
		t.Fatal(err)
	}
	if code, _, stderr := sloRun(t, "import", "--db", db, jsonl); code != 0 {
		t.Fatalf("import: exit %d: %s", code, stderr)
	}
	return db, cfg
}

// vigil slo -o junit writes XML that a JUnit parser accepts: one testcase
// per objective, a failure for the breach, skipped for the invalid and
// no-data ones, the rest passed; the suite's counts agree.
func TestSLOJUnit(t *testing.T) {
	db, cfg := sloSetup(t)
	code, out, stderr := sloRun(t, "slo", "--db", db, "--config", cfg, "--at", "2026-11-29T12:00:00Z", "-o", "junit")
	if code != 3 {
		t.Fatalf("exit %d, want 3 (api breached); stderr %s", code, stderr)
	}
	suites, err := junit.Ingest([]byte(out))
	if err != nil {
		t.Fatalf("go-junit refuses the report: %v\n%s", err, out)
	}
	if len(suites) != 1 {
		t.Fatalf("%d suites, want 1:\n%s", len(suites), out)
	}
	s := suites[0]
	if s.Name != "vigil slo" {
		t.Errorf("suite %q", s.Name)
	}
	// 5 objectives: api (failed), web availability and latency (passed),
	// low and quiet (skipped).
	want := []struct {
		name, class string
		status      junit.Status
	}{
		{"api/availability", "slo.api", junit.StatusFailed},
		{"web/availability", "slo.web", junit.StatusPassed},
		{"web/latency", "slo.web", junit.StatusPassed},
		{"low/availability", "slo.low", junit.StatusSkipped},
		{"quiet/availability", "slo.quiet", junit.StatusSkipped},
	}
	if len(s.Tests) != len(want) {
		t.Fatalf("%d testcases, want %d:\n%s", len(s.Tests), len(want), out)
	}
	for i, w := range want {
		c := s.Tests[i]
		if c.Name != w.name || c.Classname != w.class || c.Status != w.status {
			t.Errorf("testcase %d: %s %s %s, want %+v", i, c.Name, c.Classname, c.Status, w)
		}
	}
	if tt := s.Totals; tt.Tests != 5 || tt.Failed != 1 || tt.Skipped != 2 || tt.Passed != 2 || tt.Error != 0 {
		t.Errorf("totals %+v, want 5 tests, 1 failed, 2 skipped, 2 passed", tt)
	}
	// The failure says why, with the hand-counted numbers.
	api := s.Tests[0]
	if !strings.Contains(api.Message, "api availability over 30d: 111 of 118 events good = 94.0678%, target 95%") {
		t.Errorf("failure message %q", api.Message)
	}
	if !strings.Contains(s.Tests[3].Message, "5 of 5 events good") {
		t.Errorf("skipped message %q", s.Tests[3].Message)
	}
	// hb25b E8: what the JSON says, invalid, with why (it said "too few
	// events to judge" whatever the reason).
	if m := s.Tests[4].Message; !strings.HasPrefix(m, "invalid (no data): too few events: 0, min_events 1: quiet availability over 30d: 0 of 0 events good") {
		t.Errorf("no-data skipped message %q", m)
	}

	// The counts the parser does not check: the attributes.
	var doc struct {
		Tests    int `xml:"tests,attr"`
		Failures int `xml:"failures,attr"`
		Suites   []struct {
			Tests    int `xml:"tests,attr"`
			Failures int `xml:"failures,attr"`
			Errors   int `xml:"errors,attr"`
			Skipped  int `xml:"skipped,attr"`
		} `xml:"testsuite"`
	}
	if err := xml.Unmarshal([]byte(out), &doc); err != nil {
		t.Fatal(err)
	}
	if doc.Tests != 5 || doc.Failures != 1 || len(doc.Suites) != 1 || doc.Suites[0].Tests != 5 ||
		doc.Suites[0].Failures != 1 || doc.Suites[0].Skipped != 2 || doc.Suites[0].Errors != 0 {
		t.Errorf("attributes %+v, want tests 5, failures 1, skipped 2, errors 0", doc)
	}

	// One objective met: a suite with one passed test, exit 0.
	code, out, _ = sloRun(t, "slo", "--db", db, "--config", cfg, "--at", "2026-11-29T12:00:00Z", "-o", "junit", "--service", "web")
	if code != 0 {
		t.Fatalf("--service web: exit %d, want 0", code)
	}
	suites, err = junit.Ingest([]byte(out))
	if err != nil || len(suites) != 1 || suites[0].Totals.Tests != 2 || suites[0].Totals.Passed != 2 {
		t.Errorf("--service web: %v %+v", err, suites)
	}
}

// GITHUB_STEP_SUMMARY: each run appends one markdown summary, whatever
// the output format and exit code.
func TestSLOStepSummary(t *testing.T) {
	db, cfg := sloSetup(t)
	summary := filepath.Join(t.TempDir(), "summary.md")
	t.Setenv("GITHUB_STEP_SUMMARY", summary)
	if code, _, _ := sloRun(t, "slo", "--db", db, "--config", cfg, "--at", "2026-11-29T12:00:00Z", "-o", "junit"); code != 3 {
		t.Fatalf("first run: exit %d, want 3", code)
	}
	if code, _, _ := sloRun(t, "slo", "--db", db, "--config", cfg, "--at", "2026-11-29T12:00:00Z", "--no-fail"); code != 0 {
		t.Fatalf("--no-fail: exit %d, want 0", code)
	}
	b, err := os.ReadFile(summary)
	if err != nil {
		t.Fatal(err)
	}
	s := string(b)
	if n := strings.Count(s, "### Service level objectives at 2026-11-29T12:00:00Z\n"); n != 2 {
		t.Errorf("%d summaries, want 2:\n%s", n, s)
	}
	if n := strings.Count(s, "| api | availability | 30d | 111 | 118 | 94.0678 | 95 | ❌ breached |\n"); n != 2 {
		t.Errorf("api row %d times, want 2:\n%s", n, s)
	}
}

// vigil slo's and vigil budget's JSON name each objective's budgeting
// method: Occurrences for a vigil.yaml objective; for a sliced one its
// slice window too, and the slice target for Timeslices (97/100 = 0.97).
func TestMethodJSON(t *testing.T) {
	for _, c := range []struct {
		ob   slo.Objective
		want string
	}{
		{slo.Objective{}, `{"budgeting_method":"Occurrences"}`},
		{slo.Objective{Method: slo.Occurrences}, `{"budgeting_method":"Occurrences"}`},
		{slo.Objective{Method: slo.Timeslices, SliceWindow: time.Minute, SliceTarget: big.NewRat(97, 100)},
			`{"budgeting_method":"Timeslices","time_slice_window":"1m","time_slice_target":0.97}`},
		{slo.Objective{Method: slo.RatioTimeslices, SliceWindow: 5 * time.Minute},
			`{"budgeting_method":"RatioTimeslices","time_slice_window":"5m"}`},
	} {
		b, err := json.Marshal(methodOf(c.ob))
		if err != nil || string(b) != c.want {
			t.Errorf("%+v: %s %v, want %s", c.ob, b, err, c.want)
		}
	}
	// Both outputs carry the fields, at their rows' top level.
	for _, v := range []any{sloJSON{methodJSON: methodOf(slo.Objective{Method: slo.RatioTimeslices, SliceWindow: time.Minute})},
		budgetJSON{methodJSON: methodOf(slo.Objective{Method: slo.RatioTimeslices, SliceWindow: time.Minute})}} {
		b, _ := json.Marshal(v)
		var m map[string]any
		if err := json.Unmarshal(b, &m); err != nil || m["budgeting_method"] != "RatioTimeslices" || m["time_slice_window"] != "1m" {
			t.Errorf("%s: want budgeting_method and time_slice_window at the top level", b)
		}
	}
}
