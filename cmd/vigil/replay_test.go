package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/spf13/cobra"

	"github.com/vigil-metrics/vigil/alert/channels"
	alertconfig "github.com/vigil-metrics/vigil/alert/config"
	"github.com/vigil-metrics/vigil/alert/replay"
	"github.com/vigil-metrics/vigil/alert/state"
	"github.com/vigil-metrics/vigil/cmd/internal/cli"
	"github.com/vigil-metrics/vigil/internal/configfile"
)

var replayT0 = time.Date(2026, 11, 1, 0, 0, 0, 0, time.UTC)

// sampleReplay is a hand-built replay: two rules, two channels, one
// incident, one episode notified, three notices.
func sampleReplay(threshold int) *replay.Replay {
	h := func(n int) time.Time { return replayT0.Add(time.Duration(n) * time.Hour) }
	r := &replay.Replay{From: replayT0, To: h(48), Step: time.Minute, Steps: 2880,
		Rules: []replay.RuleSummary{
			{Rule: "cpu_high", Severity: "critical", Episodes: 1, FiringSeconds: 1800, MedianEpisodeSeconds: 1800, LongestEpisodeSeconds: 1800,
				Notices: map[string]int{"ops": 2}, Pages: 1, PagesPerWeek: 3.5, FirstFiring: h(1), LastFiring: h(1).Add(30 * time.Minute)},
			{Rule: "disk\x1b[31m", Severity: "warning"},
		},
		Channels:  []replay.ChannelSummary{{Channel: "ops", Type: "webhook", Notices: 2, RateLimited: 1}, {Channel: "chat", Type: "slack"}},
		Incidents: []replay.Incident{{ID: "inc-1", Correlation: "by_host", GroupValue: "web1", Opened: h(1), Members: []string{`cpu_high{host="web1"}`}}},
		Episodes: []replay.Episode{{Rule: "cpu_high", Fingerprint: "00000000000000aa", Labels: map[string]string{"host": "web1"}, Severity: "critical",
			Start: h(1), End: h(1).Add(30 * time.Minute), Notified: []string{"ops"}}},
		Notices: []replay.Notice{
			{At: h(1), Channel: "ops", Rule: "cpu_high", Fingerprint: "00000000000000aa", Severity: "critical", State: "firing", Kind: "firing", Incident: "inc-1"},
			{At: h(1).Add(30 * time.Minute), Channel: "ops", Rule: "cpu_high", Fingerprint: "00000000000000aa", Severity: "critical", State: "resolved", Kind: "resolved"},
		},
		Warnings: []string{"history starts at 2026-11-01T00:10:00Z"},
	}
	if threshold > 80 {
		// Tighter: the 85% episode never fires.
		r.Rules[0] = replay.RuleSummary{Rule: "cpu_high", Severity: "critical", Notices: map[string]int{}}
		r.Episodes, r.Notices, r.Incidents = nil, nil, nil
		r.Channels[0].Notices, r.Channels[0].RateLimited = 0, 0
	}
	return r
}

func TestReplayJSONShape(t *testing.T) {
	var buf bytes.Buffer
	if err := writeReplayJSON(&buf, []*replaySide{{file: "a.yaml", res: sampleReplay(80)}}); err != nil {
		t.Fatal(err)
	}
	var got struct {
		From, To, Step string
		StepSeconds    float64 `json:"step_seconds"`
		Rules          []map[string]any
		Channels       []map[string]any
		Incidents      []map[string]any
		Notices        []map[string]any
		Warnings       []string
	}
	if err := json.Unmarshal(buf.Bytes(), &got); err != nil {
		t.Fatalf("%v: %s", err, buf.String())
	}
	if got.From != "2026-11-01T00:00:00Z" || got.To != "2026-11-03T00:00:00Z" || got.Step != "1m0s" || got.StepSeconds != 60 {
		t.Errorf("from, to, step = %q %q %q %v", got.From, got.To, got.Step, got.StepSeconds)
	}
	if len(got.Rules) != 2 {
		t.Fatalf("rules = %v", got.Rules)
	}
	r := got.Rules[0]
	if r["rule"] != "cpu_high" || r["episodes"] != 1.0 || r["firing_seconds"] != 1800.0 || r["pages"] != 1.0 ||
		r["notices"].(map[string]any)["ops"] != 2.0 || r["first_firing"] != "2026-11-01T01:00:00Z" || r["last_firing"] != "2026-11-01T01:30:00Z" {
		t.Errorf("rules[0] = %v", r)
	}
	if r := got.Rules[1]; r["first_firing"] != nil || r["notices"] == nil || len(r["notices"].(map[string]any)) != 0 {
		t.Errorf("rules[1] (never fired) = %v; want first_firing null, notices {}", r)
	}
	if c := got.Channels[0]; c["channel"] != "ops" || c["notices"] != 2.0 || c["rate_limited"] != 1.0 {
		t.Errorf("channels[0] = %v", c)
	}
	if i := got.Incidents[0]; i["id"] != "inc-1" || i["opened"] != "2026-11-01T01:00:00Z" || i["closed"] != nil {
		t.Errorf("incidents[0] = %v", i)
	}
	if len(got.Notices) != 2 {
		t.Fatalf("notices = %v", got.Notices)
	}
	if n := got.Notices[1]; n["at"] != "2026-11-01T01:30:00Z" || n["channel"] != "ops" || n["rule"] != "cpu_high" ||
		n["fingerprint"] != "00000000000000aa" || n["state"] != "resolved" || n["kind"] != "resolved" || n["incident"] != nil {
		t.Errorf("notices[1] = %v", n)
	}
	if n := got.Notices[0]; n["kind"] != "firing" || n["incident"] != "inc-1" {
		t.Errorf("notices[0] = %v: want kind firing, incident inc-1", n)
	}
	if len(got.Warnings) != 1 {
		t.Errorf("warnings = %v", got.Warnings)
	}
}

// Empty lists are [], never null.
func TestReplayJSONEmpty(t *testing.T) {
	var buf bytes.Buffer
	if err := writeReplayJSON(&buf, []*replaySide{{res: &replay.Replay{From: replayT0, To: replayT0.Add(time.Hour), Step: time.Minute}}}); err != nil {
		t.Fatal(err)
	}
	for _, k := range []string{"rules", "channels", "incidents", "notices", "episodes", "warnings"} {
		if !strings.Contains(buf.String(), `"`+k+`":[]`) {
			t.Errorf("%s is not []: %s", k, buf.String())
		}
	}
}

func TestReplayJSONAgainst(t *testing.T) {
	var buf bytes.Buffer
	sides := []*replaySide{{file: "vigil.yaml", res: sampleReplay(80)}, {file: "tighter.yaml", res: sampleReplay(90)}}
	if err := writeReplayJSON(&buf, sides); err != nil {
		t.Fatal(err)
	}
	var got struct {
		Configs []map[string]any
		Compare struct{ Pages [2]int }
		Diff    []map[string]any
	}
	if err := json.Unmarshal(buf.Bytes(), &got); err != nil {
		t.Fatal(err)
	}
	if len(got.Configs) != 2 || got.Configs[0]["file"] != "vigil.yaml" || got.Configs[1]["file"] != "tighter.yaml" ||
		got.Configs[0]["rules"] == nil || got.Configs[1]["notices"] == nil {
		t.Errorf("configs = %v", got.Configs)
	}
	if got.Compare.Pages != [2]int{1, 0} {
		t.Errorf("pages = %v; want [1 0]", got.Compare.Pages)
	}
	if len(got.Diff) != 1 {
		t.Fatalf("diff = %v; want the one missed episode", got.Diff)
	}
	d := got.Diff[0]
	if d["rule"] != "cpu_high" || d["fingerprint"] != "00000000000000aa" || d["notified_by"] != "vigil.yaml" ||
		d["missed_by"] != "tighter.yaml" || d["why"] != replay.WhyNoEpisode || d["start"] != "2026-11-01T01:00:00Z" {
		t.Errorf("diff[0] = %v", d)
	}
}

func TestReplayTable(t *testing.T) {
	var buf bytes.Buffer
	if err := writeReplayTable(&buf, []*replaySide{{res: sampleReplay(80)}}); err != nil {
		t.Fatal(err)
	}
	out := buf.String()
	if strings.Contains(out, "\x1b") {
		t.Errorf("a control character reached the terminal: %q", out)
	}
	rule, ch, inc := strings.Index(out, "cpu_high  "), strings.Index(out, "CHANNEL"), strings.Index(out, "INCIDENT")
	if rule < 0 || ch < rule || inc < ch {
		t.Errorf("want rules, then channels, then incidents:\n%s", out)
	}
	if !strings.Contains(out, "ops=2") || !strings.Contains(out, "30m") {
		t.Errorf("want notices ops=2 and 30m firing:\n%s", out)
	}
	buf.Reset()
	if err := writeReplayTable(&buf, []*replaySide{{file: "a.yaml", res: sampleReplay(80)}, {file: "b.yaml", res: sampleReplay(90)}}); err != nil {
		t.Fatal(err)
	}
	if out := buf.String(); !strings.Contains(out, "pages A 1, B 0") || !strings.Contains(out, "MISSED BY") ||
		!strings.Contains(out, `B          cpu_high  {host="web1"}`) {
		t.Errorf("against table:\n%s", out)
	}
}

func TestReplayGate(t *testing.T) {
	for _, c := range []struct {
		pages []int
		n     int
		want  int
	}{
		{[]int{5}, 5, 0}, {[]int{6}, 5, cli.ExitGate},
		{[]int{8, 3}, 5, 0}, {[]int{9, 3}, 5, cli.ExitGate},
		{[]int{0, 9}, 0, 0}, // fewer pages than --against: passes
	} {
		cmd := &cobra.Command{}
		o := &replayOptions{}
		cmd.Flags().IntVar(&o.FailIfMorePages, "fail-if-more-pages", -1, "")
		if err := cmd.Flags().Set("fail-if-more-pages", itoa(c.n)); err != nil {
			t.Fatal(err)
		}
		var sides []*replaySide
		for _, p := range c.pages {
			sides = append(sides, &replaySide{res: &replay.Replay{Rules: []replay.RuleSummary{{Rule: "r", Pages: p}}}})
		}
		if got := cli.ExitCode(replayGate(cmd, o, sides)); got != c.want {
			t.Errorf("pages %v, N %d: exit %d; want %d", c.pages, c.n, got, c.want)
		}
	}
}

func itoa(n int) string { b, _ := json.Marshal(n); return string(b) }

func TestReplaySteps(t *testing.T) {
	from := replayT0
	if n, err := replaySteps(from, from.Add(1_000_000*time.Second), time.Second); err != nil || n != 1_000_000 {
		t.Errorf("1,000,000 steps: %d, %v; want allowed", n, err)
	}
	// More is the replay's to refuse, once --from is clamped to the
	// stores' history (alert/replay: TestReplayBoundAfterClamp).
	// (from, to] on the grid from from: 10m30s at 1m is 10 runs.
	if n, _ := replaySteps(from, from.Add(10*time.Minute+30*time.Second), time.Minute); n != 10 {
		t.Errorf("steps = %d; want 10", n)
	}
}

func TestThresholdsAsOf(t *testing.T) {
	h := func(n int) time.Time { return replayT0.Add(time.Duration(n) * time.Hour) }
	hs := []state.ThresholdChange{
		{Rule: "lat", TunedAt: h(10), Old: 100, New: 120},
		{Rule: "lat", TunedAt: h(5), Old: 90, New: 100}, // out of order on purpose
		{Rule: "new", TunedAt: h(5), Old: math.NaN(), New: 7},
	}
	ts := map[string]state.Threshold{"lat": {Value: 120}, "kept": {Value: 42}, "static": {Value: 1}}
	f := thresholdsAsOf(ts, hs, map[string]bool{"lat": true, "new": true, "kept": true})
	for _, c := range []struct {
		rule string
		at   time.Time
		want float64
		ok   bool
	}{
		{"lat", h(4), 90, true}, {"lat", h(5), 100, true}, {"lat", h(9), 100, true}, {"lat", h(10), 120, true}, {"lat", h(99), 120, true},
		{"new", h(4), 0, false}, {"new", h(6), 7, true},
		{"kept", h(0), 42, true},
		{"static", h(0), 0, false}, // not dynamic: the config's
		{"unknown", h(0), 0, false},
	} {
		v, ok := f(c.rule, c.at)
		if ok != c.ok || (ok && v != c.want) {
			t.Errorf("%s at +%v: %v, %v; want %v, %v", c.rule, c.at.Sub(replayT0), v, ok, c.want, c.ok)
		}
	}
}

// The demo's --against config is examples/vigil.yaml with one threshold
// raised (high_error_rate 0.02 -> 0.05, above the demo api incident's
// peak error ratio of about 0.041), and nothing else changed.
func TestDemoTighter(t *testing.T) {
	load := func(p string) *alertconfig.Config {
		t.Helper()
		f, err := configfile.Read(p)
		if err != nil {
			t.Fatal(err)
		}
		cfg, err := alertconfig.Decode(f, func(string) (string, bool) { return "https://hooks.example/x", true }, channels.Types())
		if err != nil {
			t.Fatal(err)
		}
		return cfg
	}
	a, b := load("../../examples/vigil.yaml"), load("../../testdata/alerting/demo-tighter.yaml")
	if len(a.Rules) != len(b.Rules) || len(a.Channels) != len(b.Channels) {
		t.Fatalf("rules %d vs %d, channels %d vs %d", len(a.Rules), len(b.Rules), len(a.Channels), len(b.Channels))
	}
	for i := range a.Rules {
		x, y := a.Rules[i], b.Rules[i]
		y.Pos = x.Pos // the header comment moves the lines
		if x.Name == "high_error_rate" {
			if x.Threshold != 0.02 || y.Threshold != 0.05 {
				t.Errorf("high_error_rate: %v -> %v; want 0.02 -> 0.05", x.Threshold, y.Threshold)
			}
			y.Threshold = x.Threshold
		}
		if !reflect.DeepEqual(x, y) {
			t.Errorf("rule %s differs beyond the threshold:\n%+v\n%+v", x.Name, x, y)
		}
	}
	for i := range b.Silences {
		b.Silences[i].Pos = a.Silences[i].Pos
	}
	if !reflect.DeepEqual(a.Settings, b.Settings) || !reflect.DeepEqual(a.Silences, b.Silences) {
		t.Error("settings or silences differ")
	}
}

// -o markdown --out F writes F and its chart beside it, linked by name;
// on stdout, no chart.
func TestReplayMarkdownOut(t *testing.T) {
	dir := t.TempDir()
	var stdout bytes.Buffer
	a := &app{stdout: &stdout}
	sides := []*replaySide{{file: "vigil.yaml", res: sampleReplay(80)}, {file: "tighter.yaml", res: sampleReplay(90)}}
	out := filepath.Join(dir, "replay.md")
	if err := a.writeReplay(&replayOptions{Output: "markdown", Out: out}, sides); err != nil {
		t.Fatal(err)
	}
	md, err := os.ReadFile(out)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(filepath.Join(dir, "replay-noise.svg")); err != nil {
		t.Errorf("the chart is not beside the file: %v", err)
	}
	for _, want := range []string{"# Alert noise", "## Missed episodes", "| A | B | cpu_high |", "(replay-noise.svg)"} {
		if !strings.Contains(string(md), want) {
			t.Errorf("replay.md lacks %q:\n%s", want, md)
		}
	}
	if stdout.Len() != 0 {
		t.Errorf("stdout: %q; want nothing with --out", stdout.String())
	}
	if err := a.writeReplay(&replayOptions{Output: "markdown"}, sides[:1]); err != nil {
		t.Fatal(err)
	}
	if s := stdout.String(); !strings.Contains(s, "## Rules") || strings.Contains(s, ".svg") {
		t.Errorf("stdout markdown:\n%s", s)
	}
}

// A markdown --out that cannot be written is said as its own error, not
// its chart's, and a folder as --out leaves no chart behind (h32 D4;
// report --out shares the writer: TestReportOutNamedOnError).
func TestReplayMarkdownOutUnwritable(t *testing.T) {
	dir := t.TempDir()
	a := &app{stdout: io.Discard}
	sides := []*replaySide{{file: "vigil.yaml", res: sampleReplay(80)}}
	missing := filepath.Join(dir, "nod", "r.md")
	err := a.writeReplay(&replayOptions{Output: "markdown", Out: missing}, sides)
	if err == nil || !strings.HasPrefix(err.Error(), "--out "+missing+": ") {
		t.Errorf("--out in a missing folder: %v, want the error to start with --out %s", err, missing)
	}
	folder := filepath.Join(dir, "d.md")
	if err := os.Mkdir(folder, 0o755); err != nil {
		t.Fatal(err)
	}
	err = a.writeReplay(&replayOptions{Output: "markdown", Out: folder}, sides)
	if err == nil || err.Error() != "--out "+folder+": is a folder" {
		t.Errorf("--out a folder: %v", err)
	}
	if _, err := os.Stat(filepath.Join(dir, "d-noise.svg")); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("a chart of the report never written is there: %v", err)
	}
	// A named pipe (as a device such as /dev/null) likewise: no chart
	// beside it, and it stays a pipe.
	pipe := filepath.Join(dir, "p.md")
	if err := syscall.Mkfifo(pipe, 0o644); err != nil {
		t.Skip("no mkfifo:", err)
	}
	err = a.writeReplay(&replayOptions{Output: "markdown", Out: pipe}, sides)
	if err == nil || err.Error() != "--out "+pipe+": is a device, named pipe or socket" {
		t.Errorf("--out a named pipe: %v", err)
	}
	if _, err := os.Stat(filepath.Join(dir, "p-noise.svg")); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("a chart beside a named pipe: %v", err)
	}
	if st, err := os.Stat(pipe); err != nil || st.Mode()&os.ModeNamedPipe == 0 {
		t.Errorf("the pipe is no longer one: %v %v", st, err)
	}
}

// A replay stopped (SIGTERM) before its first step, wherever it was
// (opening the stores, syncing their cache), says it stopped; one not
// stopped keeps its error, and a stop the replay said already is kept.
func TestStoppedReplay(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	plain := errors.New("sync cache of demo.db: context canceled")
	if got := stoppedReplay(ctx, plain); got != plain {
		t.Errorf("not stopped: %v", got)
	}
	cancel()
	if got := stoppedReplay(ctx, plain); got == nil || got.Error() != "replay stopped before its first step: sync cache of demo.db: context canceled" {
		t.Errorf("stopped: %v", got)
	}
	at := &replay.StopError{At: time.Date(2026, 11, 22, 12, 1, 0, 0, time.UTC), Cause: context.Canceled}
	if got := stoppedReplay(ctx, fmt.Errorf("x: %w", at)); got.Error() != "x: replay stopped at 2026-11-22T12:01:00Z: context canceled" {
		t.Errorf("stopped at a step: %v", got)
	}
	if stoppedReplay(ctx, nil) != nil {
		t.Error("no error became one")
	}
}
