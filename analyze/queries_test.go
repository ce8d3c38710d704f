package analyze

import (
	"context"
	"database/sql"
	"io/fs"
	"strings"
	"testing"
	"time"

	"github.com/vigil-metrics/vigil/internal/store"
	"github.com/vigil-metrics/vigil/queries"
)

// Every embedded query runs against a fixture, with the parameters its
// caller binds; a new .sql file without an entry here fails the test.
func TestEveryEmbeddedQueryRuns(t *testing.T) {
	f := newFixture(t)
	p := f.write("v.db", hist("lat_ms", map[string]string{"h": "a"}, -time.Minute, 15, 20, 35, 40, 50)...)
	db, err := Open(context.Background(), []string{p}, Options{CacheDir: f.cacheDir})
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	ctx := context.Background()
	start, end := atMS(-time.Hour), atMS(0)
	// Queries that run with the cache's catalog as default, and those that
	// run over the united views (with the selection table filled).
	inCache := map[string][]any{
		"cache_schema": nil, "cache_meta_read": nil, "cache_count": nil,
		"cache_prune": {int64(0)}, "cache_meta_clear": nil, "cache_reset": nil,
		"cache_meta_write": {1, "id", int64(1), int64(1), int64(0), int64(0), int64(0), int64(1), int64(1), 1.5},
	}
	// The selection's id goes last (memo.go); the fixture's is the first.
	const set = int64(0)
	overViews := map[string][]any{
		"series_by_name": {"lat_ms"},
		"agg_sum":        {start, end, set}, "agg_min": {start, end, set}, "agg_max": {start, end, set}, "agg_avg": {start, end, set},
		"agg_stddev_pop": {start, end, set}, "agg_last": {start, end, set}, "agg_quantile": {start, end, 0.4, set},
		"agg_quantile_series":   {start, end, 0.4, set},
		"agg_count_le":          {start, end, 35.0, set},
		"agg_stddev_pop_scaled": {start, end, set}, "agg_sum_stores": {start, end, set}, "agg_stddev_pop_stores": {start, end, set},
		"buckets_sum_stores": {start, end, int64(60000), set},
		"agg_sum_exact":      {start, end, set}, "groups_with_samples_by": {end, set}, "agg_values": {start, end, set},
		"buckets_sum": {start, end, int64(60000), set}, "buckets_avg": {start, end, int64(60000), set},
		"buckets_sum_int": {start, end, int64(60000), set, int64(60)}, "agg_sum_int": {start, end, set},
		"agg_exact_parts": {start, end, set}, "buckets_exact_parts": {start, end, int64(60000), set, int64(60)},
		"buckets_min": {start, end, int64(60000), set}, "buckets_max": {start, end, int64(60000), set},
		"buckets_last": {start, end, int64(60000), set}, "buckets_count_le": {start, end, int64(60000), set, 35.0},
		"buckets_values":     {start, end, int64(60000), int64(60), set},
		"buckets_values_ts":  {start, end, int64(60000), int64(60), set},
		"buckets_first_ts":   {end, set},
		"export_rows":        {start, end},
		"extent_samples":     nil,
		"histograms_sampled": {start, end, int64(3)},
		"raw_series_extent":  nil, "raw_samples": {set, start, end},
		"buckets_series_first_ts": nil, "buckets_selection_rows": {set},
	}
	// Queries that change the selection table: run in a transaction
	// rolled back, so the selection the others read stays.
	inTxn := map[string][]any{"selection_table": nil, "selection_clear": nil}
	// Queries that run with a source's catalog as default (remote.go), on
	// a scratch one; all but the schema run after it.
	inSource := map[string][]any{"source_schema": nil, "source_delete_metric": {"lat_ms"}}
	// Queries that run on a store (SQLite, "?" parameters).
	inStore := map[string][]any{
		"store_sample_seq": nil, "store_max_sample_id": nil, "store_max_series_id": nil,
		"store_sample_at":    {int64(1)},
		"store_count_kept":   {int64(5), int64(0)},
		"store_series_after": {int64(0)},
		"store_lint_series":  {start, end},
		"store_stats_totals": nil, "store_stats_top_series": {int64(10)},
		// An empty id range: the function runs without a sink to feed.
		"store_copy_rows": {int64(0), int64(0), int64(0), int64(0)},
	}
	st, err := store.Open(ctx, p, store.Options{ReadOnly: true})
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	names, _ := fs.Glob(queries.FS, "*.sql")
	if got, err := db.fillSelection(ctx, []int64{0}, []int64{1}, []int64{0}); err != nil || got != set {
		t.Fatalf("fillSelection = %d %v, want selection %d", got, err, set)
	}
	for _, n := range names {
		name := strings.TrimSuffix(n, ".sql")
		args, cacheQuery := inCache[name]
		storeArgs, storeQuery := inStore[name]
		if storeQuery != strings.HasPrefix(name, "store_") {
			t.Errorf("queries/%s: store queries, and only they, are named store_*", n)
			continue
		}
		txnArgs, txnQuery := inTxn[name]
		srcArgs, srcQuery := inSource[name]
		if !cacheQuery && !storeQuery && !txnQuery && !srcQuery {
			var ok bool
			if args, ok = overViews[name]; !ok {
				t.Errorf("queries/%s has no test entry", n)
				continue
			}
		}
		t.Run(name, func(t *testing.T) {
			if storeQuery {
				rows, err := st.DBForTest().QueryContext(ctx, queries.Get(name), storeArgs...)
				if err != nil {
					t.Fatalf("%s: %v", name, err)
				}
				drain(t, name, rows)
				return
			}
			if srcQuery {
				mustExec(t, db, "ATTACH ':memory:' AS scratch")
				mustExec(t, db, "USE scratch")
				defer mustExec(t, db, "DETACH scratch")
				defer mustExec(t, db, "USE memory")
				if name != "source_schema" {
					mustExec(t, db, queries.Get("source_schema"))
				}
				args = srcArgs
			}
			if txnQuery {
				mustExec(t, db, "BEGIN TRANSACTION")
				defer mustExec(t, db, "ROLLBACK")
				args = txnArgs
			}
			if cacheQuery {
				mustExec(t, db, "USE c0")
				mustExec(t, db, "BEGIN TRANSACTION")
				defer mustExec(t, db, "ROLLBACK")
				defer mustExec(t, db, "USE memory")
			}
			rows, err := db.conn.QueryContext(ctx, queries.Get(name), args...)
			if err != nil {
				t.Fatalf("%s: %v", name, err)
			}
			drain(t, name, rows)
		})
	}
	// The store queries see the fixture's rows.
	var top, kept int64
	if err := st.DBForTest().QueryRowContext(ctx, queries.Get("store_max_sample_id")).Scan(&top); err != nil || top != 5 {
		t.Errorf("store_max_sample_id = %v %v, want 5", top, err)
	}
	if err := st.DBForTest().QueryRowContext(ctx, queries.Get("store_count_kept"), top, start).Scan(&kept); err != nil || kept != 5 {
		t.Errorf("store_count_kept = %v %v, want 5", kept, err)
	}
	// The percentile query computes numpy's value on the fixture.
	var g int
	var v float64
	var n int64
	if err := db.conn.QueryRowContext(ctx, queries.Get("agg_quantile"), start, end, 0.4, set).Scan(&g, &v, &n); err != nil || v != 29 || n != 5 {
		t.Errorf("agg_quantile = %v %v %v, want 29 over 5 samples", v, n, err)
	}
	if err := db.conn.QueryRowContext(ctx, queries.Get("agg_count_le"), start, end, 35.0, set).Scan(&g, &v, &n); err != nil || v != 3 || n != 5 {
		t.Errorf("agg_count_le(35) = %v %v %v, want 3 of 5 samples", v, n, err)
	}
	var sid int64
	if err := db.conn.QueryRowContext(ctx, queries.Get("agg_quantile_series"), start, end, 0.4, set).Scan(&g, &sid, &v, &n); err != nil || v != 29 || n != 5 {
		t.Errorf("agg_quantile_series = %v %v %v, want 29 over 5 samples", v, n, err)
	}
}

// drain reads every row, so that errors met while stepping count too.
func drain(t *testing.T, name string, rows *sql.Rows) {
	t.Helper()
	defer rows.Close()
	for rows.Next() { //nolint:revive // only the stepping matters
	}
	if err := rows.Err(); err != nil {
		t.Fatalf("%s: %v", name, err)
	}
}

func mustExec(t *testing.T, db *DB, q string) {
	t.Helper()
	if _, err := db.conn.ExecContext(context.Background(), q); err != nil {
		t.Fatalf("%s: %v", q, err)
	}
}
