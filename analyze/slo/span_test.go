package slo

import (
	"context"
	"errors"
	"math"
	"math/big"
	"testing"
	"time"

	"github.com/vigil-metrics/vigil/analyze"
	"github.com/vigil-metrics/vigil/internal/metricpath"
)

// synthQ answers Buckets from a formula of each slice's end (its minute
// since the epoch), so that every read of a slice gives the same counts
// whatever the read's end and length: an evaluator at an earlier instant
// sees what a fresh read there would. Eval is not expected (the
// objectives here are sliced). reads counts the Buckets queries.
type synthQ struct {
	reads int
}

// synthCounts are minute m's requests (total) and good ones: 100 to 106
// requests; 1 to 5 bad every 13th minute, all bad every 97th, none at
// all every 101st (a quiet slice: no events).
func synthCounts(m int64) (good, total float64) {
	switch {
	case m%101 == 0:
		return 0, 0
	case m%97 == 0:
		return 0, float64(100 + m%7)
	case m%13 == 0:
		return float64(100 + m%7 - (m%5 + 1)), float64(100 + m%7)
	}
	return float64(100 + m%7), float64(100 + m%7)
}

func (q *synthQ) Eval(context.Context, *metricpath.Expr, analyze.Window) ([]analyze.Result, error) {
	return nil, errors.New("synthQ answers Buckets only")
}

func (q *synthQ) Buckets(_ context.Context, e *metricpath.Expr, end time.Time, bucket time.Duration, n int) ([]analyze.BucketSeries, error) {
	q.reads++
	s := analyze.BucketSeries{Labels: map[string]string{}, Values: make([]float64, n), Samples: make([]int64, n)}
	for i := range n {
		endMS := end.UnixMilli() - int64(n-1-i)*bucket.Milliseconds()
		good, total := synthCounts(endMS / 60000)
		v := total
		if e.Num.Name == "ok_total" {
			v = good
		}
		if total == 0 {
			v = math.NaN()
		}
		s.Values[i] = v
		if !math.IsNaN(v) {
			s.Samples[i] = 6
		}
	}
	return []analyze.BucketSeries{s}, nil
}

// synthObjective is a 30-day objective over synthQ's one-minute slices.
func synthObjective(t *testing.T, method string) Objective {
	t.Helper()
	return Objective{File: "v.yaml", Line: 1, Service: "api", SLI: "custom", Target: mustTarget(t, "99"),
		Window: Window{Rolling: 30 * 24 * time.Hour, Text: "30d"}, Good: "ok_total.increase", Total: "req_total.increase",
		MinEvents: 1, BudgetAlertPercent: 80, Method: method, SliceWindow: time.Minute, SliceTarget: big.NewRat(97, 100)}
}

// A run asks for the SLO window's events twice (Prepare, then Events or
// BudgetOf); the second is answered from the first judgement of the
// slices, not by judging 43,200 slices again (about 2.5 allocations a
// slice for a RatioTimeslices mean), and is the same.
func TestSlicesJudgedOnce(t *testing.T) {
	ctx := context.Background()
	for _, method := range []string{Timeslices, RatioTimeslices} {
		ob := synthObjective(t, method)
		ev := NewEvaluator(&synthQ{}, sliceAt)
		ev.Prepare(ctx, []Objective{ob})
		var e Events
		var err error
		allocs := testing.AllocsPerRun(3, func() { e, err = ev.Events(ctx, ob, ob.Window.Length(sliceAt)) })
		if allocs > 1000 {
			t.Errorf("%s: Events after Prepare: %.0f allocations, want the judgement kept (< 1000)", method, allocs)
		}
		want, werr := NewEvaluator(&synthQ{}, sliceAt).Events(ctx, ob, ob.Window.Length(sliceAt))
		if err != nil || werr != nil || !sameEvents(e, want) {
			t.Errorf("%s: %+v %v, want a fresh evaluator's %+v %v", method, e, err, want, werr)
		}
	}
}

// sameEvents compares events exactly, a RatioTimeslices mean included.
func sameEvents(a, b Events) bool {
	if a.Good != b.Good || a.Total != b.Total || (a.mean == nil) != (b.mean == nil) {
		return false
	}
	return a.mean == nil || a.mean.Cmp(b.mean) == 0
}
