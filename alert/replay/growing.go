package replay

import (
	"context"
	"math"
	"slices"
	"time"

	"github.com/vigil-metrics/vigil/analyze"
	"github.com/vigil-metrics/vigil/analyze/slo"
	"github.com/vigil-metrics/vigil/internal/metricpath"
	"github.com/vigil-metrics/vigil/internal/store"
)

// A calendar window's SLO window is (period start, t]: another length at
// every step, so no table holds it, and asking the stores at each step
// reads the whole period so far 43,200 times over 30 days. Its paths are
// counts of events (slo's countProblem: increase, count, count_le, sum,
// rate; vigil's reference SLI counters' increase), and all but rate add
// up over consecutive windows: the window at t_j is the one at t_{j-1}
// plus (t_{j-1}, t_j], a table of the step's length. growing keeps that
// running sum per path from the first step of the replay or of a period,
// and answers from it while every value added is a whole number and
// their magnitudes add up to less than 2^53: with whole samples (counts
// of requests) every sum is then exact in any order, so the answer is
// the stores' to the bit (what slo's overSums relies on too). Otherwise
// (a fraction, a rate, a step missed) the window is asked of the tables,
// which ask the stores, counted among their fallbacks, until the period
// ends. (Fractional samples whose sums all round to whole numbers could
// still differ from the stores' sum in the last bit, as the tables'
// windows may: Sliding's 1e-15.)

// growing is a querier over the replay's tables that answers calendar
// SLO windows from running sums.
type growing struct {
	querier
	step time.Duration
	wins map[string][]slo.Window // the calendar windows over each path (by Expr.String)
	runs map[string]*runningSum
	strs map[*metricpath.Expr]string
	// Grown counts the windows answered from a running sum.
	grown int
}

// runningSum is one path's window (start, at], by group.
type runningSum struct {
	start, at time.Time
	ok        bool // every value whole, mag < 2^53
	mag       float64
	idx       map[string]int
	res       []analyze.Result
}

// newGrowing wraps q for the calendar windows of objs; q itself when
// there are none.
func newGrowing(q querier, objs []slo.Objective, at time.Time, step time.Duration) querier {
	g := &growing{querier: q, step: step, wins: map[string][]slo.Window{}, runs: map[string]*runningSum{},
		strs: map[*metricpath.Expr]string{}}
	for _, ob := range objs {
		for _, x := range slo.BudgetQueries(ob, at) {
			if !x.Growing {
				continue
			}
			e, err := metricpath.Parse(x.Path)
			if err != nil || !additive(e) {
				continue
			}
			g.wins[e.String()] = append(g.wins[e.String()], ob.Window)
		}
	}
	if len(g.wins) == 0 {
		return q
	}
	return g
}

// additive reports whether e's value over (a, c] is its value over
// (a, b] plus (b, c]: a sum of samples or of their counts, not a ratio.
func additive(e *metricpath.Expr) bool {
	switch e.Num.Agg.Kind {
	case metricpath.Increase, metricpath.Sum, metricpath.Count, metricpath.CountLE:
		return e.Den == nil
	}
	return false
}

// growingQueries are the tables the running sums add: each growing
// path's window of one step.
func growingQueries(objs []slo.Objective, at time.Time, step time.Duration) []slo.Query {
	var out []slo.Query
	for _, ob := range objs {
		for _, x := range slo.BudgetQueries(ob, at) {
			if x.Growing {
				out = append(out, slo.Query{Path: x.Path, Length: step})
			}
		}
	}
	return out
}

func (g *growing) str(e *metricpath.Expr) string {
	s, ok := g.strs[e]
	if !ok {
		if len(g.strs) > 256 {
			clear(g.strs)
		}
		s = e.String()
		g.strs[e] = s
	}
	return s
}

// Eval answers a calendar SLO window from its path's running sum, else as
// the tables do.
func (g *growing) Eval(ctx context.Context, e *metricpath.Expr, w analyze.Window) ([]analyze.Result, error) {
	s := g.str(e)
	wins, ok := g.wins[s]
	if !ok || !g.sloWindow(wins, w) {
		return g.querier.Eval(ctx, e, w)
	}
	start := w.At.Add(-w.Length)
	r := g.runs[s]
	if r == nil || !r.start.Equal(start) {
		// The first step, or a new period (whose first window is one
		// step long: a table's).
		res, err := g.querier.Eval(ctx, e, w)
		if err != nil {
			return nil, err
		}
		r = &runningSum{start: start, at: w.At, ok: true, idx: map[string]int{}}
		r.add(res)
		g.runs[s] = r
		return res, nil
	}
	switch {
	case !r.ok:
		// Not whole once: the stores answer until the period ends (a
		// sum restarted from theirs could be whole only by rounding).
	case r.at.Equal(w.At):
		g.grown++
		return slices.Clone(r.res), nil
	case r.at.Add(g.step).Equal(w.At):
		inc, err := g.querier.Eval(ctx, e, analyze.Window{At: w.At, Length: g.step})
		if err != nil {
			return nil, err
		}
		r.add(inc)
		r.at = w.At
		if r.ok {
			g.grown++
			return slices.Clone(r.res), nil
		}
	default:
		r.ok = false // a step missed
	}
	return g.querier.Eval(ctx, e, w)
}

// sloWindow reports whether w is one of wins' SLO window at w.At.
func (g *growing) sloWindow(wins []slo.Window, w analyze.Window) bool {
	for _, x := range wins {
		if x.Length(w.At) == w.Length {
			return true
		}
	}
	return false
}

// add adds rs to the running sum, group by group; a value that is not a
// whole number, or magnitudes reaching 2^53, end it (ok false).
func (r *runningSum) add(rs []analyze.Result) {
	for _, x := range rs {
		if !r.ok {
			return
		}
		if x.Value != math.Trunc(x.Value) || math.IsInf(x.Value, 0) {
			r.ok = false
			return
		}
		if r.mag += math.Abs(x.Value); !(r.mag < 0x1p53) {
			r.ok = false
			return
		}
		k := store.CanonicalLabels(x.Labels)
		i, ok := r.idx[k]
		if !ok {
			i = len(r.res)
			r.idx[k] = i
			r.res = append(r.res, analyze.Result{Labels: x.Labels})
		}
		r.res[i].Value += x.Value
		r.res[i].Samples += x.Samples
	}
}
