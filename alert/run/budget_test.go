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

// Each SLO alert's threshold is what it crosses (issue 30: never 0): the
// burn alert's factor, the budget alert's budget_alert_percent, with a
// kind that says which, and vigil budget's reason as the summary.
func TestBudgetBuildFacts(t *testing.T) {
	target, err := slo.ParseTarget("99.9")
	if err != nil {
		t.Fatal(err)
	}
	ob := slo.Objective{Service: "api", SLI: "availability", Target: target, Window: slo.Window{Rolling: 30 * 24 * time.Hour}, BudgetAlertPercent: 80}
	long, short := 20.0, 30.0
	b := slo.Budget{Objective: ob, ConsumptionPercent: 85, RemainingPercent: 15,
		BurnAlerts: []slo.BurnAlertStatus{
			{Severity: "page", Long: time.Hour, Short: 5 * time.Minute, Factor: 14.4, Share: 0.02, LongRate: &long, ShortRate: &short},
			{Severity: "page", Long: 6 * time.Hour, Short: 30 * time.Minute, Factor: 6, Share: 0.05, Firing: true, LongRate: &long, ShortRate: &short},
			{Severity: "ticket", Long: 24 * time.Hour, Short: 2 * time.Hour, Factor: 3, Share: 0.1},
		},
		Alerts: []slo.BudgetAlert{{Severity: "page", Reason: "burn rate 20 over 6h and 30 over 30m, both above 6 (5% of the budget in 6h)"},
			{Severity: "budget", Reason: "85% of the error budget consumed (alert above 80%)"}}}
	items := BudgetBuild([]slo.Budget{b}, time.Date(2026, 12, 1, 10, 0, 0, 0, time.UTC))(nil)
	want := []struct {
		threshold float64
		kind      string
		summary   string
	}{
		{6, "burn_rate_factor", "burn rate 20 over 6h and 30 over 30m, both above 6 (5% of the budget in 6h)"}, // the page that fires
		{3, "burn_rate_factor", "burn rate - over 1d and - over 2h (alert when both are above 3, 10% of the budget in 1d)"},
		{80, "budget_alert_percent", "85% of the error budget consumed (alert above 80%)"},
	}
	for i, w := range want {
		f := items[i].Facts
		if f == nil || f.Threshold != w.threshold || f.ThresholdKind != w.kind || f.Summary != w.summary {
			t.Errorf("%s: facts %+v, want threshold %v (%s), summary %q", items[i].Rule.Name, f, w.threshold, w.kind, w.summary)
		}
	}
}

// h30 D6: a burn alert's notice pairs its factor with the burn rate and
// window that crossed it (the alert's long window: 14m for a 7d SLO's
// page), not the 1h burn rate below the factor beside "window 1h".
func TestBudgetBuildValueIsTheCrossedWindow(t *testing.T) {
	target, err := slo.ParseTarget("99.9")
	if err != nil {
		t.Fatal(err)
	}
	ob := slo.Objective{Service: "api", SLI: "availability", Target: target, Window: slo.Window{Rolling: 7 * 24 * time.Hour, Text: "7d"}, BudgetAlertPercent: 80}
	oneHour, long, short, slow := 11.6667, 50.0, 50.0, 2.0
	b := slo.Budget{Objective: ob, ConsumptionPercent: 30, BurnRates: map[string]*float64{"1h": &oneHour},
		BurnAlerts: []slo.BurnAlertStatus{
			{Severity: "page", Long: 14 * time.Minute, Short: 70 * time.Second, Factor: 14.4, Share: 0.02, Firing: true, LongRate: &long, ShortRate: &short},
			{Severity: "ticket", Long: 5*time.Hour + 36*time.Minute, Short: 28 * time.Minute, Factor: 3, Share: 0.1, LongRate: &slow, ShortRate: &slow},
		},
		Alerts: []slo.BudgetAlert{{Severity: "page", Reason: "burn rate 50 over 14m and 50 over 1m10s, both above 14.4"}}}
	items := BudgetBuild([]slo.Budget{b}, time.Date(2026, 12, 1, 0, 0, 0, 0, time.UTC))(nil)
	for i, w := range []struct {
		value  float64
		window string
	}{{50, "14m"}, {2, "5h36m"}, {30, "7d"}} {
		// The notice's value: the facts' where set (the alert itself keeps
		// the 1h burn rate, as vigil alerts list shows it).
		it := items[i]
		if it.Facts == nil {
			t.Fatalf("%s: no facts", it.Rule.Name)
		}
		value := it.Alert.Value
		if it.Facts.Value != nil {
			value = *it.Facts.Value
		}
		if value != w.value || it.Facts.Window != w.window {
			t.Errorf("%s: value %v, window %q; want %v over %s", it.Rule.Name, value, it.Facts.Window, w.value, w.window)
		}
	}
}

// h30 D23: an objective that turns invalid (too little of its window
// covered, too few events) is not judged: its firing alerts go to NoData,
// as a rule's that loses its data, never to a plain Resolved while the
// burn rates are still above their factors.
func TestBudgetBuildInvalidIsNoData(t *testing.T) {
	at := time.Date(2026, 12, 1, 10, 0, 0, 0, time.UTC)
	burn := 25.0
	ob := slo.Objective{Service: "x", SLI: "availability", Window: slo.Window{Rolling: 7 * 24 * time.Hour, Text: "7d"}}
	labels := map[string]string{"service": "x", "sli": "availability", "window": "7d"}
	prevPage := state.Step(state.NewAlert("slo_burn_rate_page", labels), state.Observation{HasData: true, Breached: true, Value: 25}, at.Add(-time.Minute), 0)
	b := slo.Budget{Objective: ob, ConsumptionPercent: 300, BurnRates: map[string]*float64{"1h": &burn},
		Invalid: "the data covers 18% of the 7d window (first sample 2026-11-30T00:00:00Z): min_coverage 50%"}
	items := BudgetBuild([]slo.Budget{b}, at)(map[uint64]state.Alert{prevPage.Fingerprint: prevPage})
	if got := items[0].Alert.State; got != state.NoData {
		t.Errorf("page of an invalid objective: %s, want %s", got, state.NoData)
	}
}
