package run

import (
	"context"
	"fmt"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/vigil-metrics/vigil/alert/channels"
	alertconfig "github.com/vigil-metrics/vigil/alert/config"
	"github.com/vigil-metrics/vigil/alert/notify"
	"github.com/vigil-metrics/vigil/alert/state"
	"github.com/vigil-metrics/vigil/analyze"
	"github.com/vigil-metrics/vigil/internal/store"
)

// high_cpu with a `for` and a cooldown, and no recording rules: replay
// records nothing, so the two sides must not differ by that.
const withYAML = `alert_rules:
  - name: high_cpu
    metric_path: cpu_usage_percent
    condition: greater_than
    threshold: 80
    severity: high
    evaluation_window: 60
    for: 60
    cooldown_period: 600
    group_by: [host]
channels:
  - name: ops
    type: webhook
    url: http://127.0.0.1:1/hook
`

// withValues is host a's cpu at minute i (host b stays at 50): above 80 at
// minutes 0-2 and 5-7. Runs at :30 past each minute see one sample each.
var withValues = []float64{95, 95, 95, 50, 50, 95, 95, 95, 50, 50}

// step is one run's decisions and what reached the notifier, as strings
// that compare across the two sides.
type step struct {
	items, notices, plan []string
}

func describeRun(res Result, got []notify.Notification) step {
	var s step
	for _, it := range res.Alerts {
		s.items = append(s.items, fmt.Sprintf("%s %x %s->%s suppressed=%q queued=%v",
			it.Rule.Name, it.Alert.Fingerprint, it.Prev.State, it.Alert.State, it.SuppressedBy, it.Queued))
	}
	for _, n := range got {
		var fps []string
		for _, a := range n.Alerts {
			fps = append(fps, a.Fingerprint+"="+a.State)
		}
		s.notices = append(s.notices, fmt.Sprintf("%s %s %s %s", n.At.Format(time.RFC3339), n.Channel.Name, n.Kind, strings.Join(fps, ",")))
	}
	for _, n := range res.Plan.Notices {
		s.plan = append(s.plan, fmt.Sprintf("%s %s %x", n.Channel, n.Kind, n.Fingerprint))
	}
	return s
}

// EvaluateWith on a memory state, stepped over the same instants as
// Evaluate on a file state, decides and notifies exactly the same: it is
// the same code (the library half of replay's equivalence test).
func TestEvaluateWithMemoryEqualsEvaluate(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	storePath := filepath.Join(dir, "m.db")
	st, err := store.Open(ctx, storePath, store.Options{})
	if err != nil {
		t.Fatal(err)
	}
	var s []store.Sample
	for i, v := range withValues {
		ts := t0.Add(-30*time.Second + time.Duration(i)*time.Minute).UnixMilli()
		s = append(s,
			store.Sample{Name: "cpu_usage_percent", Type: store.Gauge, Labels: map[string]string{"host": "a"}, TS: ts, Value: v},
			store.Sample{Name: "cpu_usage_percent", Type: store.Gauge, Labels: map[string]string{"host": "b"}, TS: ts, Value: 50})
	}
	if _, err := st.Write(ctx, s); err != nil {
		t.Fatal(err)
	}
	if err := st.Close(); err != nil {
		t.Fatal(err)
	}
	cfg, err := alertconfig.Parse("c.yaml", []byte(withYAML), channels.Types())
	if err != nil {
		t.Fatal(err)
	}
	openStores := func(ctx context.Context) (*analyze.DB, error) {
		return analyze.Open(ctx, []string{storePath}, analyze.Options{CacheDir: dir, LockWait: time.Second})
	}

	// Side A: Evaluate, each run opening the stores and a file state.
	fileOps := &fake{}
	var fileSteps []step
	for i := range withValues {
		at := t0.Add(time.Duration(i) * time.Minute)
		before := fileOps.count()
		res, err := Evaluate(ctx, Options{Config: cfg, At: at, OpenStores: openStores,
			StatePath: filepath.Join(dir, "state.db"), Holder: "test", LockTimeout: time.Second,
			Senders: map[string]notify.Notifier{"ops": fileOps}})
		if err != nil {
			t.Fatal(err)
		}
		fileSteps = append(fileSteps, describeRun(res, fileOps.got[before:]))
	}

	// Side B: EvaluateWith over one open store and one memory state.
	db, err := openStores(ctx)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	mem, err := state.OpenMemory(ctx)
	if err != nil {
		t.Fatal(err)
	}
	defer mem.Close()
	memOps := &fake{}
	for i := range withValues {
		at := t0.Add(time.Duration(i) * time.Minute)
		before := memOps.count()
		res, err := EvaluateWith(ctx, Options{Config: cfg, At: at, State: mem, Holder: "replay",
			Senders: map[string]notify.Notifier{"ops": memOps}}, db)
		if err != nil {
			t.Fatalf("step %d: %v", i, err)
		}
		got := describeRun(res, memOps.got[before:])
		if !reflect.DeepEqual(got, fileSteps[i]) {
			t.Errorf("step %d (%s):\nEvaluateWith %+v\n    Evaluate %+v", i, at.Format(time.TimeOnly), got, fileSteps[i])
		}
	}
	// The memory state was used and left open: a run on it still works.
	if r, err := mem.Begin(ctx, "replay", 0); err != nil {
		t.Fatalf("the run closed the state DB it was given: %v", err)
	} else {
		r.Rollback()
	}

	// The scenario is what it claims, known independently of the code:
	// host a pending at minute 0, firing at 1 (one notice), resolved at 3
	// (one notice), pending at 5, firing at 6 within the 10 min cooldown
	// of its last notice (suppressed, no notice).
	a := fmt.Sprintf("%x", hostA)
	wantA := map[int]string{
		0: "inactive->pending", 1: "pending->firing", 3: "firing->resolved",
		5: "inactive->pending", 6: "pending->firing",
	}
	for i, want := range wantA {
		found := false
		for _, it := range fileSteps[i].items {
			if strings.Contains(it, " "+a+" "+want+" ") {
				found = true
			}
		}
		if !found {
			t.Errorf("minute %d: host a not %s: %v", i, want, fileSteps[i].items)
		}
	}
	if !strings.Contains(strings.Join(fileSteps[6].items, "\n"), `suppressed="cooldown"`) {
		t.Errorf("minute 6: want the re-fire held by the cooldown: %v", fileSteps[6].items)
	}
	var notices int
	for i, s := range fileSteps {
		notices += len(s.notices)
		if len(s.plan) != len(s.notices) {
			t.Errorf("minute %d: Result.Plan has %d notices, %d were sent", i, len(s.plan), len(s.notices))
		}
	}
	if notices != 2 {
		t.Errorf("want 2 notices (firing at 1, resolved at 3), got %d: %+v", notices, fileSteps)
	}
}
