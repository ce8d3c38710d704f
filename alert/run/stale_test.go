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

// A firing SLO alert that vigil budget --notify left in the state DB
// inhibits evaluate's alerts only while it is fresh (h30 D8): evaluated
// at most StaleAfter("budget") ago. Past that the held target is
// notified: a source nobody refreshes expires, as an alert Alertmanager
// is not sent again does. A budget run for another service (--service)
// does not make it stale.
func TestStaleSourceStopsInhibiting(t *testing.T) {
	ctx := context.Background()
	cfg, err := alertconfig.Parse("c.yaml", []byte(withYAML+`inhibit_rules:
  - {source_matchers: ['alertname="slo_burn_rate_page"'], target_matchers: ['alertname="high_cpu"'], equal: [service]}
`), channels.Types())
	if err != nil {
		t.Fatal(err)
	}
	t0 := time.Date(2026, 11, 30, 23, 30, 0, 0, time.UTC)
	cpu := func(at time.Time) Build { // high_cpu{service=api} fires from t0 on
		return func(prev map[uint64]state.Alert) []*notify.Item {
			labels := map[string]string{"service": "api"}
			p, ok := prev[state.Fingerprint("high_cpu", labels)]
			if !ok {
				p = state.NewAlert("high_cpu", labels)
			}
			return []*notify.Item{{Rule: &cfg.Rules[0], Prev: p, Alert: state.Step(p, state.Observation{HasData: true, Breached: true, Value: 95}, at, 0)}}
		}
	}
	for _, c := range []struct {
		name  string
		renew func(mem *state.DB) // what budget does after its first run
		at    time.Duration       // when evaluate runs
		held  bool
	}{
		{"fresh", nil, time.Minute, true},
		{"fresh at the limit", nil, StaleAfter(cfg, "budget"), true},
		{"stale", nil, StaleAfter(cfg, "budget") + time.Minute, false},
		{"a day old", nil, 24 * time.Hour, false},
		{"another service's budget run since", func(mem *state.DB) {
			b := sloBudget(t)
			b.Objective.Service = "web" // vigil budget --notify --service web
			if _, err := Notify(ctx, Options{Config: cfg, At: t0.Add(time.Minute), State: mem, Source: "budget", Holder: "t",
				Senders: map[string]notify.Notifier{"ops": &fake{}}}, BudgetBuild([]slo.Budget{b}, t0.Add(time.Minute))); err != nil {
				t.Fatal(err)
			}
		}, 2 * time.Minute, true},
	} {
		mem, err := state.OpenMemory(ctx)
		if err != nil {
			t.Fatal(err)
		}
		ops := &fake{}
		o := Options{Config: cfg, At: t0, State: mem, Source: "budget", Holder: "t", Senders: map[string]notify.Notifier{"ops": ops}}
		b := sloBudget(t, "page")
		b.Objective.Window = slo.Window{Rolling: 30 * 24 * time.Hour}
		if _, err := Notify(ctx, o, BudgetBuild([]slo.Budget{b}, t0)); err != nil {
			t.Fatal(err)
		}
		if c.renew != nil {
			c.renew(mem)
		}
		o.At, o.Source = t0.Add(c.at), "evaluate"
		res, err := Notify(ctx, o, cpu(o.At))
		if err != nil {
			t.Fatal(err)
		}
		it := res.Alerts[0]
		if held := it.SuppressedBy == notify.ByInhibit; held != c.held || !held && len(it.Queued) != 1 {
			t.Errorf("%s: high_cpu suppressed by %q (%s), queued %q; want held %v", c.name, it.SuppressedBy, it.InhibitedBy, it.Queued, c.held)
		}
		mem.Close()
	}
}
