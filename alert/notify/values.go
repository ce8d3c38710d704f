package notify

import (
	"math"
	"strconv"
	"time"

	"github.com/vigil-metrics/vigil/alert/config"
	"github.com/vigil-metrics/vigil/alert/state"
	"github.com/vigil-metrics/vigil/internal/numfmt"
	"github.com/vigil-metrics/vigil/internal/vtime"
)

// Threshold kinds of the rule conditions whose value is not compared with
// the rule's threshold (Alert.ThresholdKind).
const (
	// ThresholdAbsent: an absent rule's; its value is the number of
	// samples in the window, and it fires at none.
	ThresholdAbsent = "absent"
	// ThresholdSpikeRatio: a spike rule's spike_ratio, which its value
	// (the window's aggregate over the reference window's) crossed.
	ThresholdSpikeRatio = "spike_ratio"
)

// readable corrects what describe wrote where the rule's threshold and
// the value as a plain number do not say what the alert means: an absent
// or spike rule's (h30 D29), an infinite value (D12), a value that would
// print as its threshold's text (D19).
func readable(s *Alert, r *config.Rule, a state.Alert, f *Facts) {
	v := a.Value
	if math.IsInf(v, 0) {
		s.ValueText = numfmt.Value(v) // JSON has no +Inf: Value stays nil
	}
	if f != nil {
		if f.Value != nil {
			x := *f.Value
			s.Value, s.ValueText = nil, numfmt.Value(x)
			if !math.IsNaN(x) && !math.IsInf(x, 0) {
				s.Value = &x
				if f.ThresholdKind == ThresholdBurnFactor {
					s.ValueText, s.ThresholdText = numfmt.Apart(x, f.Threshold)
				}
			}
		}
		return
	}
	active := a.State == state.Firing || a.State == state.Pending
	switch r.Condition {
	case "absent":
		s.ThresholdKind, s.Threshold = ThresholdAbsent, 1
		s.ThresholdText = "1 sample"
		if s.Window != "" {
			s.ThresholdText += " in " + s.Window
		}
		if s.Value != nil {
			s.ValueText = samples(*s.Value)
		}
		if active && s.Window != "" {
			s.Summary = "no sample of " + r.MetricPath + " in the last " + s.Window
			if since := a.ActiveSince; !since.IsZero() {
				// The first run that found none saw nothing over the
				// window before it.
				s.Summary += "; none since at least " + since.Add(-r.EvaluationWindow).UTC().Format(time.RFC3339)
			}
		}
	case "spike":
		s.ThresholdKind, s.Threshold, s.ThresholdText = ThresholdSpikeRatio, r.SpikeRatio, numfmt.Value(r.SpikeRatio)
		if active && s.ValueText != "" {
			s.Summary = spikeSummary(r, s.ValueText)
		}
	default:
		if s.Value != nil && s.ValueText != "" {
			if s.ValueText[len(s.ValueText)-1] == '%' {
				s.ValueText, s.ThresholdText = numfmt.PercentApart(v, r.Threshold)
			} else {
				s.ValueText, s.ThresholdText = numfmt.Apart(v, r.Threshold)
			}
		}
	}
}

// samples is a sample count in words: "0 samples", "1 sample".
func samples(n float64) string {
	if n == 1 {
		return "1 sample"
	}
	return numfmt.Value(n) + " samples"
}

// spikeSummary says what a spike rule compared: "reqs.sum over 5m is 5
// times its value over the 1h before; the rule fires above 2 times
// (direction up)".
func spikeSummary(r *config.Rule, value string) string {
	s := r.MetricPath
	if r.EvaluationWindow > 0 {
		s += " over " + vtime.FormatDuration(r.EvaluationWindow)
	}
	s += " is " + value + " times its value over the "
	if r.ReferenceWindow > 0 {
		s += vtime.FormatDuration(r.ReferenceWindow) + " "
	}
	ratio := numfmt.Value(r.SpikeRatio)
	below := "below 1/" + ratio + " = " + numfmt.Value(1/r.SpikeRatio)
	s += "before; the rule fires "
	switch r.Direction {
	case "down":
		s += below
	case "both":
		s += "above " + ratio + " or " + below
	default:
		s += "above " + ratio
	}
	return s + " times (direction " + r.Direction + ")"
}

// infText is the value an infinite ValueText stands for, NaN for any
// other text.
func infText(text string) float64 {
	if text == "+Inf" || text == "-Inf" {
		f, _ := strconv.ParseFloat(text, 64)
		return f
	}
	return math.NaN()
}
