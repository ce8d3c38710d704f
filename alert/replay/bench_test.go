package replay

import (
	"context"
	"fmt"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/vigil-metrics/vigil/alert/channels"
	alertconfig "github.com/vigil-metrics/vigil/alert/config"
	alertrun "github.com/vigil-metrics/vigil/alert/run"
	"github.com/vigil-metrics/vigil/alert/state"
	"github.com/vigil-metrics/vigil/analyze"
	"github.com/vigil-metrics/vigil/internal/metricpath"
)

// constQuerier answers every window at once from a formula, so that a
// benchmark measures the pipeline's per-step work (stepping, deciding,
// the state DB), not the stores': load_0 reads 100 when busy (its rule
// fires all along), load_1 reads 100 for 5 minutes of every 30, every
// other load_i 1.
type constQuerier struct{ busy bool }

func (c constQuerier) Eval(_ context.Context, e *metricpath.Expr, w analyze.Window) ([]analyze.Result, error) {
	v := 1.0
	switch e.Num.Name {
	case "load_0":
		if c.busy {
			v = 100
		}
	case "load_1":
		if w.At.Minute()%30 < 5 {
			v = 100
		}
	}
	return []analyze.Result{{Labels: map[string]string{}, Value: v, Samples: 1}}, nil
}

func (c constQuerier) Buckets(context.Context, *metricpath.Expr, time.Time, time.Duration, int) ([]analyze.BucketSeries, error) {
	return nil, nil
}

// BenchmarkReplayStep is one replayed run of 200 rules, most quiet, with
// and without skipping, with a rule firing all along (busy: the pipeline
// is never idle) or not: ns/op is per step.
func BenchmarkReplayStep(b *testing.B) {
	var y strings.Builder
	y.WriteString("alert_rules:\n")
	for i := range 200 {
		fmt.Fprintf(&y, "  - {name: r%03d, metric_path: load_%d, condition: greater_than, threshold: 50, severity: high, evaluation_window: 60, cooldown_period: 10m}\n", i, i)
	}
	y.WriteString("channels:\n  - {name: ops, type: webhook, url: \"http://127.0.0.1:1/ops\"}\n  - {name: am, type: alertmanager, url: \"http://127.0.0.1:1\"}\n")
	cfg, err := alertconfig.ParseEnv("bench.yaml", []byte(y.String()), func(string) (string, bool) { return "", false }, channels.Types())
	if err != nil {
		b.Fatal(err)
	}
	for _, c := range []struct{ busy, noSkip bool }{{false, false}, {false, true}, {true, false}, {true, true}} {
		b.Run(fmt.Sprintf("busy=%v/noskip=%v", c.busy, c.noSkip), func(b *testing.B) {
			o := Options{Config: cfg, From: e0, To: e0.Add(time.Duration(b.N) * time.Minute), Step: time.Minute, NoSkip: c.noSkip,
				querier: constQuerier{busy: c.busy}}
			b.ResetTimer()
			rep, err := Run(context.Background(), nil, o)
			if err != nil {
				b.Fatal(err)
			}
			if rep.Steps != b.N {
				b.Fatalf("%d steps, want %d", rep.Steps, b.N)
			}
		})
	}
}

// BenchmarkReplayFleet is a whole replay (tables, skipping, the pipeline)
// of the evaluate bench's 200 rules over BenchmarkTables' fleet
// (VIGIL_BENCH_SERIES series, VIGIL_BENCH_DAYS days, default 200 and 1)
// at 1m, with a webhook and an Alertmanager channel, VIGIL_BENCH_LIVE of
// its rules able to fire. Reported per step and per rule-step, with the
// alerts not inactive per step (what the pipeline works on).
func BenchmarkReplayFleet(b *testing.B) {
	series, days := benchEnv("VIGIL_BENCH_SERIES", 200), benchEnv("VIGIL_BENCH_DAYS", 1)
	dir := b.TempDir()
	p := filepath.Join(dir, "fleet.db")
	steps := days * 1440
	benchStore(b, p, series, steps+60, t0)
	db, err := analyze.Open(context.Background(), []string{p}, analyze.Options{CacheDir: filepath.Join(dir, "cache")})
	if err != nil {
		b.Fatal(err)
	}
	defer db.Close()
	cfg, err := alertconfig.ParseEnv("fleet.yaml", []byte(`
channels:
  - {name: ops, type: webhook, url: "http://127.0.0.1:1/ops"}
  - {name: am, type: alertmanager, url: "http://127.0.0.1:1"}
`), func(string) (string, bool) { return "", false }, channels.Types())
	if err != nil {
		b.Fatal(err)
	}
	// The bench's thresholds (100) are crossed by most of its latency and
	// rate rules; keep VIGIL_BENCH_LIVE rules of 200 (default 10) at 100
	// and put the others out of reach, so most rules are quiet.
	live := benchEnv("VIGIL_BENCH_LIVE", 10)
	cfg.Rules = benchRules(200)
	for i := range cfg.Rules {
		if i%(200/max(live, 1)) != 0 {
			cfg.Rules[i].Threshold = 1e12
		}
	}
	from := t0.Add(-time.Duration(steps) * time.Minute)
	for _, noSkip := range []bool{false, true} {
		b.Run(fmt.Sprintf("noskip=%v", noSkip), func(b *testing.B) {
			for range b.N {
				active := 0
				rep, err := Run(context.Background(), db, Options{Config: cfg, From: from, To: t0, Step: time.Minute, NoSkip: noSkip,
					observe: func(_ string, _ time.Time, res alertrun.Result) {
						for _, it := range res.Alerts {
							if it.Alert.State != state.Inactive {
								active++
							}
						}
					}})
				if err != nil {
					b.Fatal(err)
				}
				b.ReportMetric(float64(len(rep.Episodes)), "episodes")
				b.ReportMetric(float64(len(rep.Notices)), "notices")
				b.ReportMetric(float64(active)/float64(steps), "active/step")
			}
			per := b.Elapsed().Seconds() * 1e6 / float64(b.N) / float64(steps)
			b.ReportMetric(per, "µs/step")
			b.ReportMetric(per/200, "µs/rule-step")
		})
	}
}
