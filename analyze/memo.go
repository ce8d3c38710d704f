package analyze

import (
	"context"
	"database/sql"
	"database/sql/driver"
	"encoding/binary"
	"encoding/json"
	"fmt"
	"maps"
	"slices"

	duckdb "github.com/duckdb/duckdb-go/v2"

	"github.com/vigil-metrics/vigil/queries"
)

// A DB's caches are synced once, in Open (and again only by rebuildAll,
// which starts the memo afresh): for the DB's lifetime the series and
// samples it queries cannot change. So within one DB the answers to its
// questions can be kept, and a run of many rules over few metrics (vigil
// evaluate) asks DuckDB each thing once:
//
//   - a metric's series, with their labels decoded, are read once;
//   - each distinct selection (series and their groups) is written to the
//     selection table once, under its own id, and the queries pick it by
//     that id, so that no rule empties and refills the table;
//   - an aggregation over one selection and window is computed once, so
//     rules that share a path and window (the same path at two severities,
//     the rate and the increase of one counter) share its answer;
//   - the queries are prepared once;
//   - DuckDB's thread count changes only when the next query needs the
//     other setting, not twice a query.
//
// Everything kept is a pure function of the synced caches and the
// question, so a DB answers as it would without the memo (memo_test.go
// compares the bits with a fresh DB's).
type memo struct {
	series     map[string][]seriesRow
	sets       map[string]int64 // selection content -> its id in the selection table
	nextSet    int64
	setRows    int
	aggs       map[aggKey]map[int]groupValue
	live       map[liveKey][]int
	stmts      map[string]*sql.Stmt
	cells      map[cellKey][]cell        // bucket answers (buckets.go), read-only once kept
	cellCount  int                       // cells kept
	shared     map[sharedKey]*sharedVals // a metric's values by series and bucket (buckets.go)
	sharedSize int                       // words the shared values hold
	values     map[cellKey][][]float64   // buckets_values answers (buckets.go), read-only once kept
	valuesSize int                       // words they hold
	many       map[string]*commonRead    // SlidingMany's metrics read once, while it runs (sliding_many.go)
	manyReads  int                       // reads SlidingMany made, for the tests
	oneThread  bool                      // SET threads = 1 is in force
	whole      int                       // sums answered on DuckDB's threads (wholesums.go), for the tests
	wholeKeys  map[cellKey]bool          // kept cells of whole numbers at or above 0 (wholesums.go)
	fromCells  int                       // agg_sum answers added up from them, for the tests
	visited    int64                     // buckets Sliding's windows combined, for the tests
	// evalVals is the last selection's values read for a percentile
	// (agg_values, by group), so that the other percentiles of the same
	// path and window (a report's p50, p90, p95, p99) select from them
	// instead of reading them again. Selection reorders a group's values
	// but keeps them, so they stay good for any quantile.
	evalVals struct {
		set, start, end int64
		vals            [][]float64
	}
	// extent is the stores' extent and resolution (extent.go), read once;
	// extentReads counts the reads (tests).
	extent      *extent
	extentReads int
	// firstTS is every series' first sample time by (store, series id)
	// (firstSamplesKept), read once; nil until asked.
	firstTS map[[2]int64]int64
	// lastSel is the selection fillSelection last gave an id, which the
	// percentiles over sources' held rows group by (remote_held.go).
	lastSel lastSelection
}

// lastSelection is a selection's (store, series id, group) triples and
// its id in the selection table.
type lastSelection struct {
	set            int64
	store, id, grp []int64
}

// maxSelRows bounds the selection table: past it, the kept selections
// (and the answers over them) are dropped and the table starts empty. A
// variable for the tests.
var maxSelRows = 1 << 20

// seriesRow is one series of a metric in one store, its labels decoded
// (with the store's service column as the label service, as paths see it).
type seriesRow struct {
	store, id int64
	typ       string
	labels    map[string]string
}

type aggKey struct {
	query      string
	set        int64
	start, end int64
	quantile   float64 // a percentile's
	threshold  float64 // count_le's T (never NaN, so equal Ts are equal keys)
}

type liveKey struct {
	set, end int64
}

// resetMemo forgets everything kept: the caches were (re)attached and the
// views (re)created. The prepared statements are closed, and the
// selection table is made afresh by the caller.
func (d *DB) resetMemo() {
	if d.memo != nil {
		for _, s := range d.memo.stmts {
			s.Close()
		}
	}
	d.memo = &memo{
		series:    map[string][]seriesRow{},
		sets:      map[string]int64{},
		aggs:      map[aggKey]map[int]groupValue{},
		live:      map[liveKey][]int{},
		stmts:     map[string]*sql.Stmt{},
		cells:     map[cellKey][]cell{},
		wholeKeys: map[cellKey]bool{},
		shared:    map[sharedKey]*sharedVals{},
		values:    map[cellKey][][]float64{},
	}
}

// stmt returns query name prepared on the DB's connection.
func (d *DB) stmt(ctx context.Context, name string) (*sql.Stmt, error) {
	if s, ok := d.memo.stmts[name]; ok {
		return s, nil
	}
	s, err := d.conn.PrepareContext(ctx, queries.Get(name))
	if err != nil {
		return nil, err
	}
	d.memo.stmts[name] = s
	return s, nil
}

// query runs query name, prepared once, with args.
func (d *DB) query(ctx context.Context, name string, args ...any) (*sql.Rows, error) {
	if err := d.flushRemotes(ctx); err != nil {
		return nil, err
	}
	st, err := d.stmt(ctx, name)
	if err != nil {
		return nil, err
	}
	return st.QueryContext(ctx, args...)
}

// oneThread sets DuckDB to one thread (for the aggregations whose
// floating-point result depends on the order rows are combined in) or
// back to its default, when it is not so already.
func (d *DB) oneThread(ctx context.Context, one bool) error {
	if d.memo.oneThread == one {
		return nil
	}
	q := "RESET threads"
	if one {
		q = "SET threads = 1"
	}
	if _, err := d.conn.ExecContext(ctx, q); err != nil {
		return err
	}
	d.memo.oneThread = one
	return nil
}

// seriesOf lists every series named name across the stores, in the order
// series_by_name gives them.
func (d *DB) seriesOf(ctx context.Context, name string) ([]seriesRow, error) {
	if rs, ok := d.memo.series[name]; ok {
		return rs, nil
	}
	st, err := d.stmt(ctx, "series_by_name")
	if err != nil {
		return nil, fmt.Errorf("find series: %w", err)
	}
	rows, err := st.QueryContext(ctx, name)
	if err != nil {
		return nil, fmt.Errorf("find series: %w", err)
	}
	defer rows.Close()
	out := []seriesRow{}
	for rows.Next() {
		var r seriesRow
		var labelsJSON, service string
		if err := rows.Scan(&r.store, &r.id, &r.typ, &labelsJSON, &service); err != nil {
			return nil, err
		}
		r.labels = map[string]string{}
		if err := json.Unmarshal([]byte(labelsJSON), &r.labels); err != nil {
			return nil, fmt.Errorf("series %d of %s has bad labels: %w", r.id, d.Stores[r.store], err)
		}
		// The store keeps service in its own column; paths see it as a
		// label unless the series has a label of that name already.
		if _, ok := r.labels["service"]; !ok && service != "" {
			r.labels["service"] = service
		}
		out = append(out, r)
	}
	if err := rows.Err(); err != nil {
		return nil, err
	}
	d.memo.series[name] = out
	return out, nil
}

// fillSelection puts a selection (store, series, group triples) in the
// selection table, once, and returns its id there, which the queries over
// the selection take as their last parameter.
func (d *DB) fillSelection(ctx context.Context, st, id, grp []int64) (int64, error) {
	key := make([]byte, 0, 24*len(id))
	for i := range id {
		key = binary.LittleEndian.AppendUint64(key, uint64(st[i]))
		key = binary.LittleEndian.AppendUint64(key, uint64(id[i]))
		key = binary.LittleEndian.AppendUint64(key, uint64(grp[i]))
	}
	if set, ok := d.memo.sets[string(key)]; ok {
		d.memo.lastSel = lastSelection{set, st, id, grp}
		return set, nil
	}
	if d.memo.setRows+len(id) > maxSelRows {
		if _, err := d.conn.ExecContext(ctx, queries.Get("selection_clear")); err != nil {
			return 0, err
		}
		// Set ids are never reused, so nothing kept can name the rows gone;
		// the answers over them go too, to keep the memo bounded.
		d.memo.sets, d.memo.setRows = map[string]int64{}, 0
		d.memo.aggs, d.memo.live = map[aggKey]map[int]groupValue{}, map[liveKey][]int{}
		d.memo.cells, d.memo.cellCount = map[cellKey][]cell{}, 0
		clear(d.memo.wholeKeys)
		d.memo.shared, d.memo.sharedSize = map[sharedKey]*sharedVals{}, 0
		d.memo.values, d.memo.valuesSize = map[cellKey][][]float64{}, 0
		d.memo.evalVals.vals = nil
	}
	set := d.memo.nextSet
	err := d.conn.Raw(func(dc any) error {
		a, err := duckdb.NewAppender(dc.(driver.Conn), "temp", "main", "sel")
		if err != nil {
			return fmt.Errorf("selection: %w", err)
		}
		for i := range id {
			if err := a.AppendRow(int32(set), int32(st[i]), id[i], int32(grp[i])); err != nil {
				a.Close()
				return fmt.Errorf("selection: %w", err)
			}
		}
		return a.Close()
	})
	if err != nil {
		// Rows of a failed append may be in the table under this id: it is
		// never used again.
		d.memo.nextSet++
		return 0, err
	}
	d.memo.nextSet++
	d.memo.sets[string(key)] = set
	d.memo.lastSel = lastSelection{set, st, id, grp}
	d.memo.setRows += len(id)
	return set, nil
}

// keptGroupValues is groupValues, answered from memo.evalVals when the
// last read was of the same selection and window. The values are kept
// when they are at most maxSharedValues words.
func (d *DB) keptGroupValues(ctx context.Context, start, end, set int64, groups int) ([][]float64, bool, error) {
	ev := &d.memo.evalVals
	if ev.vals != nil && ev.set == set && ev.start == start && ev.end == end && len(ev.vals) == groups {
		return ev.vals, true, nil
	}
	ev.vals = nil // the new read takes its memory
	var sel *lastSelection
	if d.memo.lastSel.set == set && d.memo.lastSel.id != nil {
		sel = &d.memo.lastSel
	}
	vals, ok := d.heldGroupValues(start, end, sel, groups)
	if !ok {
		var err error
		if vals, ok, err = d.groupValues(ctx, start, end, set, groups); err != nil || !ok {
			return vals, ok, err
		}
	}
	size := 0
	for _, v := range vals {
		size += len(v)
	}
	if size <= maxSharedValues {
		ev.set, ev.start, ev.end, ev.vals = set, start, end, vals
	}
	return vals, true, nil
}

// keptAgg returns a kept answer, as a copy the caller may change.
func (d *DB) keptAgg(k aggKey) (map[int]groupValue, bool) {
	v, ok := d.memo.aggs[k]
	if !ok {
		return nil, false
	}
	return maps.Clone(v), true
}

func (d *DB) keepAgg(k aggKey, v map[int]groupValue) {
	if len(d.memo.aggs) >= maxAggs {
		clear(d.memo.aggs)
	}
	d.memo.aggs[k] = maps.Clone(v)
}

// maxAggs bounds the answers kept (a DB asked many windows, say): past it
// they are dropped, and asked of DuckDB again when needed.
const maxAggs = 1 << 16

// groupsWithSamplesBy lists the groups of selection set with a sample at or
// before end.
func (d *DB) groupsWithSamplesBy(ctx context.Context, set, end int64) ([]int, error) {
	k := liveKey{set, end}
	if gs, ok := d.memo.live[k]; ok {
		return slices.Clone(gs), nil
	}
	rows, err := d.query(ctx, "groups_with_samples_by", end, set)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []int
	for rows.Next() {
		var g int
		if err := rows.Scan(&g); err != nil {
			return nil, err
		}
		out = append(out, g)
	}
	if err := rows.Err(); err != nil {
		return nil, err
	}
	d.memo.live[k] = slices.Clone(out)
	return out, nil
}
