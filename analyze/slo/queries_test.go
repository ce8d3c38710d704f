package slo

import (
	"context"
	"slices"
	"sort"
	"testing"
	"time"

	"github.com/vigil-metrics/vigil/analyze"
	"github.com/vigil-metrics/vigil/internal/metricpath"
)

// askedQ records the Eval queries asked of it (path as written by
// Expr.String, length); every answer is one series of 1 good in 1.
type askedQ struct{ asked map[Query]bool }

func (q *askedQ) Eval(_ context.Context, e *metricpath.Expr, w analyze.Window) ([]analyze.Result, error) {
	q.asked[Query{Path: e.String(), Length: w.Length}] = true
	return []analyze.Result{{Labels: map[string]string{"service": "api", "success": "true", "fast": "true"}, Value: 1, Samples: 1}}, nil
}

func (q *askedQ) Buckets(context.Context, *metricpath.Expr, time.Time, time.Duration, int) ([]analyze.BucketSeries, error) {
	return nil, nil
}

// BudgetQueries lists exactly the Eval queries BudgetOf asks of an
// occurrence objective at an instant (the SLO window marked Growing for a
// calendar one), and none for a sliced objective, whose events are
// Buckets reads.
func TestBudgetQueriesAreWhatBudgetOfAsks(t *testing.T) {
	at := time.Date(2026, 11, 17, 10, 37, 0, 0, time.UTC)
	tg := mustTarget(t, "99")
	base := Objective{Service: "api", SLI: Availability, Target: tg, BudgetAlertPercent: 80}
	with := func(f func(o *Objective)) Objective { o := base; f(&o); return o }
	objs := map[string]Objective{
		"reference 30d": with(func(o *Objective) { o.Window = Window{Rolling: 30 * day, Text: "30d"} }),
		"reference 1d":  with(func(o *Objective) { o.Window = Window{Rolling: day, Text: "1d"} }),
		"latency 7d":    with(func(o *Objective) { o.SLI, o.Window = Latency, Window{Rolling: 7 * day, Text: "7d"} }),
		"histogram 7d": with(func(o *Objective) {
			o.SLI, o.Histogram, o.ThresholdMS, o.Window = Latency, "req_ms", 250, Window{Rolling: 7 * day}
		}),
		"good/total 28d": with(func(o *Objective) {
			o.Good, o.Total, o.Window = "ok_total.increase", "all_total.increase", Window{Rolling: 28 * day}
		}),
		"bad/total 2h": with(func(o *Objective) {
			o.Bad, o.Total, o.Window = "err_total.increase", "all_total.increase", Window{Rolling: 2 * time.Hour}
		}),
		"calendar month": with(func(o *Objective) { o.Window = Window{CalendarMonth: true, Text: "calendar_month"} }),
		"openslo weeks":  with(func(o *Objective) { o.Window = Window{Days: 14, Start: time.Date(2026, 1, 5, 0, 0, 0, 0, time.UTC)} }),
	}
	for name, ob := range objs {
		t.Run(name, func(t *testing.T) {
			q := &askedQ{asked: map[Query]bool{}}
			if _, err := BudgetOf(context.Background(), NewEvaluator(q, at), ob); err != nil {
				t.Fatal(err)
			}
			var asked, listed []Query
			for k := range q.asked {
				asked = append(asked, k)
			}
			growing := 0
			for _, x := range BudgetQueries(ob, at) {
				if x.Growing {
					growing++
					if x.Length != ob.Window.Length(at) {
						t.Errorf("growing %v: want the SLO window's length %s", x, ob.Window.Length(at))
					}
				}
				e, err := metricpath.Parse(x.Path)
				if err != nil {
					t.Fatal(err)
				}
				listed = append(listed, Query{Path: e.String(), Length: x.Length})
			}
			less := func(s []Query) {
				sort.Slice(s, func(i, j int) bool { return s[i].Path+s[i].Length.String() < s[j].Path+s[j].Length.String() })
			}
			less(asked)
			less(listed)
			if !slices.Equal(asked, listed) {
				t.Errorf("BudgetOf asked\n%v\nBudgetQueries lists\n%v", asked, listed)
			}
			paths := len(listed) / max(1, len(budgetLengths(ob, at)))
			if cal := ob.Window.CalendarMonth || ob.Window.Days > 0; (growing > 0) != cal || cal && growing != paths {
				t.Errorf("%d growing queries (calendar %v, %d paths)", growing, cal, paths)
			}
		})
	}
	sliced := with(func(o *Objective) { o.Method, o.SliceWindow, o.Window = Timeslices, time.Minute, Window{Rolling: day} })
	if qs := BudgetQueries(sliced, at); len(qs) != 0 {
		t.Errorf("sliced: %v, want none", qs)
	}
}

// budgetLengths are the distinct lengths BudgetOf asks at at.
func budgetLengths(ob Objective, at time.Time) map[time.Duration]bool {
	m := map[time.Duration]bool{ob.Window.Length(at): true}
	for _, d := range budgetWindows(ob, ob.Window.Full(at)) {
		m[d] = true
	}
	return m
}
