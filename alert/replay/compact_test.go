package replay

import (
	"fmt"
	"slices"
	"testing"
	"time"

	"github.com/vigil-metrics/vigil/alert/config"
	"github.com/vigil-metrics/vigil/alert/state"
)

// The compact records keep what the episodes and notices were: the
// channels told of an episode past the first 64 strings interned (a
// config of 70 channels, a channel not in it), each once and sorted; a
// notice that comes late for an alert's earlier episode finds it; the
// times in From's location.
func TestCompactEpisodesAsBefore(t *testing.T) {
	p := &config.Rule{Name: "p", Severity: "high"}
	var chans []config.Channel
	for i := range 70 {
		chans = append(chans, config.Channel{Name: fmt.Sprintf("c%02d", i), Type: "webhook"})
	}
	cfg := &config.Config{Rules: []config.Rule{*p}, Channels: chans}
	fp := state.FormatFingerprint(state.Fingerprint("p", nil))
	n := func(m int, ch string, ep int) Notice {
		return Notice{At: min_(m), Channel: ch, Rule: "p", Fingerprint: fp, Severity: "high", State: "firing", Kind: "firing", episode: min_(ep)}
	}
	c := newCollector(cfg, base, min_(20), time.Minute)
	// Episodes [2, 5) and [8, To); at 9, a notice held since 2 goes out.
	timeline(c, map[*config.Rule][][2]int{p: {{2, 5}, {8, 0}}}, map[int][]Notice{
		2: {n(2, "c69", 2), n(2, "c00", 2), n(2, "c69", 2), n(2, "extra", 2)},
		8: {n(8, "c65", 8)},
		9: {n(9, "c03", 2), n(9, "c66", 2)},
	}, nil)
	var rep Replay
	c.summary(&rep)
	if len(rep.Episodes) != 2 || len(rep.Notices) != 7 {
		t.Fatalf("%d episodes, %d notices, want 2 and 7: %+v", len(rep.Episodes), len(rep.Notices), rep.Episodes)
	}
	if w := []string{"c00", "c03", "c66", "c69", "extra"}; !slices.Equal(rep.Episodes[0].Notified, w) {
		t.Errorf("first episode told %v, want %v", rep.Episodes[0].Notified, w)
	}
	if w := []string{"c65"}; !slices.Equal(rep.Episodes[1].Notified, w) {
		t.Errorf("second episode told %v, want %v", rep.Episodes[1].Notified, w)
	}
	e := rep.Episodes[0]
	if !e.Start.Equal(min_(2)) || !e.End.Equal(min_(5)) || e.Start.Location() != base.Location() || rep.Episodes[1].End != min_(20) || !rep.Episodes[1].Open {
		t.Errorf("episodes %+v", rep.Episodes)
	}
	if x := rep.Notices[5]; x.Channel != "c03" || !x.At.Equal(min_(9)) || x.Fingerprint != fp || x.Rule != "p" || x.Kind != "firing" {
		t.Errorf("notice 5: %+v", x)
	}
}
