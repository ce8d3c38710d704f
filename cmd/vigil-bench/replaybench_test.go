package main

import (
	"bufio"
	"bytes"
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/vigil-metrics/vigil/alert/channels"
	alertconfig "github.com/vigil-metrics/vigil/alert/config"
)

// The replay config is the evaluate section's 200 rules plus channels,
// routing, correlation, a silence and settings, and it is a valid config.
func TestReplayConfigParses(t *testing.T) {
	text := replayConfigYAML(evalFullRules, replayFullSpan)
	cfg, err := alertconfig.Parse("replay.yaml", []byte(text), channels.Types())
	if err != nil {
		t.Fatal(err)
	}
	if len(cfg.Rules) != 200 || len(cfg.Channels) != 3 || len(cfg.Escalation) != 1 ||
		len(cfg.CorrelationRules) != 1 || len(cfg.Silences) != 1 {
		t.Fatalf("rules %d channels %d escalation %d correlation %d silences %d, want 200 3 1 1 1",
			len(cfg.Rules), len(cfg.Channels), len(cfg.Escalation), len(cfg.CorrelationRules), len(cfg.Silences))
	}
	if cfg.Settings.MaxAlertsPerMinute != 20 {
		t.Fatalf("max_alerts_per_minute %d, want 20", cfg.Settings.MaxAlertsPerMinute)
	}
	// The rules are evaluate's, unchanged.
	if !strings.HasPrefix(text, evalRulesYAML(evalFullRules)) {
		t.Fatal("the replay config does not start with the evaluate section's rules")
	}
	for _, ch := range cfg.Channels {
		if ch.Type != "webhook" || !strings.Contains(text, "url: http://127.0.0.1:9/"+ch.Name+"\n") {
			t.Fatalf("channel %s: %s, want a webhook to the discard port on loopback", ch.Name, ch.Type)
		}
	}
}

// sums are a metric's increments per (service, status) and time.
type sums map[string]map[int64]float64

// The data's injected incidents breach the error-ratio rules (error_ratio
// > 0.03, checkout_errors > 0.05) for their service, and outside them and
// the api climb of the last two hours no service breaches either:
// computed here from the file's samples, as the rules' ratio of increases
// over a 30m window.
func TestReplayDataIncidents(t *testing.T) {
	span := 12 * time.Hour
	path := filepath.Join(t.TempDir(), "replay.jsonl")
	steps := replaySteps(span)
	if err := writeReplayData(path, replayFamilies(evalFullSeries, span), span); err != nil {
		t.Fatal(err)
	}
	bad, all, cpu, lines := readRequests(t, path)
	if want := (steps + 1) * evalFullSeries; lines != want {
		t.Fatalf("%d samples, want %d", lines, want)
	}
	ratio := func(service string, at time.Time) float64 {
		var b, a float64
		for ts := at.Add(-30*time.Minute).Unix() + 1; ts <= at.Unix(); ts++ {
			b += bad[service][ts]
			a += all[service][ts]
		}
		return b / a
	}
	incs := replayIncidents(span)
	if len(incs) != 3 {
		t.Fatalf("%d incidents, want 3", len(incs))
	}
	for _, inc := range incs {
		if r := ratio(inc.service, inc.to); r <= 0.05 {
			t.Errorf("incident %s at %s: ratio %.4f, want > 0.05", inc.service, inc.to, r)
		}
	}
	quiet := 0
	for at := end.Add(-span + time.Hour); !at.After(end.Add(-2*time.Hour - time.Minute)); at = at.Add(10 * time.Minute) {
		inIncident := false
		for _, inc := range incs {
			inIncident = inIncident || (at.After(inc.from) && at.Add(-30*time.Minute).Before(inc.to))
		}
		if inIncident {
			continue
		}
		quiet++
		for _, s := range evalServices {
			if r := ratio(s, at); r >= 0.03 {
				t.Errorf("%s at %s, outside the incidents: ratio %.4f, want < 0.03", s, at, r)
			}
		}
	}
	if quiet < 20 {
		t.Fatalf("%d quiet instants checked, want 20 at least", quiet)
	}
	// Counters keep the evaluate data's rate (each sample carries a
	// minute's increase): a service's 10 series of 200s at 20..140 a 10 s
	// (80 on average), 404s a twentieth, 500s a fiftieth: about 86/s, where
	// a minute's sample carrying a 10 s increase would be about 14/s.
	for _, s := range evalServices {
		perS := 0.0
		for _, v := range all[s] {
			perS += v
		}
		perS /= float64(steps) * replayInterval.Seconds()
		if perS < 60 || perS > 120 {
			t.Errorf("%s: %.0f requests/s, want the evaluate data's 60..120", s, perS)
		}
	}
	// hot_host (cpu_usage_percent avg by host > 85 over 5m) fires on the
	// hot hosts at the day's peak: host-07's two cpus over one 5m window.
	fired := false
	for ts := range cpu {
		var sum float64
		var n int
		for t := ts - 299; t <= ts; t++ {
			for _, v := range cpu[t] {
				sum += v
				n++
			}
		}
		fired = fired || (n > 0 && sum/float64(n) > 85)
	}
	if !fired {
		t.Error("host-07's cpu never averages over 85 over 5m: hot_host never fires")
	}
}

// readRequests sums http_requests_total's increments by service (status
// 5xx in bad, all in all) and keeps host-07's cpu samples, by second.
func readRequests(t *testing.T, path string) (bad, all sums, cpu map[int64][]float64, lines int) {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	bad, all, cpu = sums{}, sums{}, map[int64][]float64{}
	add := func(m sums, s string, ts int64, v float64) {
		if m[s] == nil {
			m[s] = map[int64]float64{}
		}
		m[s][ts] += v
	}
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		lines++
		line := sc.Bytes()
		isReq := bytes.Contains(line, []byte(`"http_requests_total"`))
		isCPU := bytes.Contains(line, []byte(`"host":"host-07"`)) && bytes.Contains(line, []byte(`"cpu_usage_percent"`))
		if !isReq && !isCPU {
			continue
		}
		var s struct {
			TS      int64             `json:"ts"`
			Value   float64           `json:"value"`
			Labels  map[string]string `json:"labels"`
			Service string            `json:"service"`
		}
		if err := json.Unmarshal(line, &s); err != nil {
			t.Fatal(err)
		}
		if isCPU {
			cpu[s.TS] = append(cpu[s.TS], s.Value)
			continue
		}
		add(all, s.Service, s.TS, s.Value)
		if strings.HasPrefix(s.Labels["status"], "5") {
			add(bad, s.Service, s.TS, s.Value)
		}
	}
	if err := sc.Err(); err != nil {
		t.Fatal(err)
	}
	return bad, all, cpu, lines
}

// The section checks vigil replay's JSON: the steps (given, or from from,
// to and step) and the notices of its timeline.
func TestReplayCheck(t *testing.T) {
	doc := `{"from":"2026-10-30T12:00:00Z","to":"2026-11-29T12:00:00Z","step":"1m",
	  "rules":[{"rule":"hot_host_000","episodes":30,"firing_seconds":3600,"notices":{"ops":31},"pages":0}],
	  "channels":[],"incidents":[],
	  "notices":[{"at":"2026-11-01T10:00:00Z","channel":"ops","rule":"hot_host_000","fingerprint":"ab","state":"firing"},
	             {"at":"2026-11-01T11:00:00Z","channel":"ops","rule":"hot_host_000","fingerprint":"ab","state":"resolved"}]}`
	got, err := checkReplay([]byte(doc), 43200)
	if err != nil {
		t.Fatal(err)
	}
	if got.steps != 43200 || got.notices != 2 || got.rules != 1 {
		t.Fatalf("%+v, want 43200 steps, 2 notices, 1 rule", got)
	}
	withSteps := strings.Replace(doc, `"step":"1m",`, `"step":"1m","steps":43200,`, 1)
	if _, err := checkReplay([]byte(withSteps), 43200); err != nil {
		t.Fatal(err)
	}
	for name, bad := range map[string]string{
		"steps short":   strings.Replace(doc, "2026-10-30T12:00:00Z", "2026-10-30T13:00:00Z", 1),
		"steps field":   strings.Replace(doc, `"step":"1m",`, `"step":"1m","steps":43199,`, 1),
		"no notices":    `{"from":"2026-10-30T12:00:00Z","to":"2026-11-29T12:00:00Z","step":"1m","rules":[],"notices":[]}`,
		"wrong step":    strings.Replace(doc, `"1m"`, `"2m"`, 1),
		"not json":      "replay: done",
		"no step given": `{"from":"2026-10-30T12:00:00Z","to":"2026-11-29T12:00:00Z","notices":[{}]}`,
	} {
		if _, err := checkReplay([]byte(bad), 43200); err == nil {
			t.Errorf("%s: accepted", name)
		}
	}
}

// -replay-span picks the span (30 days by default); steps are one a
// minute over it, and the samples one a minute per series.
func TestReplaySpanFlag(t *testing.T) {
	cfg, err := parseFlags([]string{"-sections", "replay"})
	if err != nil {
		t.Fatal(err)
	}
	if cfg.replaySpan != 30*24*time.Hour || replaySteps(cfg.replaySpan) != 43200 {
		t.Fatalf("span %s steps %d, want 720h0m0s 43200", cfg.replaySpan, replaySteps(cfg.replaySpan))
	}
	if cfg, err = parseFlags([]string{"-sections", "replay", "-replay-span", "48h"}); err != nil || replaySteps(cfg.replaySpan) != 2880 {
		t.Fatalf("48h: %v", err)
	}
	if _, err := parseFlags([]string{"-replay-span", "30m"}); err == nil {
		t.Fatal("a span shorter than the rules' windows accepted")
	}
}

// fakeVigil writes a script standing in for vigil: import answers the
// file's line count as its samples; replay is the script's body.
func fakeVigil(t *testing.T, replay string) string {
	t.Helper()
	if _, err := exec.LookPath("sh"); err != nil {
		t.Skip("no sh")
	}
	path := filepath.Join(t.TempDir(), "vigil")
	script := "#!/bin/sh\ncase \"$1\" in\nimport) echo \"{\\\"samples\\\":$(wc -l < \"$6\")}\" ;;\nreplay)\n" + replay + "\n;;\nesac\n"
	if err := os.WriteFile(path, []byte(script), 0o755); err != nil {
		t.Fatal(err)
	}
	return path
}

// The section runs vigil replay with the flags over the whole
// store, twice (untimed, then timed), and reads its --out file.
func TestBenchReplayRuns(t *testing.T) {
	dir := t.TempDir()
	argsLog := filepath.Join(dir, "args.log")
	vigil := fakeVigil(t, `echo "$@" >> `+argsLog+`
while [ $# -gt 0 ]; do [ "$1" = --out ] && out=$2; shift; done
echo '{"from":"2026-11-29T06:00:00Z","to":"2026-11-29T12:00:00Z","step":"1m","steps":360,"rules":[{"rule":"a","pages":2}],"channels":[],"incidents":[{}],"notices":[{"channel":"pager"},{"channel":"ops"},{"channel":"pager"}]}' > "$out"`)
	cfg, err := parseFlags([]string{"-vigil", vigil, "-dir", filepath.Join(dir, "bench"), "-sections", "replay", "-replay-span", "6h", "-eval-rules", "20"})
	if err != nil {
		t.Fatal(err)
	}
	if err := os.MkdirAll(cfg.dir, 0o755); err != nil {
		t.Fatal(err)
	}
	rows, err := benchReplay(cfg)
	if err != nil {
		t.Fatal(err)
	}
	args, err := os.ReadFile(argsLog)
	if err != nil {
		t.Fatal(err)
	}
	conf, db, out := filepath.Join(cfg.dir, "replay.yaml"), filepath.Join(cfg.dir, "replay.db"), filepath.Join(cfg.dir, "replay.json")
	want := "replay --config " + conf + " --db " + db + " --from 2026-11-29T06:00:00Z --to 2026-11-29T12:00:00Z --step 1m -o json --out " + out + "\n"
	if string(args) != want+want {
		t.Fatalf("vigil called with\n%s\nwant twice\n%s", args, want)
	}
	if len(rows) != 5 {
		t.Fatalf("%d rows, want 5", len(rows))
	}
	for _, r := range rows {
		if r.value == "error" || r.target != "ref" {
			t.Errorf("row %+v: want a figure, for reference (20 rules, 6h)", r)
		}
	}
	if rows[4].measure != "replay 20 rules 6h at 1m per rule-step (µs)" {
		t.Errorf("last row %q", rows[4].measure)
	}
}

// Until vigil has a working replay, the section fails saying so, with
// vigil's own error (not its hint line), and every row of its layout.
func TestBenchReplayFails(t *testing.T) {
	dir := t.TempDir()
	vigil := fakeVigil(t, `echo "vigil: error: unknown flag: --db" >&2; echo "vigil: hint: see 'vigil --help'" >&2; exit 2`)
	cfg, err := parseFlags([]string{"-vigil", vigil, "-dir", dir, "-sections", "replay", "-replay-span", "6h", "-eval-rules", "20"})
	if err != nil {
		t.Fatal(err)
	}
	rows, err := benchReplay(cfg)
	if err == nil || !strings.Contains(err.Error(), "unknown flag: --db") || !strings.Contains(err.Error(), "vigil replay") {
		t.Fatalf("err %v, want vigil's error and the section's need of vigil replay", err)
	}
	if len(rows) != 5 || rows[0].value == "error" || rows[2].value != "error" {
		t.Fatalf("rows %+v, want the import measured and the replay's rows failed", rows)
	}
}
