package run

import (
	"testing"
	"time"

	"github.com/vigil-metrics/vigil/alert/state"
	"github.com/vigil-metrics/vigil/analyze/slo"
)

// BudgetBuild turns budgets into the three budget alerts of each
// objective, labelled service, sli, window (and objective when the SLO
// names several), valued by the 1h burn rate (the burn alerts) or the
// consumption (the budget alert), active by the budget's alerts.
func TestBudgetBuild(t *testing.T) {
	at := time.Date(2026, 12, 1, 10, 0, 0, 0, time.UTC)
	burn := 20.0
	budgets := []slo.Budget{
		{Objective: slo.Objective{Service: "api", SLI: "availability", Window: slo.Window{Rolling: 30 * 24 * time.Hour}},
			ConsumptionPercent: 85, BurnRates: map[string]*float64{"1h": &burn},
			Alerts: []slo.BudgetAlert{{Severity: "page", Reason: "fast"}, {Severity: "budget", Reason: "85%"}}},
		{Objective: slo.Objective{Service: "web", SLI: "latency", Window: slo.Window{Rolling: 24 * time.Hour}, Display: "p99"},
			ConsumptionPercent: 10, NoData: true},
	}
	// web's page alert was firing; web has no data now, so its alerts go
	// NoData (budget alerts have no nodata policy: state.Step's default).
	webPage := map[string]string{"service": "web", "sli": "latency", "window": "1d", "objective": "p99"}
	prevAlert := state.Step(state.NewAlert("slo_burn_rate_page", webPage),
		state.Observation{HasData: true, Breached: true, Value: 30}, at.Add(-time.Hour), 0)
	prev := map[uint64]state.Alert{prevAlert.Fingerprint: prevAlert}

	items := BudgetBuild(budgets, at)(prev)
	type want struct {
		rule   string
		labels map[string]string
		state  state.State
		value  float64
	}
	api := map[string]string{"service": "api", "sli": "availability", "window": "30d"}
	wants := []want{
		{"slo_burn_rate_page", api, state.Firing, 20},
		{"slo_burn_rate_ticket", api, state.Inactive, 20},
		{"slo_error_budget", api, state.Firing, 85},
		{"slo_burn_rate_page", webPage, state.NoData, 30},
		{"slo_burn_rate_ticket", webPage, state.NoData, 10},
		{"slo_error_budget", webPage, state.NoData, 10},
	}
	if len(items) != len(wants) {
		t.Fatalf("got %d items, want %d", len(items), len(wants))
	}
	sev := map[string]string{"slo_burn_rate_page": "critical", "slo_burn_rate_ticket": "high", "slo_error_budget": "medium"}
	for i, w := range wants {
		it := items[i]
		if it.Rule.Name != w.rule || it.Rule.Severity != sev[w.rule] || it.Rule.CooldownPeriod != time.Hour {
			t.Errorf("item %d: rule %+v, want %s (%s, cooldown 1h)", i, it.Rule, w.rule, sev[w.rule])
		}
		if fp := state.Fingerprint(w.rule, w.labels); it.Alert.Fingerprint != fp {
			t.Errorf("item %d: labels %v, want %v", i, it.Alert.Labels, w.labels)
		}
		if it.Alert.State != w.state {
			t.Errorf("item %d (%s %v): state %s, want %s", i, w.rule, w.labels, it.Alert.State, w.state)
		}
		if w.state != state.NoData && it.Alert.Value != w.value {
			t.Errorf("item %d (%s %v): value %v, want %v", i, w.rule, w.labels, it.Alert.Value, w.value)
		}
	}
	if items[3].Prev.Fingerprint != prevAlert.Fingerprint || items[3].Prev.State != state.Firing {
		t.Errorf("web page: not stepped from its previous state: %+v", items[3].Prev)
	}
	if BudgetRules["page"].Name != "slo_burn_rate_page" || BudgetRules["ticket"].Name != "slo_burn_rate_ticket" || BudgetRules["budget"].Name != "slo_error_budget" {
		t.Errorf("BudgetRules: %v", BudgetRules)
	}
}
