package notify

import (
	"strconv"
	"strings"

	"github.com/vigil-metrics/vigil/alert/config"
	"github.com/vigil-metrics/vigil/internal/numfmt"
	"github.com/vigil-metrics/vigil/internal/vtime"
)

// Threshold kinds (Alert.ThresholdKind): what an alert's threshold is
// when it is not its rule's threshold compared with its value.
const (
	// ThresholdBurnFactor: a burn alert's factor, which the burn rates
	// over both its windows crossed.
	ThresholdBurnFactor = "burn_rate_factor"
	// ThresholdBudgetPercent: the objective's budget_alert_percent, which
	// the consumed share of the error budget crossed.
	ThresholdBudgetPercent = "budget_alert_percent"
)

// Facts is what an item's notices say beyond its rule: set by whoever
// builds an item whose rule has no threshold of its own (the SLO
// alerts of alert/run.BudgetBuild), so that a notice says what vigil
// budget prints rather than "threshold 0".
type Facts struct {
	Threshold     float64
	ThresholdKind string
	// Summary is one line in words: what crossed what.
	Summary string
	// Details are further lines, each a fact as the CLI prints it.
	Details []string
	// ThresholdText, when set, is the threshold as notices print it in
	// place of Threshold's number: "n/a" for an SLO alert whose objective
	// is gone (alert/run.BudgetBuildRetiring), which has no factor left
	// to show and must not read "0".
	ThresholdText string
	// Window is what the value is measured over ("1h").
	Window string
	// Value, when set, is the value the notice shows instead of the
	// alert's: a burn alert's long-window burn rate, which crossed the
	// factor (the alert's own is the 1h burn rate).
	Value *float64
	SLO   *SLOFacts
}

// SLOFacts are an SLO alert's numbers, named as vigil budget -o json
// names them (docs/slo.md), for receivers that read the JSON.
type SLOFacts struct {
	Service    string  `json:"service"`
	SLI        string  `json:"sli"`
	Objective  string  `json:"objective,omitempty"`
	SLOPercent float64 `json:"slo_percent"`
	Window     string  `json:"window"`
	// Alert is page, ticket or budget.
	Alert string `json:"alert"`
	// The burn alert's windows, their rates, the factor both crossed and
	// the share of the budget that burns over the long window at it; left
	// out for the budget alert.
	Long               string   `json:"long,omitempty"`
	Short              string   `json:"short,omitempty"`
	LongBurnRate       *float64 `json:"long_burn_rate,omitempty"`
	ShortBurnRate      *float64 `json:"short_burn_rate,omitempty"`
	Factor             float64  `json:"factor,omitempty"`
	BudgetSharePercent float64  `json:"budget_share_percent,omitempty"`
	BudgetAlertPercent float64  `json:"budget_alert_percent"`
	// BurnRates are by window as vigil budget reports them; null without
	// events.
	BurnRates          map[string]*float64 `json:"burn_rates"`
	ConsumptionPercent float64             `json:"consumption_percent"`
	RemainingPercent   float64             `json:"remaining_percent"`
	RemainingMinutes   float64             `json:"remaining_minutes"`
	// TimeToExhaustionSeconds is at the 1h burn rate; null when the budget
	// does not run out at it.
	TimeToExhaustionSeconds *float64 `json:"time_to_exhaustion_seconds"`
	Exhausted               bool     `json:"exhausted"`
}

// AckCommand is the command that acknowledges the alert of fingerprint fp
// (state.FormatFingerprint) in the default state DB, as notices print it.
func AckCommand(fp string) string { return "vigil alerts ack " + fp }

// AckCommandState is AckCommand for the state DB at statePath, named
// with --state (shell-quoted) unless statePath is "" (the default): a
// person pastes the command into a shell, and without it a run on another
// state DB would have it acknowledge the wrong one, or none.
func AckCommandState(fp, statePath string) string {
	if statePath == "" {
		return AckCommand(fp)
	}
	return AckCommand(fp) + " --state " + shellQuote(statePath)
}

// shellQuote is s as one word of a POSIX shell: as it is when every
// character is one no shell treats specially, else in single quotes
// (inside which only ' itself needs care).
func shellQuote(s string) string {
	safe := s != ""
	for _, c := range s {
		if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || strings.ContainsRune("@%_+=:,./-", c)) {
			safe = false
			break
		}
	}
	if safe {
		return s
	}
	return "'" + strings.ReplaceAll(s, "'", `'\''`) + "'"
}

// describe fills in what s says beyond the rule's threshold: its facts
// when the item has them, otherwise the rule's path, window and value as
// the CLI prints it (a ratio as a percentage). ackState is the state DB
// the ack command names ("": the default).
func describe(s *Alert, r *config.Rule, f *Facts, ackState string) {
	s.AckCommand = AckCommandState(s.Fingerprint, ackState)
	s.RunbookURL = r.Annotations["runbook_url"]
	if f != nil {
		s.Threshold, s.ThresholdKind, s.Summary, s.Details, s.Window, s.SLO = f.Threshold, f.ThresholdKind, f.Summary, f.Details, f.Window, f.SLO
		pct := ""
		if f.ThresholdKind == ThresholdBudgetPercent {
			pct = "%"
		}
		if s.Value != nil {
			s.ValueText = numfmt.Value(*s.Value) + pct
		}
		s.ThresholdText = numfmt.Value(f.Threshold) + pct
		if f.ThresholdText != "" {
			s.ThresholdText = f.ThresholdText
		}
		return
	}
	s.Path = r.MetricPath
	if r.EvaluationWindow > 0 {
		s.Window = vtime.FormatDuration(r.EvaluationWindow)
	}
	name := r.MetricPath
	if r.Path != nil {
		name = r.Path.Num.Name
	}
	ratio := numfmt.IsRatio(name, "") || r.Path != nil && r.Path.Den != nil
	text := numfmt.Value
	if ratio {
		text = numfmt.Percent
	}
	if s.Value != nil {
		s.ValueText = text(*s.Value)
	}
	s.ThresholdText = text(r.Threshold)
}

// ValueString is the alert's value as notices print it: ValueText, else
// (a notice recorded before it existed) in full; "n/a" without a value.
func (a Alert) ValueString() string {
	if a.ValueText != "" {
		return a.ValueText
	}
	if a.Value == nil {
		return "n/a"
	}
	return strconv.FormatFloat(*a.Value, 'g', -1, 64)
}

// ThresholdString is the threshold as notices print it: ThresholdText,
// else in full.
func (a Alert) ThresholdString() string {
	if a.ThresholdText != "" {
		return a.ThresholdText
	}
	return strconv.FormatFloat(a.Threshold, 'g', -1, 64)
}

// ThresholdWords say what the threshold is: "threshold" (a rule's),
// "burn-rate factor", "budget alert above".
func (a Alert) ThresholdWords() string {
	switch a.ThresholdKind {
	case ThresholdBurnFactor:
		return "burn-rate factor"
	case ThresholdBudgetPercent:
		return "budget alert above"
	case ThresholdAbsent:
		return "expected at least"
	case ThresholdSpikeRatio:
		return "spike ratio"
	}
	return "threshold"
}

// ValueLine is the value beside what it crossed: "14.5 (burn-rate factor
// 14.4)", "92.5 (threshold 80)".
func (a Alert) ValueLine() string {
	return a.ValueString() + " (" + a.ThresholdWords() + " " + a.ThresholdString() + ")"
}

// Acknowledgeable says whether the notice is about an alert that still
// fires (or waits): one resolved has nothing to acknowledge.
func (a Alert) Acknowledgeable() bool {
	return a.AckCommand != "" && a.State != "resolved" && a.State != "inactive"
}
