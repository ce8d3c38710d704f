package replay

import (
	"testing"
	"time"
)

func TestDiff(t *testing.T) {
	t0 := time.Date(2026, 11, 1, 10, 0, 0, 0, time.UTC)
	m := func(min int) time.Time { return t0.Add(time.Duration(min) * time.Minute) }
	ep := func(rule, fp string, s, e int, notified ...string) Episode {
		return Episode{Rule: rule, Fingerprint: fp, Severity: "critical", Start: m(s), End: m(e), Notified: notified}
	}
	// A: cpu_high at 80 (--config); B: cpu_high at 90 (--against), so B
	// never fires for the 85% episode "aaaa".
	a := &Replay{
		Rules: []RuleSummary{
			{Rule: "cpu_high", Episodes: 4, Pages: 4, Notices: map[string]int{"ops": 8, "chat": 2}},
			{Rule: "disk", Episodes: 1, Pages: 0, Notices: map[string]int{"chat": 2}},
			{Rule: "old_rule", Episodes: 2, Pages: 1, Notices: map[string]int{"ops": 2}},
		},
		Channels: []ChannelSummary{{Channel: "ops", Notices: 10}, {Channel: "chat", Notices: 4}},
		Episodes: []Episode{
			ep("cpu_high", "aaaa", 0, 30, "ops"),          // missed by B: no episode
			ep("cpu_high", "bbbb", 60, 80, "chat", "ops"), // B overlaps, notified: not missed
			ep("cpu_high", "bbbb", 120, 130, "ops"),       // B's is later: no episode
			ep("cpu_high", "cccc", 200, 240, "ops"),       // B starts as it ends: overlaps
			ep("disk", "dddd", 0, 50, "chat"),             // B fired, told nobody
			ep("old_rule", "eeee", 5, 6, "ops"),           // B has no such rule
			ep("old_rule", "ffff", 7, 8),                  // nobody told: not listed
		},
		Notices: []Notice{
			{Channel: "ops", Kind: "firing", State: "firing", Severity: "critical"},
			{Channel: "ops", Kind: "resolved", State: "resolved", Severity: "critical"},
			{Channel: "ops", Kind: "firing", State: "firing", Severity: "warning"},
			{Channel: "chat", Kind: "firing", State: "firing", Severity: "critical"},
			// An Alertmanager channel's refresh re-asserts a firing alert:
			// not a page.
			{Channel: "ops", Kind: "refresh", State: "firing", Severity: "critical"},
		},
	}
	b := &Replay{
		Rules: []RuleSummary{
			{Rule: "cpu_high", Episodes: 3, Pages: 3, Notices: map[string]int{"ops": 6}},
			{Rule: "disk", Episodes: 1},
			{Rule: "new_rule", Episodes: 1, Pages: 1, Notices: map[string]int{"pager": 1}},
		},
		Channels: []ChannelSummary{{Channel: "ops", Notices: 6}, {Channel: "pager", Notices: 1}},
		Episodes: []Episode{
			ep("cpu_high", "bbbb", 65, 75, "ops"),
			ep("cpu_high", "bbbb", 180, 190, "ops"), // A's is earlier: no episode
			ep("cpu_high", "cccc", 240, 250, "ops"),
			ep("disk", "dddd", 10, 40),
			ep("new_rule", "gggg", 1, 2, "pager"),
		},
		Notices: []Notice{
			{Channel: "pager", Kind: "firing", State: "firing", Severity: "critical"},
			{Channel: "ops", Kind: "firing", State: "firing", Severity: "critical"},
			{Channel: "ops", Kind: "firing", State: "firing", Severity: "critical"},
		},
	}
	c := Diff(a, b)
	if c.PagesA != 5 || c.PagesB != 4 {
		t.Errorf("pages = %d, %d; want 5, 4", c.PagesA, c.PagesB)
	}
	type got struct {
		rule, fp string
		start    int
		by       int
		why      string
	}
	want := []got{
		{"cpu_high", "aaaa", 0, 0, WhyNoEpisode},
		{"disk", "dddd", 0, 0, WhyNotNotified},
		{"new_rule", "gggg", 1, 1, WhyNoRule},
		{"old_rule", "eeee", 5, 0, WhyNoRule},
		{"cpu_high", "bbbb", 120, 0, WhyNoEpisode},
		{"cpu_high", "bbbb", 180, 1, WhyNoEpisode},
	}
	if len(c.Missed) != len(want) {
		t.Fatalf("missed = %+v; want %d", c.Missed, len(want))
	}
	for i, w := range want {
		x := c.Missed[i]
		g := got{x.Episode.Rule, x.Episode.Fingerprint, int(x.Episode.Start.Sub(t0) / time.Minute), x.NotifiedBy, x.Why}
		if g != w {
			t.Errorf("missed[%d] = %+v; want %+v", i, g, w)
		}
	}

	if len(c.Rules) != 4 {
		t.Fatalf("rules = %+v; want cpu_high, disk, new_rule, old_rule", c.Rules)
	}
	r := c.Rules[0]
	if r.Rule != "cpu_high" || !r.InA || !r.InB || r.EpisodesA != 4 || r.EpisodesB != 3 || r.PagesA != 4 || r.PagesB != 3 ||
		r.NoticesA["ops"] != 8 || r.NoticesA["chat"] != 2 || r.NoticesB["ops"] != 6 || r.NoticesB["chat"] != 0 {
		t.Errorf("cpu_high = %+v", r)
	}
	if r := c.Rules[2]; r.Rule != "new_rule" || r.InA || !r.InB || r.PagesA != 0 || r.PagesB != 1 || r.NoticesA == nil {
		t.Errorf("new_rule = %+v", r)
	}
	if r := c.Rules[3]; r.Rule != "old_rule" || !r.InA || r.InB || r.EpisodesB != 0 {
		t.Errorf("old_rule = %+v", r)
	}

	wantCh := []ChannelDiff{
		{Channel: "ops", NoticesA: 10, NoticesB: 6, PagesA: 1, PagesB: 2},
		{Channel: "chat", NoticesA: 4, NoticesB: 0, PagesA: 1, PagesB: 0},
		{Channel: "pager", NoticesA: 0, NoticesB: 1, PagesA: 0, PagesB: 1},
	}
	if len(c.Channels) != len(wantCh) {
		t.Fatalf("channels = %+v", c.Channels)
	}
	for i, w := range wantCh {
		if c.Channels[i] != w {
			t.Errorf("channel[%d] = %+v; want %+v", i, c.Channels[i], w)
		}
	}
}

// Identical replays miss nothing.
func TestDiffSame(t *testing.T) {
	t0 := time.Date(2026, 11, 1, 10, 0, 0, 0, time.UTC)
	r := &Replay{Rules: []RuleSummary{{Rule: "x", Episodes: 1}},
		Episodes: []Episode{{Rule: "x", Fingerprint: "f", Start: t0, End: t0.Add(time.Hour), Notified: []string{"ops"}}}}
	if c := Diff(r, r); len(c.Missed) != 0 {
		t.Errorf("missed = %+v; want none", c.Missed)
	}
}
