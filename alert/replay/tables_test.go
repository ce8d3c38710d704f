package replay

import (
	"context"
	"errors"
	"fmt"
	"maps"
	"math"
	"path/filepath"
	"reflect"
	"testing"
	"time"

	"github.com/vigil-metrics/vigil/alert/config"
	"github.com/vigil-metrics/vigil/alert/eval"
	"github.com/vigil-metrics/vigil/analyze"
	"github.com/vigil-metrics/vigil/internal/metricpath"
	"github.com/vigil-metrics/vigil/internal/store"
)

// t0 is the replay's start: 2026-11-29T10:00:00Z.
var t0 = time.Unix(1795946400, 0).UTC()

// tablesStore writes 5 hours (2 before t0, 3 after) of a small fleet at
// 15 s, every value dyadic or a small integer: cpu per host and service
// (host c silent between t0+60m and t0+100m: a grouped absent fires),
// req_total per host, service and code (one series reset at t0+90m, host
// c's silent with its cpu), and an ungrouped heartbeat that stops at
// t0+120m.
func tablesStore(t *testing.T) *analyze.DB {
	t.Helper()
	dir := t.TempDir()
	p := filepath.Join(dir, "v.db")
	st, err := store.Open(context.Background(), p, store.Options{})
	if err != nil {
		t.Fatal(err)
	}
	var s []store.Sample
	cum := map[string]float64{}
	for ts := t0.Add(-2 * time.Hour); !ts.After(t0.Add(3 * time.Hour)); ts = ts.Add(15 * time.Second) {
		i := int(ts.Sub(t0) / (15 * time.Second))
		off := ts.Sub(t0)
		for h, host := range []string{"a", "b", "c"} {
			if host == "c" && off > 60*time.Minute && off <= 100*time.Minute {
				continue
			}
			for v, svc := range []string{"x", "y"} {
				val := float64(((i*7+h*13+v*5)%40+40)%40) / 4
				s = append(s, store.Sample{Name: "cpu", Type: store.Gauge, TS: ts.UnixMilli(), Value: val,
					Labels: map[string]string{"host": host, "service": svc}})
				for c, code := range []string{"200", "500"} {
					key := host + svc + code
					if code == "500" && (i+h)%3 != 0 {
						continue // a sparse series: some windows have no sample
					}
					cum[key] += float64(((i*3+h+v+c)%5 + 5) % 5)
					if key == "ax500" && off == 90*time.Minute {
						cum[key] = 1 // a counter reset
					}
					s = append(s, store.Sample{Name: "req_total", Type: store.Counter, TS: ts.UnixMilli(), Value: cum[key],
						Labels: map[string]string{"host": host, "service": svc, "code": code}})
				}
			}
		}
		if off <= 120*time.Minute {
			s = append(s, store.Sample{Name: "heartbeat", Type: store.Gauge, TS: ts.UnixMilli(), Value: 1, Labels: map[string]string{"job": "batch"}})
		}
	}
	if _, err := st.Write(context.Background(), s); err != nil {
		t.Fatal(err)
	}
	st.Close()
	db, err := analyze.Open(context.Background(), []string{p}, analyze.Options{CacheDir: filepath.Join(dir, "cache")})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	return db
}

// mixedRules is a config of every rule kind over tablesStore; the last
// rule repeats the first's query under another name, as a second config
// (--against) would.
func mixedRules() []config.Rule {
	th := func(name, path string, ew time.Duration, groupBy ...string) config.Rule {
		return config.Rule{Name: name, MetricPath: path, Condition: "greater_than", Threshold: 5, EvaluationWindow: ew, GroupBy: groupBy}
	}
	return []config.Rule{
		th("cpu_sum", "cpu.sum", 5*time.Minute),
		th("cpu_avg", "cpu.avg", 5*time.Minute, "host"),
		th("cpu_default", "cpu", 3*time.Minute, "service"),
		th("cpu_max", "cpu.max by (host)", 10*time.Minute),
		th("cpu_min", "cpu.min", 2*time.Minute, "host", "service"),
		th("cpu_last", "cpu.last", 5*time.Minute, "host"),
		th("cpu_count", "cpu.count", 7*time.Minute, "host"),
		th("cpu_count_le", "cpu.count_le(5)", 5*time.Minute, "service"),
		th("cpu_p95", "cpu.p95", 10*time.Minute, "service"),
		th("cpu_p50", "cpu.p50", 3*time.Minute),
		th("cpu_stddev", "cpu.stddev", 5*time.Minute, "host"),
		th("req_rate", "req_total.rate by (service)", 5*time.Minute),
		th("req_increase", "req_total.increase", 4*time.Minute, "host", "code"),
		th("error_ratio", `req_total{code="500"}.increase / req_total.increase`, 10*time.Minute, "service"),
		{Name: "heartbeat_absent", MetricPath: "heartbeat", Condition: "absent", EvaluationWindow: 2 * time.Minute},
		{Name: "cpu_absent", MetricPath: "cpu.count", Condition: "absent", EvaluationWindow: 2 * time.Minute, Lookback: 30 * time.Minute, GroupBy: []string{"host"}},
		{Name: "req_spike", MetricPath: "req_total.increase by (service)", Condition: "spike", EvaluationWindow: 5 * time.Minute,
			ReferenceWindow: 15 * time.Minute, SpikeRatio: 2, Direction: "both"},
		// A reference window as long as the window: its instants are the
		// window's a few steps back, on the same grid (no chunk thrash).
		{Name: "cpu_spike", MetricPath: "cpu.max", Condition: "spike", EvaluationWindow: 5 * time.Minute,
			ReferenceWindow: 5 * time.Minute, SpikeRatio: 2, Direction: "up"},
		th("cpu_sum_again", "cpu.sum", 5*time.Minute),
	}
}

func queriesOf(t *testing.T, rules []config.Rule) []eval.Query {
	t.Helper()
	qs := RuleQueries(rules)
	n := 0
	for i := range rules {
		q, err := eval.Queries(&rules[i])
		if err != nil {
			t.Fatal(err)
		}
		n += len(q)
	}
	if len(qs) != n {
		t.Fatalf("RuleQueries listed %d queries, the rules have %d", len(qs), n)
	}
	return qs
}

// exactAgg: the aggregations Sliding gives to the bit.
func exactAgg(e *metricpath.Expr) bool {
	if e.Den != nil {
		return false
	}
	switch e.Num.Agg.Kind {
	case metricpath.Count, metricpath.CountLE, metricpath.Min, metricpath.Max, metricpath.Last, metricpath.Percentile:
		return true
	}
	return false
}

func sameAnswer(exact bool, got, want []analyze.Result) error {
	if len(got) != len(want) {
		return fmt.Errorf("%d results, want %d: %v, want %v", len(got), len(want), got, want)
	}
	for i := range got {
		g, w := got[i], want[i]
		if !maps.Equal(g.Labels, w.Labels) || g.Samples != w.Samples {
			return fmt.Errorf("result %d: %v (%d samples), want %v (%d samples)", i, g.Labels, g.Samples, w.Labels, w.Samples)
		}
		if exact || w.Value == 0 || math.IsNaN(w.Value) {
			if math.Float64bits(g.Value) != math.Float64bits(w.Value) && !(math.IsNaN(g.Value) && math.IsNaN(w.Value)) {
				return fmt.Errorf("result %d %v: %v, want %v to the bit", i, g.Labels, g.Value, w.Value)
			}
			continue
		}
		if d := math.Abs(g.Value-w.Value) / math.Abs(w.Value); !(d <= 1e-12) {
			return fmt.Errorf("result %d %v: %v, want %v (relative %g)", i, g.Labels, g.Value, w.Value, d)
		}
	}
	return nil
}

// The tables answer every query of a mixed config at every step as the
// store does (to the bit where Sliding is exact, 1e-12 relative
// otherwise), across four chunks, without asking the store once; queries
// of one expression, window and offset share one table.
func TestTablesAnswerAsEval(t *testing.T) {
	db := tablesStore(t)
	ctx := context.Background()
	rules := mixedRules()
	qs := queriesOf(t, rules)
	const n, k = 180, 50
	tb, err := NewTables(db, qs, t0, time.Minute, n, TablesOptions{ChunkSteps: k})
	if err != nil {
		t.Fatal(err)
	}
	if got, want := len(tb.specs), len(qs)-1; got != want {
		t.Errorf("%d tables for %d queries, want %d (cpu_sum_again shares cpu_sum's)", got, len(qs), want)
	}
	breached := map[string]int{}
	for j := 0; j < n; j++ {
		at := t0.Add(time.Duration(j+1) * time.Minute)
		for _, q := range qs {
			w := analyze.Window{At: at.Add(-q.Offset), Length: q.Length}
			got, err := tb.Eval(ctx, q.Expr, w)
			if err != nil {
				t.Fatalf("step %d %s: %v", j, q.Expr, err)
			}
			want, err := db.Eval(ctx, q.Expr, w)
			if err != nil {
				t.Fatal(err)
			}
			if err := sameAnswer(exactAgg(q.Expr), got, want); err != nil {
				t.Fatalf("step %d (%s) %s over %s at -%s: %v", j, at, q.Expr, q.Length, q.Offset, err)
			}
		}
		// Rules observe alike: the absent rules fire where the data
		// says (host c's gap, the heartbeat's end).
		for i := range rules {
			obs, err := eval.Rule(ctx, tb, &rules[i], at)
			if err != nil {
				t.Fatal(err)
			}
			for _, o := range obs {
				if o.Breached {
					breached[rules[i].Name]++
				}
			}
		}
	}
	if tb.Fallbacks() != 0 {
		t.Errorf("%d fallbacks, want 0", tb.Fallbacks())
	}
	// eval makes a group_by rule's Expr afresh at each step: the strings
	// memoised by pointer must not grow with the steps.
	if len(tb.byPtr) > tb.maxMemo() {
		t.Errorf("%d expressions memoised, want at most %d", len(tb.byPtr), tb.maxMemo())
	}
	if want := 4 * len(tb.specs); tb.Reads() != want {
		t.Errorf("%d reads, want %d (one per table per chunk)", tb.Reads(), want)
	}
	// host c's last sample before its gap is at 60m: with a 2m window
	// and a 30m lookback, breached at the steps 62m..89m (28); the
	// heartbeat's last is at 120m: breached from 122m to 180m (59).
	if breached["cpu_absent"] != 28 || breached["heartbeat_absent"] != 59 {
		t.Errorf("absent breached %d and %d times, want 28 and 59", breached["cpu_absent"], breached["heartbeat_absent"])
	}
	// A query not listed, and an instant off the grid, are the store's.
	e, _ := metricpath.Parse("cpu.max")
	if _, err := tb.Eval(ctx, e, analyze.Window{At: t0.Add(time.Minute), Length: time.Minute}); err != nil {
		t.Fatal(err)
	}
	if _, err := tb.Eval(ctx, qs[0].Expr, analyze.Window{At: t0.Add(90 * time.Second), Length: qs[0].Length}); err != nil {
		t.Fatal(err)
	}
	if tb.Fallbacks() != 2 {
		t.Errorf("%d fallbacks, want 2", tb.Fallbacks())
	}
}

// Moving to a chunk drops the previous one: after stepping through every
// chunk, the tables hold exactly what tables that only ever read the last
// chunk hold, and less than the chunks together.
func TestTablesReleaseChunks(t *testing.T) {
	db := tablesStore(t)
	ctx := context.Background()
	qs := queriesOf(t, mixedRules())
	const n, k = 180, 50
	walk, err := NewTables(db, qs, t0, time.Minute, n, TablesOptions{ChunkSteps: k})
	if err != nil {
		t.Fatal(err)
	}
	if walk.LiveCells() != 0 {
		t.Errorf("%d cells before any query", walk.LiveCells())
	}
	var sum int64
	for j := 0; j < n; j++ {
		if _, err := walk.Eval(ctx, qs[0].Expr, analyze.Window{At: t0.Add(time.Duration(j+1) * time.Minute), Length: qs[0].Length}); err != nil {
			t.Fatal(err)
		}
		if j%k == 0 {
			sum += walk.LiveCells()
		}
	}
	jump, err := NewTables(db, qs, t0, time.Minute, n, TablesOptions{ChunkSteps: k})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := jump.Eval(ctx, qs[0].Expr, analyze.Window{At: t0.Add(n * time.Minute), Length: qs[0].Length}); err != nil {
		t.Fatal(err)
	}
	if walk.LiveCells() != jump.LiveCells() || walk.LiveCells() == 0 || walk.LiveCells() >= sum {
		t.Errorf("after the last chunk %d cells held, want %d (the last chunk's alone; %d in all chunks)", walk.LiveCells(), jump.LiveCells(), sum)
	}
	for _, s := range walk.specs {
		if s.first != 150 {
			t.Fatalf("table %s holds the chunk from step %d, want 150", s.q.Expr, s.first)
		}
	}
}

// K = clamp(budget / (16 x groups), 720, min(n, 4320)).
func TestChunkSteps(t *testing.T) {
	for _, c := range []struct {
		budget, groups int64
		n, want        int
	}{
		{256 << 20, 1000, 43200, 4320}, // 268435456 / 16000 = 16777, past the most
		{64 << 20, 1000, 43200, 4194},  // 67108864 / 16000
		{1, 5, 43200, 720},
		{1 << 40, 5, 43200, 4320},
		{1, 5, 100, 100},
		{256 << 20, 0, 43200, 43200},
	} {
		if got := chunkSteps(c.budget, c.groups, c.n); got != c.want {
			t.Errorf("chunkSteps(%d, %d, %d) = %d, want %d", c.budget, c.groups, c.n, got, c.want)
		}
	}
}

// Without ChunkSteps, the first chunk is half a day of steps and K comes
// from the groups it found and the budget: here 16 bytes x G groups x
// 2000.
func TestTablesChunkFromBudget(t *testing.T) {
	db := tablesStore(t)
	ctx := context.Background()
	qs := queriesOf(t, mixedRules())
	probe, err := NewTables(db, qs, t0, time.Minute, 3000, TablesOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := probe.Eval(ctx, qs[0].Expr, analyze.Window{At: t0.Add(time.Minute), Length: qs[0].Length}); err != nil {
		t.Fatal(err)
	}
	if probe.ChunkSteps() != 3000 {
		t.Errorf("K = %d with the default budget, want every step (3000)", probe.ChunkSteps())
	}
	groups := probe.LiveCells() / 720
	tb, err := NewTables(db, qs, t0, time.Minute, 3000, TablesOptions{ChunkBytes: 16 * groups * 2000})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := tb.Eval(ctx, qs[0].Expr, analyze.Window{At: t0.Add(time.Minute), Length: qs[0].Length}); err != nil {
		t.Fatal(err)
	}
	if tb.ChunkSteps() != 2000 {
		t.Errorf("K = %d, want 2000", tb.ChunkSteps())
	}
	// Step 720 starts the second chunk, of 2000 steps (to 2720).
	if _, err := tb.Eval(ctx, qs[0].Expr, analyze.Window{At: t0.Add(721 * time.Minute), Length: qs[0].Length}); err != nil {
		t.Fatal(err)
	}
	if c, lo, hi := tb.chunkOf(720); c != 1 || lo != 720 || hi != 2720 || tb.specs[0].first != 720 {
		t.Errorf("chunk of step 720: %d [%d, %d), held from %d", c, lo, hi, tb.specs[0].first)
	}
}

// A query the stores cannot answer (the rate of a gauge) is that query's
// error at each step, as the store gives it, and the others still answer.
func TestTablesQueryError(t *testing.T) {
	db := tablesStore(t)
	ctx := context.Background()
	if qs := RuleQueries([]config.Rule{{Name: "unparsed", MetricPath: "cpu.", EvaluationWindow: time.Minute}}); len(qs) != 0 {
		t.Errorf("a path that does not parse listed %v", qs)
	}
	rules := []config.Rule{
		{Name: "bad", MetricPath: "cpu.rate", Condition: "greater_than", EvaluationWindow: 5 * time.Minute},
		{Name: "good", MetricPath: "cpu.max", Condition: "greater_than", EvaluationWindow: 5 * time.Minute},
	}
	qs := queriesOf(t, rules)
	tb, err := NewTables(db, qs, t0, time.Minute, 10, TablesOptions{})
	if err != nil {
		t.Fatal(err)
	}
	w := analyze.Window{At: t0.Add(3 * time.Minute), Length: 5 * time.Minute}
	_, want := db.Eval(ctx, qs[0].Expr, w)
	_, got := tb.Eval(ctx, qs[0].Expr, w)
	if want == nil || got == nil || got.Error() != want.Error() {
		t.Errorf("tables: %v; store: %v", got, want)
	}
	if rs, err := tb.Eval(ctx, qs[1].Expr, w); err != nil || len(rs) != 1 || rs[0].Value != 9.75 {
		t.Errorf("good rule: %v, %v; want cpu's max, 9.75", rs, err)
	}
}

// Quiet says what Eval's results would: some result, none breached, for
// thresholds below, inside and above the values; a window no table holds
// is left to Eval (not counted a fallback until Eval is asked).
func TestTablesQuietAsResults(t *testing.T) {
	db := tablesStore(t)
	ctx := context.Background()
	qs := queriesOf(t, mixedRules())
	const n = 120
	tb, err := NewTables(db, qs, t0, time.Minute, n, TablesOptions{ChunkSteps: 50})
	if err != nil {
		t.Fatal(err)
	}
	kinds := map[bool]int{}
	for j := 0; j < n; j += 3 {
		at := t0.Add(time.Duration(j+1) * time.Minute)
		for _, q := range qs {
			w := analyze.Window{At: at.Add(-q.Offset), Length: q.Length}
			res, err := tb.Eval(ctx, q.Expr, w)
			if err != nil {
				t.Fatal(err)
			}
			for _, thr := range []float64{-1, 0.5, 10, 50, 1e12} {
				above := func(v float64) bool { return v > thr }
				want := len(res) > 0
				for _, r := range res {
					want = want && !above(r.Value)
				}
				got, ok, err := tb.Quiet(ctx, q.Expr, w, above)
				if err != nil || !ok || got != want {
					t.Fatalf("step %d %s over %s, threshold %v: quiet %v (ok %v, %v), the results say %v", j, q.Expr, q.Length, thr, got, ok, err, want)
				}
				kinds[got]++
			}
		}
	}
	if kinds[true] == 0 || kinds[false] == 0 {
		t.Errorf("quiet %d times, not %d: the comparison proves little", kinds[true], kinds[false])
	}
	before := tb.Fallbacks()
	if _, ok, err := tb.Quiet(ctx, qs[0].Expr, analyze.Window{At: t0.Add(90 * time.Second), Length: qs[0].Length}, func(float64) bool { return false }); ok || err != nil {
		t.Errorf("a window off the grid: ok %v, %v; want it left to Eval", ok, err)
	}
	if tb.Fallbacks() != before {
		t.Errorf("Quiet counted a fallback")
	}
}

// Reading ahead changes nothing but when a chunk is read: tables that read
// the next chunk on another goroutine answer every query at every step as
// tables that read each chunk when first asked, stepping forward through
// four chunks, then jumping back (the chunk read ahead is dropped, the one
// asked read afresh). Run under -race, it also checks that the read ahead
// and the caller never touch the DB at once.
func TestTablesReadAheadAnswersAlike(t *testing.T) {
	db := tablesStore(t)
	ctx := context.Background()
	qs := queriesOf(t, mixedRules())
	const n, k = 180, 50
	plain, err := NewTables(db, qs, t0, time.Minute, n, TablesOptions{ChunkSteps: k})
	if err != nil {
		t.Fatal(err)
	}
	// A DB of its own: the plain tables' reads must not race the read ahead.
	ahead, err := NewTables(tablesStore(t), qs, t0, time.Minute, n, TablesOptions{ChunkSteps: k, ReadAhead: true})
	if err != nil {
		t.Fatal(err)
	}
	ask := func(j int) {
		at := t0.Add(time.Duration(j+1) * time.Minute)
		for _, q := range qs {
			w := analyze.Window{At: at.Add(-q.Offset), Length: q.Length}
			want, werr := plain.Eval(ctx, q.Expr, w)
			got, gerr := ahead.Eval(ctx, q.Expr, w)
			if fmt.Sprint(werr) != fmt.Sprint(gerr) || !reflect.DeepEqual(got, want) {
				t.Fatalf("step %d %s: read ahead answered %v (%v), want %v (%v)", j, q.Expr, got, gerr, want, werr)
			}
		}
	}
	for j := 0; j < n; j++ {
		ask(j)
		if j == 60 && ahead.ahead == nil {
			t.Fatal("no chunk read ahead while stepping the second")
		}
	}
	for _, j := range []int{20, 120, 179} { // back to the first chunk, then forward
		ask(j)
	}
	ahead.Close()
	if ahead.ahead != nil {
		t.Error("Close left the read ahead")
	}
}

// aheadBlocked makes tables over qs whose first chunk is read and whose
// read ahead of the second waits for the DB, which the caller then holds
// (tb.dbMu, locked): a read ahead that took the DB first is let finish and
// the tables made again.
func aheadBlocked(t *testing.T, ctx context.Context, db *analyze.DB, qs []eval.Query, n, k int) *Tables {
	t.Helper()
	for try := 0; try < 100; try++ {
		tb, err := NewTables(db, qs, t0, time.Minute, n, TablesOptions{ChunkSteps: k, ReadAhead: true})
		if err != nil {
			t.Fatal(err)
		}
		if _, err := tb.Eval(ctx, qs[0].Expr, analyze.Window{At: t0.Add(time.Minute), Length: qs[0].Length}); err != nil {
			t.Fatal(err)
		}
		if tb.ahead == nil {
			t.Fatal("no read ahead")
		}
		if tb.dbMu.TryLock() {
			return tb
		}
		tb.Close()
	}
	t.Skip("the read ahead always took the DB first")
	return nil
}

// A replay stopped (SIGTERM) while the next chunk is read ahead stops at
// once: a query of that chunk returns the context's error without waiting
// for the read. Close, with the context cancelled or not (a step's
// error), stops the read ahead before it waits for it: the read returns
// the context's error instead of a chunk nobody will ask, and no
// goroutine of the tables is left.
func TestTablesStopWhileReadingAhead(t *testing.T) {
	db := tablesStore(t)
	qs := queriesOf(t, mixedRules())
	const n, k = 180, 50
	stopped := func(a *readAhead) {
		t.Helper()
		select {
		case <-a.done:
		default:
			t.Fatal("Close returned before the read ahead ended")
		}
		for i, err := range a.errs {
			if !errors.Is(err, context.Canceled) {
				t.Fatalf("the read ahead's table %d: %v, want the context's error", i, err)
			}
		}
	}

	ctx, cancel := context.WithCancel(context.Background())
	tb := aheadBlocked(t, ctx, db, qs, n, k)
	a := tb.ahead
	cancel()
	got := make(chan error, 1)
	go func() {
		_, err := tb.Eval(ctx, qs[0].Expr, analyze.Window{At: t0.Add((k + 1) * time.Minute), Length: qs[0].Length})
		got <- err
	}()
	select {
	case err := <-got:
		if !errors.Is(err, context.Canceled) {
			t.Errorf("a query of the chunk read ahead, after the cancel: %v, want the context's error", err)
		}
	case <-time.After(20 * time.Second):
		t.Fatal("a query of the chunk read ahead waited for the read after the cancel")
	}
	tb.dbMu.Unlock()
	tb.Close()
	stopped(a)

	tb = aheadBlocked(t, context.Background(), db, qs, n, k)
	a = tb.ahead
	cancelled := make(chan struct{})
	if a.cancel == nil {
		t.Fatal("the read ahead cannot be stopped")
	}
	stop := a.cancel
	a.cancel = func() { stop(); close(cancelled) }
	closed := make(chan struct{})
	go func() { tb.Close(); close(closed) }()
	select {
	case <-cancelled:
	case <-time.After(20 * time.Second):
		t.Fatal("Close did not stop the read ahead")
	}
	tb.dbMu.Unlock()
	<-closed
	stopped(a)
}
