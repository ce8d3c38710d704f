// Package analyze answers metric-path questions over one or more stores:
// it syncs each store's DuckDB cache, attaches them all to one in-memory
// DuckDB, and evaluates paths (percentiles, rates, ratios) in SQL from
// package queries. It computes; it never sends anything.
package analyze

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"math"
	"math/big"
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
	"github.com/vigil-metrics/vigil/analyze/promsrc"
	"github.com/vigil-metrics/vigil/internal/metricpath"
	"github.com/vigil-metrics/vigil/internal/sources"
	"github.com/vigil-metrics/vigil/internal/store"
	"github.com/vigil-metrics/vigil/internal/vtime"
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
	// Sources configures the Prometheus-compatible sources among the
	// stores (keyed by URL as given); a URL not in it takes the defaults.
	Sources map[string]promsrc.Config
	// Timeout bounds each request to a source (0: none).
	Timeout time.Duration
}

// DB is a set of stores, synced and ready to query as one. The caches are
// synced once, by Open: a DB answers from the stores as they were then,
// and keeps what it asked DuckDB for its lifetime (memo.go); open a new DB
// to see later samples. One goroutine at a time may use it.
type DB struct {
	db     *sql.DB
	conn   *sql.Conn
	Stores []string
	Syncs  []cache.Stats
	tmpDir string // DuckDB's work folder when every cache is in memory; removed on Close
	files  []string
	opt    Options
	memo   *memo // what this DB has asked DuckDB already (memo.go)
	// remotes are the Prometheus-compatible sources among Stores (remote.go).
	remotes []*remoteSource
}

// QueryError is a question the stores cannot answer as asked (the rate of
// a gauge, one store given twice, a metric with two types across stores).
// It is the user's to fix, so the CLI exits 2 for it.
type QueryError struct{ Msg string }

func (e *QueryError) Error() string { return e.Msg }

// UsageError marks the error for the CLI's exit-code mapping without it
// importing this package (the agent must not link DuckDB).
func (e *QueryError) UsageError() bool { return true }

func queryErrorf(format string, args ...any) error {
	return &QueryError{Msg: fmt.Sprintf(format, args...)}
}

// Open syncs the cache of every store and attaches them to one DuckDB.
// Paths that resolve to one file are one store.
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
	stores = distinctFiles(stores)
	// Every store opens before any cache is made: a missing file, a folder
	// or a file that is not a store fails here and leaves nothing behind.
	srcs := make([]*store.Store, len(stores))
	defer func() {
		for _, s := range srcs {
			if s != nil {
				s.Close()
			}
		}
	}()
	var remotes []*remoteSource
	owner := map[string]string{} // store_id -> first path with it
	for i, p := range stores {
		if sources.IsURL(p) {
			cfg, _ := sources.Lookup(opt.Sources, p)
			c, err := promsrc.New(p, cfg, opt.Timeout)
			if err != nil {
				return nil, err
			}
			remotes = append(remotes, &remoteSource{idx: i, client: c, ids: map[string]int64{}, byName: map[string][]int64{}, loaded: map[string]loadedRange{}})
			continue
		}
		src, err := store.Open(ctx, p, store.Options{ReadOnly: true})
		if err != nil {
			return nil, err
		}
		srcs[i] = src
		meta, err := src.Meta(ctx)
		if err != nil {
			return nil, fmt.Errorf("open store %s: %w", p, err)
		}
		if first, ok := owner[meta.StoreID]; ok {
			return nil, queryErrorf("%s and %s are copies of one store (store_id %s): counting both would count every sample twice; give one of them", first, p, meta.StoreID)
		}
		owner[meta.StoreID] = p
	}
	files := make([]string, len(stores)) // "" for a cache in memory
	work := ""
	for i, s := range stores {
		if srcs[i] == nil {
			continue // a source: its catalog is in memory
		}
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
	d := &DB{db: sql.OpenDB(connector), Stores: stores, tmpDir: tmpDir, files: files, opt: opt, remotes: remotes}
	d.conn, err = d.db.Conn(ctx)
	if err != nil {
		d.Close()
		return nil, err
	}
	if _, err := d.conn.ExecContext(ctx, "SET home_directory = "+sqlString(work)); err != nil {
		d.Close()
		return nil, fmt.Errorf("configure duckdb: %w", err)
	}
	for i := range stores {
		if srcs[i] == nil {
			if err := d.attachRemote(ctx, i); err != nil {
				d.Close()
				return nil, err
			}
			d.Syncs = append(d.Syncs, cache.Stats{})
			continue
		}
		st, err := d.attachAndSync(ctx, i, srcs[i])
		if err != nil {
			d.Close()
			return nil, err
		}
		d.Syncs = append(d.Syncs, st)
	}
	if err := d.createViews(ctx, len(stores)); err != nil {
		d.Close()
		return nil, err
	}
	return d, nil
}

// attachAndSync attaches store i's cache and syncs it. A cache found
// damaged while syncing (a block whose checksum fails) is only a copy:
// warn, delete it and rebuild, once.
func (d *DB) attachAndSync(ctx context.Context, i int, src *store.Store) (cache.Stats, error) {
	cat, s := "c"+strconv.Itoa(i), d.Stores[i]
	var st cache.Stats
	for try := 0; ; try++ {
		if err := d.attach(ctx, cat, d.files[i], d.opt); err != nil {
			return st, err
		}
		var err error
		st, err = cache.SyncStore(ctx, d.conn, cat, src)
		if err == nil {
			break
		}
		if try > 0 || !damaged(err) || d.files[i] == "" {
			return st, fmt.Errorf("sync cache of %s: %w", s, err)
		}
		d.opt.Logger.Warn("cache damaged, rebuilding", "cache", d.files[i], "err", err)
		if err := d.dropCache(ctx, i); err != nil {
			return st, err
		}
	}
	if st.Rebuilt {
		d.opt.Logger.Info("cache rebuilt", "store", s, "reason", st.Reason, "rows", st.Added)
	} else {
		d.opt.Logger.Debug("cache synced", "store", s, "rows", st.Added, "pruned", st.Pruned)
	}
	if st.Repaired > 0 {
		d.opt.Logger.Warn("series with invalid UTF-8 read with U+FFFD in their place", "store", s, "series", st.Repaired)
	}
	return st, nil
}

// dropCache detaches store i's cache and deletes its files.
func (d *DB) dropCache(ctx context.Context, i int) error {
	if _, err := d.conn.ExecContext(ctx, "USE memory"); err != nil {
		return err
	}
	if _, err := d.conn.ExecContext(ctx, "DETACH "+quoteIdent("c"+strconv.Itoa(i))); err != nil {
		return fmt.Errorf("detach damaged cache: %w", err)
	}
	if f := d.files[i]; f != "" {
		os.Remove(f)
		os.Remove(f + ".wal")
	}
	return nil
}

// damaged reports whether a DuckDB error says a cache file is corrupt.
func damaged(err error) bool {
	m := strings.ToLower(err.Error())
	return strings.Contains(m, "checksum") || strings.Contains(m, "corrupt")
}

// rebuildAll rebuilds every cache after one was found damaged at query
// time (the error does not say which).
func (d *DB) rebuildAll(ctx context.Context) error {
	// Nothing kept from the damaged caches survives them (createViews
	// starts the memo afresh again once they are rebuilt).
	d.resetMemo()
	for i, p := range d.Stores {
		if d.remoteOf(i) != nil {
			continue // in memory, loaded again on demand
		}
		if err := d.dropCache(ctx, i); err != nil {
			return err
		}
		src, err := store.Open(ctx, p, store.Options{ReadOnly: true})
		if err != nil {
			return err
		}
		_, err = d.attachAndSync(ctx, i, src)
		src.Close()
		if err != nil {
			return err
		}
	}
	return d.createViews(ctx, len(d.Stores))
}

// distinctFiles drops paths naming a file already given (the same path
// spelled twice, a symlink, a hard link), and source URLs naming a source
// already given (http://p:9090/ and http://p:9090), keeping the first
// spelling.
func distinctFiles(paths []string) []string {
	var out []string
	var seen []os.FileInfo
	urls := map[string]bool{}
	for _, p := range paths {
		if sources.IsURL(p) {
			if c := sources.Canonical(p); !urls[c] {
				urls[c] = true
				out = append(out, p)
			}
			continue
		}
		fi, err := os.Stat(p)
		dup := false
		for _, s := range seen {
			dup = dup || (err == nil && os.SameFile(s, fi))
		}
		if dup {
			continue
		}
		if err == nil {
			seen = append(seen, fi)
		}
		out = append(out, p)
	}
	return out
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
	// The views, the selection table and the thread count start afresh,
	// and with them everything the DB kept.
	d.resetMemo()
	for _, s := range []string{
		"USE memory",
		"CREATE OR REPLACE TEMP VIEW all_samples AS " + strings.Join(smp, " UNION ALL "),
		"CREATE OR REPLACE TEMP VIEW all_series AS " + strings.Join(ser, " UNION ALL "),
		// Every selection a query picks by its id (memo.go).
		"CREATE OR REPLACE TEMP TABLE sel (sel_id INTEGER, store INTEGER, series_id BIGINT, grp INTEGER)",
		"RESET threads",
	} {
		if _, err := d.conn.ExecContext(ctx, s); err != nil {
			return fmt.Errorf("prepare queries: %w", err)
		}
	}
	return nil
}

// Close releases DuckDB and the cache files.
func (d *DB) Close() error {
	if d.memo != nil {
		for _, s := range d.memo.stmts {
			s.Close()
		}
		d.memo.stmts = nil
	}
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

// MarshalJSON writes a value that is not finite (a sum that overflowed) as
// the string "+Inf", "-Inf" or "NaN", as Prometheus's HTTP API does:
// encoding/json refuses such numbers, and a report must never fail to encode.
func (r Result) MarshalJSON() ([]byte, error) {
	var v any = r.Value
	switch {
	case math.IsNaN(r.Value):
		v = "NaN"
	case math.IsInf(r.Value, 1):
		v = "+Inf"
	case math.IsInf(r.Value, -1):
		v = "-Inf"
	}
	return json.Marshal(struct {
		Labels  map[string]string `json:"labels"`
		Value   any               `json:"value"`
		Samples int64             `json:"samples"`
	}{r.Labels, v, r.Samples})
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
//
// A ratio pairs groups with equal labels. A zero denominator, or a
// quotient that is not finite, gives no result for the pair: a ratio never
// answers Inf or NaN. A numerator that counts events (increase, rate,
// count or count_le, or the sum of a counter) and has no group where the
// denominator has one counts none: that pair is 0, not "no data",
// provided the numerator metric exists in some store.
func (d *DB) Eval(ctx context.Context, e *metricpath.Expr, w Window) ([]Result, error) {
	if w.Length <= 0 {
		return nil, errors.New("window must be positive")
	}
	if err := d.loadExpr(ctx, e, w); err != nil {
		return nil, err
	}
	rs, err := d.eval(ctx, e, w)
	if err == nil || !damaged(err) {
		return rs, err
	}
	// A damaged block surfaces only when it is read; the caches are only
	// copies: rebuild them (the error does not say which) and ask again.
	d.opt.Logger.Warn("cache damaged, rebuilding", "err", err)
	if err := d.rebuildAll(ctx); err != nil {
		return nil, err
	}
	return d.eval(ctx, e, w)
}

func (d *DB) eval(ctx context.Context, e *metricpath.Expr, w Window) ([]Result, error) {
	num, numType, err := d.evalSelector(ctx, &e.Num, w)
	if err != nil {
		return nil, err
	}
	if e.Den == nil {
		return num, nil
	}
	den, _, err := d.evalSelector(ctx, e.Den, w)
	if err != nil {
		return nil, err
	}
	byKey := map[string]Result{}
	for _, r := range num {
		byKey[store.CanonicalLabels(r.Labels)] = r
	}
	// Only a numerator metric that exists counts "none" as 0: a misspelt
	// name must not read as "no errors".
	countsEvents := numType != "" && countsEvents(resolveAgg(e.Num.Agg, numType).Kind, numType)
	out := []Result{}
	for _, dr := range den {
		nr, ok := byKey[store.CanonicalLabels(dr.Labels)]
		if !ok {
			if !countsEvents {
				continue
			}
			nr = Result{Labels: dr.Labels}
		}
		v := nr.Value / dr.Value
		if dr.Value == 0 || math.IsNaN(v) || math.IsInf(v, 0) {
			continue
		}
		out = append(out, Result{Labels: dr.Labels, Value: v, Samples: nr.Samples + dr.Samples})
	}
	SortResults(out)
	return out, nil
}

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

// PercentilesInGo reads the selected values out of DuckDB in bulk (Arrow)
// and selects the order statistics in Go, which at 10M rows is about twice
// as fast as quantile_cont, which keeps and sorts every value of every group
// (docs/performance.md); the answers are the same to the bit. Builds
// without the duckdb_arrow tag, and tests that compare the two, use
// quantile_cont.
var PercentilesInGo = true

type groupValue struct {
	v   float64
	n   int64
	abs float64 // sum of magnitudes, where the query gives it
}

// The aggregations whose floating-point result depends on the order rows
// are combined in. They run on one DuckDB thread, so the same query on the
// same data gives the same bits every run (parallel partial sums combine
// in whatever order threads finish).
func orderSensitive(k metricpath.AggKind) bool {
	switch k {
	case metricpath.Sum, metricpath.Rate, metricpath.Increase, metricpath.Avg, metricpath.Stddev:
		return true
	}
	return false
}

// aggregate runs the aggregation's query over the selection and returns
// each group's value and sample count.
//
// The answer over one selection and window is kept for the DB's lifetime
// (memo.go), keyed by the query that computes it: the rate, the increase
// and the count of a counter share one agg_sum.
func (d *DB) aggregate(ctx context.Context, agg metricpath.Agg, start, end int64, perSeries bool, set int64, selStore, selID, selGrp []int64) (map[int]groupValue, error) {
	var qname string
	args := []any{start, end}
	// Only the order-sensitive aggregations run on one thread; the others
	// take DuckDB's default, as they always did.
	if err := d.oneThread(ctx, orderSensitive(agg.Kind)); err != nil {
		return nil, err
	}
	switch agg.Kind {
	case metricpath.Sum, metricpath.Rate, metricpath.Increase, metricpath.Count:
		qname = "agg_sum"
	case metricpath.Min, metricpath.Max, metricpath.Avg, metricpath.Last:
		qname = "agg_" + string(agg.Kind)
	case metricpath.Stddev:
		qname = "agg_stddev_pop"
	case metricpath.CountLE:
		qname = "agg_count_le"
		args = append(args, agg.Threshold)
	case metricpath.Percentile:
		if PercentilesInGo && arrowBuild {
			k := aggKey{query: "agg_values", set: set, start: start, end: end, quantile: agg.Quantile}
			if vals, ok := d.keptAgg(k); ok {
				return vals, nil
			}
			groups := 0
			for _, g := range selGrp {
				groups = max(groups, int(g)+1)
			}
			vals, ok, err := d.keptGroupValues(ctx, start, end, set, groups)
			if err != nil {
				return nil, err
			}
			if ok {
				pv := percentiles(vals, agg.Quantile)
				d.keepAgg(k, pv)
				return pv, nil
			}
		}
		qname = "agg_quantile"
		if perSeries {
			qname = "agg_quantile_series"
		}
		args = append(args, agg.Quantile)
	default:
		return nil, fmt.Errorf("unsupported aggregation %s", agg.Text)
	}
	k := aggKey{query: qname, set: set, start: start, end: end}
	switch agg.Kind {
	case metricpath.Percentile:
		k.quantile = agg.Quantile
	case metricpath.CountLE:
		// count_le(300) and count_le(500) are two questions.
		k.threshold = agg.Threshold
	}
	if vals, ok := d.keptAgg(k); ok {
		return vals, nil
	}
	args = append(args, set) // every query over the selection takes its id last
	var vals map[int]groupValue
	var err error
	switch {
	case len(d.Stores) > 1 && (qname == "agg_sum" || qname == "agg_avg"):
		vals, err = d.sumByStore(ctx, args, qname == "agg_avg")
	case len(d.Stores) > 1 && qname == "agg_stddev_pop":
		vals, err = d.stddevByStore(ctx, args)
	default:
		vals, err = d.runAgg(ctx, qname, args, selStore, selID, selGrp)
	}
	if err != nil && isOutOfRange(err) && agg.Kind == metricpath.Stddev {
		vals, err = d.scaled(ctx, qname, args, selStore, selID, selGrp)
	} else if err == nil && (qname == "agg_avg" || qname == "agg_sum") {
		vals, err = d.exactWhereNeeded(ctx, qname, args, vals)
	}
	if err != nil {
		return nil, err
	}
	d.keepAgg(k, vals)
	return vals, nil
}

// exactWhereNeeded replaces Kahan's sum (or mean) by the exact one for the
// groups where it may be off: the running sum overflowed (a sum out of
// range is ±Inf, where the compensation makes NaN, and a mean of values
// near 1.7e308 is finite all the same), or terms cancelled so much that the
// result is far below the sum of magnitudes (1e100 + 1 - 1e100 is 1, as
// Prometheus's Kahan-Babuska sum says, where Kahan's says 0). Sums of
// counters, never negative, do not cancel and stay on the fast path.
func (d *DB) exactWhereNeeded(ctx context.Context, qname string, args []any, vals map[int]groupValue) (map[int]groupValue, error) {
	need := false
	for _, gv := range vals {
		need = need || math.IsInf(gv.v, 0) || math.IsNaN(gv.v) ||
			(gv.abs > 0 && (gv.v == 0 || gv.abs > 0x1p26*math.Abs(gv.v)))
	}
	if !need {
		return vals, nil
	}
	exact, err := d.exactSums(ctx, args...)
	if err != nil {
		return nil, err
	}
	for g, gv := range vals {
		sum, ok := exact[g]
		if !ok {
			sum = new(big.Float) // every value was 0
		}
		if qname == "agg_avg" {
			sum.Quo(sum, new(big.Float).SetInt64(gv.n))
		}
		gv.v, _ = sum.Float64()
		vals[g] = gv
	}
	return vals, nil
}

// exactSums adds agg_sum_exact's parts: sum over e of m_e * 2^e, as one
// big integer times 2^min(e), exact until the final rounding to float64.
func (d *DB) exactSums(ctx context.Context, args ...any) (map[int]*big.Float, error) {
	rows, err := d.query(ctx, "agg_sum_exact", args...)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	type part struct {
		e int
		m *big.Int
	}
	parts := map[int][]part{}
	for rows.Next() {
		var g, e int
		var m *big.Int
		if err := rows.Scan(&g, &e, &m); err != nil {
			return nil, err
		}
		parts[g] = append(parts[g], part{e, m})
	}
	if err := rows.Err(); err != nil {
		return nil, err
	}
	out := map[int]*big.Float{}
	for g, ps := range parts {
		emin := ps[0].e
		for _, p := range ps {
			emin = min(emin, p.e)
		}
		acc := new(big.Int)
		for _, p := range ps {
			acc.Add(acc, new(big.Int).Lsh(p.m, uint(p.e-emin)))
		}
		f := new(big.Float).SetPrec(uint(max(acc.BitLen(), 64)) + 64).SetInt(acc)
		out[g] = f.SetMantExp(f, emin)
	}
	return out, nil
}

// scaled reruns a standard deviation whose squares overflowed over values
// scaled per group (agg_stddev_pop_scaled).
func (d *DB) scaled(ctx context.Context, qname string, args []any, selStore, selID, selGrp []int64) (map[int]groupValue, error) {
	return d.runAgg(ctx, qname+"_scaled", args, selStore, selID, selGrp)
}

func isOutOfRange(err error) bool {
	return strings.Contains(err.Error(), "out of range")
}

func (d *DB) runAgg(ctx context.Context, qname string, args []any, selStore, selID, selGrp []int64) (map[int]groupValue, error) {
	res, err := d.query(ctx, qname, args...)
	if err != nil {
		return nil, err
	}
	defer res.Close()
	// The per-series shape answers (store, series) instead of a group.
	var groupOf map[[2]int64]int
	if strings.HasSuffix(qname, "_series") {
		groupOf = make(map[[2]int64]int, len(selID))
		for i := range selID {
			groupOf[[2]int64{selStore[i], selID[i]}] = int(selGrp[i])
		}
	}
	cols, err := res.Columns()
	if err != nil {
		return nil, err
	}
	vals := map[int]groupValue{}
	for res.Next() {
		var g int
		var v, abs sql.NullFloat64
		var n int64
		if len(cols) == 4 && groupOf == nil {
			if err := res.Scan(&g, &v, &n, &abs); err != nil {
				return nil, err
			}
		} else if groupOf != nil {
			var key [2]int64
			if err := res.Scan(&key[0], &key[1], &v, &n); err != nil {
				return nil, err
			}
			g = groupOf[key]
		} else if err := res.Scan(&g, &v, &n); err != nil {
			return nil, err
		}
		vals[g] = groupValue{v.Float64, n, abs.Float64}
	}
	return vals, res.Err()
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
