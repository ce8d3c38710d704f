package notify

import (
	"math"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/vigil-metrics/vigil/alert/config"
	"github.com/vigil-metrics/vigil/alert/state"
)

// An absent alert's notice says what it means: no sample in its window,
// the last one at or before the window's start when the breach began; not
// "Value: 0 (threshold 0)" (h30 D29).
func TestSnapshotAbsent(t *testing.T) {
	r := &config.Rule{Name: "agent_down", MetricPath: "vigil_agent_up.last", Condition: "absent", EvaluationWindow: 5 * time.Minute,
		GroupBy: []string{"host"}, Lookback: 7 * 24 * time.Hour}
	a := state.NewAlert("agent_down", map[string]string{"host": "vm"})
	since := time.Date(2026, 12, 1, 10, 0, 0, 0, time.UTC)
	a.State, a.Value, a.ActiveSince, a.FiredAt = state.Firing, 0, since, since
	s := snapshot(&Item{Rule: r, Alert: a}, -1, "")
	if s.ThresholdKind != ThresholdAbsent || s.ValueLine() != "0 samples (expected at least 1 sample in 5m)" {
		t.Errorf("kind %q, value line %q", s.ThresholdKind, s.ValueLine())
	}
	if want := "no sample of vigil_agent_up.last in the last 5m; none since at least 2026-12-01T09:55:00Z"; s.Summary != want {
		t.Errorf("summary %q, want %q", s.Summary, want)
	}
	a.State, a.Value = state.Resolved, 3 // samples again
	if s := snapshot(&Item{Rule: r, Alert: a}, -1, ""); s.ValueText != "3 samples" || s.Summary != "" {
		t.Errorf("resolved: value %q, summary %q", s.ValueText, s.Summary)
	}
}

// A spike alert's notice names the spike ratio its value (current over
// reference) crossed, not "threshold 0" (h30 D29).
func TestSnapshotSpike(t *testing.T) {
	r := &config.Rule{Name: "surge", MetricPath: "reqs.sum", Condition: "spike", SpikeRatio: 2, Direction: "up",
		EvaluationWindow: 5 * time.Minute, ReferenceWindow: time.Hour}
	a := state.NewAlert("surge", nil)
	a.State, a.Value = state.Firing, 5
	s := snapshot(&Item{Rule: r, Alert: a}, -1, "")
	if s.ThresholdKind != ThresholdSpikeRatio || s.Threshold != 2 || s.ValueLine() != "5 (spike ratio 2)" {
		t.Errorf("kind %q, threshold %v, value line %q", s.ThresholdKind, s.Threshold, s.ValueLine())
	}
	if want := "reqs.sum over 5m is 5 times its value over the 1h before; the rule fires above 2 times (direction up)"; s.Summary != want {
		t.Errorf("summary %q, want %q", s.Summary, want)
	}
	r.Direction, a.Value = "down", 0.25
	if s := snapshot(&Item{Rule: r, Alert: a}, -1, ""); !strings.Contains(s.Summary, "below 1/2 = 0.5 times (direction down)") {
		t.Errorf("down: summary %q", s.Summary)
	}
}

// An alert firing on +Inf says +Inf, not "no value" nor NaN (h30 D12).
func TestSnapshotInf(t *testing.T) {
	r := &config.Rule{Name: "bigsum", MetricPath: "big.sum", Condition: "greater_than", Threshold: 1}
	a := state.NewAlert("bigsum", nil)
	a.State, a.Value = state.Firing, math.Inf(1)
	s := snapshot(&Item{Rule: r, Alert: a}, -1, "")
	if s.ValueText != "+Inf" || !math.IsInf(s.ValueOrNaN(), 1) || s.ValueLine() != "+Inf (threshold 1)" {
		t.Errorf("value text %q, float %v, line %q", s.ValueText, s.ValueOrNaN(), s.ValueLine())
	}
	a.Value = math.NaN()
	if s := snapshot(&Item{Rule: r, Alert: a}, -1, ""); s.ValueText != "" || !math.IsNaN(s.ValueOrNaN()) {
		t.Errorf("NaN: value text %q, float %v", s.ValueText, s.ValueOrNaN())
	}
}

// A value that crossed its threshold never prints as the threshold's
// text: digits are added until the two differ, on the right side (h30 D19).
func TestSnapshotValueApartFromThreshold(t *testing.T) {
	for _, c := range []struct {
		path      string
		v, thr    float64
		condition string
	}{
		{"c.last", 0.99990000001, 0.9999, "greater_than"},
		{"b.last", 2.00000000002, 2.00000000001, "greater_than"},
		{"b.last", 1.9999999999, 2, "less_than"},
		{"errors_ratio", 0.0500000001, 0.05, "greater_than"},
	} {
		r := &config.Rule{Name: "r", MetricPath: c.path, Condition: c.condition, Threshold: c.thr}
		a := state.NewAlert("r", nil)
		a.State, a.Value = state.Firing, c.v
		s := snapshot(&Item{Rule: r, Alert: a}, -1, "")
		if s.ValueText == s.ThresholdText {
			t.Errorf("%v vs %v: both print %q", c.v, c.thr, s.ValueText)
			continue
		}
		v, _ := strconv.ParseFloat(strings.TrimSuffix(s.ValueText, "%"), 64)
		th, _ := strconv.ParseFloat(strings.TrimSuffix(s.ThresholdText, "%"), 64)
		if c.condition == "greater_than" && !(v > th) || c.condition == "less_than" && !(v < th) {
			t.Errorf("%v %s %v: printed %q vs %q, on the wrong side", c.v, c.condition, c.thr, s.ValueText, s.ThresholdText)
		}
	}
}
