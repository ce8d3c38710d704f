package run

import (
	"context"
	"reflect"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/vigil-metrics/vigil/alert/channels"
	alertconfig "github.com/vigil-metrics/vigil/alert/config"
	"github.com/vigil-metrics/vigil/alert/notify"
	"github.com/vigil-metrics/vigil/alert/state"
	"github.com/vigil-metrics/vigil/analyze/slo"
)

// sloBudget is api's availability budget with the alerts of sevs active.
func sloBudget(t *testing.T, sevs ...string) slo.Budget {
	t.Helper()
	target, err := slo.ParseTarget("99.9")
	if err != nil {
		t.Fatal(err)
	}
	b := slo.Budget{Objective: slo.Objective{Service: "api", SLI: "availability", Target: target,
		Window: slo.Window{Rolling: 30 * 24 * time.Hour}, BudgetAlertPercent: 80}, ConsumptionPercent: 90}
	for _, s := range sevs {
		b.Alerts = append(b.Alerts, slo.BudgetAlert{Severity: s, Reason: s})
	}
	return b
}

// While an SLO's page fires, its ticket and budget alerts are not sent
// separately; while its ticket fires, its budget alert is not (issue 30,
// Alertmanager's inhibit rules, vigil's default for the three SLO
// alerts). An inhibited alert is held, not lost: when the page resolves
// and the ticket still fires, the ticket is notified then.
func TestSLOInhibition(t *testing.T) { testSLOInhibition(t, withYAML) }

// With a correlation rule putting the three SLO alerts in one incident,
// the held ticket is still sent when the page resolves (h30 D27): the
// incident's only told member has been told "resolved", so the receiver
// believes it over, and the ticket was never told itself.
func TestSLOInhibitionCorrelated(t *testing.T) {
	testSLOInhibition(t, withYAML+`correlation_rules:
  - {name: svcinc, group_key: service, time_window: 2h, alert_patterns: ["slo_*"]}
`)
}

func testSLOInhibition(t *testing.T, yaml string) {
	ctx := context.Background()
	cfg, err := alertconfig.Parse("c.yaml", []byte(yaml), channels.Types())
	if err != nil {
		t.Fatal(err)
	}
	mem, err := state.OpenMemory(ctx)
	if err != nil {
		t.Fatal(err)
	}
	defer mem.Close()
	ops := &fake{}
	at := time.Date(2026, 12, 1, 10, 0, 0, 0, time.UTC)
	run := func(i int, sevs ...string) (sent []string, by map[string]string) {
		before := ops.count()
		res, err := Notify(ctx, Options{Config: cfg, At: at.Add(time.Duration(i) * time.Minute), State: mem, Source: "budget",
			Holder: "t", Senders: map[string]notify.Notifier{"ops": ops}}, BudgetBuild([]slo.Budget{sloBudget(t, sevs...)}, at))
		if err != nil {
			t.Fatal(err)
		}
		for _, n := range ops.got[before:] {
			for _, a := range n.Alerts {
				sent = append(sent, a.Rule+" "+n.Kind)
			}
		}
		sort.Strings(sent)
		by = map[string]string{}
		for _, it := range res.Alerts {
			if it.SuppressedBy != "" {
				by[it.Rule.Name] = it.SuppressedBy + ": " + it.InhibitedBy
			}
		}
		// The state (here the memory one replay steps) keeps the same
		// reason for vigil alerts list, and none for an alert not held.
		snap, err := mem.Snapshot(ctx)
		if err != nil {
			t.Fatal(err)
		}
		defer snap.Rollback()
		stored, err := snap.Alerts()
		if err != nil {
			t.Fatal(err)
		}
		for _, a := range stored {
			if want := strings.TrimPrefix(by[a.Rule], "inhibited: "); a.InhibitedBy != want {
				t.Errorf("minute %d: %s stored inhibited_by %q, want %q", i, a.Rule, a.InhibitedBy, want)
			}
		}
		return sent, by
	}
	page := `slo_burn_rate_page{service="api", sli="availability", window="30d"}`
	// Minute 0: all three fire; only the page is sent.
	sent, by := run(0, "page", "ticket", "budget")
	if want := []string{"slo_burn_rate_page firing"}; !reflect.DeepEqual(sent, want) {
		t.Errorf("minute 0: sent %q, want %q", sent, want)
	}
	if want := map[string]string{"slo_burn_rate_ticket": "inhibited: " + page, "slo_error_budget": "inhibited: " + page}; !reflect.DeepEqual(by, want) {
		t.Errorf("minute 0: suppressed %q, want %q", by, want)
	}
	// Minute 1: the page resolves; the ticket, held, is sent now; the
	// budget alert stays inhibited, by the ticket.
	sent, by = run(1, "ticket", "budget")
	if want := []string{"slo_burn_rate_page resolved", "slo_burn_rate_ticket firing"}; !reflect.DeepEqual(sent, want) {
		t.Errorf("minute 1: sent %q, want %q", sent, want)
	}
	if want := map[string]string{"slo_error_budget": `inhibited: slo_burn_rate_ticket{service="api", sli="availability", window="30d"}`}; !reflect.DeepEqual(by, want) {
		t.Errorf("minute 1: suppressed %q, want %q", by, want)
	}
	// Minute 2: only the budget alert fires: it is sent.
	sent, _ = run(2, "budget")
	if want := []string{"slo_burn_rate_ticket resolved", "slo_error_budget firing"}; !reflect.DeepEqual(sent, want) {
		t.Errorf("minute 2: sent %q, want %q", sent, want)
	}
}

// config.SLOAlerts, which vigil check knows inhibit rules by, are the SLO
// alerts budget sends.
func TestSLOAlertsKnownToConfig(t *testing.T) {
	got := map[string]string{}
	for _, r := range BudgetRules {
		got[r.Name] = r.Severity
	}
	if !reflect.DeepEqual(got, alertconfig.SLOAlerts) {
		t.Errorf("BudgetRules %v, config.SLOAlerts %v", got, alertconfig.SLOAlerts)
	}
}
