package tune

import (
	"math"
	"testing"
	"time"

	"github.com/vigil-metrics/vigil/alert/config"
	"github.com/vigil-metrics/vigil/alert/state"
)

// Apply replaces the dynamic rules' thresholds by the stored ones, and only
// theirs: a stored value for a rule that is no longer dynamic is ignored.
func TestApply(t *testing.T) {
	cfg := &config.Config{Rules: []config.Rule{
		{Name: "dyn", Dynamic: true, Threshold: 80},
		{Name: "static", Threshold: 50},
		{Name: "untuned", Dynamic: true, Threshold: 10},
	}}
	Apply(cfg, map[string]state.Threshold{"dyn": {Rule: "dyn", Value: 91.5}, "static": {Rule: "static", Value: 1}})
	for i, want := range []float64{91.5, 50, 10} {
		if got := cfg.Rules[i].Threshold; got != want {
			t.Errorf("%s: threshold %v, want %v", cfg.Rules[i].Name, got, want)
		}
	}
}

// AsOf is a step function of the rule's applied changes: the first
// change's old value before it, each change's new value from its tuned_at
// (inclusive) on; with no change, the stored value, else the config's.
func TestAsOf(t *testing.T) {
	t0 := time.Date(2026, 11, 1, 0, 0, 0, 0, time.UTC)
	history := []state.ThresholdChange{
		{Rule: "dyn", TunedAt: t0, Old: 80, New: 90},
		{Rule: "other", TunedAt: t0.Add(30 * time.Minute), Old: 1, New: 2},
		{Rule: "dyn", TunedAt: t0.Add(time.Hour), Old: 90, New: 85},
		{Rule: "unknown_old", TunedAt: t0, Old: math.NaN(), New: 7},
	}
	current := map[string]state.Threshold{
		"dyn":         {Rule: "dyn", Value: 85},
		"only_stored": {Rule: "only_stored", Value: 42},
	}
	ms := time.Millisecond
	for _, c := range []struct {
		rule string
		at   time.Time
		want float64
	}{
		{"dyn", t0.Add(-time.Hour), 80},           // before the first change: its old
		{"dyn", t0.Add(-ms), 80},                  // the last instant before it
		{"dyn", t0, 90},                           // exactly at tuned_at: new
		{"dyn", t0.Add(30 * time.Minute), 90},     // another rule's change is not dyn's
		{"dyn", t0.Add(time.Hour - ms), 90},       // still the first change's new
		{"dyn", t0.Add(time.Hour), 85},            // the second change at its tuned_at
		{"dyn", t0.Add(48 * time.Hour), 85},       // after the last change
		{"other", t0, 1},                          // before its change
		{"other", t0.Add(30 * time.Minute), 2},    // at it
		{"only_stored", t0, 42},                   // no history: the stored value
		{"untuned", t0, 60},                       // no history, nothing stored: the config's
		{"unknown_old", t0.Add(-time.Minute), 60}, // old unknown (NaN): the config's
		{"unknown_old", t0, 7},
	} {
		if got := AsOf(c.rule, history, current, 60, c.at); got != c.want {
			t.Errorf("AsOf(%s, %s) = %v, want %v", c.rule, c.at.Sub(t0), got, c.want)
		}
	}
}
