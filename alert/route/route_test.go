package route

import (
	"testing"

	"github.com/vigil-metrics/vigil/alert/config"
)

func TestMatches(t *testing.T) {
	rule := &config.Rule{Name: "high_cpu", Severity: "high"}
	labels := Labels(rule, map[string]string{"host": "a", "team": "infra"})
	for _, c := range []struct {
		filters []config.Filter
		want    bool
	}{
		{nil, true},
		{[]config.Filter{{"severity": {"critical", "high"}}}, true},        // OR within an item
		{[]config.Filter{{"severity": {"critical"}}}, false},               // not listed
		{[]config.Filter{{"severity": {"high"}, "team": {"infra"}}}, true}, // AND across items
		{[]config.Filter{{"severity": {"high"}}, {"team": {"web"}}}, false},
		{[]config.Filter{{"alertname": {"high_cpu"}}}, true},
		{[]config.Filter{{"region": {"eu"}}}, false}, // a label the alert lacks
	} {
		if got := Matches(c.filters, labels); got != c.want {
			t.Errorf("Matches(%v) = %v, want %v", c.filters, got, c.want)
		}
	}
	chs := []config.Channel{
		{Name: "off", Enabled: false},
		{Name: "all", Enabled: true},
		{Name: "crit", Enabled: true, Filters: []config.Filter{{"severity": {"critical"}}}},
		{Name: "high", Enabled: true, Filters: []config.Filter{{"severity": {"critical", "high"}}}},
	}
	var names []string
	for _, c := range Channels(chs, labels) {
		names = append(names, c.Name)
	}
	if len(names) != 2 || names[0] != "all" || names[1] != "high" {
		t.Errorf("Channels = %v, want [all high]", names)
	}
}
