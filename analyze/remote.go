package analyze

import (
	"context"
	"database/sql/driver"
	"encoding/json"
	"fmt"
	"math"
	"sort"
	"strconv"
	"strings"
	"time"

	duckdb "github.com/duckdb/duckdb-go/v2"

	"github.com/vigil-metrics/vigil/analyze/promsrc"
	"github.com/vigil-metrics/vigil/internal/metricpath"
	"github.com/vigil-metrics/vigil/internal/store"
	"github.com/vigil-metrics/vigil/queries"
)

// A Prometheus-compatible source (--db http://...) is one more store to
// the engine: an in-memory catalog with the cache's series and samples
// tables, filled on demand with the raw samples a question needs (as
// increments for counters, as a store keeps them), so every aggregation
// runs the same SQL over the same rows a store would give it.
//
// What is loaded is kept per metric name: the window loaded and the
// matchers it was fetched with. A question over a wider window, or with
// other matchers, loads the name again over the union of the windows,
// with no matchers when two selectors of one name differ (the ratio of a
// metric's errors to its total), and replaces the name's rows; the
// answers kept from before are forgotten (forgetAnswers).
type remoteSource struct {
	idx    int // the store index: catalog c<idx>
	client *promsrc.Client
	ids    map[string]int64 // series key -> id in the catalog
	byName map[string][]int64
	loaded map[string]loadedRange
	// held are the rows loaded, in load order, inserted into the
	// catalog's samples table when a query there needs them
	// (remote_held.go); inDB says some rows went in.
	held []heldRows
	inDB bool
}

type loadedRange struct {
	matchers string // the PromQL selector fetched; "" for every series of the name
	lo, hi   int64
	typ      store.Type
}

// remoteOf returns the source at store index i, or nil for a store file.
func (d *DB) remoteOf(i int) *remoteSource {
	for _, r := range d.remotes {
		if r.idx == i {
			return r
		}
	}
	return nil
}

func (d *DB) attachRemote(ctx context.Context, i int) error {
	cat := quoteIdent("c" + strconv.Itoa(i))
	for _, s := range []string{"ATTACH ':memory:' AS " + cat, "USE " + cat, queries.Get("source_schema"), "USE memory"} {
		if _, err := d.conn.ExecContext(ctx, s); err != nil {
			return fmt.Errorf("prepare source %s: %w", d.Stores[i], err)
		}
	}
	return nil
}

// SourceLabelNames lists the label names of metric's series in the
// Prometheus-compatible sources (none for stores: their files say).
func (d *DB) SourceLabelNames(ctx context.Context, metric string) ([]string, error) {
	var out []string
	for _, r := range d.remotes {
		ns, err := r.client.LabelNames(ctx, metric)
		if err != nil {
			return nil, err
		}
		out = append(out, ns...)
	}
	return out, nil
}

// loadExpr makes sure every remote source holds the samples Eval needs
// for e over w: those of each selector not pushed down.
func (d *DB) loadExpr(ctx context.Context, e *metricpath.Expr, w Window) error {
	if len(d.remotes) == 0 {
		return nil
	}
	lo, hi := w.bounds()
	for _, s := range []*metricpath.Selector{&e.Num, e.Den} {
		if s == nil {
			continue
		}
		ok, err := d.pushable(ctx, s)
		if err != nil {
			return err
		}
		if ok {
			continue
		}
		if err := d.loadSelector(ctx, s, lo, hi); err != nil {
			return err
		}
	}
	return nil
}

// loadRange makes sure every remote source holds the samples of e's
// selectors over (lo, hi] (unix ms).
func (d *DB) loadRange(ctx context.Context, e *metricpath.Expr, lo, hi int64) error {
	if len(d.remotes) == 0 {
		return nil
	}
	if err := d.loadSelector(ctx, &e.Num, lo, hi); err != nil {
		return err
	}
	if e.Den != nil {
		return d.loadSelector(ctx, e.Den, lo, hi)
	}
	return nil
}

// pushable reports whether s is answered by the sources' own
// aggregations: every store is a source that allows it, the aggregation
// is the count, min or max of samples, and the metric is a gauge or a
// histogram's observations everywhere. Those PromQL computes as vigil
// does, to the bit: count_over_time counts the samples, min_over_time and
// max_over_time compare them; vigil only combines the series' answers by
// group (a sum of counts, a min of mins, a max of maxes).
func (d *DB) pushable(ctx context.Context, s *metricpath.Selector) (bool, error) {
	if len(d.remotes) == 0 || len(d.remotes) != len(d.Stores) {
		return false, nil
	}
	switch s.Agg.Kind {
	case metricpath.Count, metricpath.Min, metricpath.Max:
	default:
		return false, nil
	}
	for _, r := range d.remotes {
		if !r.client.CanPushDown(ctx) {
			return false, nil
		}
		t, err := r.client.Type(ctx, s.Name)
		if err != nil {
			return false, err
		}
		if t != store.Gauge && t != store.Histogram {
			return false, nil
		}
	}
	return true, nil
}

// pushDown answers s over w with the sources' own count_over_time,
// min_over_time and max_over_time, where pushable says so; ok is false
// when it does not.
func (d *DB) pushDown(ctx context.Context, s *metricpath.Selector, w Window) (rs []Result, typ store.Type, ok bool, err error) {
	if ok, err := d.pushable(ctx, s); !ok || err != nil {
		return nil, "", false, err
	}
	start, end := w.bounds()
	sel := promsrc.Selector(s.Name, s.Matchers)
	type acc struct {
		labels map[string]string
		v      float64
		n      int64
		has    bool
	}
	groups := map[string]*acc{}
	groupOf := func(labels map[string]string) *acc {
		gl := groupLabels(s, labels)
		k := store.CanonicalLabels(gl)
		g, ok := groups[k]
		if !ok {
			g = &acc{labels: gl}
			groups[k] = g
		}
		return g
	}
	for _, r := range d.remotes {
		if typ == "" {
			typ, _ = r.client.Type(ctx, s.Name)
		}
		counts, err := r.client.Over(ctx, "count_over_time", s.Name, sel, end, end-start)
		if promsrc.TooManySamples(err) {
			// The whole window at once is over the server's limit: the
			// raw samples come in chunks that fit.
			return nil, "", false, d.loadSelector(ctx, s, start, end)
		}
		if err != nil {
			return nil, "", true, err
		}
		bad, err := nonFinite(ctx, r.client, s.Name, sel, end, end-start, counts)
		if promsrc.TooManySamples(err) || err == nil && bad {
			return nil, "", false, d.loadSelector(ctx, s, start, end)
		}
		if err != nil {
			return nil, "", true, err
		}
		for _, c := range counts {
			groupOf(c.Labels).n += int64(c.Value)
		}
		if s.Agg.Kind == metricpath.Count {
			continue
		}
		fn := "max_over_time"
		if s.Agg.Kind == metricpath.Min {
			fn = "min_over_time"
		}
		vals, err := r.client.Over(ctx, fn, s.Name, sel, end, end-start)
		if promsrc.TooManySamples(err) {
			return nil, "", false, d.loadSelector(ctx, s, start, end)
		}
		if err != nil {
			return nil, "", true, err
		}
		for _, v := range vals {
			g := groupOf(v.Labels)
			switch {
			case !g.has:
				g.v, g.has = v.Value, true
			case s.Agg.Kind == metricpath.Min:
				g.v = min(g.v, v.Value)
			default:
				g.v = max(g.v, v.Value)
			}
		}
	}
	if len(groups) == 0 {
		// Whether the metric exists at all (a ratio's numerator that
		// counts counts none as 0 only then) is the raw path's to say.
		return nil, "", false, d.loadSelector(ctx, s, start, end)
	}
	out := []Result{}
	for _, g := range groups {
		if g.n == 0 {
			continue
		}
		v := g.v
		if s.Agg.Kind == metricpath.Count {
			v = float64(g.n)
		}
		out = append(out, Result{Labels: g.labels, Value: v, Samples: g.n})
	}
	SortResults(out)
	return out, typ, true, nil
}

// nonFinite reports whether a series counted in counts holds a NaN or
// infinite sample, which no store holds and the raw path skips, but the
// server would count and compare. Its stddev_over_time says: NaN exactly
// when a series has one, on Prometheus, Mimir and Cortex;
// VictoriaMetrics drops a NaN answer, so a counted series missing from
// the answer has one too.
func nonFinite(ctx context.Context, c *promsrc.Client, name, sel string, at, w int64, counts []promsrc.Value) (bool, error) {
	guard, err := c.Over(ctx, "stddev_over_time", name, sel, at, w)
	if err != nil {
		return false, err
	}
	finite := make(map[string]bool, len(guard))
	for _, g := range guard {
		if math.IsNaN(g.Value) {
			return true, nil
		}
		finite[store.CanonicalLabels(g.Labels)] = true
	}
	for _, c := range counts {
		if c.Value > 0 && !finite[store.CanonicalLabels(c.Labels)] {
			return true, nil
		}
	}
	return false, nil
}

func (d *DB) loadSelector(ctx context.Context, s *metricpath.Selector, lo, hi int64) error {
	sel := promsrc.Selector(s.Name, s.Matchers)
	changed := false
	for _, r := range d.remotes {
		l, ok := r.loaded[s.Name]
		if ok && (l.matchers == "" || l.matchers == sel) && l.lo <= lo && hi <= l.hi {
			continue
		}
		want := loadedRange{matchers: sel, lo: lo, hi: hi}
		if ok {
			if l.matchers != sel {
				want.matchers = ""
			}
			want.lo, want.hi = min(l.lo, lo), max(l.hi, hi)
		}
		typ, err := r.client.Type(ctx, s.Name)
		if err != nil {
			return err
		}
		q := want.matchers
		if q == "" {
			q = promsrc.Selector(s.Name, nil)
		}
		// The name's rows go first, then each chunk's as it arrives: a
		// failure leaves the name marked not loaded, so it is asked again.
		delete(r.loaded, s.Name)
		if err := d.deleteRows(ctx, r, s.Name); err != nil {
			return err
		}
		n := 0
		err = r.client.Raw(ctx, s.Name, q, typ, want.lo, want.hi, func(series []promsrc.Series) error {
			n += len(series)
			return d.appendRows(ctx, r, s.Name, typ, series)
		})
		if err == nil && n == 0 && len(r.byName[s.Name]) == 0 {
			// No sample in the window: whether the metric exists at all
			// (which makes a counted numerator's "none" 0, not "no data",
			// as a store's series rows do, whatever their labels) is the
			// server's list of the name's series over the lookback's.
			var ls []map[string]string
			if ls, err = r.client.SeriesBefore(ctx, s.Name, promsrc.Selector(s.Name, nil), want.lo, want.hi); err == nil && len(ls) > 0 {
				empty := make([]promsrc.Series, len(ls))
				for i := range ls {
					empty[i].Labels = ls[i]
				}
				err = d.appendRows(ctx, r, s.Name, typ, empty)
			}
		}
		if err != nil {
			d.forgetAnswers()
			return err
		}
		if bl := r.client.Baselines(); len(bl) > 0 {
			if bl = r.client.OlderThan(ctx, q, bl, want.lo-r.client.CounterLookback().Milliseconds()); len(bl) > 0 {
				warnBaselines(d, r, s.Name, bl, want.lo)
			}
		}
		want.typ = typ
		r.loaded[s.Name] = want
		changed = true
		d.opt.Logger.Debug("loaded from source", "source", r.client.URL, "metric", s.Name, "series_chunks", n,
			"from", want.lo, "to", want.hi, "dropped_non_finite", r.client.Dropped(), "raw_by", r.client.ReadBy())
	}
	if changed {
		d.forgetAnswers()
	}
	return nil
}

// warnBaselines says which counter series were read from a baseline in
// the window although they have samples further back than
// counter_lookback, naming the setting: their increase misses the
// increment up to that sample, which a store that recorded the earlier
// sample holds (with one sample in the window: "no data"). The first few
// series are named.
func warnBaselines(d *DB, r *remoteSource, name string, bl []map[string]string, lo int64) {
	const show = 3
	var names []string
	for _, ls := range bl[:min(len(bl), show)] {
		names = append(names, name+promLabels(ls))
	}
	d.opt.Logger.Warn("counter series whose sample before the window is older than counter_lookback: "+
		"the first sample in the window is a baseline, not an increment (raise sources: counter_lookback for "+r.client.URL+")",
		"source", r.client.URL, "series", strings.Join(names, " "), "count", len(bl), "window_start", time.UnixMilli(lo).UTC().Format(time.RFC3339Nano))
}

// promLabels writes labels as PromQL does: {a="x",b="y"}, sorted.
func promLabels(ls map[string]string) string {
	keys := make([]string, 0, len(ls))
	for k := range ls {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	parts := make([]string, len(keys))
	for i, k := range keys {
		parts[i] = k + "=" + strconv.Quote(ls[k])
	}
	return "{" + strings.Join(parts, ",") + "}"
}

// deleteRows deletes the samples of the name's series from source r's
// catalog.
func (d *DB) deleteRows(ctx context.Context, r *remoteSource, name string) error {
	r.drop(name)
	if len(r.byName[name]) == 0 || !r.inDB {
		return nil
	}
	if _, err := d.conn.ExecContext(ctx, "USE "+quoteIdent("c"+strconv.Itoa(r.idx))); err != nil {
		return fmt.Errorf("source %s: %w", r.client.URL, err)
	}
	_, err := d.conn.ExecContext(ctx, queries.Get("source_delete_metric"), name)
	if _, uerr := d.conn.ExecContext(ctx, "USE memory"); err == nil {
		err = uerr
	}
	if err != nil {
		return fmt.Errorf("source %s: %w", r.client.URL, err)
	}
	return nil
}

// appendRows adds one chunk of the name's samples (later than every row
// of the name there) to source r: its new series to the catalog's series
// table, its rows to those held for the samples table (remote_held.go).
func (d *DB) appendRows(ctx context.Context, r *remoteSource, name string, typ store.Type, series []promsrc.Series) error {
	var newSeries []int
	ids := make([]int64, len(series))
	for i, s := range series {
		k := store.CanonicalLabels(s.Labels)
		key := name + k
		id, ok := r.ids[key]
		if !ok {
			id = int64(len(r.ids) + 1)
			r.ids[key] = id
			r.byName[name] = append(r.byName[name], id)
			newSeries = append(newSeries, i)
		}
		ids[i] = id
	}
	err := d.conn.Raw(func(dc any) error {
		c := dc.(driver.Conn)
		if len(newSeries) > 0 {
			a, err := duckdb.NewAppender(c, "c"+strconv.Itoa(r.idx), "main", "series")
			if err != nil {
				return err
			}
			for _, i := range newSeries {
				lj, err := json.Marshal(series[i].Labels)
				if err != nil {
					a.Close()
					return err
				}
				if err := a.AppendRow(ids[i], name, string(typ), string(lj), ""); err != nil {
					a.Close()
					return err
				}
			}
			if err := a.Close(); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		return err
	}
	r.hold(name, series, ids)
	return nil
}

// forgetAnswers drops what the memo kept, which the rows just loaded may
// change, keeping the selection ids running (the selection table keeps
// its rows: an id is never reused) and the prepared statements.
func (d *DB) forgetAnswers() {
	m := d.memo
	m.series = map[string][]seriesRow{}
	m.sets = map[string]int64{}
	m.aggs = map[aggKey]map[int]groupValue{}
	m.live = map[liveKey][]int{}
	m.cells, m.cellCount = map[cellKey][]cell{}, 0
	m.shared, m.sharedSize = map[sharedKey]*sharedVals{}, 0
	m.values, m.valuesSize = map[cellKey][][]float64{}, 0
	m.evalVals.vals = nil
}
