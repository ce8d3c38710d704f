package slo

import (
	"context"
	"errors"
	"math"
	"math/big"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/vigil-metrics/vigil/analyze"
	"github.com/vigil-metrics/vigil/internal/metricpath"
	"github.com/vigil-metrics/vigil/internal/store"
)

// sliceAt is the end of the ten one-minute slices of sliceStore: slice k
// (0..9) is (11:50+k, 11:51+k], its samples 30 s after its start.
var sliceAt = time.Date(2026, 11, 29, 12, 0, 0, 0, time.UTC)

// countingQ counts the Buckets queries a real store answers.
type countingQ struct {
	*analyze.DB
	buckets int
}

func (q *countingQ) Buckets(ctx context.Context, e *metricpath.Expr, end time.Time, bucket time.Duration, n int) ([]analyze.BucketSeries, error) {
	q.buckets++
	return q.DB.Buckets(ctx, e, end, bucket, n)
}

// sliceStore writes:
//   - req_total / ok_total, and the reference design's sli_requests_total
//     of service api (success True or false): 100 requests a slice, 100 good except slices 3
//     and 7 (96 good); and at 12:00:15, in the slice after sliceAt's, 100
//     requests none of them good (counted only by an --at past 12:01);
//   - sli_requests_total of service web: 100 failed requests a slice;
//   - sparse_req_total / sparse_ok_total: slices 0, 1 and 3 only (10 of 10
//     good, 1 of 2, 5 of 5): slice 2 and the others have no events;
//   - over_req_total / over_ok_total: 100 a slice, 101 good in slice 4;
//   - queue_depth (gauge) host a: 499, 500, 501 in slices 0, 1, 2; host
//     b: 1 in slices 0..2, and 600 in slice 3 where a has nothing.
func sliceStore(t *testing.T) *analyze.DB {
	t.Helper()
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), "s.db")
	st, err := store.Open(ctx, path, store.Options{})
	if err != nil {
		t.Fatal(err)
	}
	ts := func(k int) int64 { return sliceAt.Add(time.Duration(k-10)*time.Minute + 30*time.Second).UnixMilli() }
	var s []store.Sample
	add := func(name string, typ store.Type, k int, v float64, labels ...string) {
		l := map[string]string{}
		for i := 0; i+1 < len(labels); i += 2 {
			l[labels[i]] = labels[i+1]
		}
		s = append(s, store.Sample{Name: name, Type: typ, Labels: l, TS: ts(k), Value: v})
	}
	for k := 0; k < 10; k++ {
		good := 100.0
		if k == 3 || k == 7 {
			good = 96
		}
		add("req_total", store.Counter, k, 100)
		add("ok_total", store.Counter, k, good)
		s = append(s, store.Sample{Name: RequestsMetric, Type: store.Counter, Service: "api", Labels: map[string]string{"success": "True"}, TS: ts(k), Value: good},
			store.Sample{Name: RequestsMetric, Type: store.Counter, Service: "api", Labels: map[string]string{"success": "false"}, TS: ts(k), Value: 100 - good},
			store.Sample{Name: RequestsMetric, Type: store.Counter, Service: "web", Labels: map[string]string{"success": "false"}, TS: ts(k), Value: 100})
		overGood := 100.0
		if k == 4 {
			overGood = 101
		}
		add("over_req_total", store.Counter, k, 100)
		add("over_ok_total", store.Counter, k, overGood)
	}
	s = append(s, store.Sample{Name: "req_total", Type: store.Counter, TS: sliceAt.Add(15 * time.Second).UnixMilli(), Value: 100})
	for k, gt := range map[int][2]float64{0: {10, 10}, 1: {2, 1}, 3: {5, 5}} {
		add("sparse_req_total", store.Counter, k, gt[0])
		add("sparse_ok_total", store.Counter, k, gt[1])
	}
	for k, v := range []float64{499, 500, 501} {
		add("queue_depth", store.Gauge, k, v, "host", "a")
		add("queue_depth", store.Gauge, k, 1, "host", "b")
	}
	add("queue_depth", store.Gauge, 3, 600, "host", "b")
	if _, err := st.Write(ctx, s); err != nil {
		t.Fatal(err)
	}
	st.Close()
	db, err := analyze.Open(ctx, []string{path}, analyze.Options{CacheDir: t.TempDir()})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	return db
}

func sliced(t *testing.T, method, target string, good, total string) Objective {
	t.Helper()
	return Objective{File: "v.yaml", Line: 3, Service: "api", SLI: "custom", Target: mustTarget(t, target),
		Window: Window{Rolling: 10 * time.Minute, Text: "10m"}, Good: good, Total: total, MinEvents: 1,
		BudgetAlertPercent: 80, Method: method, SliceWindow: time.Minute, SliceTarget: big.NewRat(97, 100)}
}

func close9(a, b float64) bool { return math.Abs(a-b) <= 1e-9*math.Max(1, math.Abs(b)) }

// Ten one-minute slices, slices 3 and 7 at 96% good, the rest 100%, slice
// target 97%:
//   - Timeslices: 8 good slices of 10 = 80%. Against 90%: the budget is
//     10%, the error 20%: consumption 200%, burn rate 2 over the window;
//     over 5m (slices 5..9, slice 7 bad: 1 of 5 = 20%) burn 2 too; 30m
//     and 1h see the same 10 slices (the earlier ones are empty): 2.
//   - RatioTimeslices: the mean of the ratios, (8 x 1 + 2 x 0.96) / 10 =
//     0.992 = 99.2%. Against 99%: error 0.8% of a 1% budget, consumption
//     80%, burn 0.8; over 5m (4 x 1 + 0.96) / 5 = 0.992, burn 0.8.
//
// Each path is read once (one Buckets query) for the whole budget.
func TestTimeslices(t *testing.T) {
	ctx := context.Background()
	q := &countingQ{DB: sliceStore(t)}
	ev := NewEvaluator(q, sliceAt)
	ob := sliced(t, Timeslices, "90", "ok_total.increase", "req_total.increase")
	e, err := ev.Events(ctx, ob, 10*time.Minute)
	if err != nil || e != (Events{Good: 8, Total: 10}) {
		t.Fatalf("Timeslices: %+v %v, want 8 of 10", e, err)
	}
	if e.Percent() != 80 || e.Met(ob.Target) || !close9(e.Consumption(ob.Target), 200) {
		t.Errorf("Timeslices: %v%%, met %v, consumed %v%%: want 80%%, breached, 200%%", e.Percent(), e.Met(ob.Target), e.Consumption(ob.Target))
	}
	b, err := BudgetOf(ctx, ev, ob)
	if err != nil {
		t.Fatal(err)
	}
	for _, w := range []string{"5m", "30m", "1h", "10m"} {
		if r := b.BurnRates[w]; r == nil || !close9(*r, 2) {
			t.Errorf("Timeslices burn rate over %s: %v, want 2", w, r)
		}
	}
	if q.buckets != 2 {
		t.Errorf("%d Buckets queries, want 2 (one per path)", q.buckets)
	}

	ob = sliced(t, RatioTimeslices, "99", "ok_total.increase", "req_total.increase")
	e, err = ev.Events(ctx, ob, 10*time.Minute)
	if err != nil || e.Total != 10 || !close9(e.Good, 9.92) {
		t.Fatalf("RatioTimeslices: %+v %v, want 9.92 of 10", e, err)
	}
	if !close9(e.Percent(), 99.2) || !e.Met(ob.Target) || !close9(e.Consumption(ob.Target), 80) {
		t.Errorf("RatioTimeslices: %v%%, met %v, consumed %v%%: want 99.2%%, met, 80%%", e.Percent(), e.Met(ob.Target), e.Consumption(ob.Target))
	}
	b, err = BudgetOf(ctx, ev, ob)
	if err != nil {
		t.Fatal(err)
	}
	for _, w := range []string{"5m", "10m"} {
		if r := b.BurnRates[w]; r == nil || !close9(*r, 0.8) {
			t.Errorf("RatioTimeslices burn rate over %s: %v, want 0.8", w, r)
		}
	}
	if q.buckets != 2 {
		t.Errorf("%d Buckets queries after the second objective, want still 2", q.buckets)
	}
	// The reference design's availability SLI, sliced: api's slices are
	// ok_total's (8 good of 10); web's all fail (0 of 10), read from the
	// same query (one more Buckets query, for both services).
	for svc, want := range map[string]Events{"api": {Good: 8, Total: 10}, "web": {Good: 0, Total: 10}} {
		ob := sliced(t, Timeslices, "90", "", "")
		ob.Service, ob.SLI = svc, Availability
		if e, err := ev.Events(ctx, ob, 10*time.Minute); err != nil || e != want {
			t.Errorf("availability of %s: %+v %v, want %+v", svc, e, err, want)
		}
	}
	if q.buckets != 3 {
		t.Errorf("%d Buckets queries after the availability objectives, want 3", q.buckets)
	}
	// Per-service paths over one metric share a query: good and total are
	// both read as sli_requests_total.increase by (service, success) (the
	// labels of both paths' matchers), the reference SLI's query already
	// read, and the matching groups summed. api: 8 of
	// 10 again; services matching "a.*|w.*" (api and web): every slice is
	// 100 or 96 good of 200 (at most 50%): 0 good slices of 10 under Timeslices.
	ob = sliced(t, Timeslices, "90", `sli_requests_total{service="api",success="True"}.increase`, `sli_requests_total{service="api"}.increase`)
	if e, err := ev.Events(ctx, ob, 10*time.Minute); err != nil || e != (Events{Good: 8, Total: 10}) {
		t.Errorf("per-service paths: %+v %v, want 8 of 10", e, err)
	}
	ob.Good, ob.Total = `sli_requests_total{service=~"a.*|w.*",success="True"}.increase`, `sli_requests_total{service=~"a.*|w.*"}.increase`
	if e, err := ev.Events(ctx, ob, 10*time.Minute); err != nil || e != (Events{Good: 0, Total: 10}) {
		t.Errorf("regex paths: %+v %v, want 0 of 10", e, err)
	}
	ob.Method = RatioTimeslices
	// 8 x 100/200 + 2 x 96/200 = 4 + 0.96: good 4.96 of 10 slices.
	if e, err := ev.Events(ctx, ob, 10*time.Minute); err != nil || e.Total != 10 || !close9(e.Good, 4.96) {
		t.Errorf("regex paths: %+v %v, want 4.96 of 10", e, err)
	}
	if q.buckets != 3 {
		t.Errorf("%d Buckets queries after the per-service paths, want still 3", q.buckets)
	}
	// A bad path: good = total - bad per slice; ok_total as "bad" makes
	// slices 3 and 7 4% good and the others 0%: no good slice at all.
	ob = sliced(t, Timeslices, "90", "", "req_total.increase")
	ob.Bad = "ok_total.increase"
	if e, err := ev.Events(ctx, ob, 10*time.Minute); err != nil || e != (Events{Good: 0, Total: 10}) {
		t.Errorf("bad path: %+v %v, want 0 of 10", e, err)
	}
}

// Slices without events count for neither: sparse has data in slices 0
// (10 of 10), 1 (1 of 2) and 3 (5 of 5) only, so Timeslices (97%) is 2
// good of 3 slices and RatioTimeslices (1 + 0.5 + 1) / 3; a window whose
// slices are all empty has no events (no data, met, no burn rate).
func TestEmptySlices(t *testing.T) {
	ctx := context.Background()
	ev := NewEvaluator(sliceStore(t), sliceAt)
	ob := sliced(t, Timeslices, "90", "sparse_ok_total.increase", "sparse_req_total.increase")
	if e, err := ev.Events(ctx, ob, 10*time.Minute); err != nil || e != (Events{Good: 2, Total: 3}) {
		t.Errorf("Timeslices: %+v %v, want 2 of 3", e, err)
	}
	ob.Method = RatioTimeslices
	if e, err := ev.Events(ctx, ob, 10*time.Minute); err != nil || e.Total != 3 || !close9(e.Good, 2.5) {
		t.Errorf("RatioTimeslices: %+v %v, want 2.5 of 3", e, err)
	}
	// The last 5 minutes (slices 5..9) have no sparse events.
	if e, err := ev.Events(ctx, ob, 5*time.Minute); err != nil || e != (Events{}) {
		t.Errorf("empty window: %+v %v, want no events", e, err)
	}
}

// A window that is not a multiple of the slice: 10m of 3m slices ending at
// 12:00 (a multiple of 3m since the epoch) holds three complete slices,
// (11:51, 11:54], (11:54, 11:57] and (11:57, 12:00]: one-minute slices
// 1-3, 4-6 and 7-9, i.e. 296/300, 300/300 and 296/300 good. Against a 99%
// slice target: 1 good slice of 3; RatioTimeslices (296/300 x 2 + 1) / 3.
// Slice 0 (11:50, 11:51] is in no complete slice.
func TestSliceGridNotAMultiple(t *testing.T) {
	ctx := context.Background()
	ev := NewEvaluator(sliceStore(t), sliceAt)
	ob := sliced(t, Timeslices, "90", "ok_total.increase", "req_total.increase")
	ob.SliceWindow, ob.SliceTarget = 3*time.Minute, big.NewRat(99, 100)
	if e, err := ev.Events(ctx, ob, 10*time.Minute); err != nil || e != (Events{Good: 1, Total: 3}) {
		t.Errorf("Timeslices: %+v %v, want 1 of 3", e, err)
	}
	ob.Method = RatioTimeslices
	if e, err := ev.Events(ctx, ob, 10*time.Minute); err != nil || e.Total != 3 || !close9(e.Good, 296.0/300*2+1) {
		t.Errorf("RatioTimeslices: %+v %v, want %v of 3", e, err, 296.0/300*2+1)
	}
}

// An --at in the middle of a slice: at 12:00:30 the slice (12:00, 12:01]
// (100 requests, none good, at 12:00:15) is not complete and does not
// count; the window (11:50:30, 12:00:30] holds the complete slices 1..9:
// 7 good of 9. At 12:01 it counts: slices 1..10, 7 good of 10.
func TestPartialSlice(t *testing.T) {
	ctx := context.Background()
	db := sliceStore(t)
	ob := sliced(t, Timeslices, "90", "ok_total.increase", "req_total.increase")
	if e, err := NewEvaluator(db, sliceAt.Add(30*time.Second)).Events(ctx, ob, 10*time.Minute); err != nil || e != (Events{Good: 7, Total: 9}) {
		t.Errorf("at 12:00:30: %+v %v, want 7 of 9", e, err)
	}
	if e, err := NewEvaluator(db, sliceAt.Add(time.Minute)).Events(ctx, ob, 10*time.Minute); err != nil || e != (Events{Good: 7, Total: 10}) {
		t.Errorf("at 12:01: %+v %v, want 7 of 10", e, err)
	}
}

// A threshold over a gauge, per slice, exactly at the boundary: host a's
// max is 499, 500, 501 in slices 0..2; "lt 500" passes 499 only. Host b
// (1 in slices 0..2) passes everywhere, but in slice 3 it is 600 alone:
// with "by (host)" a slice is good only when every series passes.
//   - queue_depth{host="a"}.max lt 500: 1 good of 3; lte: 2; gt: 1; gte: 2.
//   - queue_depth.max by (host) lt 500: slices 0 (499, 1) good, 1 (500,
//     1) bad, 2 (501, 1) bad, 3 (600) bad: 1 of 4.
//   - RatioTimeslices counts a verdict as 1 or 0: the same 1 of 4.
func TestThresholdSlices(t *testing.T) {
	ctx := context.Background()
	ev := NewEvaluator(sliceStore(t), sliceAt)
	ob := sliced(t, Timeslices, "50", "", "")
	ob.SliceTarget = nil // a threshold needs none
	for op, good := range map[string]float64{"lt": 1, "lte": 2, "gt": 1, "gte": 2} {
		ob.Threshold = &Threshold{Metric: `queue_depth{host="a"}.max`, Op: op, Value: big.NewRat(500, 1)}
		if e, err := ev.Events(ctx, ob, 10*time.Minute); err != nil || e != (Events{Good: good, Total: 3}) {
			t.Errorf("%s 500: %+v %v, want %v of 3", op, e, err, good)
		}
	}
	ob.Threshold = &Threshold{Metric: "queue_depth.max by (host)", Op: "lt", Value: big.NewRat(500, 1)}
	if e, err := ev.Events(ctx, ob, 10*time.Minute); err != nil || e != (Events{Good: 1, Total: 4}) {
		t.Errorf("by host: %+v %v, want 1 of 4", e, err)
	}
	ob.Method = RatioTimeslices
	if e, err := ev.Events(ctx, ob, 10*time.Minute); err != nil || e != (Events{Good: 1, Total: 4}) {
		t.Errorf("by host, RatioTimeslices: %+v %v, want 1 of 4", e, err)
	}
	// A threshold is compared as the double nearest to it as written (as
	// count_le and alert rules compare): 500.0000000000000001 is the
	// double 500, so 500 does not pass "lt" it (issue 25: thresholds).
	v, _ := new(big.Rat).SetString("500.0000000000000001")
	ob.Method, ob.Threshold = Timeslices, &Threshold{Metric: `queue_depth{host="a"}.max`, Op: "lt", Value: v}
	if e, err := ev.Events(ctx, ob, 10*time.Minute); err != nil || e != (Events{Good: 1, Total: 3}) {
		t.Errorf("lt 500.0000000000000001: %+v %v, want 1 of 3", e, err)
	}
}

// A sample stored as written passes a threshold written the same way:
// 499.9999 is stored as the double 499.99990000000002510 (above the
// rational 499.9999), and "lte 499.9999" passes it, "lt" does not. 0.3
// stored passes "lte 0.3" and "gte 0.3"; 0.1+0.2 computed in doubles is
// 0.30000000000000004, another double, above 0.3: it fails "lte 0.3"
// and passes "gt 0.3".
func TestThresholdAsDouble(t *testing.T) {
	a, b := 0.1, 0.2 // variables: Go adds constants exactly (0.1 + 0.2 == 0.3)
	for _, c := range []struct {
		stored float64
		op     string
		value  string
		good   float64
	}{
		{499.9999, "lte", "499.9999", 1}, {499.9999, "gte", "499.9999", 1}, {499.9999, "lt", "499.9999", 0},
		{499.9999, "gt", "499.9999", 0}, {0.3, "lte", "0.3", 1}, {0.3, "gte", "0.3", 1},
		{a + b, "lte", "0.3", 0}, {a + b, "gt", "0.3", 1}, {a + b, "lte", "0.30000000000000004", 1},
	} {
		v, _ := new(big.Rat).SetString(c.value)
		d := &sliceData{n: 1, series: []analyze.BucketSeries{{Values: []float64{c.stored}}}, derived: map[string][]float64{}}
		if got := d.verdict(&Threshold{Op: c.op, Value: v})[0]; got != c.good {
			t.Errorf("%v %s %s: %v, want %v", c.stored, c.op, c.value, got, c.good)
		}
	}
}

// A slice whose good count (101) exceeds its total (100) is clamped: it
// is all good (two counters' scrapes a few seconds apart do this). Over
// the SLO window, the one judged (Events), good summed over its slices
// (9 x 100 + 101 = 1001) exceeding total (1000) is still the CountError
// of a ratio (exit 2); over a burn window (BurnEvents) the slices count:
// 10 good of 10. (Before issue 25's D3 the slice itself was refused.)
func TestSliceCountError(t *testing.T) {
	ev := NewEvaluator(sliceStore(t), sliceAt)
	ob := sliced(t, Timeslices, "90", "over_ok_total.increase", "over_req_total.increase")
	_, err := ev.Events(context.Background(), ob, 10*time.Minute)
	want := "v.yaml:3: objective api/custom: good count 1001 (over_ok_total.increase) exceeds its total 1000 (over_req_total.increase) over 10m"
	var ce *CountError
	if err == nil || err.Error() != want || !errors.As(err, &ce) || !ce.UsageError() {
		t.Errorf("got %v, want %s", err, want)
	}
	if e, err := ev.BurnEvents(context.Background(), ob, 10*time.Minute); err != nil || e != (Events{Good: 10, Total: 10}) {
		t.Errorf("burn window: %+v %v, want 10 good of 10", e, err)
	}
}

// The grid: a rolling window's slices start at multiples of the slice
// since the epoch; a calendar window's at its start. 7m slices at
// 2026-12-01T00:30Z: the month starts at 00:00, so the calendar grid's
// last complete slice ends at 00:28 (4 slices: 00:00..00:28). The epoch
// grid: 2026-12-01T00:00Z is 29,934,720 minutes since the epoch, 4 past a
// multiple of 7 (29,934,716), so its slices end at 00:03, 00:10, 00:17,
// 00:24, 00:31: the last complete one ends at 00:24, and a 30m rolling
// window (00:00, 00:30] holds (00:03, 00:24]: 3 slices.
func TestSliceGrid(t *testing.T) {
	at := time.Date(2026, 12, 1, 0, 30, 0, 0, time.UTC)
	ev := NewEvaluator(nil, at)
	ob := Objective{Window: Window{CalendarMonth: true}, Method: Timeslices, SliceWindow: 7 * time.Minute}
	g := ev.grid(ob, ob.Window.Length(at))
	if want := time.Date(2026, 12, 1, 0, 28, 0, 0, time.UTC).UnixMilli(); g.endMS != want || g.n != 4 {
		t.Errorf("calendar: end %v, %d slices; want 00:28, 4", time.UnixMilli(g.endMS).UTC(), g.n)
	}
	// At 2026-12-01T00:00Z itself the window is November (hb25b E4: an
	// instant on a boundary ends the period before it): the grid starts
	// at 11-01 00:00, 30 days = 43,200 minutes hold 6171 whole 7m slices
	// (43,197 minutes), the last ending at 11-30 23:57. It was December's
	// empty grid.
	bat := time.Date(2026, 12, 1, 0, 0, 0, 0, time.UTC)
	bg := NewEvaluator(nil, bat).grid(ob, ob.Window.Length(bat))
	if want := time.Date(2026, 11, 30, 23, 57, 0, 0, time.UTC).UnixMilli(); bg.endMS != want || bg.n != 6171 {
		t.Errorf("calendar at the boundary: end %v, %d slices; want 11-30 23:57, 6171", time.UnixMilli(bg.endMS).UTC(), bg.n)
	}
	ob.Window = Window{Rolling: 30 * time.Minute}
	g = ev.grid(ob, 30*time.Minute)
	if want := time.Date(2026, 12, 1, 0, 24, 0, 0, time.UTC).UnixMilli(); g.endMS != want || g.n != 3 {
		t.Errorf("rolling: end %v, %d slices; want 00:24, 3", time.UnixMilli(g.endMS).UTC(), g.n)
	}
}

// atLeast's integer fast path agrees with the rationals: 97 of 100 meets
// 97/100 and 96 does not; 970 of 1000 meets it; counts near 2^53 and a
// target with big terms (999999999999/1000000000000) compare exactly
// ((2^53-1) x 999999999999/1e12 is 9007199254731983.8..., 9007.199...
// below 2^53 - 1, so 2^53 - 9008 of 2^53 - 1 falls short and 2^53 - 9007
// meets it); a fractional count (0.97 as a float is 0.96999999999999997)
// goes the rational way and falls short of 97/100.
func TestAtLeast(t *testing.T) {
	big97 := big.NewRat(97, 100)
	fine := big.NewRat(999999999999, 1000000000000)
	const top = 1<<53 - 1
	for _, c := range []struct {
		good, total float64
		target      *big.Rat
		want        bool
	}{
		{97, 100, big97, true}, {96, 100, big97, false}, {970, 1000, big97, true}, {969, 1000, big97, false},
		{0, 0, big97, true}, {0, 1, big97, false},
		{top - 9008, top, fine, false}, {top - 9007, top, fine, true},
		{0.97, 1, big97, false}, {1, 1, big.NewRat(1, 1), true},
	} {
		if got := atLeast(c.good, c.total, c.target); got != c.want {
			t.Errorf("atLeast(%v, %v, %v) = %v, want %v", c.good, c.total, c.target, got, c.want)
		}
		slow := rat(c.good).Cmp(new(big.Rat).Mul(c.target, rat(c.total))) >= 0
		if slow != c.want {
			t.Errorf("rationals say %v for %v of %v", slow, c.good, c.total)
		}
	}
}

// An evaluator at an earlier time of the run (a report's burn-down
// points) shares the slices read: at 11:58 the last 5 minutes are slices
// 3..7 (3 and 7 at 96%): 3 good of 5, as a fresh evaluator counts them,
// with no new query; so is the 10m window (11:48, 11:58], whose slices
// 0..7 have data (6 of 8): 12:00's read reaches back 3 days (the longest
// burn window).
func TestSlicesShared(t *testing.T) {
	ctx := context.Background()
	db := sliceStore(t)
	q := &countingQ{DB: db}
	ev := NewEvaluator(q, sliceAt)
	ob := sliced(t, Timeslices, "90", "ok_total.increase", "req_total.increase")
	if _, err := BudgetOf(ctx, ev, ob); err != nil {
		t.Fatal(err)
	}
	early := ev.AtTime(sliceAt.Add(-2 * time.Minute))
	for length, want := range map[time.Duration]Events{5 * time.Minute: {Good: 3, Total: 5}, 10 * time.Minute: {Good: 6, Total: 8}} {
		e, err := early.Events(ctx, ob, length)
		fresh, ferr := NewEvaluator(db, early.At).Events(ctx, ob, length)
		if err != nil || ferr != nil || e != want || fresh != want {
			t.Errorf("over %v at 11:58: shared %+v %v, fresh %+v %v; want %+v", length, e, err, fresh, ferr, want)
		}
	}
	if q.buckets != 2 {
		t.Errorf("%d Buckets queries, want 2 (the slices read at 12:00)", q.buckets)
	}
}

// orderQ records the order of a real store's queries: B for Buckets, E
// for Eval.
type orderQ struct {
	*analyze.DB
	calls string
}

func (q *orderQ) Buckets(ctx context.Context, e *metricpath.Expr, end time.Time, bucket time.Duration, n int) ([]analyze.BucketSeries, error) {
	q.calls += "B"
	return q.DB.Buckets(ctx, e, end, bucket, n)
}

func (q *orderQ) Eval(ctx context.Context, e *metricpath.Expr, w analyze.Window) ([]analyze.Result, error) {
	q.calls += "E"
	return q.DB.Eval(ctx, e, w)
}

// Prepare reads the sliced objectives' slices before anything else (so
// that analyze adds the occurrences' sums up from them), once, and the
// answers are those without it: the reference design's availability of
// api over the ten minutes, 992 good of 1000 requests, and over one-minute
// slices at 97%, 8 good slices of 10. A sliced objective that cannot be
// read leaves its error to Events.
func TestPrepare(t *testing.T) {
	ctx := context.Background()
	db := sliceStore(t)
	occ := Objective{File: "v.yaml", Line: 1, Service: "api", SLI: Availability, Target: mustTarget(t, "99"),
		Window: Window{Rolling: 10 * time.Minute, Text: "10m"}, MinEvents: 1, BudgetAlertPercent: 80}
	sl := sliced(t, Timeslices, "90", "", "")
	sl.SLI = Availability
	broken := sl
	broken.SliceWindow = 0
	want := []Events{{Good: 992, Total: 1000}, {Good: 8, Total: 10}}
	for _, prepare := range []bool{false, true} {
		q := &orderQ{DB: db}
		ev := NewEvaluator(q, sliceAt)
		if prepare {
			ev.Prepare(ctx, []Objective{occ, sl, broken})
			if q.calls != "B" {
				t.Errorf("Prepare's queries %q, want one Buckets", q.calls)
			}
		}
		for i, ob := range []Objective{occ, sl} {
			if e, err := ev.Events(ctx, ob, 10*time.Minute); err != nil || e != want[i] {
				t.Errorf("prepare %v: objective %d: %+v %v, want %+v", prepare, i, e, err, want[i])
			}
		}
		if _, err := ev.Events(ctx, broken, 10*time.Minute); err == nil || !strings.Contains(err.Error(), "time slice window") {
			t.Errorf("prepare %v: broken objective: %v, want its time slice window error", prepare, err)
		}
		if wantCalls := map[bool]string{false: "EB", true: "BE"}[prepare]; q.calls != wantCalls {
			t.Errorf("prepare %v: queries %q, want %q", prepare, q.calls, wantCalls)
		}
	}
}
