package replay

import (
	"reflect"
	"slices"
	"testing"
	"time"

	"github.com/vigil-metrics/vigil/alert/config"
	"github.com/vigil-metrics/vigil/alert/notify"
	"github.com/vigil-metrics/vigil/alert/state"
)

var base = time.Date(2026, 11, 1, 0, 0, 0, 0, time.UTC)

func min_(n int) time.Time { return base.Add(time.Duration(n) * time.Minute) }

// timeline feeds c one run per minute, 1..20, of the alerts of rules
// whose firing spans are given in minutes [start, end) (end 0: still
// firing at 20), as the pipeline would step them.
func timeline(c *collector, rules map[*config.Rule][][2]int, notices map[int][]Notice, held map[int]map[uint64][]string) {
	stateAt := func(spans [][2]int, m int) state.State {
		for _, s := range spans {
			if m >= s[0] && (s[1] == 0 || m < s[1]) {
				return state.Firing
			}
			if m == s[1] {
				return state.Resolved
			}
		}
		return state.Inactive
	}
	fired := map[*config.Rule]time.Time{}
	for m := 1; m <= 20; m++ {
		var items []*notify.Item
		for r, spans := range rules {
			prev := state.NewAlert(r.Name, nil)
			prev.State = stateAt(spans, m-1)
			next := prev
			next.State = stateAt(spans, m)
			if next.State == state.Firing && prev.State != state.Firing {
				fired[r] = min_(m)
			}
			prev.FiredAt, next.FiredAt = fired[r], fired[r]
			items = append(items, &notify.Item{Rule: r, Prev: prev, Alert: next})
		}
		c.add(runResult{at: min_(m), items: items, notices: notices[m], held: held[m]})
	}
}

// Hand-computed: r (cooldown 5m, step 1m) fires [1,2) [4,7) [13,16) and
// from 18 on, past the range's end at 20:
//
//	episode   length  flapping
//	1-2       1m      yes: shorter than 2 steps
//	4-7       3m      yes: fired 2m after the last end, within the 5m cooldown
//	13-16     3m      no: 6m after the last end
//	18-20     2m      yes: 2m after the last end (2m is not shorter than 2 steps); open, ended at To
//
// total 9m, median of 1,2,3,3 = 2.5m, longest 3m. s (no cooldown) fires
// [5,6): one short episode.
func TestSummaryEpisodes(t *testing.T) {
	r := &config.Rule{Name: "r", Severity: "high", CooldownPeriod: 5 * time.Minute}
	s := &config.Rule{Name: "s", Severity: "low"}
	cfg := &config.Config{Rules: []config.Rule{*r, *s}}
	c := newCollector(cfg, base, min_(20), time.Minute)
	timeline(c, map[*config.Rule][][2]int{r: {{1, 2}, {4, 7}, {13, 16}, {18, 0}}, s: {{5, 6}}}, nil, nil)
	var rep Replay
	c.summary(&rep)

	if len(rep.Rules) != 2 || rep.Rules[0].Rule != "r" {
		t.Fatalf("rules %+v, want r first (more firing time)", rep.Rules)
	}
	got := rep.Rules[0]
	want := RuleSummary{Rule: "r", Severity: "high", Episodes: 4, FiringSeconds: 540, MedianEpisodeSeconds: 150,
		LongestEpisodeSeconds: 180, Flapping: 3, FirstFiring: min_(1), LastFiring: min_(20)}
	got.Notices = nil
	if got.Rule != want.Rule || got.Episodes != want.Episodes || got.FiringSeconds != want.FiringSeconds ||
		got.MedianEpisodeSeconds != want.MedianEpisodeSeconds || got.LongestEpisodeSeconds != want.LongestEpisodeSeconds ||
		got.Flapping != want.Flapping || !got.FirstFiring.Equal(want.FirstFiring) || !got.LastFiring.Equal(want.LastFiring) {
		t.Errorf("r = %+v\nwant %+v", got, want)
	}
	if g := rep.Rules[1]; g.Episodes != 1 || g.Flapping != 1 || g.FiringSeconds != 60 || g.MedianEpisodeSeconds != 60 ||
		!g.FirstFiring.Equal(min_(5)) || !g.LastFiring.Equal(min_(5)) {
		t.Errorf("s = %+v, want one 60 s flapping episode at 00:05", g)
	}
	if len(rep.Episodes) != 5 {
		t.Fatalf("%d episodes, want 5", len(rep.Episodes))
	}
	last := rep.Episodes[4]
	if last.Rule != "r" || !last.Start.Equal(min_(18)) || !last.End.Equal(min_(20)) || !last.Open {
		t.Errorf("last episode %+v, want r 18-20 open", last)
	}
	if e := rep.Episodes[1]; e.Rule != "r" || !e.Start.Equal(min_(4)) || !e.End.Equal(min_(7)) || e.Open {
		t.Errorf("second episode %+v, want r 4-7 closed", e)
	}
	if e := rep.Episodes[2]; e.Rule != "s" || !e.Start.Equal(min_(5)) {
		t.Errorf("third episode %+v, want s at 5", e)
	}
}

// Pages count one per alert per run whatever the channels; refreshes and
// resolutions are no pages and refreshes no notices. The rate limit's
// held notices count once per notice however many runs hold it; dedup's
// once per episode and channel.
func TestSummaryNoticesPagesHeld(t *testing.T) {
	p := &config.Rule{Name: "p", Severity: "critical", CooldownPeriod: time.Hour}
	cfg := &config.Config{Rules: []config.Rule{*p}, Channels: []config.Channel{{Name: "ops", Type: "webhook"}, {Name: "am", Type: "alertmanager"}, {Name: "pager", Type: "webhook"}}}
	fp := state.Fingerprint("p", nil)
	fps := state.FormatFingerprint(fp)
	n := func(m int, ch, kind, st string) Notice {
		return Notice{At: min_(m), Channel: ch, Rule: "p", Fingerprint: fps, Severity: "critical", State: st, Kind: kind, episode: min_(2)}
	}
	notices := map[int][]Notice{
		2:  {n(2, "ops", "firing", "firing"), n(2, "am", "firing", "firing")}, // one page
		3:  {n(3, "am", "refresh", "firing")},
		5:  {n(5, "pager", "firing", "firing")}, // held at 2 and 3: a second page, at 5
		10: {n(10, "ops", "resolved", "resolved"), n(10, "am", "resolved", "resolved")},
	}
	held := map[int]map[uint64][]string{2: {fp: {"pager"}}, 3: {fp: {"pager"}}}
	c := newCollector(cfg, base, min_(20), time.Minute)
	timeline(c, map[*config.Rule][][2]int{p: {{2, 10}}}, notices, held)
	// Dedup held ops back twice in one episode (two runs): counted once.
	for i := 0; i < 2; i++ {
		a := state.NewAlert("p", nil)
		a.State, a.FiredAt = state.Firing, min_(2)
		c.item(min_(3+i), &notify.Item{Rule: p, Prev: a, Alert: a, Skipped: map[string]string{"ops": notify.ByDedup}})
	}
	var rep Replay
	c.summary(&rep)
	r := rep.Rules[0]
	if r.Pages != 2 || r.PagesPerWeek != 2*7*24*3 || r.Notices["ops"] != 2 || r.Notices["am"] != 2 || r.Notices["pager"] != 1 {
		t.Errorf("p = %+v, want 2 pages (1008/week), notices ops 2, am 2, pager 1", r)
	}
	want := []ChannelSummary{{Channel: "ops", Type: "webhook", Notices: 2, Deduplicated: 1}, {Channel: "am", Type: "alertmanager", Notices: 2},
		{Channel: "pager", Type: "webhook", Notices: 1, RateLimited: 1}}
	if !slices.Equal(rep.Channels, want) {
		t.Errorf("channels %+v\nwant %+v", rep.Channels, want)
	}
	if len(rep.Notices) != 6 {
		t.Errorf("%d notices in the timeline, want 6 (the refresh included)", len(rep.Notices))
	}
	if len(rep.Episodes) != 1 || !slices.Equal(rep.Episodes[0].Notified, []string{"am", "ops", "pager"}) {
		t.Errorf("episodes %+v, want one notified to am, ops, pager", rep.Episodes)
	}
}

// The timeline keeps one labels map per alert: each notice's labels are
// decoded from its message, and a month of notices about the same alerts
// kept a map each. A notice whose labels differ from the alert's earlier
// ones keeps its own.
func TestTimelineSharesLabels(t *testing.T) {
	p := &config.Rule{Name: "p", Severity: "high"}
	cfg := &config.Config{Rules: []config.Rule{*p}, Channels: []config.Channel{{Name: "ops", Type: "webhook"}}}
	n := func(m int, fp string, labels map[string]string) Notice {
		return Notice{At: min_(m), Channel: "ops", Rule: "p", Fingerprint: fp, Labels: labels, Severity: "high", State: "firing", Kind: "firing"}
	}
	c := newCollector(cfg, base, min_(20), time.Minute)
	c.add(runResult{at: min_(1), notices: []Notice{n(1, "a", map[string]string{"host": "a"}), n(1, "b", map[string]string{"host": "b"})}})
	c.add(runResult{at: min_(2), notices: []Notice{n(2, "a", map[string]string{"host": "a"})}})
	c.add(runResult{at: min_(3), notices: []Notice{n(3, "a", map[string]string{"host": "a2"})}})
	var rep Replay
	c.summary(&rep)
	ptr := func(i int) uintptr { return reflect.ValueOf(rep.Notices[i].Labels).Pointer() }
	if len(rep.Notices) != 4 || ptr(0) != ptr(2) || ptr(0) == ptr(1) || ptr(3) == ptr(0) {
		t.Errorf("notices %+v: want a's first two sharing one map, b's and a's changed labels their own", rep.Notices)
	}
	for i, want := range []string{"a", "b", "a", "a2"} {
		if got := rep.Notices[i].Labels["host"]; got != want {
			t.Errorf("notice %d: host %q, want %q", i, got, want)
		}
	}
}

// An incident lists each alert that fired in it once, by rule and
// labels, however many runs it fired in.
func TestIncidentMembers(t *testing.T) {
	p := &config.Rule{Name: "p", Severity: "high"}
	cfg := &config.Config{Rules: []config.Rule{*p}}
	c := newCollector(cfg, base, min_(20), time.Minute)
	for m := 1; m <= 3; m++ {
		var items []*notify.Item
		for _, h := range []string{"b", "a"} {
			a := state.NewAlert("p", map[string]string{"host": h})
			a.State, a.Incident = state.Firing, "burst/x/1"
			items = append(items, &notify.Item{Rule: p, Prev: a, Alert: a})
		}
		c.add(runResult{at: min_(m), items: items, incidents: []state.Incident{{ID: "burst/x/1", Correlation: "burst", GroupValue: "x", Opened: min_(1)}}})
	}
	var rep Replay
	c.summary(&rep)
	if len(rep.Incidents) != 1 || !slices.Equal(rep.Incidents[0].Members, []string{`p{host="a"}`, `p{host="b"}`}) {
		t.Errorf("incidents %+v, want burst/x/1 with p{host=\"a\"} and p{host=\"b\"}", rep.Incidents)
	}
}
