package run

import (
	"context"
	"fmt"
	"reflect"
	"testing"
	"time"

	"github.com/vigil-metrics/vigil/alert/channels"
	alertconfig "github.com/vigil-metrics/vigil/alert/config"
	"github.com/vigil-metrics/vigil/alert/notify"
	"github.com/vigil-metrics/vigil/alert/state"
	"github.com/vigil-metrics/vigil/analyze"
	"github.com/vigil-metrics/vigil/internal/metricpath"
)

// quietValues are host a's readings: withValues (firing at 1 and 6,
// resolved at 3 and 8, inactive again at 4 and 9), then one more minute
// at 50, where it is inactive and stays so.
var quietValues = append(append([]float64(nil), withValues...), 50)

// minuteQuerier answers high_cpu's window at minute i: host a reads
// quietValues[i], host b 50 all along.
type minuteQuerier struct{}

func (minuteQuerier) Eval(_ context.Context, _ *metricpath.Expr, w analyze.Window) ([]analyze.Result, error) {
	i := int(w.At.Sub(t0) / time.Minute)
	return []analyze.Result{
		{Labels: map[string]string{"host": "a"}, Value: quietValues[i], Samples: 1},
		{Labels: map[string]string{"host": "b"}, Value: 50, Samples: 1},
	}, nil
}

// OmitQuiet leaves out of Result.Alerts the alerts that were inactive (or
// unknown) and stay so, and only those: every other item, every notice
// and the state left behind are those of the same runs without it.
func TestOmitQuiet(t *testing.T) {
	ctx := context.Background()
	cfg, err := alertconfig.Parse("c.yaml", []byte(withYAML), channels.Types())
	if err != nil {
		t.Fatal(err)
	}
	side := func(omit bool) ([]step, map[uint64]state.Alert) {
		mem, err := state.OpenMemory(ctx)
		if err != nil {
			t.Fatal(err)
		}
		defer mem.Close()
		ops := &fake{}
		var steps []step
		for i := range quietValues {
			before := ops.count()
			res, err := EvaluateWith(ctx, Options{Config: cfg, At: t0.Add(time.Duration(i) * time.Minute), State: mem,
				Holder: "replay", Senders: map[string]notify.Notifier{"ops": ops}, OmitQuiet: omit}, minuteQuerier{})
			if err != nil {
				t.Fatal(err)
			}
			steps = append(steps, describeRun(res, ops.got[before:]))
		}
		r, err := mem.Begin(ctx, "t", 0)
		if err != nil {
			t.Fatal(err)
		}
		defer r.Rollback()
		alerts, err := r.Alerts()
		if err != nil {
			t.Fatal(err)
		}
		return steps, alerts
	}
	all, allState := side(false)
	some, someState := side(true)
	if !reflect.DeepEqual(allState, someState) {
		t.Errorf("state differs:\nall  %+v\nsome %+v", allState, someState)
	}
	// Known independently: host b reads 50 at every run (inactive to
	// inactive, new at the first); host a is quiet only at minute 10
	// (inactive at 9, after resolving at 8).
	a, b := fmt.Sprintf("%x", hostA), fmt.Sprintf("%x", hostB)
	quiet := map[string]bool{}
	for i := range quietValues {
		quiet[fmt.Sprintf("%d %s", i, b)] = true
	}
	quiet["10 "+a] = true
	for i := range quietValues {
		var want []string
		for _, it := range all[i].items {
			var fp string
			fmt.Sscanf(it, "high_cpu %s", &fp)
			if !quiet[fmt.Sprintf("%d %s", i, fp)] {
				want = append(want, it)
			}
		}
		if !reflect.DeepEqual(some[i].items, want) {
			t.Errorf("minute %d: items\nOmitQuiet %q\nwant      %q", i, some[i].items, want)
		}
		if !reflect.DeepEqual(some[i].notices, all[i].notices) || !reflect.DeepEqual(some[i].plan, all[i].plan) {
			t.Errorf("minute %d: notices differ:\nOmitQuiet %+v\nall       %+v", i, some[i], all[i])
		}
	}
	if len(all[10].items) != 2 || len(some[10].items) != 0 || len(all[9].items) != 2 || len(some[9].items) != 1 {
		t.Errorf("minutes 9 and 10: %d and %d items without OmitQuiet (want 2 and 2), %d and %d with it (want 1 and 0)",
			len(all[9].items), len(all[10].items), len(some[9].items), len(some[10].items))
	}
}
