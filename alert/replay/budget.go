package replay

import (
	"context"
	"time"

	"github.com/vigil-metrics/vigil/alert/eval"
	"github.com/vigil-metrics/vigil/analyze/slo"
	"github.com/vigil-metrics/vigil/internal/metricpath"
)

// A replay's budget run at each step is `vigil budget --notify --at t`'s
// budgets: slo.BudgetOf per objective as of t. A fresh Evaluator per step
// read every window of every objective from the stores (about 50 ms a
// step for one objective: 36 minutes over 30 days at 1m), so the budgets
// are answered from what a replay reads once:
//   - a sliced objective's slices are read once for the whole range
//     (Evaluator.PrepareRange on an evaluator at the last step), and each
//     step's evaluator is a view of them (AtTime);
//   - an occurrence objective's windows (slo.BudgetQueries: the SLO
//     window, the burn windows, the burn alerts' scaled windows) are
//     tables of the replay's Tables, registered by BudgetQueries, so that
//     each is a lookup. A calendar window's SLO window grows at every
//     step and is no table: it is a running sum of one-step windows
//     (growing.go), or where that could differ from the stores' answer
//     (fractional counts, a rate) asked of the stores, which Tables
//     counts among its fallbacks.

// budgeter computes each step's budgets from one evaluator prepared for
// the whole range.
type budgeter struct {
	objs []slo.Objective
	base *slo.Evaluator
}

// newBudgeter prepares the sliced objectives' reads for every step in
// (from, to]. Read errors are left to each step's BudgetOf, as Prepare
// leaves them to Events.
func newBudgeter(ctx context.Context, q slo.Querier, objs []slo.Objective, from, to time.Time) *budgeter {
	base := slo.NewEvaluator(q, to)
	base.PrepareRange(ctx, objs, from)
	return &budgeter{objs: objs, base: base}
}

// at is every objective's budget as of at (a step in the range).
func (b *budgeter) at(ctx context.Context, at time.Time) ([]slo.Budget, error) {
	ev := b.base.AtTime(at)
	out := make([]slo.Budget, len(b.objs))
	for i, ob := range b.objs {
		x, err := slo.BudgetOf(ctx, ev, ob)
		if err != nil {
			return nil, err
		}
		out[i] = x
	}
	return out, nil
}

// BudgetQueries are the windows the budgets of objs ask of Eval at the n
// steps from+step ... from+n*step (slo.BudgetQueries), as NewTables
// queries with offset 0: those of the first step, and again wherever an
// objective's whole window changes length (a calendar month's burn
// alerts scale with its days). A calendar window's growing SLO window,
// another length at every step, is not one: its paths' windows of one
// step are, which the running sums add (growing.go). A path that does
// not parse is left out: the budget's evaluation fails on it.
func BudgetQueries(objs []slo.Objective, from time.Time, step time.Duration, n int) []eval.Query {
	var out []eval.Query
	seen := map[slo.Query]bool{}
	exprs := map[string]*metricpath.Expr{}
	for _, ob := range objs {
		if len(slo.BudgetQueries(ob, from.Add(step))) == 0 {
			continue // sliced: slices, read by PrepareRange
		}
		var full time.Duration
		for j := 1; j <= n; j++ {
			at := from.Add(time.Duration(j) * step)
			if f := ob.Window.Full(at); j > 1 && f == full {
				continue
			} else {
				full = f
			}
			qs := slo.BudgetQueries(ob, at)
			if j == 1 {
				qs = append(qs, growingQueries([]slo.Objective{ob}, at, step)...)
			}
			for _, x := range qs {
				if x.Growing || seen[x] {
					continue
				}
				seen[x] = true
				e, ok := exprs[x.Path]
				if !ok {
					var err error
					if e, err = metricpath.Parse(x.Path); err != nil {
						continue
					}
					exprs[x.Path] = e
				}
				out = append(out, eval.Query{Expr: e, Length: x.Length})
			}
		}
	}
	return out
}
