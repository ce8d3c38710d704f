package tune

import (
	"math"
	"time"

	"github.com/vigil-metrics/vigil/alert/config"
	"github.com/vigil-metrics/vigil/alert/state"
)

// Apply gives every dynamic rule of cfg its stored threshold (from
// state.Run.Thresholds), where there is one: what vigil evaluate does
// before evaluating, whatever its --at (the current value, not the one in
// force at that instant: see AsOf). A stored value of a rule that is not
// dynamic (any more) is ignored.
func Apply(cfg *config.Config, stored map[string]state.Threshold) {
	for i := range cfg.Rules {
		if t, ok := stored[cfg.Rules[i].Name]; ok && cfg.Rules[i].Dynamic {
			cfg.Rules[i].Threshold = t.Value
		}
	}
}

// AsOf is rule's threshold in force at at, from the applied changes of
// history (state.Run.ThresholdHistory, oldest first; other rules' changes
// are skipped): the new value of its last change with tuned_at <= at
// (a change applies from its own instant on), or, before its first
// change, that change's old value. With no change of rule in history, it
// is the stored current value (current[rule]) if any, else cfgThreshold,
// the config's. A first change whose old value is unknown (NaN) gives
// cfgThreshold before it: the config's is what a rule with no tuned value
// runs with.
func AsOf(rule string, history []state.ThresholdChange, current map[string]state.Threshold, cfgThreshold float64, at time.Time) float64 {
	var first *state.ThresholdChange
	v, found := 0.0, false
	for i := range history {
		c := &history[i]
		if c.Rule != rule {
			continue
		}
		if first == nil {
			first = c
		}
		if !c.TunedAt.After(at) {
			v, found = c.New, true
		}
	}
	switch {
	case found:
		return v
	case first != nil && !math.IsNaN(first.Old):
		return first.Old
	case first != nil:
		return cfgThreshold
	}
	if t, ok := current[rule]; ok {
		return t.Value
	}
	return cfgThreshold
}
