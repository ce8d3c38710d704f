package analyze

import (
	"context"
	"database/sql/driver"
	"fmt"
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
	name string
	ids  []int64 // series ids in the catalog
	ts   []int64
	vs   []float64
	inDB bool // in the samples table too
}

// hold keeps a chunk's rows, laid out as a store holds them (mergeRows).
func (r *remoteSource) hold(name string, series []promsrc.Series, ids []int64) {
	rowIDs, ts, vs := mergeRows(series, ids)
	if len(rowIDs) == 0 {
		return
	}
	r.held = append(r.held, heldRows{name: name, ids: rowIDs, ts: ts, vs: vs})
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
			err := d.conn.Raw(func(dc any) error {
				return appendSamples(ctx, dc.(driver.Conn), "c"+strconv.Itoa(r.idx), h.ids, h.ts, h.vs)
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
	// Two passes, a count and a placement, as groupValuesOf does.
	counts := make([]int, groups+1)
	for st, m := range grpOf {
		for _, h := range d.remoteOf(st).held {
			ts := h.ts
			for i, id := range h.ids[:len(ts)] {
				if t := ts[i]; t > start && t <= end && uint64(id) < uint64(len(m)) {
					if g := m[id]; g >= 0 {
						counts[g+1]++
					}
				}
			}
		}
	}
	for g := 1; g <= groups; g++ {
		counts[g] += counts[g-1]
	}
	flat := make([]float64, counts[groups])
	next := append([]int(nil), counts[:groups]...)
	for st, m := range grpOf {
		for _, h := range d.remoteOf(st).held {
			ts, vs := h.ts, h.vs[:len(h.ts)]
			for i, id := range h.ids[:len(ts)] {
				if t := ts[i]; t > start && t <= end && uint64(id) < uint64(len(m)) {
					if g := m[id]; g >= 0 {
						flat[next[g]] = vs[i]
						next[g]++
					}
				}
			}
		}
	}
	vals := make([][]float64, groups)
	for g := range vals {
		vals[g] = flat[counts[g]:counts[g+1]:counts[g+1]]
	}
	return vals, true
}
