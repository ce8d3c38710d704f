package replay

import (
	"context"
	"fmt"
	"path/filepath"
	"reflect"
	"testing"
	"time"

	"github.com/vigil-metrics/vigil/alert/channels"
	alertconfig "github.com/vigil-metrics/vigil/alert/config"
	"github.com/vigil-metrics/vigil/analyze"
	"github.com/vigil-metrics/vigil/internal/store"
)

// Steady alerts are left out only until something falls due: over 100
// one-minute runs, with one channel and deduplication on,
//   - remind (cooldown 5m) reads 95 all along: told at minute 1, then in
//     cooldown until 6, deduplicated until the hour is out, and reminded
//     at 61 (notify.DedupWindow) and again at 121 — out of range;
//   - refire (cooldown 20m) reads 95 in [1,3) and from 5 on: told at 1,
//     resolved at 3, firing again at 5 but in its cooldown, so its first
//     notice of that episode waits until 21, and its reminder until 81;
//   - page (critical, no cooldown) reads 95 from 1 on and escalates to a
//     second channel 45 minutes after it fired: at 46.
//
// Those instants are worked out by hand from the pipeline's rules; the
// replay must find them with steady alerts left out, as without.
func TestSteadyAlertsWaitForWhatFallsDue(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "m.db")
	ctx := context.Background()
	st, err := store.Open(ctx, path, store.Options{})
	if err != nil {
		t.Fatal(err)
	}
	var s []store.Sample
	for m := -10; m <= 101; m++ {
		ts := e0.Add(time.Duration(m) * time.Minute).UnixMilli()
		v := func(hot bool) float64 {
			if hot {
				return 95
			}
			return 50
		}
		s = append(s,
			store.Sample{Name: "remind", Type: store.Gauge, TS: ts, Value: v(m >= 1)},
			store.Sample{Name: "refire", Type: store.Gauge, TS: ts, Value: v(m >= 1 && m < 3 || m >= 5)},
			store.Sample{Name: "page", Type: store.Gauge, TS: ts, Value: v(m >= 1)})
	}
	if _, err := st.Write(ctx, s); err != nil {
		t.Fatal(err)
	}
	if err := st.Close(); err != nil {
		t.Fatal(err)
	}
	cfg, err := alertconfig.ParseEnv("c.yaml", []byte(`
alert_rules:
  - {name: remind, metric_path: remind, condition: greater_than, threshold: 80, severity: low, evaluation_window: 60, cooldown_period: 5m}
  - {name: refire, metric_path: refire, condition: greater_than, threshold: 80, severity: low, evaluation_window: 60, cooldown_period: 20m}
  - {name: page, metric_path: page, condition: greater_than, threshold: 80, severity: critical, evaluation_window: 60}
channels:
  - {name: ops, type: webhook, url: "http://127.0.0.1:1/ops", send_resolved: true}
  - {name: pager, type: webhook, url: "http://127.0.0.1:1/pager", filters: [{team: [nobody]}]}
escalation:
  - name: page
    triggers: [{severity: critical}]
    steps:
      - {delay: 0, channels: [ops]}
      - {delay: 45m, channels: [pager]}
settings:
  enable_deduplication: true
`), func(string) (string, bool) { return "", false }, channels.Types())
	if err != nil {
		t.Fatal(err)
	}
	db, err := analyze.Open(ctx, []string{path}, analyze.Options{CacheDir: dir, LockWait: time.Second})
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	replay := func(noSkip bool) *Replay {
		r, err := Run(ctx, db, Options{Config: cfg, From: e0, To: e0.Add(100 * time.Minute), Step: time.Minute, NoSkip: noSkip})
		if err != nil {
			t.Fatal(err)
		}
		return r
	}
	skip, full := replay(false), replay(true)
	var got []string
	for _, n := range skip.Notices {
		got = append(got, fmt.Sprintf("%d %s %s %s", int(n.At.Sub(e0).Minutes()), n.Rule, n.Channel, n.Kind))
	}
	want := []string{
		"1 page ops firing", "1 refire ops firing", "1 remind ops firing",
		"3 refire ops resolved",
		"21 refire ops firing",
		"46 page pager firing",
		"61 remind ops firing",
		"81 refire ops firing",
	}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("notices:\n got %q\nwant %q", got, want)
	}
	for what, pair := range map[string][2]any{"notices": {full.Notices, skip.Notices}, "episodes": {full.Episodes, skip.Episodes},
		"rules": {full.Rules, skip.Rules}, "channels": {full.Channels, skip.Channels}} {
		if !reflect.DeepEqual(pair[0], pair[1]) {
			t.Errorf("%s differ:\nno skip: %+v\nskip:    %+v", what, pair[0], pair[1])
		}
	}
	// Three alerts fire for most of 100 runs: most of their steps are
	// steady.
	if skip.steadied < 200 || full.steadied != 0 {
		t.Errorf("steady alert steps left out: %d skipping (want over 200), %d not", skip.steadied, full.steadied)
	}
}
