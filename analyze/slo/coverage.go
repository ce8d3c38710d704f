package slo

import (
	"context"
	"time"
)

// DefaultMinCoverage is min_coverage's default: the data must cover a
// tenth of an objective's window.
const DefaultMinCoverage = 10

// Coverage is how much of an objective's SLO window the stores' data
// covers: from their first sample (or the window's start, if earlier) to
// the window's end.
type Coverage struct {
	// Known: the querier could tell (a store's; a Prometheus-compatible
	// source's history is not known without asking for every metric).
	Known bool
	// Percent of the window (so far, for a calendar window), 0 to 100.
	Percent float64
	// Since is the stores' first sample.
	Since time.Time
}

// extenter is a querier that knows the stores' first sample
// (*analyze.DB, and a replay's tables).
type extenter interface {
	Extent(ctx context.Context) (oldest, newest time.Time, ok bool, err error)
}

// oldest is the stores' first sample, asked once per evaluator and the
// evaluators AtTime makes from it.
type oldest struct {
	asked bool
	ok    bool
	t     time.Time
	err   error
}

// Coverage is how much of ob's SLO window as of ev's time the data
// covers (Known false when the querier cannot tell).
func (ev *Evaluator) Coverage(ctx context.Context, ob Objective) (Coverage, error) {
	x, can := ev.Q.(extenter)
	if !can || ev.first == nil {
		return Coverage{}, nil
	}
	if !ev.first.asked {
		ev.first.asked = true
		ev.first.t, _, ev.first.ok, ev.first.err = x.Extent(ctx)
	}
	if ev.first.err != nil || !ev.first.ok {
		return Coverage{}, ev.first.err
	}
	length := ob.Window.Length(ev.At)
	c := Coverage{Known: true, Percent: 100, Since: ev.first.t}
	if start := ev.At.Add(-length); ev.first.t.After(start) && length > 0 {
		c.Percent = max(0, min(100, 100*float64(ev.At.Sub(ev.first.t))/float64(length)))
	}
	return c, nil
}
