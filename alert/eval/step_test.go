package eval

import (
	"testing"

	"github.com/vigil-metrics/vigil/alert/state"
)

func TestStored(t *testing.T) {
	alert := func(s state.State) state.Alert {
		a := state.NewAlert("r", map[string]string{"host": "a"})
		a.State = s
		return a
	}
	known := func(s state.State) map[uint64]state.Alert {
		a := alert(s)
		return map[uint64]state.Alert{a.Fingerprint: a}
	}
	for _, c := range []struct {
		name string
		prev map[uint64]state.Alert
		next state.State
		want bool
	}{
		{"new and inactive", nil, state.Inactive, false},
		{"new and pending", nil, state.Pending, true},
		{"inactive stays inactive", known(state.Inactive), state.Inactive, false},
		{"pending goes inactive", known(state.Pending), state.Inactive, true},
		{"resolved goes inactive", known(state.Resolved), state.Inactive, true},
		{"firing stays firing", known(state.Firing), state.Firing, true},
	} {
		if got := Stored(c.prev, alert(c.next)); got != c.want {
			t.Errorf("%s: Stored = %v, want %v", c.name, got, c.want)
		}
	}
}
