package run

import (
	"context"
	"path/filepath"
	"testing"
	"time"

	"github.com/vigil-metrics/vigil/alert/channels"
	alertconfig "github.com/vigil-metrics/vigil/alert/config"
	"github.com/vigil-metrics/vigil/alert/state"
)

// A rule that cannot be evaluated keeps its alerts as they are, the
// incident they hold included. high_cpu (for 60 s) fires on host a at
// 10:01:30 and opens incident cpu_burst/a; at 10:02:30 the rule asks the
// rate of cpu_usage_percent, a gauge, and cannot be evaluated: host a's
// alert stays firing in its incident, the incident stays open, nothing is
// sent and the error is in the result and in the history. Closing the
// incident would be a resolution nobody saw.
func TestEvaluateRuleErrorKeepsAlertsAndIncident(t *testing.T) {
	f := newFixture(t)
	withCorrelation := rulesYAML + `correlation_rules:
  - {name: cpu_burst, group_key: host, time_window: 10m, alert_patterns: ["high_*"]}
settings:
  enable_correlation: true
`
	var err error
	if f.cfg, err = alertconfig.Parse("c.yaml", []byte(withCorrelation), channels.Types()); err != nil {
		t.Fatal(err)
	}
	f.evaluate(t, t0, false)
	res := f.evaluate(t, t0.Add(time.Minute), false)
	a := alert(t, res, hostA).Alert
	if a.State != state.Firing || a.Incident == "" {
		t.Fatalf("10:01:30: host a %s in incident %q, want firing in one", a.State, a.Incident)
	}
	sent := f.ops.count()

	f.cfg.Rules[0].MetricPath, f.cfg.Rules[0].Path = "cpu_usage_percent.rate", nil
	res = f.evaluate(t, t0.Add(2*time.Minute), false)
	if len(res.RuleErrors) != 1 || res.RuleErrors[0].Rule != "high_cpu" {
		t.Fatalf("rule errors %v, want high_cpu's", res.RuleErrors)
	}
	if len(res.Alerts) != 0 {
		t.Errorf("alerts %v, want none: the rule's alerts are not stepped", res.Alerts)
	}
	if n := f.ops.count(); n != sent {
		t.Errorf("%d notifications sent, want none", n-sent)
	}
	alerts, queued := f.stored(t)
	if got := alerts[hostA]; got.State != state.Firing || got.Incident != a.Incident || !got.LastEval.Equal(a.LastEval) {
		t.Errorf("host a stored %s in %q last evaluated %s, want firing in %q as of %s", got.State, got.Incident, got.LastEval, a.Incident, a.LastEval)
	}
	if len(queued) != 0 {
		t.Errorf("queued %v, want nothing", queued)
	}
	db, err := state.Open(context.Background(), filepath.Join(f.dir, "state.db"))
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	r, err := db.Snapshot(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	defer r.Rollback()
	open, err := r.Incidents()
	if err != nil || len(open) != 1 || open[0].ID != a.Incident {
		t.Errorf("open incidents %v (%v), want %s", open, err, a.Incident)
	}
	errs, err := r.RuleErrors(time.Time{})
	if err != nil || len(errs) != 1 || errs[0].Rule != "high_cpu" || !errs[0].At.Equal(t0.Add(2*time.Minute)) {
		t.Errorf("history rule errors %v (%v), want high_cpu at 10:02:30", errs, err)
	}
}
