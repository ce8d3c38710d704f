package slo

import (
	"context"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/vigil-metrics/vigil/analyze"
	"github.com/vigil-metrics/vigil/internal/metricpath"
	"github.com/vigil-metrics/vigil/internal/vtime"
)

// Querier answers a metric path over a window, and over consecutive
// windows at once (Buckets: a sliced objective's time slices, read in one
// query); *analyze.DB is one, for stores and Prometheus-compatible
// sources alike.
type Querier interface {
	Eval(ctx context.Context, e *metricpath.Expr, w analyze.Window) ([]analyze.Result, error)
	Buckets(ctx context.Context, e *metricpath.Expr, end time.Time, bucket time.Duration, n int) ([]analyze.BucketSeries, error)
}

// Evaluator counts objectives' events. The reference design's SLIs of
// every service are answered by one query per window (grouped by service
// and outcome), kept for the other objectives of the run.
type Evaluator struct {
	Q      Querier
	At     time.Time
	cache  map[string][]analyze.Result
	sliced map[string][]*sliceData // by path and slice width: slices read
	judged map[judgeKey]Events     // RatioTimeslices windows judged (slices.go)
	// verdicts and over are prefix sums over the reads' slices
	// (prefix.go), shared like sliced with the evaluators of AtTime.
	verdicts map[verdictKey]*sliceCountSums
	over     map[verdictKey]*overSums
	// from is PrepareRange's: the reads of sliced objectives reach back
	// far enough for every instant from it to At.
	from time.Time
	// exprs are the paths parsed, shared with the evaluators of AtTime:
	// a replay asks the same dozen paths at every step, and a querier
	// that keys on the expression (a replay's tables) then sees the same
	// one each time. Nothing changes a parsed Expr.
	exprs map[string]*metricpath.Expr
	// first are the objectives' first samples (Coverage), asked once and shared
	// with the evaluators of AtTime.
	first *oldest
}

// NewEvaluator evaluates as of at.
func NewEvaluator(q Querier, at time.Time) *Evaluator {
	return &Evaluator{Q: q, At: at, cache: map[string][]analyze.Result{}, sliced: map[string][]*sliceData{}, judged: map[judgeKey]Events{},
		verdicts: map[verdictKey]*sliceCountSums{}, over: map[verdictKey]*overSums{}, exprs: map[string]*metricpath.Expr{}, first: &oldest{}}
}

// AtTime is an evaluator as of at over ev's Querier that shares the time
// slices ev has read: a report's burn-down points and its previous period
// read each sliced objective's slices once (an earlier time's slices are
// the first of a later one's, on the same grid), and so do a replay's
// steps after PrepareRange. It costs O(1) in the length read: it keeps
// nothing of its own until asked, and what it derives from the shared
// slices (slices.go, prefix.go) is kept with them.
func (ev *Evaluator) AtTime(at time.Time) *Evaluator {
	return &Evaluator{Q: ev.Q, At: at, cache: map[string][]analyze.Result{}, sliced: ev.sliced, judged: map[judgeKey]Events{},
		verdicts: ev.verdicts, over: ev.over, exprs: ev.exprs, first: ev.first}
}

// Prepare reads the slices of objs' sliced objectives over their windows
// first, so that the occurrences over the same counters and window, asked
// after, are added up from the slices' sums (analyze's bucket sums tile
// the window) instead of scanning the window again; what it reads is kept
// for Events. Its errors are left to Events, which reports them in the
// objectives' order.
func (ev *Evaluator) Prepare(ctx context.Context, objs []Objective) {
	for _, o := range objs {
		if o.Sliced() || o.Threshold != nil {
			_, _ = ev.Events(ctx, o, o.Window.Length(ev.At))
		}
	}
}

// PrepareRange is Prepare for every instant from from to the evaluator's
// time: each sliced objective's paths are read once, back to the earliest
// slice that any window of an instant in [from, At] holds (its SLO
// window, burn windows and alert windows), so that ev.AtTime(t).Events,
// BurnEvents and BudgetOf for every such t are answered from that read (a
// replay's steps). The evaluator keeps from for its later reads. A from at
// or after At is Prepare. Occurrence objectives are not read ahead: each
// instant's windows are its own Eval queries.
func (ev *Evaluator) PrepareRange(ctx context.Context, objs []Objective, from time.Time) {
	if from.Before(ev.At) {
		ev.from = from
	}
	ev.Prepare(ctx, objs)
}

// Truthy reports whether an outcome label value means yes: true, True,
// TRUE (the reference design writes Python's str(True)) or 1.
func Truthy(v string) bool { return strings.EqualFold(v, "true") || v == "1" }

func (ev *Evaluator) query(ctx context.Context, path string, length time.Duration) ([]analyze.Result, error) {
	key := path + "\xff" + length.String()
	if rs, ok := ev.cache[key]; ok {
		return rs, nil
	}
	e, ok := ev.exprs[path]
	if !ok {
		var err error
		if e, err = metricpath.Parse(path); err != nil {
			return nil, err
		}
		if ev.exprs == nil {
			ev.exprs = map[string]*metricpath.Expr{}
		}
		ev.exprs[path] = e
	}
	rs, err := ev.Q.Eval(ctx, e, analyze.Window{At: ev.At, Length: length})
	if err != nil {
		return nil, err
	}
	ev.cache[key] = rs
	return rs, nil
}

// Events counts o's good and total events over the length ending at the
// evaluator's time: requests, or time slices for a sliced objective
// (slices.go). length is a window that is judged (the SLO window): good
// events outnumbering all of them over it is a CountError (exit 2).
func (ev *Evaluator) Events(ctx context.Context, o Objective, length time.Duration) (Events, error) {
	return ev.events(ctx, o, length, true)
}

// BurnEvents counts o's events over a burn window (or another window
// that is not judged, such as a burn-down point), with good clamped to
// total: good and total counters are scraped or pushed at slightly
// different instants, so over a few minutes good is routinely ahead of
// total (+900 good at 11:59 for +1000 total at 10:00 is 900 of 0 over
// 5m). Such a window is then all good, never more than all; the SLO
// window (Events) still refuses a count that exceeds its total.
func (ev *Evaluator) BurnEvents(ctx context.Context, o Objective, length time.Duration) (Events, error) {
	return ev.events(ctx, o, length, false)
}

// events is Events (strict: good > total over the window is a
// CountError) or BurnEvents (clamped).
func (ev *Evaluator) events(ctx context.Context, o Objective, length time.Duration, strict bool) (Events, error) {
	if length <= 0 {
		return Events{}, nil
	}
	switch {
	case o.Sliced() || o.Threshold != nil:
		return ev.slicedEvents(ctx, o, length, strict)
	case o.SLI == Availability && o.Total == "":
		return ev.outcomes(ctx, RequestsMetric, "success", o.Service, length)
	case o.SLI == Latency && o.Histogram == "":
		return ev.outcomes(ctx, LatencyRequestsMetric, "fast", o.Service, length)
	case o.SLI == Latency:
		good, total := o.histogramPaths()
		return ev.ratio(ctx, o, good, "", total, length, strict)
	}
	return ev.ratio(ctx, o, o.Good, o.Bad, o.Total, length, strict)
}

// outcomes counts a reference design SLI counter for service: every
// increment is an event, those whose outcome label is truthy are good.
func (ev *Evaluator) outcomes(ctx context.Context, metric, label, service string, length time.Duration) (Events, error) {
	rs, err := ev.query(ctx, outcomesPath(metric, label), length)
	if err != nil {
		return Events{}, err
	}
	var e Events
	for _, r := range rs {
		if r.Labels["service"] != service {
			continue
		}
		e.Total += r.Value
		if Truthy(r.Labels[label]) {
			e.Good += r.Value
		}
	}
	return e, nil
}

func (ev *Evaluator) sum(ctx context.Context, o Objective, path string, length time.Duration) (float64, error) {
	rs, err := ev.query(ctx, path, length)
	if err != nil {
		return 0, fmt.Errorf("%s:%d: objective %s: %w", o.File, o.Line, o.Name(), err)
	}
	var s float64
	for _, r := range rs {
		s += r.Value
	}
	return s, nil
}

func (ev *Evaluator) ratio(ctx context.Context, o Objective, good, bad, total string, length time.Duration, strict bool) (Events, error) {
	var e Events
	var err error
	if e.Total, err = ev.sum(ctx, o, total, length); err != nil {
		return e, err
	}
	if good != "" {
		if e.Good, err = ev.sum(ctx, o, good, length); err != nil {
			return e, err
		}
		if e.Good > e.Total && !strict {
			e.Good = e.Total
		}
		if e.Good > e.Total {
			return e, &CountError{Objective: o, Kind: "good", Path: good, Count: e.Good, TotalPath: total, Total: e.Total, Window: length}
		}
		return e, nil
	}
	b, err := ev.sum(ctx, o, bad, length)
	if err != nil {
		return e, err
	}
	if b > e.Total && !strict {
		b = e.Total // all bad, never more than all
	}
	if b > e.Total {
		return e, &CountError{Objective: o, Kind: "bad", Path: bad, Count: b, TotalPath: total, Total: e.Total, Window: length}
	}
	e.Good = e.Total - b
	return e, nil
}

// CountError is a ratio SLI whose good (or bad) events outnumber all its
// events over its SLO window (Events; a burn window or a time slice
// clamps instead, see BurnEvents): the paths do not count what the objective says
// they count. Clamping it to 100% would report a broken definition as a
// met objective, so it is a configuration error (exit 2).
type CountError struct {
	Objective       Objective
	Kind            string // good or bad
	Path, TotalPath string
	Count, Total    float64
	// Window is the SLO window; for a sliced objective the counts are
	// the sums over its slices with events.
	Window time.Duration
}

func (e *CountError) Error() string {
	over := vtime.FormatDuration(e.Window)
	return fmt.Sprintf("%s:%d: objective %s: %s count %s (%s) exceeds its total %s (%s) over %s",
		e.Objective.File, e.Objective.Line, e.Objective.Name(), e.Kind, strconv.FormatFloat(e.Count, 'f', -1, 64), e.Path,
		strconv.FormatFloat(e.Total, 'f', -1, 64), e.TotalPath, over)
}

// UsageError marks a definition error (exit 2).
func (e *CountError) UsageError() bool { return true }

// Hint says what to look at.
func (e *CountError) Hint() string {
	return e.Kind + " must count a subset of total's events: check that both paths select the same series"
}
