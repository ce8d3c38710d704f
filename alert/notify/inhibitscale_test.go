package notify

import (
	"fmt"
	"testing"
	"time"

	"github.com/vigil-metrics/vigil/alert/config"
	"github.com/vigil-metrics/vigil/alert/route"
	"github.com/vigil-metrics/vigil/alert/state"
)

// scaleItems are node_down (critical) and high_cpu (high) firing on each
// of n hosts.
func scaleItems(n int) []*Item {
	down := &config.Rule{Name: "node_down", Severity: "critical"}
	cpu := &config.Rule{Name: "high_cpu", Severity: "high"}
	items := make([]*Item, 0, 2*n)
	for i := range n {
		for _, r := range []*config.Rule{down, cpu} {
			a := state.NewAlert(r.Name, map[string]string{"host": fmt.Sprintf("h%05d", i)})
			a.State = state.Firing
			items = append(items, &Item{Rule: r, Alert: a})
		}
	}
	return items
}

func scaleRule(t testing.TB, src, tgt string, equal ...string) config.InhibitRule {
	s, err := config.ParseMatcher(src)
	if err != nil {
		t.Fatal(err)
	}
	g, err := config.ParseMatcher(tgt)
	if err != nil {
		t.Fatal(err)
	}
	return config.InhibitRule{SourceMatchers: []config.Matcher{s}, TargetMatchers: []config.Matcher{g}, Equal: equal}
}

// Finding each alert's inhibitor is linear in the alerts, not quadratic
// (h30 D32): 20,000 hosts' node_down inhibiting their high_cpu by host,
// and a catch-all rule on both sides (every alert matches both: none
// inhibits another), decided in well under a second each (quadratic, the
// first took ~30 s of CPU in evaluate, the second longer).
func TestInhibitScalesLinearly(t *testing.T) {
	const n = 20000
	items := scaleItems(n)
	for _, c := range []struct {
		name     string
		rule     config.InhibitRule
		inhibits int
	}{
		{"by host", scaleRule(t, `alertname="node_down"`, `alertname="high_cpu"`, "host"), n},
		{"catch-all", scaleRule(t, `severity=~".+"`, `severity=~".+"`), 0},
	} {
		start := time.Now()
		in := newInhibitor([]config.InhibitRule{c.rule}, items, nil)
		got := 0
		for _, it := range items {
			if in.by(it.Alert.Fingerprint, route.Labels(it.Rule, it.Alert.Labels)) != "" {
				got++
			}
		}
		if took := time.Since(start); took > 2*time.Second {
			t.Errorf("%s: %v for %d alerts", c.name, took, len(items))
		}
		if got != c.inhibits {
			t.Errorf("%s: %d inhibited, want %d", c.name, got, c.inhibits)
		}
	}
}
