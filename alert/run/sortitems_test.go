package run

import (
	"testing"

	"github.com/vigil-metrics/vigil/alert/config"
	"github.com/vigil-metrics/vigil/alert/notify"
	"github.com/vigil-metrics/vigil/alert/state"
)

// A run's items go by rule name, then by their labels as printed
// ({host="a"} < {host="b",zone="x"} < {host="b"}: ',' sorts before '}'),
// whatever order they came
// in; a rule's only item needs no labels compared.
func TestSortItems(t *testing.T) {
	rule := func(n string) *config.Rule { return &config.Rule{Name: n} }
	a, b, c := rule("a_rule"), rule("b_rule"), rule("c_rule")
	item := func(r *config.Rule, labels map[string]string) *notify.Item {
		return &notify.Item{Rule: r, Alert: state.NewAlert(r.Name, labels)}
	}
	want := []*notify.Item{
		item(a, map[string]string{"host": "z"}),
		item(b, map[string]string{"host": "a"}),
		item(b, map[string]string{"host": "b", "zone": "x"}),
		item(b, map[string]string{"host": "b"}),
		item(c, nil),
	}
	got := []*notify.Item{want[3], want[4], want[1], want[0], want[2]}
	sortItems(got)
	for i := range want {
		if got[i] != want[i] {
			t.Fatalf("item %d is %s%v, want %s%v", i, got[i].Rule.Name, got[i].Alert.Labels, want[i].Rule.Name, want[i].Alert.Labels)
		}
	}
}
