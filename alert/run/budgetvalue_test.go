package run

import (
	"context"
	"testing"
	"time"

	"github.com/vigil-metrics/vigil/alert/channels"
	alertconfig "github.com/vigil-metrics/vigil/alert/config"
	"github.com/vigil-metrics/vigil/alert/notify"
	"github.com/vigil-metrics/vigil/alert/state"
	"github.com/vigil-metrics/vigil/analyze/slo"
)

// A 7d SLO's page crosses its factor over 14m (the 1h window scaled to
// the SLO window): its notice's value and window are that burn rate and
// window, not the 1h burn rate beside the factor (h30 D6: "Value 11.6667
// (burn-rate factor 14.4), Window 1h" for a firing page).
func TestBurnNoticeValueIsTheCrossingOne(t *testing.T) {
	ctx := context.Background()
	cfg, err := alertconfig.Parse("c.yaml", []byte(withYAML), channels.Types())
	if err != nil {
		t.Fatal(err)
	}
	mem, err := state.OpenMemory(ctx)
	if err != nil {
		t.Fatal(err)
	}
	defer mem.Close()
	b := sloBudget(t, "page")
	b.Objective.Window = slo.Window{Rolling: 7 * 24 * time.Hour}
	long, short, oneHour := 50.0, 50.0, 11.6667
	b.BurnRates = map[string]*float64{"1h": &oneHour}
	b.BurnAlerts = []slo.BurnAlertStatus{{Severity: "page", Long: 14 * time.Minute, Short: 70 * time.Second, Factor: 14.4,
		Share: 0.02, LongRate: &long, ShortRate: &short, Firing: true}}
	ops := &fake{}
	at := time.Date(2026, 12, 1, 0, 0, 0, 0, time.UTC)
	if _, err := Notify(ctx, Options{Config: cfg, At: at, State: mem, Source: "budget", Holder: "t",
		Senders: map[string]notify.Notifier{"ops": ops}}, BudgetBuild([]slo.Budget{b}, at)); err != nil {
		t.Fatal(err)
	}
	if len(ops.got) != 1 {
		t.Fatalf("sent %d notifications, want 1", len(ops.got))
	}
	a := ops.got[0].Alerts[0]
	if a.ValueLine() != "50 (burn-rate factor 14.4)" || a.Window != "14m" || a.Value == nil || *a.Value != 50 {
		t.Errorf("notice: %q, window %q, value %v; want 50 (burn-rate factor 14.4) over 14m", a.ValueLine(), a.Window, a.Value)
	}
}

// An objective that turns invalid (its data no longer covers enough of
// its window) loses its data, as a rule does: a firing page is told
// "resolved" with state nodata, not a plain "resolved" while it may still
// burn (h30 D23).
func TestInvalidObjectiveIsNoData(t *testing.T) {
	ctx := context.Background()
	cfg, err := alertconfig.Parse("c.yaml", []byte(withYAML), channels.Types())
	if err != nil {
		t.Fatal(err)
	}
	mem, err := state.OpenMemory(ctx)
	if err != nil {
		t.Fatal(err)
	}
	defer mem.Close()
	ops := &fake{}
	at := time.Date(2026, 12, 1, 0, 0, 0, 0, time.UTC)
	o := Options{Config: cfg, At: at, State: mem, Source: "budget", Holder: "t", Senders: map[string]notify.Notifier{"ops": ops}}
	if _, err := Notify(ctx, o, BudgetBuild([]slo.Budget{sloBudget(t, "page")}, at)); err != nil {
		t.Fatal(err)
	}
	b := sloBudget(t)
	b.Invalid = "the data covers 18% of the 7d window (min_coverage 50%)"
	o.At = at.Add(time.Minute)
	if _, err := Notify(ctx, o, BudgetBuild([]slo.Budget{b}, o.At)); err != nil {
		t.Fatal(err)
	}
	if len(ops.got) != 2 {
		t.Fatalf("sent %d notifications, want 2", len(ops.got))
	}
	if n := ops.got[1]; n.Kind != "resolved" || n.Alerts[0].Rule != "slo_burn_rate_page" || n.Alerts[0].State != "nodata" {
		t.Errorf("second notice: %s %s state %s, want slo_burn_rate_page resolved, state nodata", n.Alerts[0].Rule, n.Kind, n.Alerts[0].State)
	}
}
