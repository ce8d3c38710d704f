package run

import (
	"context"
	"os"
	"path/filepath"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/vigil-metrics/vigil/alert/channels"
	alertconfig "github.com/vigil-metrics/vigil/alert/config"
	"github.com/vigil-metrics/vigil/alert/notify"
	"github.com/vigil-metrics/vigil/alert/state"
	"github.com/vigil-metrics/vigil/analyze"
	"github.com/vigil-metrics/vigil/internal/metricpath"
	"github.com/vigil-metrics/vigil/internal/store"
)

// t0 is the first run's instant: 30 s after the first samples.
var t0 = time.Date(2026, 11, 29, 10, 0, 30, 0, time.UTC)

// high_cpu over 80 for 60 s (window 60 s, one sample per run): host a
// reads 95 at 10:00, 10:01 and 10:02, host b 50. Runs at :30 past each
// minute: host a is pending at 10:00:30, firing at 10:01:30.
const rulesYAML = `alert_rules:
  - name: high_cpu
    metric_path: cpu_usage_percent
    condition: greater_than
    threshold: 80
    severity: high
    evaluation_window: 60
    for: 60
    group_by: [host]
recording_rules:
  - metric_path: cpu_usage_percent.avg
    target: cpu_avg_1m
    window: 60
channels:
  - name: ops
    type: webhook
    url: http://127.0.0.1:1/hook
`

var (
	hostA = state.Fingerprint("high_cpu", map[string]string{"host": "a"})
	hostB = state.Fingerprint("high_cpu", map[string]string{"host": "b"})
)

// fake is a notifier that records what it was given.
type fake struct {
	mu  sync.Mutex
	got []notify.Notification
}

func (f *fake) Notify(_ context.Context, n notify.Notification) (bool, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.got = append(f.got, n)
	return false, nil
}

func (f *fake) count() int {
	f.mu.Lock()
	defer f.mu.Unlock()
	return len(f.got)
}

type fixture struct {
	dir, store string
	cfg        *alertconfig.Config
	ops        *fake
}

func newFixture(t *testing.T) *fixture {
	t.Helper()
	dir := t.TempDir()
	f := &fixture{dir: dir, store: filepath.Join(dir, "m.db"), ops: &fake{}}
	st, err := store.Open(context.Background(), f.store, store.Options{})
	if err != nil {
		t.Fatal(err)
	}
	var s []store.Sample
	for i := range 3 {
		ts := t0.Add(-30*time.Second + time.Duration(i)*time.Minute).UnixMilli()
		s = append(s,
			store.Sample{Name: "cpu_usage_percent", Type: store.Gauge, Labels: map[string]string{"host": "a"}, TS: ts, Value: 95},
			store.Sample{Name: "cpu_usage_percent", Type: store.Gauge, Labels: map[string]string{"host": "b"}, TS: ts, Value: 50})
	}
	if _, err := st.Write(context.Background(), s); err != nil {
		t.Fatal(err)
	}
	if err := st.Close(); err != nil {
		t.Fatal(err)
	}
	if f.cfg, err = alertconfig.Parse("c.yaml", []byte(rulesYAML), channels.Types()); err != nil {
		t.Fatal(err)
	}
	return f
}

// options are a run's at at, recording into rec.db.
func (f *fixture) options(at time.Time, dry bool) Options {
	return Options{
		Config: f.cfg, At: at, DryRun: dry,
		OpenStores: func(ctx context.Context) (*analyze.DB, error) {
			return analyze.Open(ctx, []string{f.store}, analyze.Options{CacheDir: f.dir, LockWait: time.Second})
		},
		RecordDB:  filepath.Join(f.dir, "rec.db"),
		StatePath: filepath.Join(f.dir, "state.db"), Holder: "test", LockTimeout: time.Second,
		Senders: map[string]notify.Notifier{"ops": f.ops},
		Target:  func(c alertconfig.Channel) string { return "target of " + c.Name },
	}
}

func (f *fixture) evaluate(t *testing.T, at time.Time, dry bool) Result {
	t.Helper()
	res, err := Evaluate(context.Background(), f.options(at, dry))
	if err != nil {
		t.Fatal(err)
	}
	return res
}

// stored is the state DB's alerts and queued notices.
func (f *fixture) stored(t *testing.T) (map[uint64]state.Alert, []state.Notice) {
	t.Helper()
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
	alerts, err := r.Alerts()
	if err != nil {
		t.Fatal(err)
	}
	queued, err := r.Notices(state.Queued)
	if err != nil {
		t.Fatal(err)
	}
	return alerts, queued
}

// alert is res's alert of fp.
func alert(t *testing.T, res Result, fp uint64) *notify.Item {
	t.Helper()
	for _, it := range res.Alerts {
		if it.Alert.Fingerprint == fp {
			return it
		}
	}
	t.Fatalf("no alert %s in the result", state.FormatFingerprint(fp))
	return nil
}

func TestEvaluatePendingThenFiringSendsOnce(t *testing.T) {
	f := newFixture(t)

	res := f.evaluate(t, t0, false)
	if len(res.Alerts) != 2 || res.Alerts[0].Alert.Fingerprint != hostA || res.Alerts[1].Alert.Fingerprint != hostB {
		t.Fatalf("alerts = %v, want host a then host b", res.Alerts)
	}
	if got := alert(t, res, hostA).Alert.State; got != state.Pending {
		t.Errorf("10:00:30: host a %s, want pending", got)
	}
	if got := alert(t, res, hostB).Alert.State; got != state.Inactive {
		t.Errorf("10:00:30: host b %s, want inactive", got)
	}
	if n := f.ops.count(); n != 0 {
		t.Errorf("10:00:30: %d notifications, want none while pending", n)
	}
	// An alert inactive before and after is not written (eval.Stored).
	if alerts, _ := f.stored(t); len(alerts) != 1 || alerts[hostA].State != state.Pending {
		t.Errorf("state after 10:00:30 = %v, want host a pending alone", alerts)
	}

	res = f.evaluate(t, t0.Add(time.Minute), false)
	if got := alert(t, res, hostA).Alert.State; got != state.Firing {
		t.Fatalf("10:01:30: host a %s, want firing", got)
	}
	if got := res.Outcome.Sent[hostA]; !slices.Equal(got, []string{"ops"}) {
		t.Errorf("10:01:30: sent %v, want [ops]", got)
	}
	if n := f.ops.count(); n != 1 {
		t.Fatalf("10:01:30: %d notifications, want 1", n)
	}
	n := f.ops.got[0]
	if n.Kind != "firing" || len(n.Alerts) != 1 || n.Alerts[0].Labels["host"] != "a" || n.Channel.Name != "ops" || !n.At.Equal(t0.Add(time.Minute)) {
		t.Errorf("notification = %+v, want host a firing to ops at 10:01:30", n)
	}

	res = f.evaluate(t, t0.Add(2*time.Minute), false)
	if got := alert(t, res, hostA).Alert.State; got != state.Firing {
		t.Errorf("10:02:30: host a %s, want firing", got)
	}
	if n := f.ops.count(); n != 1 {
		t.Errorf("10:02:30: %d notifications in all, want still 1", n)
	}
	if _, queued := f.stored(t); len(queued) != 0 {
		t.Errorf("queued after the runs = %v, want none", queued)
	}
}

func TestEvaluateDryRunChangesNothing(t *testing.T) {
	f := newFixture(t)
	rec := filepath.Join(f.dir, "rec.db")

	res := f.evaluate(t, t0, true)
	if got := alert(t, res, hostA).Alert.State; got != state.Pending {
		t.Errorf("dry 10:00:30: host a %s, want pending", got)
	}
	if res.WouldSend == nil || len(res.WouldSend) != 0 {
		t.Errorf("dry 10:00:30: would send %v, want an empty list", res.WouldSend)
	}
	if _, err := os.Stat(rec); !os.IsNotExist(err) {
		t.Errorf("a dry run wrote the recording rules' store (%v)", err)
	}
	if alerts, _ := f.stored(t); len(alerts) != 0 {
		t.Errorf("state after a dry run = %v, want empty", alerts)
	}

	f.evaluate(t, t0, false)
	// The record store now holds the average of 95 and 50 at 10:00:30.
	if got := recorded(t, f, t0); got != 72.5 {
		t.Errorf("cpu_avg_1m = %v, want 72.5", got)
	}

	res = f.evaluate(t, t0.Add(time.Minute), true)
	if got := alert(t, res, hostA).Alert.State; got != state.Firing {
		t.Errorf("dry 10:01:30: host a %s, want firing", got)
	}
	if len(res.WouldSend) != 1 {
		t.Fatalf("dry 10:01:30: would send %v, want one message", res.WouldSend)
	}
	s := res.WouldSend[0]
	if s.Channel != "ops" || s.Type != "webhook" || s.Target != "target of ops" || s.Kind != "firing" || s.Step != nil ||
		len(s.Alerts) != 1 || s.Alerts[0].Fingerprint != state.FormatFingerprint(hostA) || s.Alerts[0].Labels["host"] != "a" {
		t.Errorf("would send %+v, want host a firing to ops", s)
	}
	if n := f.ops.count(); n != 0 {
		t.Errorf("a dry run sent %d notifications", n)
	}
	if alerts, queued := f.stored(t); alerts[hostA].State != state.Pending || len(queued) != 0 {
		t.Errorf("state after a dry run: host a %s, queued %v; want pending, none", alerts[hostA].State, queued)
	}
	// The real run is still the one that fires and sends.
	if res := f.evaluate(t, t0.Add(time.Minute), false); !slices.Equal(res.Outcome.Sent[hostA], []string{"ops"}) {
		t.Errorf("real 10:01:30: sent %v, want [ops]", res.Outcome.Sent[hostA])
	}
}

// recorded is cpu_avg_1m's last value at at in the record store.
func recorded(t *testing.T, f *fixture, at time.Time) float64 {
	t.Helper()
	ctx := context.Background()
	db, err := analyze.Open(ctx, []string{filepath.Join(f.dir, "rec.db")}, analyze.Options{CacheDir: t.TempDir(), LockWait: time.Second})
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	e, err := metricpath.Parse("cpu_avg_1m.last")
	if err != nil {
		t.Fatal(err)
	}
	rs, err := db.Eval(ctx, e, analyze.Window{At: at, Length: time.Minute})
	if err != nil {
		t.Fatal(err)
	}
	if len(rs) != 1 {
		t.Fatalf("cpu_avg_1m: %v, want one result", rs)
	}
	return rs[0].Value
}

type killed struct{}

func TestEvaluateKilledAfterRecordLeavesNoticesQueued(t *testing.T) {
	f := newFixture(t)
	f.evaluate(t, t0, false)

	o := f.options(t0.Add(time.Minute), false)
	o.AfterRecord = func() { panic(killed{}) }
	func() {
		defer func() {
			if r := recover(); r != (killed{}) {
				t.Fatalf("the run went on past AfterRecord (recovered %v)", r)
			}
		}()
		_, _ = Evaluate(context.Background(), o)
	}()
	if n := f.ops.count(); n != 0 {
		t.Errorf("%d notifications sent before the crash point, want none", n)
	}
	alerts, queued := f.stored(t)
	if alerts[hostA].State != state.Firing {
		t.Errorf("host a %s after the crash, want firing (committed)", alerts[hostA].State)
	}
	if len(queued) != 1 || queued[0].Channel != "ops" || queued[0].Fingerprint != hostA || queued[0].Kind != "firing" {
		t.Fatalf("queued after the crash = %+v, want host a firing to ops", queued)
	}

	// The next run sends the recorded notice once and decides no new one.
	res := f.evaluate(t, t0.Add(2*time.Minute), false)
	if !slices.Equal(res.Outcome.Sent[hostA], []string{"ops"}) || f.ops.count() != 1 {
		t.Errorf("next run sent %v (%d notifications), want [ops] once", res.Outcome.Sent[hostA], f.ops.count())
	}
	// 10:03:30: the samples stopped at 10:02, so host a loses its data:
	// the firing notice is not sent again, and ops hears the resolution
	// (issue 23: losing data resolves at the receiver).
	f.evaluate(t, t0.Add(3*time.Minute), false)
	var kinds []string
	for _, n := range f.ops.got {
		kinds = append(kinds, n.Kind)
	}
	if !slices.Equal(kinds, []string{"firing", "resolved"}) {
		t.Errorf("notifications in all %v, want [firing resolved]", kinds)
	}
}

// Notify is the shared half: a caller's own alerts (as budget --notify
// builds them) go through the same pipeline and state.
func TestNotifyBuildsFromPrevious(t *testing.T) {
	f := newFixture(t)
	rule := &alertconfig.Rule{Name: "budget", Severity: "medium", CooldownPeriod: time.Hour}
	labels := map[string]string{"service": "api"}
	fp := state.Fingerprint(rule.Name, labels)
	var prevs []state.Alert
	build := func(prev map[uint64]state.Alert) []*notify.Item {
		p, ok := prev[fp]
		if !ok {
			p = state.NewAlert(rule.Name, labels)
		}
		prevs = append(prevs, p)
		at := t0.Add(time.Duration(len(prevs)-1) * time.Minute)
		return []*notify.Item{{Rule: rule, Prev: p, Alert: state.Step(p, state.Observation{HasData: true, Breached: true, Value: 90}, at, 0)}}
	}
	for i := range 2 {
		o := f.options(t0.Add(time.Duration(i)*time.Minute), false)
		o.OpenStores = nil // Notify reads no store
		res, err := Notify(context.Background(), o, build)
		if err != nil {
			t.Fatal(err)
		}
		want := []string{"ops"}
		if i == 1 {
			want = nil // within the hour's cooldown
		}
		if got := res.Outcome.Sent[fp]; !slices.Equal(got, want) {
			t.Errorf("run %d: sent %v, want %v", i, got, want)
		}
	}
	if prevs[0].State != state.Inactive || prevs[1].State != state.Firing {
		t.Errorf("previous states %s, %s; want inactive, then firing", prevs[0].State, prevs[1].State)
	}
	if f.ops.count() != 1 {
		t.Errorf("%d notifications, want 1", f.ops.count())
	}
}
