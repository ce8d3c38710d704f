package replay

import (
	"context"
	"encoding/json"
	"fmt"
	"math/big"
	"path/filepath"
	"testing"
	"time"

	"github.com/vigil-metrics/vigil/analyze"
	"github.com/vigil-metrics/vigil/analyze/slo"
	"github.com/vigil-metrics/vigil/internal/metricpath"
	"github.com/vigil-metrics/vigil/internal/store"
)

// b0 is a budget replay's start: an hour before a month ends, so that a
// calendar month's SLO window restarts (and its whole length goes from
// 30 to 31 days) in the middle of the replay.
var b0 = time.Date(2026, 11, 30, 23, 0, 0, 0, time.UTC)

const budgetSLOs = `
slos:
  - {service: api, target: 99, window: 1d}
  - {service: ratio, target: 95, window: 2h, good: ok_total.increase, total: all_total.increase}
  - {service: errs, target: 99.5, window: 6h, bad: ko_total.increase, total: all_total.increase}
  - {service: api, target: 99.9, window: calendar_month}
`

// budgetStore writes counters' increments (a store counter's sample is
// what it counted since the last) at every minute from a day and a half
// before b0 to three hours after it, all integers (sums are then exact
// in any order): the reference SLI of api (100 requests a minute, a few
// failing, half failing for ten minutes from b0+40m), and all_total,
// ok_total and ko_total (ok + ko = all; a bad minute in 11, a burst at
// b0+70m); each times scale.
func budgetStore(t testing.TB, from, to time.Time, scale float64) *analyze.DB {
	t.Helper()
	dir := t.TempDir()
	p := filepath.Join(dir, "b.db")
	st, err := store.Open(context.Background(), p, store.Options{})
	if err != nil {
		t.Fatal(err)
	}
	var s []store.Sample
	var good, bad, all, ok, ko float64
	c := func(ts int64, name string, labels map[string]string, v float64) {
		s = append(s, store.Sample{Name: name, Type: store.Counter, Labels: labels, TS: ts, Value: v})
	}
	for at := from; !at.After(to); at = at.Add(time.Minute) {
		m := int(at.Sub(b0) / time.Minute)
		fail := 0.0
		switch {
		case m >= 40 && m < 50:
			fail = 90
		case (m%7+7)%7 == 0:
			fail = 2
		}
		good, bad = 100-fail, fail
		miss := 0.0
		if (m%11+11)%11 == 0 || m >= 70 && m < 75 {
			miss = 4
		}
		all, ok, ko = 20, 20-miss, miss
		ts := at.UnixMilli()
		c(ts, "sli_requests_total", map[string]string{"service": "api", "success": "true"}, good*scale)
		c(ts, "sli_requests_total", map[string]string{"service": "api", "success": "false"}, bad*scale)
		c(ts, "all_total", nil, all*scale)
		c(ts, "ok_total", nil, ok*scale)
		c(ts, "ko_total", nil, ko*scale)
	}
	if _, err := st.Write(context.Background(), s); err != nil {
		t.Fatal(err)
	}
	if err := st.Close(); err != nil {
		t.Fatal(err)
	}
	db, err := analyze.Open(context.Background(), []string{p}, analyze.Options{CacheDir: dir, LockWait: time.Second})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	return db
}

// budgetObjectives are budgetSLOs and a Timeslices objective over
// ok/all per minute (a minute is good at 90%) over 1h.
func budgetObjectives(t testing.TB) []slo.Objective {
	t.Helper()
	objs, _, err := slo.Parse("slo.yaml", []byte(budgetSLOs))
	if err != nil {
		t.Fatal(err)
	}
	sl := objs[1]
	sl.Service, sl.Method, sl.SliceWindow, sl.SliceTarget = "sliced", slo.Timeslices, time.Minute, big.NewRat(9, 10)
	sl.Window = slo.Window{Rolling: time.Hour, Text: "1h"}
	return append(objs, sl)
}

// The replay's budgets (one evaluator prepared for the range, its views
// per step, the occurrence windows from the tables, read in chunks) are
// those of a fresh evaluator on the stores at each step, to the bit; the
// tables hold every window but a calendar window's growing SLO window.
func TestReplayBudgetsEqualFresh(t *testing.T) {
	ctx := context.Background()
	const n = 150
	db := budgetStore(t, b0.Add(-36*time.Hour), b0.Add(3*time.Hour), 1)
	objs := budgetObjectives(t)
	for _, c := range []struct {
		name string
		objs []slo.Objective
		// fallbacks: the calendar month's SLO window at the first step
		// (the month so far) is asked of the stores, then each step adds
		// its minute (growing.go), a new month starting from its first.
		fallbacks int
		want      []string // alerts that fire at some step
	}{
		{"occurrence and sliced", append(objs[:3:3], objs[4]), 0, []string{"api page", "api ticket", "errs ticket", "sliced budget"}},
		{"calendar month", objs[3:4], 1, []string{"api ticket", "api budget"}},
	} {
		t.Run(c.name, func(t *testing.T) {
			tb, err := NewTables(db, BudgetQueries(c.objs, b0, time.Minute, n), b0, time.Minute, n, TablesOptions{ChunkSteps: 40})
			if err != nil {
				t.Fatal(err)
			}
			bg := newBudgeter(ctx, newGrowing(tb, c.objs, b0.Add(time.Minute), time.Minute), c.objs, b0, b0.Add(n*time.Minute))
			fired := map[string]bool{}
			for j := 1; j <= n; j++ {
				at := b0.Add(time.Duration(j) * time.Minute)
				got, err := bg.at(ctx, at)
				if err != nil {
					t.Fatal(err)
				}
				for _, b := range got {
					for _, a := range b.Alerts {
						fired[b.Objective.Service+" "+a.Severity] = true
					}
				}
				if j%7 != 1 && j != 60 && j != 61 && j != n {
					continue
				}
				ev := slo.NewEvaluator(db, at)
				ev.Prepare(ctx, c.objs)
				for i, ob := range c.objs {
					want, err := slo.BudgetOf(ctx, ev, ob)
					if err != nil {
						t.Fatal(err)
					}
					wj, _ := json.Marshal(want)
					gj, _ := json.Marshal(got[i])
					if string(wj) != string(gj) {
						t.Fatalf("%s at %s:\nfresh  %s\nreplay %s", ob.Name(), stamp(at), wj, gj)
					}
				}
			}
			if tb.Fallbacks() != c.fallbacks {
				t.Errorf("%d fallbacks, want %d", tb.Fallbacks(), c.fallbacks)
			}
			if tb.Reads() == 0 {
				t.Error("the tables read nothing")
			}
			for _, k := range c.want {
				if !fired[k] {
					t.Errorf("no %s alert over the replay (seen %v): the comparison proves little", k, fired)
				}
			}
			t.Logf("alerts seen: %v; %d reads, %d fallbacks", fired, tb.Reads(), tb.Fallbacks())
		})
	}
}

// A calendar window's SLO window is a running sum of one-step windows
// equal to the stores' answer at every step while the counts are whole
// (the tables ask the stores once, at the first step); with fractional
// counts every step asks the stores.
func TestGrowingWindowIsTheStores(t *testing.T) {
	ctx := context.Background()
	const n = 150
	ob := budgetObjectives(t)[3]
	for _, c := range []struct {
		scale float64
		// fallbacks: at least; grown: at most (a fractional count
		// stops the month's running sum until the next month, whose
		// first minute is a table's window)
		fallbacks, grown int
	}{{1, 1, n - 2}, {0.1, n - 15, 10}} {
		db := budgetStore(t, b0.Add(-36*time.Hour), b0.Add(3*time.Hour), c.scale)
		objs := []slo.Objective{ob}
		tb, err := NewTables(db, BudgetQueries(objs, b0, time.Minute, n), b0, time.Minute, n, TablesOptions{ChunkSteps: 40})
		if err != nil {
			t.Fatal(err)
		}
		g, ok := newGrowing(tb, objs, b0.Add(time.Minute), time.Minute).(*growing)
		if !ok {
			t.Fatal("no running sums for a calendar month")
		}
		e, _ := metricpath.Parse(slo.RequestsMetric + ".increase by (service, success)")
		for j := 1; j <= n; j++ {
			w := analyze.Window{At: b0.Add(time.Duration(j) * time.Minute)}
			w.Length = ob.Window.Length(w.At)
			got, err := g.Eval(ctx, e, w)
			if err != nil {
				t.Fatal(err)
			}
			want, err := db.Eval(ctx, e, w)
			if err != nil {
				t.Fatal(err)
			}
			if sum(got) != sum(want) || len(got) != len(want) {
				t.Fatalf("scale %v at %s: %v, the stores %v", c.scale, stamp(w.At), got, want)
			}
		}
		// At 00:01 the month is one step long: a table's window.
		if tb.Fallbacks() < c.fallbacks || g.grown > c.grown || c.scale == 1 && (tb.Fallbacks() != 1 || g.grown != n-2) {
			t.Errorf("scale %v: %d fallbacks and %d running sums, want %d and %d", c.scale, tb.Fallbacks(), g.grown, c.fallbacks, c.grown)
		}
		t.Logf("scale %v: %d fallbacks, %d running sums", c.scale, tb.Fallbacks(), g.grown)
	}
}

// sum is the results' values by group, written out.
func sum(rs []analyze.Result) string {
	m := map[string]float64{}
	for _, r := range rs {
		m[store.CanonicalLabels(r.Labels)] += r.Value
	}
	return fmt.Sprint(m)
}
