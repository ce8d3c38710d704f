package run

import (
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/vigil-metrics/vigil/alert/channels"
	alertconfig "github.com/vigil-metrics/vigil/alert/config"
	"github.com/vigil-metrics/vigil/alert/notify"
	"github.com/vigil-metrics/vigil/alert/state"
	"github.com/vigil-metrics/vigil/analyze"
	"github.com/vigil-metrics/vigil/internal/metricpath"
)

// fixedQuerier answers every query with the same groups, all at v.
type fixedQuerier struct {
	groups int
	v      float64
}

func (q fixedQuerier) Eval(ctx context.Context, e *metricpath.Expr, w analyze.Window) ([]analyze.Result, error) {
	out := make([]analyze.Result, q.groups)
	for i := range out {
		out[i] = analyze.Result{Labels: map[string]string{"host": fmt.Sprintf("h%d", i)}, Value: q.v, Samples: 1}
	}
	return out, nil
}

type nopNotifier struct{}

func (nopNotifier) Notify(ctx context.Context, n notify.Notification) (bool, error) {
	return false, nil
}

// BenchmarkStepFiring is one run of the pipeline per op on a memory state
// where every rule's alerts stay firing (reminders in cooldown): the per-step
// cost replay pays when nothing can be skipped.
func BenchmarkStepFiring(b *testing.B) {
	for _, n := range []int{20, 200} {
		b.Run(fmt.Sprint(n), func(b *testing.B) {
			var y strings.Builder
			y.WriteString("alert_rules:\n")
			for i := 0; i < n; i++ {
				fmt.Fprintf(&y, "  - {name: r%d, metric_path: m%d, condition: greater_than, threshold: 80, severity: high, evaluation_window: 60, cooldown_period: 3600, group_by: [host]}\n", i, i)
			}
			y.WriteString("channels:\n  - {name: ops, type: webhook, url: 'http://127.0.0.1:1/x'}\n")
			cfg, err := alertconfig.Parse("b.yaml", []byte(y.String()), channels.Types())
			if err != nil {
				b.Fatal(err)
			}
			ctx := context.Background()
			sdb, err := state.OpenMemory(ctx)
			if err != nil {
				b.Fatal(err)
			}
			defer sdb.Close()
			o := Options{Config: cfg, State: sdb, Holder: "bench", Senders: map[string]notify.Notifier{"ops": nopNotifier{}}}
			at := time.Date(2026, 11, 1, 0, 0, 0, 0, time.UTC)
			q := fixedQuerier{groups: 1, v: 95}
			b.ResetTimer()
			for i := 0; i < b.N; i++ {
				o.At = at.Add(time.Duration(i) * time.Minute)
				if _, err := EvaluateWith(ctx, o, q); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}
