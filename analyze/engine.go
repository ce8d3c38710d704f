// Package analyze answers metric-path questions over one or more stores:
// it syncs each store's DuckDB cache, attaches them all to one in-memory
// DuckDB, and evaluates paths (percentiles, rates, ratios) in SQL from
// package queries. It computes; it never sends anything.
package analyze

import (
	"context"
	"database/sql"
	"database/sql/driver"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net/url"
	"os"
	"path/filepath"
	"slices"
	"sort"
	"strconv"
	"strings"
	"time"

	duckdb "github.com/duckdb/duckdb-go/v2"

	"github.com/vigil-metrics/vigil/analyze/cache"
	"github.com/vigil-metrics/vigil/analyze/metricpath"
	"github.com/vigil-metrics/vigil/collect/store"
	"github.com/vigil-metrics/vigil/collect/vtime"
	"github.com/vigil-metrics/vigil/queries"
)

// Options tune Open.
type Options struct {
	// CacheDir holds the DuckDB caches; empty puts each beside its store.
	CacheDir string
	// LockWait is how long to wait for a cache another vigil holds.
	LockWait time.Duration
	// MemoryLimit caps DuckDB's memory (DuckDB syntax, e.g. "1GB").
	MemoryLimit string
	Logger      *slog.Logger
}

// DB is a set of stores, synced and ready to query as one.
type DB struct {
	db     *sql.DB
	conn   *sql.Conn
	Stores []string
	Syncs  []cache.Stats
	tmpDir string // DuckDB's work folder when every cache is in memory; removed on Close
}

// Open syncs the cache of every store and attaches them to one DuckDB.
func Open(ctx context.Context, stores []string, opt Options) (*DB, error) {
	if len(stores) == 0 {
		return nil, errors.New("no store given")
	}
	if opt.Logger == nil {
		opt.Logger = slog.New(slog.DiscardHandler)
	}
	if opt.LockWait == 0 {
		opt.LockWait = 30 * time.Second
	}
	if opt.MemoryLimit == "" {
		opt.MemoryLimit = "1GB"
	}
	files := make([]string, len(stores)) // "" for a cache in memory
	work := ""
	for i, s := range stores {
		loc, err := cache.Locate(s, opt.CacheDir)
		if err != nil {
			return nil, err
		}
		switch {
		case loc.InMemory():
			opt.Logger.Info("cache in memory for this run", "store", s, "reason", loc.Reason)
		case loc.Reason != "":
			opt.Logger.Info("cache in the user cache folder", "store", s, "cache", loc.File, "reason", loc.Reason)
		}
		if work == "" && !loc.InMemory() {
			work = filepath.Dir(loc.File)
		}
		files[i] = loc.File
	}
	// Everything DuckDB might write goes beside the caches (a folder known
	// to be writable), or in a temporary folder when every cache is in
	// memory: never $HOME, never a store's read-only folder, and never the
	// network (no extension downloads).
	var tmpDir string
	if work == "" {
		var err error
		if tmpDir, err = os.MkdirTemp("", "vigil-duckdb-"); err != nil {
			tmpDir = ""
			work = os.TempDir()
		} else {
			work = tmpDir
		}
	}
	q := url.Values{}
	q.Set("autoinstall_known_extensions", "false")
	q.Set("autoload_known_extensions", "false")
	q.Set("extension_directory", filepath.Join(work, ".duckdb-extensions"))
	q.Set("temp_directory", filepath.Join(work, ".duckdb-tmp"))
	q.Set("memory_limit", opt.MemoryLimit)
	connector, err := duckdb.NewConnector("?"+q.Encode(), nil)
	if err != nil {
		if tmpDir != "" {
			os.RemoveAll(tmpDir)
		}
		return nil, fmt.Errorf("start duckdb: %w", err)
	}
	d := &DB{db: sql.OpenDB(connector), Stores: stores, tmpDir: tmpDir}
	d.conn, err = d.db.Conn(ctx)
	if err != nil {
		d.Close()
		return nil, err
	}
	if _, err := d.conn.ExecContext(ctx, "SET home_directory = "+sqlString(work)); err != nil {
		d.Close()
		return nil, fmt.Errorf("configure duckdb: %w", err)
	}
	for i, s := range stores {
		cat := "c" + strconv.Itoa(i)
		if err := d.attach(ctx, cat, files[i], opt); err != nil {
			d.Close()
			return nil, err
		}
		st, err := cache.Sync(ctx, d.conn, cat, s)
		if err != nil {
			d.Close()
			return nil, fmt.Errorf("sync cache of %s: %w", s, err)
		}
		if st.Rebuilt {
			opt.Logger.Info("cache rebuilt", "store", s, "reason", st.Reason, "rows", st.Added)
		} else {
			opt.Logger.Debug("cache synced", "store", s, "rows", st.Added, "pruned", st.Pruned)
		}
		d.Syncs = append(d.Syncs, st)
	}
	if err := d.createViews(ctx, len(stores)); err != nil {
		d.Close()
		return nil, err
	}
	return d, nil
}

// attach opens a cache file, waiting while another vigil holds it, and
// starting afresh when the file is not a readable cache (it is only a copy).
// An empty file, or a cache file this user may not write, gives a cache in
// memory for this run.
func (d *DB) attach(ctx context.Context, cat, file string, opt Options) error {
	if file == "" {
		if _, err := d.conn.ExecContext(ctx, "ATTACH ':memory:' AS "+quoteIdent(cat)); err != nil {
			return fmt.Errorf("open cache in memory: %w", err)
		}
		return nil
	}
	deadline := time.Now().Add(opt.LockWait)
	stmt := "ATTACH " + sqlString(file) + " AS " + quoteIdent(cat)
	removed := false
	for {
		_, err := d.conn.ExecContext(ctx, stmt)
		if err == nil {
			return nil
		}
		msg := err.Error()
		switch {
		case strings.Contains(msg, "Could not set lock") || strings.Contains(msg, "Conflicting lock"):
			if time.Now().After(deadline) {
				return fmt.Errorf("cache %s is locked by another process for over %s", file, opt.LockWait)
			}
			select {
			case <-ctx.Done():
				return ctx.Err()
			case <-time.After(100 * time.Millisecond):
			}
		case notPermitted(msg):
			// Not a damaged cache: one this user may not write (another
			// user's file, a read-only file or mount). Leave it alone.
			opt.Logger.Info("cache in memory for this run", "cache", file, "reason", "cache file is not writable", "err", msg)
			return d.attach(ctx, cat, "", opt)
		case !removed && (exists(file) || exists(file+".wal")):
			opt.Logger.Warn("cache unreadable, rebuilding", "cache", file, "err", msg)
			os.Remove(file)
			os.Remove(file + ".wal")
			removed = true
		default:
			return fmt.Errorf("open cache %s: %w", file, err)
		}
	}
}

// notPermitted reports whether a DuckDB error is a refusal to write, not a
// damaged file.
func notPermitted(msg string) bool {
	m := strings.ToLower(msg)
	return strings.Contains(m, "permission denied") || strings.Contains(m, "read-only file system") ||
		strings.Contains(m, "operation not permitted")
}

func exists(file string) bool {
	_, err := os.Stat(file)
	return err == nil
}

// createViews unites the attached caches. The SQL text is built here only
// from generated catalog names, never from user input.
func (d *DB) createViews(ctx context.Context, n int) error {
	var smp, ser []string
	for i := 0; i < n; i++ {
		c := quoteIdent("c" + strconv.Itoa(i))
		smp = append(smp, fmt.Sprintf("SELECT %d::INTEGER AS store, series_id, ts, value FROM %s.main.samples", i, c))
		ser = append(ser, fmt.Sprintf("SELECT %d::INTEGER AS store, id, name, type, labels, service FROM %s.main.series", i, c))
	}
	for _, s := range []string{
		"USE memory",
		"CREATE OR REPLACE TEMP VIEW all_samples AS " + strings.Join(smp, " UNION ALL "),
		"CREATE OR REPLACE TEMP VIEW all_series AS " + strings.Join(ser, " UNION ALL "),
		"CREATE OR REPLACE TEMP TABLE sel (store INTEGER, series_id BIGINT, grp INTEGER)",
	} {
		if _, err := d.conn.ExecContext(ctx, s); err != nil {
			return fmt.Errorf("prepare queries: %w", err)
		}
	}
	return nil
}

// Close releases DuckDB and the cache files.
func (d *DB) Close() error {
	if d.conn != nil {
		d.conn.Close()
	}
	err := d.db.Close()
	if d.tmpDir != "" {
		os.RemoveAll(d.tmpDir)
	}
	return err
}

// Result is one output row of a path: a label set and its value.
type Result struct {
	Labels  map[string]string `json:"labels"`
	Value   float64           `json:"value"`
	Samples int64             `json:"samples"`
}

// Window is the half-open interval (At-Length, At].
type Window struct {
	At     time.Time
	Length time.Duration
}

func (w Window) bounds() (int64, int64) {
	end := vtime.UnixMilli(w.At)
	return end - w.Length.Milliseconds(), end
}

// Eval evaluates a path over the window. Results are sorted by labels.
func (d *DB) Eval(ctx context.Context, e *metricpath.Expr, w Window) ([]Result, error) {
	if w.Length <= 0 {
		return nil, errors.New("window must be positive")
	}
	num, err := d.evalSelector(ctx, &e.Num, w)
	if err != nil {
		return nil, err
	}
	if e.Den == nil {
		return num, nil
	}
	den, err := d.evalSelector(ctx, e.Den, w)
	if err != nil {
		return nil, err
	}
	byKey := map[string]Result{}
	for _, r := range den {
		byKey[store.CanonicalLabels(r.Labels)] = r
	}
	out := []Result{}
	for _, r := range num {
		dr, ok := byKey[store.CanonicalLabels(r.Labels)]
		if !ok || dr.Value == 0 {
			continue // no pair, or a zero denominator: no result, never Inf
		}
		out = append(out, Result{Labels: r.Labels, Value: r.Value / dr.Value, Samples: r.Samples + dr.Samples})
	}
	return out, nil
}

type group struct {
	labels map[string]string
}

func (d *DB) evalSelector(ctx context.Context, s *metricpath.Selector, w Window) ([]Result, error) {
	rows, err := d.conn.QueryContext(ctx, queries.Get("series_by_name"), s.Name)
	if err != nil {
		return nil, fmt.Errorf("find series: %w", err)
	}
	groupIdx := map[string]int{}
	var groups []group
	var selStore, selID, selGrp []int64
	for rows.Next() {
		var storeIdx, id int64
		var typ, labelsJSON, service string
		if err := rows.Scan(&storeIdx, &id, &typ, &labelsJSON, &service); err != nil {
			rows.Close()
			return nil, err
		}
		labels := map[string]string{}
		if err := json.Unmarshal([]byte(labelsJSON), &labels); err != nil {
			rows.Close()
			return nil, fmt.Errorf("series %d of %s has bad labels: %w", id, d.Stores[storeIdx], err)
		}
		// The store keeps service in its own column; paths see it as a
		// label unless the series has a label of that name already.
		if _, ok := labels["service"]; !ok && service != "" {
			labels["service"] = service
		}
		if !s.Match(s.Name, labels) {
			continue
		}
		gl := map[string]string{}
		for _, b := range s.By {
			if v := labels[b]; v != "" {
				gl[b] = v
			}
		}
		key := store.CanonicalLabels(gl)
		g, ok := groupIdx[key]
		if !ok {
			g = len(groups)
			groupIdx[key] = g
			groups = append(groups, group{labels: gl})
		}
		selStore, selID, selGrp = append(selStore, storeIdx), append(selID, id), append(selGrp, int64(g))
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return nil, err
	}
	if len(groups) == 0 {
		return []Result{}, nil
	}
	if err := d.fillSelection(ctx, selStore, selID, selGrp); err != nil {
		return nil, err
	}
	start, end := w.bounds()
	var qname string
	args := []any{start, end}
	switch s.Agg.Kind {
	case metricpath.Sum, metricpath.Rate, metricpath.Increase, metricpath.Count:
		qname = "agg_sum"
	case metricpath.Min, metricpath.Max, metricpath.Avg, metricpath.Last:
		qname = "agg_" + string(s.Agg.Kind)
	case metricpath.Stddev:
		qname = "agg_stddev_pop"
	case metricpath.Percentile:
		qname = "agg_quantile"
		if len(selID) == len(groups) {
			qname = "agg_quantile_series"
		}
		args = append(args, s.Agg.Quantile)
	default:
		return nil, fmt.Errorf("unsupported aggregation %s", s.Agg.Text)
	}
	res, err := d.conn.QueryContext(ctx, queries.Get(qname), args...)
	if err != nil {
		return nil, fmt.Errorf("evaluate %s: %w", s, err)
	}
	defer res.Close()
	out := []Result{}
	secs := w.Length.Seconds()
	// The per-series shape answers (store, series) instead of a group.
	var groupOf map[[2]int64]int
	if qname == "agg_quantile_series" {
		groupOf = make(map[[2]int64]int, len(selID))
		for i := range selID {
			groupOf[[2]int64{selStore[i], selID[i]}] = int(selGrp[i])
		}
	}
	for res.Next() {
		var g int
		var v sql.NullFloat64
		var n int64
		if groupOf != nil {
			var key [2]int64
			if err := res.Scan(&key[0], &key[1], &v, &n); err != nil {
				return nil, err
			}
			g = groupOf[key]
		} else if err := res.Scan(&g, &v, &n); err != nil {
			return nil, err
		}
		val := v.Float64
		switch s.Agg.Kind {
		case metricpath.Rate:
			val /= secs
		case metricpath.Count:
			val = float64(n)
		}
		out = append(out, Result{Labels: groups[g].labels, Value: val, Samples: n})
	}
	if err := res.Err(); err != nil {
		return nil, err
	}
	SortResults(out)
	return out, nil
}

func (d *DB) fillSelection(ctx context.Context, st, id, grp []int64) error {
	if _, err := d.conn.ExecContext(ctx, "DELETE FROM temp.main.sel"); err != nil {
		return err
	}
	return d.conn.Raw(func(dc any) error {
		a, err := duckdb.NewAppender(dc.(driver.Conn), "temp", "main", "sel")
		if err != nil {
			return fmt.Errorf("selection: %w", err)
		}
		for i := range id {
			if err := a.AppendRow(int32(st[i]), id[i], int32(grp[i])); err != nil {
				a.Close()
				return fmt.Errorf("selection: %w", err)
			}
		}
		return a.Close()
	})
}

// SortResults orders results by their label sets, compared as sorted
// (name, value) pairs; a set that is a prefix of another comes first.
func SortResults(rs []Result) {
	keys := make([][]string, len(rs))
	for i, r := range rs {
		for _, k := range sortedKeys(r.Labels) {
			keys[i] = append(keys[i], k, r.Labels[k])
		}
	}
	idx := make([]int, len(rs))
	for i := range idx {
		idx[i] = i
	}
	sort.SliceStable(idx, func(a, b int) bool { return slices.Compare(keys[idx[a]], keys[idx[b]]) < 0 })
	sorted := make([]Result, len(rs))
	for i, j := range idx {
		sorted[i] = rs[j]
	}
	copy(rs, sorted)
}

func sortedKeys(m map[string]string) []string {
	ks := make([]string, 0, len(m))
	for k := range m {
		ks = append(ks, k)
	}
	sort.Strings(ks)
	return ks
}

func sqlString(s string) string { return "'" + strings.ReplaceAll(s, "'", "''") + "'" }

func quoteIdent(s string) string { return `"` + strings.ReplaceAll(s, `"`, `""`) + `"` }
