package replay

import (
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/vigil-metrics/vigil/alert/channels"
	alertconfig "github.com/vigil-metrics/vigil/alert/config"
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
