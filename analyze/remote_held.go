package analyze

import (
	"context"
	"database/sql/driver"
	"fmt"
	"slices"
	"strconv"

	"github.com/vigil-metrics/vigil/analyze/promsrc"
)

// A source's rows are held in Go as they arrive and go into its catalog's
// samples table only when a query over the samples table runs
// (flushRemotes, called by every such query). A percentile over sources
// alone, the raw path's commonest question, selects its values from the
// held rows and never pays for DuckDB's insert and the read back, about
// as long as the fetch itself (docs/scale.md). The rows reach the table in
// the order they were loaded in, as they did when each chunk went in on
// arrival, so every other aggregation adds them in the same order.
type heldRows struct {
	name   string
	ids    []int64          // each series' id in the catalog
	series []promsrc.Series // as fetched: TS and Values, no labels
	inDB   bool             // in the samples table too
}

// hold keeps a chunk's series (their samples in time order, as fetched).
func (r *remoteSource) hold(name string, series []promsrc.Series, ids []int64) {
	h := heldRows{name: name, ids: ids, series: make([]promsrc.Series, 0, len(series))}
	n := 0
	for _, s := range series {
		h.series = append(h.series, promsrc.Series{TS: s.TS, Values: s.Values})
		n += len(s.TS)
	}
	if n > 0 {
		r.held = append(r.held, h)
	}
}

// drop forgets the name's held rows (those in the table are deleted by
// the caller).
func (r *remoteSource) drop(name string) {
	kept := r.held[:0]
	for _, h := range r.held {
		if h.name != name {
			kept = append(kept, h)
		}
	}
	clear(r.held[len(kept):])
	r.held = kept
}

// flushRemotes inserts the rows not yet in the sources' samples tables.
// The rows stay held as well (24 bytes a sample, while both keep them):
// percentiles over sources keep selecting from them, where reading them
// back from DuckDB costs about as much as inserting them.
func (d *DB) flushRemotes(ctx context.Context) error {
	for _, r := range d.remotes {
		for i := range r.held {
			h := &r.held[i]
			if h.inDB {
				continue
			}
			// Laid out as a store holds them (mergeRows), in the order a sum
			// adds them.
			ids, ts, vs := mergeRows(h.series, h.ids)
			err := d.conn.Raw(func(dc any) error {
				return appendSamples(ctx, dc.(driver.Conn), "c"+strconv.Itoa(r.idx), ids, ts, vs)
			})
			if err != nil {
				return fmt.Errorf("source %s: %w", r.client.URL, err)
			}
			h.inDB = true
			r.inDB = true
		}
	}
	return nil
}

// heldGroupValues is groupValues answered from the held rows: ok is false
// unless every selected series is a source's (a store's rows are in
// DuckDB only). The values of a group are those the agg_values
// query gives, (start, end], in another order, which no percentile
// depends on.
func (d *DB) heldGroupValues(start, end int64, sel *lastSelection, groups int) ([][]float64, bool) {
	if len(d.remotes) == 0 || sel == nil || len(sel.id) == 0 {
		return nil, false
	}
	// grpOf[store][id] is the series' group, -1 when not selected.
	grpOf := map[int][]int32{}
	for i, id := range sel.id {
		st := int(sel.store[i])
		m, ok := grpOf[st]
		if !ok {
			r := d.remoteOf(st)
			if r == nil {
				return nil, false
			}
			m = make([]int32, len(r.ids)+1)
			for j := range m {
				m[j] = -1
			}
			grpOf[st] = m
		}
		g := sel.grp[i]
		if id < 0 || id >= int64(len(m)) || g < 0 || g >= int64(groups) {
			return nil, false
		}
		m[id] = int32(g)
	}
	// Each series' samples are in time order: the window is a range of
	// them, found by binary search; a series not selected is skipped
	// whole. A count, then one buffer placed by group.
	type part struct {
		g      int32
		values []float64
	}
	var parts []part
	counts := make([]int, groups+1)
	for st, m := range grpOf {
		for _, h := range d.remoteOf(st).held {
			for i, s := range h.series {
				id := h.ids[i]
				if uint64(id) >= uint64(len(m)) || m[id] < 0 {
					continue
				}
				lo, _ := slices.BinarySearch(s.TS, start+1)
				hi, _ := slices.BinarySearch(s.TS, end+1)
				if lo < hi {
					parts = append(parts, part{m[id], s.Values[lo:hi]})
					counts[m[id]+1] += hi - lo
				}
			}
		}
	}
	for g := 1; g <= groups; g++ {
		counts[g] += counts[g-1]
	}
	flat := make([]float64, counts[groups])
	next := append([]int(nil), counts[:groups]...)
	for _, p := range parts {
		next[p.g] += copy(flat[next[p.g]:], p.values)
	}
	vals := make([][]float64, groups)
	for g := range vals {
		vals[g] = flat[counts[g]:counts[g+1]:counts[g+1]]
	}
	return vals, true
}
