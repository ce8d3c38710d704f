package replay

import (
	"context"
	"fmt"
	"math/rand/v2"
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
	skip, full := steadyReplays(t, 100, func(m int) []store.Sample {
		ts := e0.Add(time.Duration(m) * time.Minute).UnixMilli()
		return []store.Sample{
			{Name: "remind", Type: store.Gauge, TS: ts, Value: hot(m >= 1)},
			{Name: "refire", Type: store.Gauge, TS: ts, Value: hot(m >= 1 && m < 3 || m >= 5)},
			{Name: "page", Type: store.Gauge, TS: ts, Value: hot(m >= 1)}}
	}, `
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
`)
	want := []string{
		"1 page ops firing", "1 refire ops firing", "1 remind ops firing",
		"3 refire ops resolved",
		"21 refire ops firing",
		"46 page pager firing",
		"61 remind ops firing",
		"81 refire ops firing",
	}
	// Three alerts fire for most of 100 runs: most of their steps are
	// steady.
	sameReplays(t, skip, full, want, 200)
}

// An alert not told of in its episode, every channel holding it back as
// a repeat, stays so until that changes: over 70 one-minute runs,
//   - flap (one channel, which wants no resolutions) reads 95 in [1,3)
//     and from 5 on: told at 1; firing again at 5, the channel still
//     believes it fires (its last word, at 1, is less than an hour old),
//     so the first notice of that episode waits until 61;
//   - inc_err (critical) fires in [1,10) and inc_slow from 2 on, one
//     incident (service api): inc_slow joins at 2, its channel told of
//     the incident; when inc_err resolves at 10 no told member fires any
//     more, so inc_slow is news to the channel then.
func TestSteadyUntoldWaitForWhatChanges(t *testing.T) {
	skip, full := steadyReplays(t, 70, func(m int) []store.Sample {
		ts := e0.Add(time.Duration(m) * time.Minute).UnixMilli()
		api := map[string]string{"service": "api"}
		return []store.Sample{
			{Name: "flap", Type: store.Gauge, TS: ts, Value: hot(m >= 1 && m < 3 || m >= 5)},
			{Name: "inc_err", Type: store.Gauge, Labels: api, TS: ts, Value: hot(m >= 1 && m < 10)},
			{Name: "inc_slow", Type: store.Gauge, Labels: api, TS: ts, Value: hot(m >= 2)}}
	}, `
alert_rules:
  - {name: flap, metric_path: flap, condition: greater_than, threshold: 80, severity: low, evaluation_window: 60}
  - {name: inc_err, metric_path: inc_err, condition: greater_than, threshold: 80, severity: critical, evaluation_window: 60, group_by: [service]}
  - {name: inc_slow, metric_path: inc_slow, condition: greater_than, threshold: 80, severity: high, evaluation_window: 60, group_by: [service]}
channels:
  - {name: quiet, type: webhook, url: "http://127.0.0.1:1/quiet", send_resolved: false, filters: [{severity: low}]}
  - {name: ops, type: webhook, url: "http://127.0.0.1:1/ops", filters: [{severity: [critical, high]}]}
correlation_rules:
  - {name: svc, group_key: service, time_window: 30m, alert_patterns: ["inc_*"]}
settings:
  enable_deduplication: true
  enable_correlation: true
`)
	want := []string{
		"1 flap quiet firing", "1 inc_err ops firing",
		"10 inc_err ops resolved", "10 inc_slow ops firing",
		"61 flap quiet firing",
	}
	sameReplays(t, skip, full, want, 100)
}

// hot is a series' value: 95 (over the fixtures' thresholds of 80) when
// b, else 50.
func hot(b bool) float64 {
	if b {
		return 95
	}
	return 50
}

// steadyReplays replays yaml over n one-minute runs from e0 on a store of
// samples(m) for every minute m in [-10, n+1], with skipping and without.
func steadyReplays(t *testing.T, n int, samples func(m int) []store.Sample, yaml string) (skip, full *Replay) {
	t.Helper()
	dir := t.TempDir()
	path := filepath.Join(dir, "m.db")
	ctx := context.Background()
	st, err := store.Open(ctx, path, store.Options{})
	if err != nil {
		t.Fatal(err)
	}
	var s []store.Sample
	for m := -10; m <= n+1; m++ {
		s = append(s, samples(m)...)
	}
	if _, err := st.Write(ctx, s); err != nil {
		t.Fatal(err)
	}
	if err := st.Close(); err != nil {
		t.Fatal(err)
	}
	cfg, err := alertconfig.ParseEnv("c.yaml", []byte(yaml), func(string) (string, bool) { return "", false }, channels.Types())
	if err != nil {
		t.Fatal(err)
	}
	db, err := analyze.Open(ctx, []string{path}, analyze.Options{CacheDir: dir, LockWait: time.Second})
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	replay := func(noSkip bool) *Replay {
		r, err := Run(ctx, db, Options{Config: cfg, From: e0, To: e0.Add(time.Duration(n) * time.Minute), Step: time.Minute, NoSkip: noSkip})
		if err != nil {
			t.Fatal(err)
		}
		return r
	}
	return replay(false), replay(true)
}

// sameReplays checks that skip's notices are want ("minute rule channel
// kind"), that it found what full (NoSkip) found, and that it left out
// more than minSteady alert steps as steady.
func sameReplays(t *testing.T, skip, full *Replay, want []string, minSteady int) {
	t.Helper()
	var got []string
	for _, n := range skip.Notices {
		got = append(got, fmt.Sprintf("%d %s %s %s", int(n.At.Sub(e0).Minutes()), n.Rule, n.Channel, n.Kind))
	}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("notices:\n got %q\nwant %q", got, want)
	}
	for what, pair := range map[string][2]any{"notices": {full.Notices, skip.Notices}, "episodes": {full.Episodes, skip.Episodes},
		"rules": {full.Rules, skip.Rules}, "channels": {full.Channels, skip.Channels}, "incidents": {full.Incidents, skip.Incidents}} {
		if !reflect.DeepEqual(pair[0], pair[1]) {
			t.Errorf("%s differ:\nno skip: %+v\nskip:    %+v", what, pair[0], pair[1])
		}
	}
	if skip.steadied < minSteady || full.steadied != 0 {
		t.Errorf("steady alert steps left out: %d skipping (want over %d), %d not", skip.steadied, minSteady, full.steadied)
	}
}

// Random flapping over random configs: skipping (quiet rules, steady
// alerts, untold members) finds exactly what NoSkip finds. Each seed
// draws hosts' on/off runs, cooldowns, the dedup setting, an escalation
// delay, a silence and a rate limit; the notices are compared whole.
func TestSteadyRandomIsNoSkip(t *testing.T) {
	seeds := 12
	if testing.Short() {
		seeds = 3
	}
	for seed := 1; seed <= seeds; seed++ {
		t.Run(fmt.Sprint(seed), func(t *testing.T) {
			rng := rand.New(rand.NewPCG(uint64(seed), 27))
			const n = 150
			// on[s][m]: series s is hot at minute m, in runs of 1-40 minutes.
			names := []string{"err_a", "err_b", "slow", "disk"}
			hosts := []string{"h1", "h2", "h3"}
			on := map[string][]bool{}
			for _, name := range names {
				for _, h := range hosts {
					runs := make([]bool, n+12)
					hot := rng.IntN(2) == 0
					for m := 0; m < len(runs); {
						l := 1 + rng.IntN(40)
						for i := 0; i < l && m < len(runs); i++ {
							runs[m] = hot
							m++
						}
						hot = !hot
					}
					on[name+"/"+h] = runs
				}
			}
			silence := e0.Add(time.Duration(rng.IntN(n*30)) * time.Second)
			cd := func() string { return []string{"0s", "3m", "10m", "45m", "2h"}[rng.IntN(5)] }
			yaml := fmt.Sprintf(`
alert_rules:
  - {name: err_a, metric_path: err_a, condition: greater_than, threshold: 80, severity: critical, evaluation_window: 60, group_by: [host], cooldown_period: %s}
  - {name: err_b, metric_path: err_b, condition: greater_than, threshold: 80, severity: high, evaluation_window: 60, group_by: [host], cooldown_period: %s, for: %dm}
  - {name: slow, metric_path: slow, condition: greater_than, threshold: 80, severity: medium, evaluation_window: 60, group_by: [host], cooldown_period: %s}
  - {name: disk, metric_path: disk, condition: greater_than, threshold: 80, severity: low, evaluation_window: 60, group_by: [host], cooldown_period: %s}
channels:
  - {name: ops, type: webhook, url: "http://127.0.0.1:1/ops", filters: [{severity: [critical, high, medium]}]}
  - {name: quiet, type: webhook, url: "http://127.0.0.1:1/quiet", send_resolved: false}
  - {name: pager, type: webhook, url: "http://127.0.0.1:1/pager", filters: [{team: [nobody]}]}
escalation:
  - name: page
    triggers: [{severity: critical}]
    steps:
      - {delay: 0, channels: [ops]}
      - {delay: %dm, channels: [pager]}
correlation_rules:
  - {name: host, group_key: host, time_window: %dm, alert_patterns: ["err_*", "slow"]}
silences:
  - matchers: {host: h2}
    starts_at: %s
    ends_at: %s
settings:
  enable_deduplication: %v
  enable_correlation: true
  max_alerts_per_minute: %d
`, cd(), cd(), rng.IntN(4), cd(), cd(), 1+rng.IntN(90), 5+rng.IntN(60),
				silence.Format(time.RFC3339), silence.Add(time.Duration(1+rng.IntN(n*30))*time.Second).Format(time.RFC3339),
				rng.IntN(4) > 0, []int{1000, 2, 5}[rng.IntN(3)])
			skip, full := steadyReplays(t, n, func(m int) []store.Sample {
				if m < 0 {
					m = 0
				}
				var s []store.Sample
				ts := e0.Add(time.Duration(m) * time.Minute).UnixMilli()
				for _, name := range names {
					for _, h := range hosts {
						v := 50.0
						if on[name+"/"+h][m] {
							v = 95
						}
						s = append(s, store.Sample{Name: name, Type: store.Gauge, Labels: map[string]string{"host": h}, TS: ts, Value: v})
					}
				}
				return s
			}, yaml)
			for what, pair := range map[string][2]any{"notices": {full.Notices, skip.Notices}, "episodes": {full.Episodes, skip.Episodes},
				"rules": {full.Rules, skip.Rules}, "channels": {full.Channels, skip.Channels}, "incidents": {full.Incidents, skip.Incidents}} {
				if !reflect.DeepEqual(pair[0], pair[1]) {
					t.Errorf("%s differ (config %s):\nno skip: %+v\nskip:    %+v", what, yaml, pair[0], pair[1])
				}
			}
			if len(full.Notices) == 0 || skip.steadied == 0 {
				t.Errorf("%d notices, %d steady steps: the comparison proves little", len(full.Notices), skip.steadied)
			}
		})
	}
}
