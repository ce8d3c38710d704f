package analyze

import (
	"context"
	"fmt"

	"github.com/vigil-metrics/vigil/internal/metricpath"
	"github.com/vigil-metrics/vigil/internal/store"
)

// resolveAgg gives a bare metric name its aggregation by the metric's
// type: the rate of a counter, the average of a gauge or a histogram.
func resolveAgg(a metricpath.Agg, typ store.Type) metricpath.Agg {
	if a.Kind != metricpath.Default {
		return a
	}
	if typ == store.Counter {
		return metricpath.Agg{Kind: metricpath.Rate, Text: "rate"}
	}
	return metricpath.Agg{Kind: metricpath.Avg, Text: "avg"}
}

// countsEvents reports whether an aggregation of a metric of type typ
// ("" when no series matched) counts events, so that no samples mean 0.
func countsEvents(k metricpath.AggKind, typ store.Type) bool {
	switch k {
	case metricpath.Increase, metricpath.Rate, metricpath.Count, metricpath.CountLE:
		return true
	case metricpath.Sum:
		return typ == store.Counter
	}
	return false
}

type group struct {
	labels map[string]string
}

// selection is a selector's series, grouped, in the selection table.
type selection struct {
	groups                  []group
	typ                     store.Type // "" when no series has the name
	agg                     metricpath.Agg
	set                     int64 // the selection's id; meaningful only with groups
	selStore, selID, selGrp []int64
}

// selectionOf finds a selector's series, checks the metric's type against
// the aggregation, groups the matching series by the selector's by labels
// and fills the selection table with them (when any matched).
func (d *DB) selectionOf(ctx context.Context, s *metricpath.Selector) (*selection, error) {
	series, err := d.seriesOf(ctx, s.Name)
	if err != nil {
		return nil, err
	}
	sl := &selection{}
	groupIdx := map[string]int{}
	allTypes := make([]string, 0, len(series))
	allStores := make([]int64, 0, len(series))
	for _, sr := range series {
		allTypes, allStores = append(allTypes, sr.typ), append(allStores, sr.store)
		labels := sr.labels
		if !s.Match(s.Name, labels) {
			continue
		}
		gl := groupLabels(s, labels)
		key := store.CanonicalLabels(gl)
		g, ok := groupIdx[key]
		if !ok {
			g = len(sl.groups)
			groupIdx[key] = g
			sl.groups = append(sl.groups, group{labels: gl})
		}
		sl.selStore, sl.selID, sl.selGrp = append(sl.selStore, sr.store), append(sl.selID, sr.id), append(sl.selGrp, int64(g))
	}
	if sl.typ, err = d.seriesTypes(s, allTypes, allStores); err != nil {
		return nil, err
	}
	sl.agg = resolveAgg(s.Agg, sl.typ)
	if len(sl.groups) == 0 {
		return sl, nil
	}
	if sl.set, err = d.fillSelection(ctx, sl.selStore, sl.selID, sl.selGrp); err != nil {
		return nil, err
	}
	return sl, nil
}

// groupLabels is the label set of the group a series with labels falls
// in: its values of the selector's by labels (a missing or empty one is
// left out).
func groupLabels(s *metricpath.Selector, labels map[string]string) map[string]string {
	gl := map[string]string{}
	for _, b := range s.By {
		if v := labels[b]; v != "" {
			gl[b] = v
		}
	}
	return gl
}

// seriesTypes checks that a metric has one type in all stores and that the
// aggregation takes it; it returns the type ("" for no series).
func (d *DB) seriesTypes(s *metricpath.Selector, typ []string, stores []int64) (store.Type, error) {
	var t store.Type
	first := 0
	for i, x := range typ {
		switch {
		case t == "":
			t, first = store.Type(x), i
		case store.Type(x) != t:
			return "", queryErrorf("metric %s is a %s in %s but a %s in %s: one name must keep one type across stores",
				s.Name, t, d.Stores[stores[first]], x, d.Stores[stores[i]])
		}
	}
	if k := s.Agg.Kind; (k == metricpath.Rate || k == metricpath.Increase) && t != "" && t != store.Counter {
		hint := "use .avg for a gauge's level over the window"
		if t == store.Histogram {
			hint = "use .count for observations in the window, or .sum for their total"
		}
		return "", queryErrorf("%s of %s: %s is a %s, and %s takes counters (%s)", k, s.Name, s.Name, t, k, hint)
	}
	return t, nil
}

func (d *DB) evalSelector(ctx context.Context, s *metricpath.Selector, w Window) ([]Result, store.Type, error) {
	if rs, typ, ok, err := d.pushDown(ctx, s, w); ok || err != nil {
		return rs, typ, err
	}
	sl, err := d.selectionOf(ctx, s)
	if err != nil {
		return nil, "", err
	}
	typ, groups := sl.typ, sl.groups
	if len(groups) == 0 {
		return []Result{}, typ, nil
	}
	set, selStore, selID, selGrp := sl.set, sl.selStore, sl.selID, sl.selGrp
	start, end := w.bounds()
	perSeries := len(selID) == len(groups)
	agg := sl.agg
	vals, err := d.aggregate(ctx, agg, start, end, perSeries, set, selStore, selID, selGrp)
	if err != nil {
		return nil, "", fmt.Errorf("evaluate %s: %w", s, err)
	}
	out := []Result{}
	secs := w.Length.Seconds()
	for g, gv := range vals {
		val := gv.v
		switch agg.Kind {
		case metricpath.Rate:
			val /= secs
		case metricpath.Count:
			val = float64(gv.n)
		}
		out = append(out, Result{Labels: groups[g].labels, Value: val, Samples: gv.n})
	}
	if typ == store.Counter && countsEvents(agg.Kind, typ) && len(out) < len(groups) {
		// A counter that exists (has a sample at or before the window's
		// end) but did not move in the window counted nothing: 0, not
		// "no data", or a gate reads "no data" where the answer is "no
		// errors".
		live, err := d.groupsWithSamplesBy(ctx, set, end)
		if err != nil {
			return nil, "", err
		}
		for _, g := range live {
			if _, ok := vals[g]; !ok {
				out = append(out, Result{Labels: groups[g].labels, Value: 0})
			}
		}
	}
	SortResults(out)
	return out, typ, nil
}
