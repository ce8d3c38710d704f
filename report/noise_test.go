package report

import (
	"bytes"
	"encoding/xml"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/vigil-metrics/vigil/alert/replay"
)

var noiseT0 = time.Date(2026, 11, 1, 0, 0, 0, 0, time.UTC)

func noiseAt(h float64) time.Time { return noiseT0.Add(time.Duration(h * float64(time.Hour))) }

// hostileName is a rule name and label value written to break out of a table
// cell, start a link and an HTML element, and colour a terminal.
const hostileName = "x|y](http://evil)<img src=x>\x1b[31m*"

func noiseReplay() *replay.Replay {
	return &replay.Replay{From: noiseT0, To: noiseAt(48), Step: time.Minute, Steps: 2880,
		Rules: []replay.RuleSummary{
			{Rule: "cpu_high", Severity: "critical", Episodes: 2, FiringSeconds: 5400, MedianEpisodeSeconds: 2700, LongestEpisodeSeconds: 3600,
				Flapping: 1, Notices: map[string]int{"ops": 3, "chat": 1}, Pages: 2, PagesPerWeek: 7, FirstFiring: noiseAt(1), LastFiring: noiseAt(30)},
			{Rule: hostileName, Severity: "warning", Notices: map[string]int{}},
		},
		Channels: []replay.ChannelSummary{{Channel: "ops", Type: "webhook", Notices: 3, RateLimited: 1}, {Channel: "chat", Type: "slack", Notices: 1}},
		Incidents: []replay.Incident{{ID: "inc-1", Correlation: "by_host", GroupValue: hostileName, Opened: noiseAt(1), Closed: noiseAt(2),
			Members: []string{`cpu_high{host="` + hostileName + `"}`}}},
		Episodes: []replay.Episode{{Rule: "cpu_high", Fingerprint: "00000000000000aa", Labels: map[string]string{"host": hostileName},
			Severity: "critical", Start: noiseAt(1), End: noiseAt(2), Notified: []string{"ops"}}},
		Notices: []replay.Notice{
			// Day 1 is (11-01 00:00, 11-02 00:00]: ops 2, and chat 1 at
			// 11-02 00:00, which ends it; day 2: ops 1.
			{At: noiseAt(1), Channel: "ops", State: "firing"},
			{At: noiseAt(2), Channel: "ops", State: "resolved"},
			{At: noiseAt(24), Channel: "chat", State: "firing"},
			{At: noiseAt(30), Channel: "ops", State: "firing"},
		},
		Warnings: []string{"history starts at 2026-11-01T00:10:00Z: " + hostileName},
	}
}

func TestNoisePerDay(t *testing.T) {
	ss := noisePerDay(noiseReplay(), time.UTC)
	want := map[string][]float64{"ops": {2, 1}, "chat": {1, 0}}
	if len(ss) != 2 || ss[0].Label != "ops" || ss[1].Label != "chat" {
		t.Fatalf("series = %+v; want ops, chat", ss)
	}
	for _, s := range ss {
		if len(s.Points) != 2 {
			t.Fatalf("%s: %d points; want 2 days", s.Label, len(s.Points))
		}
		for i, p := range s.Points {
			if p.V != want[s.Label][i] || !p.T.Equal(noiseAt(24*float64(i+1))) {
				t.Errorf("%s day %d = %v at %v; want %v at day's end", s.Label, i, p.V, p.T, want[s.Label][i])
			}
		}
	}
	// In UTC-5 the range is (10-31 19:00, 11-02 19:00]: three days. ops at
	// 10-31 20:00 and 21:00, and 11-02 01:00; chat at 11-01 19:00.
	ny := time.FixedZone("UTC-5", -5*3600)
	ss = noisePerDay(noiseReplay(), ny)
	want = map[string][]float64{"ops": {2, 0, 1}, "chat": {0, 1, 0}}
	for _, s := range ss {
		for i, p := range s.Points {
			if len(s.Points) != 3 || p.V != want[s.Label][i] {
				t.Errorf("UTC-5: %s = %+v; want %v", s.Label, s.Points, want[s.Label])
				break
			}
		}
	}
}

func TestWriteNoise(t *testing.T) {
	n := &Noise{Replay: noiseReplay()}
	images, err := NoiseImages(n, "weekly")
	if err != nil {
		t.Fatal(err)
	}
	if len(images) != 1 || images[0].File != "weekly-noise.svg" || images[0].Section != "noise" {
		t.Fatalf("images = %+v", images)
	}
	if err := xml.Unmarshal(images[0].SVG, new(struct{})); err != nil {
		t.Errorf("the SVG is not well-formed XML: %v", err)
	}
	var buf bytes.Buffer
	if err := WriteNoise(&buf, n, images, 2); err != nil {
		t.Fatal(err)
	}
	md := buf.String()
	for _, want := range []string{
		"## Alert noise\n",
		"Replayed 2880 runs every 1m over (2026-11-01 00:00 UTC, 2026-11-03 00:00 UTC]",
		"### Rules", "### Channels", "### Incidents",
		"| cpu_high | critical | 2 | 90m | 45m | 1h | 1 | chat: 1, ops: 3 | 2 | 7 | 2026-11-01 01:00 UTC | 2026-11-02 06:00 UTC |",
		"| ops | webhook | 3 | 1 | 0 |",
		"![notices per day per channel](weekly-noise.svg)",
	} {
		if !strings.Contains(md, want) {
			t.Errorf("markdown lacks %q:\n%s", want, md)
		}
	}
	if strings.Index(md, "### Rules") > strings.Index(md, "### Channels") || strings.Index(md, "### Channels") > strings.Index(md, "### Incidents") {
		t.Errorf("want rules, channels, incidents in that order:\n%s", md)
	}
	checkInert(t, md)
}

func TestWriteNoiseAgainst(t *testing.T) {
	a := noiseReplay()
	b := noiseReplay()
	b.Episodes, b.Notices = nil, nil
	b.Rules = []replay.RuleSummary{{Rule: "cpu_high", Severity: "critical"}}
	n := &Noise{Replay: a, Against: b, Comparison: replay.Diff(a, b), Files: [2]string{"vigil.yaml", "tighter.yaml"}}
	images, err := NoiseImages(n, "r")
	if err != nil {
		t.Fatal(err)
	}
	if len(images) != 1 || images[0].File != "r-noise.svg" {
		t.Errorf("images = %+v; want A's only (B sent nothing)", images)
	}
	var buf bytes.Buffer
	if err := WriteNoise(&buf, n, images, 1); err != nil {
		t.Fatal(err)
	}
	md := buf.String()
	for _, want := range []string{
		"under A = vigil.yaml and B = tighter.yaml",
		"Pages: A 2, B 0.",
		"## Missed episodes",
		"| A | B | cpu_high | host=\"",
		"| 2026-11-01 01:00 UTC | 2026-11-01 02:00 UTC | ops | no episode |",
		"| cpu_high | 2 | 0 | chat: 1, ops: 3 | - | 2 | 0 |",
	} {
		if !strings.Contains(md, want) {
			t.Errorf("markdown lacks %q:\n%s", want, md)
		}
	}
	checkInert(t, md)
}

// checkInert: nothing from data makes a link, an element, a control
// character or a new table cell.
func checkInert(t *testing.T, md string) {
	t.Helper()
	if regexp.MustCompile(`[^\\]\]\(http`).MatchString(md) || strings.Contains(md, "<img") || strings.Contains(md, "\x1b") {
		t.Errorf("markdown holds a link, an element or a control character:\n%s", md)
	}
	// Every table row keeps its header's column count.
	cells := -1
	for _, l := range strings.Split(md, "\n") {
		if !strings.HasPrefix(l, "|") {
			cells = -1
			continue
		}
		n := strings.Count(strings.ReplaceAll(l, `\|`, ""), "|")
		if cells < 0 {
			cells = n
		} else if n != cells {
			t.Errorf("row %q has %d cells; the header %d", l, n-1, cells-1)
		}
	}
}

func TestAlertNoiseConfig(t *testing.T) {
	f, err := ParseFile("v.yaml", []byte("report:\n  alert_noise:\n    from: 30d\n    step: 5m\n"))
	if err != nil {
		t.Fatal(err)
	}
	if n := f.Report.AlertNoise; n == nil || n.FromDuration != 30*24*time.Hour || n.StepDuration != 5*time.Minute {
		t.Errorf("alert_noise = %+v; want 30d at 5m", n)
	}
	// Empty: on, with the defaults (the report's period, the config's
	// evaluation interval).
	f, err = ParseFile("v.yaml", []byte("report:\n  alert_noise: {}\n"))
	if err != nil || f.Report.AlertNoise == nil || f.Report.AlertNoise.FromDuration != 0 || f.Report.AlertNoise.StepDuration != 0 {
		t.Errorf("alert_noise {} = %+v, %v", f.Report.AlertNoise, err)
	}
	// Off unless written.
	if f, _ := ParseFile("v.yaml", []byte("report:\n  title: x\n")); f.Report.AlertNoise != nil {
		t.Errorf("alert_noise without the key: %+v", f.Report.AlertNoise)
	}
	for in, want := range map[string]string{
		"report:\n  alert_noise:\n    form: 30d\n":  `v.yaml:3: report: alert_noise: unknown key "form" (want from, step)`,
		"report:\n  alert_noise:\n    from: soon\n": `v.yaml:3: report: alert_noise: from: "soon": want a positive duration (30d)`,
		"report:\n  alert_noise:\n    step: 0\n":    `v.yaml:3: report: alert_noise: step: "0": want a positive duration (1m)`,
		"report:\n  alert_noise: yes\n":             `v.yaml:2: report: alert_noise: want a mapping`,
		// 30 days at 1ns is 2.592e15 runs, past replay's bound of
		// 1,000,000 (vigil report would refuse it; vigil check must too).
		"report:\n  alert_noise:\n    from: 30d\n    step: 1ns\n": `v.yaml:4: report: alert_noise: step: 1ns over from: 30d is 2592000000000000 runs: want 1 to 1000000 (a longer step: or a shorter from:)`,
		"report:\n  alert_noise:\n    from: 1m\n    step: 1h\n":   `v.yaml:4: report: alert_noise: step: 1h over from: 1m is 0 runs: want 1 to 1000000`,
	} {
		_, err := ParseFile("v.yaml", []byte(in))
		if err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("%q: %v; want %s", in, err, want)
		}
	}
}

// vigil report shows the section only when alert_noise is on (r.Noise
// set), after the others, with its chart.
func TestRenderNoiseSection(t *testing.T) {
	r := &Report{Period: 48 * time.Hour, At: noiseAt(48), Charts: true}
	var buf bytes.Buffer
	if err := Render(&buf, r, "markdown"); err != nil {
		t.Fatal(err)
	}
	if strings.Contains(buf.String(), "Alert noise") {
		t.Errorf("a report without alert_noise has the section:\n%s", buf.String())
	}
	r.Noise = &Noise{Replay: noiseReplay()}
	if err := BuildImages(r, "weekly"); err != nil {
		t.Fatal(err)
	}
	for _, format := range []string{"markdown", "html"} {
		buf.Reset()
		if err := Render(&buf, r, format); err != nil {
			t.Fatal(err)
		}
		out := buf.String()
		res := strings.Index(out, "Resources")
		noise := strings.Index(out, "Alert noise")
		if noise < 0 || noise < res {
			t.Errorf("%s: want the Alert noise section after Resources:\n%s", format, out)
		}
		if format == "markdown" && (!strings.Contains(out, "\n## Alert noise\n") || !strings.Contains(out, "\n### Rules\n") ||
			!strings.Contains(out, "(weekly-noise.svg)")) {
			t.Errorf("markdown section:\n%s", out)
		}
		if format == "html" && !strings.Contains(out, `src="data:image/svg+xml;base64,`) {
			t.Errorf("html: the chart is not inlined:\n%s", out)
		}
	}
}
