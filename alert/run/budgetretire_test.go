package run

import (
	"testing"
	"time"

	"github.com/vigil-metrics/vigil/alert/state"
	"github.com/vigil-metrics/vigil/analyze/slo"
)

// The SLO alerts of an objective no longer defined (renamed, removed, its
// window changed) that no run judged for StaleAfter are stepped with no
// breach by any budget run: a firing one resolves (its receivers are
// told), a resolved one goes inactive, an inactive one is left alone, and
// evaluate's alerts are never touched (h30 D8); one judged more lately
// (another cron line's) is left alone (h31 H1).
func TestBudgetBuildRetiring(t *testing.T) {
	at := time.Date(2026, 12, 1, 10, 0, 0, 0, time.UTC)
	before := at.Add(-time.Hour)
	fire := func(rule string, labels map[string]string) state.Alert {
		return state.Step(state.NewAlert(rule, labels), state.Observation{HasData: true, Breached: true, Value: 20}, before, 0)
	}
	old := map[string]string{"service": "a", "sli": "availability", "window": "30d"}
	other := map[string]string{"service": "c", "sli": "availability", "window": "7d"}
	page, budget := fire("slo_burn_rate_page", old), fire("slo_error_budget", old)
	ticket := state.Step(fire("slo_burn_rate_ticket", old), state.Observation{HasData: true}, before.Add(time.Minute), 0) // resolved
	inactive := state.NewAlert("slo_burn_rate_page", map[string]string{"service": "d", "sli": "availability", "window": "7d"})
	cpu := fire("high_cpu", map[string]string{"service": "a"})
	cPage := fire("slo_burn_rate_page", other)
	prev := map[uint64]state.Alert{}
	for _, a := range []state.Alert{page, budget, ticket, cpu, cPage} {
		prev[a.Fingerprint] = a
	}
	renamed := slo.Budget{Objective: slo.Objective{Service: "a", SLI: "availability", Window: slo.Window{Rolling: 7 * 24 * time.Hour, Text: "7d"}}}

	items := BudgetBuildRetiring([]slo.Budget{renamed}, at, BudgetRetire{StaleAfter: 30 * time.Minute})(prev)
	got := map[uint64]state.State{}
	for _, it := range items {
		got[it.Alert.Fingerprint] = it.Alert.State
	}
	if len(items) != 3+4 {
		t.Errorf("%d items, want the 3 of a's 7d objective, a's 3 retired ones and c's page: %v", len(items), got)
	}
	for a, want := range map[*state.Alert]state.State{&page: state.Resolved, &budget: state.Resolved, &ticket: state.Inactive, &cPage: state.Resolved} {
		if s, ok := got[a.Fingerprint]; !ok || s != want {
			t.Errorf("%s %v: %v (stepped %v), want %s", a.Rule, a.Labels, s, ok, want)
		}
	}
	if _, ok := got[cpu.Fingerprint]; ok {
		t.Errorf("evaluate's %s stepped by a budget run", cpu.Rule)
	}
	for _, it := range items {
		if it.Alert.Fingerprint == page.Fingerprint {
			f := it.Facts
			if f == nil || f.ThresholdText != "n/a" || f.ThresholdKind != "burn_rate_factor" ||
				f.Summary != "objective a availability over 30d is no longer in the config (renamed or removed): its alert is resolved, not judged" {
				t.Errorf("retired page facts %+v", f)
			}
			if it.Rule != BudgetRules["page"] || it.Alert.ResolvedAt != at {
				t.Errorf("retired page: rule %v, resolved at %v", it.Rule.Name, it.Alert.ResolvedAt)
			}
		}
	}

	// An inactive one is not stepped again.
	prev[inactive.Fingerprint] = inactive
	items = BudgetBuildRetiring(nil, at, BudgetRetire{})(prev)
	got = map[uint64]state.State{}
	for _, it := range items {
		got[it.Alert.Fingerprint] = it.Alert.State
	}
	if _, ok := got[inactive.Fingerprint]; ok || len(items) != 4 {
		t.Errorf("no budget: %v", got)
	}
	// BudgetBuild (replay, --slo-file) answers for its budgets alone.
	if items := BudgetBuild(nil, at)(prev); len(items) != 0 {
		t.Errorf("BudgetBuild stepped %d alerts of no budget", len(items))
	}

	// Judged less than StaleAfter ago (by another cron line's objectives):
	// left firing; a resolved one still goes inactive.
	items = BudgetBuildRetiring(nil, at, BudgetRetire{StaleAfter: 2 * time.Hour})(prev)
	got = map[uint64]state.State{}
	for _, it := range items {
		got[it.Alert.Fingerprint] = it.Alert.State
	}
	if _, ok := got[page.Fingerprint]; ok || len(items) != 1 || got[ticket.Fingerprint] != state.Inactive {
		t.Errorf("judged an hour ago, stale after 2h: stepped %v, want only the resolved ticket, to inactive", got)
	}
}
