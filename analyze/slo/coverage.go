package slo

import (
	"context"
	"time"

	"github.com/vigil-metrics/vigil/internal/metricpath"
)

// DefaultMinCoverage is min_coverage's default: the data must cover a
// tenth of an objective's window.
const DefaultMinCoverage = 10

// Coverage is how much of an objective's SLO window its data covers: from
// the first sample of the objective's own series (its good, bad and total
// paths' series; the reference design's counter for its service), or the
// window's start if earlier, to the window's end. The stores' first sample
// of anything is not the objective's: a store that has held the agent's
// host metrics for a year holds a service that began pushing six minutes
// ago (h30 D17).
type Coverage struct {
	// Known: the querier could tell (a store's; a Prometheus-compatible
	// source's history is not known without asking for every metric).
	Known bool
	// Percent of the window (so far, for a calendar window), 0 to 100.
	Percent float64
	// Since is the objective's series' first sample.
	Since time.Time
}

// firstSampler is a querier that knows the first sample of the series a
// selector matches (*analyze.DB, and a replay's tables).
type firstSampler interface {
	FirstSample(ctx context.Context, sels ...metricpath.Selector) (time.Time, bool, error)
}

// extenter is a querier that knows only the stores' first sample: the
// coverage of an objective is then judged from it.
type extenter interface {
	Extent(ctx context.Context) (oldest, newest time.Time, ok bool, err error)
}

// oldest are the first samples asked, by the objective's series (their
// selectors' text; "" for the stores' extent), asked once per evaluator
// and the evaluators AtTime makes from it.
type oldest map[string]firstAnswer

type firstAnswer struct {
	ok  bool
	t   time.Time
	err error
}

// seriesSelectors are the selectors of o's own series: the reference
// design's counter of o's service, or the series of o's paths.
func (o Objective) seriesSelectors() ([]metricpath.Selector, error) {
	byService := func(metric string) []metricpath.Selector {
		return []metricpath.Selector{{Name: metric, Matchers: []metricpath.Matcher{{Label: "service", Op: metricpath.Equal, Value: o.Service}}}}
	}
	var paths []string
	switch {
	case o.Threshold != nil:
		paths = []string{o.Threshold.Metric}
	case o.SLI == Availability && o.Total == "":
		return byService(RequestsMetric), nil
	case o.SLI == Latency && o.Histogram == "":
		return byService(LatencyRequestsMetric), nil
	default:
		paths = o.eventPaths()
	}
	var out []metricpath.Selector
	for _, p := range paths {
		e, err := metricpath.Parse(p)
		if err != nil {
			return nil, err
		}
		out = append(out, e.Num)
		if e.Den != nil {
			out = append(out, *e.Den)
		}
	}
	return out, nil
}

// firstSample is the first sample of ob's series (ok false when the
// querier cannot tell, or they have none).
func (ev *Evaluator) firstSample(ctx context.Context, ob Objective) (firstAnswer, error) {
	fs, byObjective := ev.Q.(firstSampler)
	var sels []metricpath.Selector
	key := ""
	if byObjective {
		var err error
		if sels, err = ob.seriesSelectors(); err != nil {
			return firstAnswer{}, err
		}
		for _, s := range sels {
			key += s.String() + "\xff"
		}
	}
	if a, ok := (*ev.first)[key]; ok {
		return a, a.err
	}
	var a firstAnswer
	if byObjective {
		a.t, a.ok, a.err = fs.FirstSample(ctx, sels...)
	} else if x, can := ev.Q.(extenter); can {
		a.t, _, a.ok, a.err = x.Extent(ctx)
	}
	(*ev.first)[key] = a
	return a, a.err
}

// Coverage is how much of ob's SLO window as of ev's time the data
// covers (Known false when the querier cannot tell).
func (ev *Evaluator) Coverage(ctx context.Context, ob Objective) (Coverage, error) {
	if ev.Q == nil || ev.first == nil {
		return Coverage{}, nil
	}
	first, err := ev.firstSample(ctx, ob)
	if err != nil || !first.ok {
		return Coverage{}, err
	}
	length := ob.Window.Length(ev.At)
	c := Coverage{Known: true, Percent: 100, Since: first.t}
	if start := ev.At.Add(-length); first.t.After(start) && length > 0 {
		c.Percent = max(0, min(100, 100*float64(ev.At.Sub(first.t))/float64(length)))
	}
	return c, nil
}
