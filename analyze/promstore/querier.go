package promstore

import (
	"context"
	"sort"

	"github.com/prometheus/prometheus/model/histogram"
	"github.com/prometheus/prometheus/model/labels"
	"github.com/prometheus/prometheus/storage"
	"github.com/prometheus/prometheus/tsdb/chunkenc"
	"github.com/prometheus/prometheus/tsdb/chunks"
	"github.com/prometheus/prometheus/util/annotations"

	"github.com/vigil-metrics/vigil/analyze"
)

type matcherSet = []*labels.Matcher

// Querier implements storage.Queryable.
func (s *Source) Querier(mint, maxt int64) (storage.Querier, error) {
	return &querier{src: s, mint: mint, maxt: maxt}, nil
}

type querier struct {
	src        *Source
	mint, maxt int64
}

func (q *querier) Close() error { return nil }

// Select reads the matching series' points in the querier's range (the
// hints' narrower one when given); a "series" hint reads labels only.
func (q *querier) Select(ctx context.Context, _ bool, hints *storage.SelectHints, ms ...*labels.Matcher) storage.SeriesSet {
	mint, maxt, only := q.mint, q.maxt, false
	if hints != nil {
		mint, maxt = max(mint, hints.Start), min(maxt, hints.End)
		if hints.Start == 0 && hints.End == 0 {
			mint, maxt = q.mint, q.maxt
		}
		only = hints.Func == "series"
	}
	sel, err := q.src.read(ctx, mint, maxt, []matcherSet{ms}, only)
	if err != nil {
		return storage.ErrSeriesSet(err)
	}
	return &seriesSet{sel: sel, i: -1}
}

// LabelValues lists a label's values over the matching series.
func (q *querier) LabelValues(ctx context.Context, name string, hints *storage.LabelHints, ms ...*labels.Matcher) ([]string, annotations.Annotations, error) {
	sel, err := q.src.read(ctx, q.mint, q.maxt, setsOf(ms), true)
	if err != nil {
		return nil, nil, err
	}
	seen := map[string]bool{}
	for _, v := range sel.series {
		if x := v.lset.Get(name); x != "" {
			seen[x] = true
		}
	}
	return limited(seen, hints), nil, nil
}

// LabelNames lists the label names of the matching series.
func (q *querier) LabelNames(ctx context.Context, hints *storage.LabelHints, ms ...*labels.Matcher) ([]string, annotations.Annotations, error) {
	sel, err := q.src.read(ctx, q.mint, q.maxt, setsOf(ms), true)
	if err != nil {
		return nil, nil, err
	}
	seen := map[string]bool{}
	for _, v := range sel.series {
		v.lset.Range(func(l labels.Label) { seen[l.Name] = true })
	}
	return limited(seen, hints), nil, nil
}

func setsOf(ms []*labels.Matcher) []matcherSet {
	if len(ms) == 0 {
		return nil
	}
	return []matcherSet{ms}
}

func limited(seen map[string]bool, hints *storage.LabelHints) []string {
	out := make([]string, 0, len(seen))
	for k := range seen {
		out = append(out, k)
	}
	sort.Strings(out)
	if hints != nil && hints.Limit > 0 && len(out) > hints.Limit {
		out = out[:hints.Limit]
	}
	return out
}

// seriesSet walks a selection; its series are sorted by labels.
type seriesSet struct {
	sel *selected
	i   int
}

func (s *seriesSet) Next() bool {
	s.i++
	return s.i < len(s.sel.series)
}

func (s *seriesSet) At() storage.Series {
	sr := &series{lset: s.sel.series[s.i].lset}
	if s.i < len(s.sel.pts) {
		sr.pts = s.sel.pts[s.i]
	}
	return sr
}

func (s *seriesSet) Err() error                        { return nil }
func (s *seriesSet) Warnings() annotations.Annotations { return nil }

type series struct {
	lset labels.Labels
	pts  fpoints // shared with the kept points: read only
}

func (s *series) Labels() labels.Labels { return s.lset }

// Iterator walks the points with Prometheus's list iterator, over the
// points as read (fpoints, whose Get hands out a pointer: boxing a
// sample value in the chunks.Sample interface at every Get was an
// allocation a sample, about half the engine's time over a day of
// counters; docs/performance.md, vigil serve). The list iterator only
// reads them, so the kept points are walked in place.
func (s *series) Iterator(chunkenc.Iterator) chunkenc.Iterator {
	return storage.NewListSeriesIterator(s.pts)
}

// fpoints are a series' samples for Prometheus's list iterator, laid
// out as the samples read (a series' points can be built where its
// group's samples were read, readPoints).
type fpoints []analyze.RawSample

func (p fpoints) Get(i int) chunks.Sample { return (*fpoint)(&p[i]) }
func (p fpoints) Len() int                { return len(p) }

// fpoint is one float sample.
type fpoint analyze.RawSample

func (p fpoint) T() int64                      { return p.TS }
func (p fpoint) ST() int64                     { return 0 }
func (p fpoint) F() float64                    { return p.Value }
func (p fpoint) H() *histogram.Histogram       { return nil }
func (p fpoint) FH() *histogram.FloatHistogram { return nil }
func (p fpoint) Type() chunkenc.ValueType      { return chunkenc.ValFloat }
func (p fpoint) Copy() chunks.Sample           { return p }
