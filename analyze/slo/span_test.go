package slo

import (
	"context"
	"errors"
	"math"
	"math/big"
	"reflect"
	"runtime"
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
// all every 101st (a quiet slice: no events). The gauge queue_depth is
// m mod 50, without a value in the quiet minutes.
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
		m := endMS / 60000
		good, total := synthCounts(m)
		v := total
		switch e.Num.Name {
		case "ok_total":
			v = good
		case "queue_depth":
			v = float64(m % 50)
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

// A view of a read (an earlier instant's slices) shares the read's
// columns: it costs a small struct whatever the length read, and views
// are not kept. Before, each view of a 60-day read of one-minute slices
// allocated its own series and a 86,400-value column per derived array,
// and kept them all: a replay's 43,200 steps cost gigabytes.
func TestViewSharesColumns(t *testing.T) {
	const width = int64(60000)
	read := func(n int) *sliceData {
		vals, samples := make([]float64, n), make([]int64, n)
		for i := range vals {
			vals[i] = float64(i % 7)
		}
		d := &sliceData{endMS: 1_000_000 * width, n: n, derived: map[string][]float64{},
			series: []analyze.BucketSeries{{Labels: map[string]string{}, Values: vals, Samples: samples}}}
		d.sum() // the read's column, computed once
		return d
	}
	perView := func(d *sliceData) float64 {
		k := 0
		return testing.AllocsPerRun(100, func() {
			k++
			v := d.view(d.endMS-int64(k)*width, width, 10)
			if c := v.sum(); len(c) != d.n-k || c[len(c)-1] != float64((d.n-k-1)%7) {
				t.Fatalf("view %d: %d slices ending in %v", k, len(c), c[len(c)-1])
			}
		})
	}
	short, long := read(1_440), read(86_400)
	if a, b := perView(short), perView(long); a != b || b > 2 {
		t.Errorf("allocations per view: %v over a day, %v over 60 days; want the same few", a, b)
	}
	var before, after runtime.MemStats
	runtime.GC()
	runtime.ReadMemStats(&before)
	for k := 1; k <= 1000; k++ {
		long.view(long.endMS-int64(k)*width, width, 10).sum()
	}
	runtime.ReadMemStats(&after)
	if per := (after.TotalAlloc - before.TotalAlloc) / 1000; per > 1024 {
		t.Errorf("%d bytes per view of 86,400 slices, want a view's struct (< 1 KiB)", per)
	}
}

// PrepareRange reads each sliced objective's paths once for every
// instant from from to At: BudgetOf at instants sampled over the range
// (on and off the slice grid, both ends included) through AtTime views
// reads nothing more, and equals BudgetOf by a fresh evaluator at each
// instant, exactly. Timeslices counts are also checked against a count
// of synthCounts' minutes by hand.
func TestPrepareRange(t *testing.T) {
	ctx := context.Background()
	ts := synthObjective(t, Timeslices)
	ratio := synthObjective(t, RatioTimeslices)
	th := synthObjective(t, Timeslices)
	th.Good, th.Total, th.SliceTarget = "", "", nil
	th.Threshold = &Threshold{Metric: "queue_depth.max", Op: "lt", Value: big.NewRat(45, 1)}
	objs := []Objective{ts, ratio, th}
	from := sliceAt.Add(-2 * 24 * time.Hour)
	q := &synthQ{}
	ev := NewEvaluator(q, sliceAt)
	ev.PrepareRange(ctx, objs, from)
	if q.reads != 3 {
		t.Fatalf("PrepareRange: %d reads, want 3 (ok_total, req_total, queue_depth)", q.reads)
	}
	instants := []time.Time{from, from.Add(time.Minute), from.Add(37 * time.Second), from.Add(29*time.Hour + 13*time.Minute),
		sliceAt.Add(-time.Millisecond), sliceAt}
	for _, at := range instants {
		view := ev.AtTime(at)
		for _, ob := range objs {
			got, err := BudgetOf(ctx, view, ob)
			want, werr := BudgetOf(ctx, NewEvaluator(&synthQ{}, at), ob)
			if err != nil || werr != nil || !sameBudget(got, want) {
				t.Errorf("%v %s threshold %v: %+v %v\nwant a fresh evaluator's %+v %v", at, ob.Method, ob.Threshold != nil, got, err, want, werr)
			}
		}
		if e, err := view.Events(ctx, ts, ts.Window.Length(at)); err != nil || e != countByHand(at, ts.Window.Rolling, false) {
			t.Errorf("%v: Timeslices %+v %v, want %+v", at, e, err, countByHand(at, ts.Window.Rolling, false))
		}
		if e, err := view.BurnEvents(ctx, th, 6*time.Hour); err != nil || e != countByHand(at, 6*time.Hour, true) {
			t.Errorf("%v: threshold over 6h %+v %v, want %+v", at, e, err, countByHand(at, 6*time.Hour, true))
		}
	}
	if q.reads != 3 {
		t.Errorf("%d reads after the range's instants, want PrepareRange's 3", q.reads)
	}
}

// countByHand counts the good one-minute slices and the slices with data
// of synthQ inside (at - length, at]: at 97% of synthCounts' requests, or
// (threshold) queue_depth below 45.
func countByHand(at time.Time, length time.Duration, threshold bool) Events {
	var e Events
	last := at.UnixMilli() / 60000 // the slice ending at minute m is (m-1, m]
	for m := last; m*60000 > at.Add(-length).UnixMilli()+60000-1; m-- {
		good, total := synthCounts(m)
		if total == 0 {
			continue
		}
		e.Total++
		if (!threshold && good*100 >= 97*total) || (threshold && m%50 < 45) {
			e.Good++
		}
	}
	return e
}

// The SLO window's over-count (good summed over the slices with events
// against total) is the loop's to the bit from the prefix sums of whole
// counts, and from the loop itself where a count is a fraction (whose
// sums depend on the order of the additions): the CountError's figures.
func TestOverCountPrefix(t *testing.T) {
	ob := synthObjective(t, Timeslices)
	for _, frac := range []float64{0, 0.1} {
		n := 1000
		good, total := make([]float64, n), make([]float64, n)
		for i := range n {
			total[i] = float64(i%9) + frac
			good[i] = total[i] + float64(i%2) // good ahead of total: a CountError over any window
		}
		ev := NewEvaluator(&synthQ{}, sliceAt)
		for _, w := range []int{1, 7, 500, n} {
			err := ev.overCount(ob, sliceGrid{n: w}, &sliceCol{v: good, path: "g"}, &sliceCol{v: total, path: "t"}, time.Hour)
			var c, tt float64
			for i := n - w; i < n; i++ {
				if total[i] > 0 || good[i] > 0 {
					c += good[i]
					tt += total[i]
				}
			}
			var ce *CountError
			if !errors.As(err, &ce) || ce.Count != c || ce.Total != tt {
				t.Errorf("fraction %v, %d slices: %v, want the loop's %v of %v", frac, w, err, c, tt)
			}
		}
		if s := ev.overSums(&sliceCol{v: good}, &sliceCol{v: total}); s.ok != (frac == 0) {
			t.Errorf("fraction %v: prefix sums kept %v", frac, s.ok)
		}
	}
}

// sameBudget compares budgets exactly, their events' means included.
func sameBudget(a, b Budget) bool {
	if !sameEvents(a.Events, b.Events) {
		return false
	}
	a.Events, b.Events = Events{}, Events{}
	return reflect.DeepEqual(a, b)
}

// BenchmarkAtTimeBudget is one replay step over 30-day objectives of
// one-minute slices after PrepareRange: a view and the budgets of a
// Timeslices, a RatioTimeslices and a threshold objective.
func BenchmarkAtTimeBudget(b *testing.B) {
	ctx := context.Background()
	ts := Objective{File: "v.yaml", Line: 1, Service: "api", SLI: "custom", Target: Target{}, MinEvents: 1, BudgetAlertPercent: 80,
		Window: Window{Rolling: 30 * 24 * time.Hour, Text: "30d"}, Good: "ok_total.increase", Total: "req_total.increase",
		Method: Timeslices, SliceWindow: time.Minute, SliceTarget: big.NewRat(97, 100)}
	ts.Target, _ = ParseTarget("99")
	ratio := ts
	ratio.Method = RatioTimeslices
	th := ts
	th.Good, th.Total, th.SliceTarget = "", "", nil
	th.Threshold = &Threshold{Metric: "queue_depth.max", Op: "lt", Value: big.NewRat(45, 1)}
	from := sliceAt.Add(-30 * 24 * time.Hour)
	for _, c := range []struct {
		name string
		objs []Objective
	}{{"timeslices+threshold", []Objective{ts, th}}, {"ratio", []Objective{ratio}}} {
		b.Run(c.name, func(b *testing.B) {
			ev := NewEvaluator(&synthQ{}, sliceAt)
			ev.PrepareRange(ctx, c.objs, from)
			b.ReportAllocs()
			b.ResetTimer()
			for i := range b.N {
				view := ev.AtTime(from.Add(time.Duration(i%43200) * time.Minute))
				for _, ob := range c.objs {
					if _, err := BudgetOf(ctx, view, ob); err != nil {
						b.Fatal(err)
					}
				}
			}
		})
	}
}

// A calendar month's range across the month's end: the views in the
// month before (their slices on the grid of that month's start, which
// one-minute slices share) are served by the one read too, and equal a
// fresh evaluator's budgets.
func TestPrepareRangeCalendar(t *testing.T) {
	ctx := context.Background()
	ts := synthObjective(t, Timeslices)
	ts.Window = Window{CalendarMonth: true}
	ratio := ts
	ratio.Method = RatioTimeslices
	at := time.Date(2026, 12, 1, 6, 0, 0, 0, time.UTC)
	from := time.Date(2026, 11, 30, 18, 0, 0, 0, time.UTC)
	q := &synthQ{}
	ev := NewEvaluator(q, at)
	ev.PrepareRange(ctx, []Objective{ts, ratio}, from)
	reads := q.reads
	for _, t0 := range []time.Time{from, time.Date(2026, 12, 1, 0, 0, 0, 0, time.UTC), time.Date(2026, 12, 1, 0, 0, 30, 0, time.UTC), at} {
		for _, ob := range []Objective{ts, ratio} {
			got, err := BudgetOf(ctx, ev.AtTime(t0), ob)
			want, werr := BudgetOf(ctx, NewEvaluator(&synthQ{}, t0), ob)
			if err != nil || werr != nil || !sameBudget(got, want) {
				t.Errorf("%v %s: %+v %v\nwant a fresh evaluator's %+v %v", t0, ob.Method, got, err, want, werr)
			}
		}
	}
	if reads != 2 || q.reads != reads {
		t.Errorf("reads: %d by PrepareRange, %d after the views; want 2 and no more", reads, q.reads)
	}
}
