package replay

import (
	"context"
	"time"

	"github.com/vigil-metrics/vigil/internal/metricpath"
)

// Extent is the stores' oldest and newest sample (analyze.DB.Extent), so
// that a replay's budgets judge an objective's data coverage of its window
// (min_coverage) as vigil budget does at each step.
func (t *Tables) Extent(ctx context.Context) (oldest, newest time.Time, ok bool, err error) {
	t.dbMu.Lock()
	defer t.dbMu.Unlock()
	return t.db.Extent(ctx)
}

// Extent is the underlying querier's (Tables', or the stores' in the
// exact mode), for the budgets' coverage; not known otherwise.
func (g *growing) Extent(ctx context.Context) (oldest, newest time.Time, ok bool, err error) {
	if x, can := g.querier.(interface {
		Extent(context.Context) (time.Time, time.Time, bool, error)
	}); can {
		return x.Extent(ctx)
	}
	return time.Time{}, time.Time{}, false, nil
}

// FirstSample is the first sample of the series sels match
// (analyze.DB.FirstSample): an objective's coverage is judged from its
// own series, as vigil budget judges it.
func (t *Tables) FirstSample(ctx context.Context, sels ...metricpath.Selector) (time.Time, bool, error) {
	t.dbMu.Lock()
	defer t.dbMu.Unlock()
	return t.db.FirstSample(ctx, sels...)
}

// FirstSample is the underlying querier's, as Extent.
func (g *growing) FirstSample(ctx context.Context, sels ...metricpath.Selector) (time.Time, bool, error) {
	if x, can := g.querier.(interface {
		FirstSample(context.Context, ...metricpath.Selector) (time.Time, bool, error)
	}); can {
		return x.FirstSample(ctx, sels...)
	}
	return time.Time{}, false, nil
}
