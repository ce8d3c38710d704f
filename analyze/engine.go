// Package analyze answers metric-path questions over one or more stores:
// it syncs each store's DuckDB cache, attaches them all to one in-memory
// DuckDB, and evaluates paths (percentiles, rates, ratios) in SQL from
// package queries. Every DuckDB vigil starts is set up here (duckdb.go),
// vigil export's and store compact's too (export.go). It computes; it
// never sends anything.
package analyze

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"log/slog"
	"math"
	"os"
	"path/filepath"
	"time"

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
	remotes, err := openStores(ctx, stores, opt, srcs)
	if err != nil {
		return nil, err
	}
	if err := refuseSameEngine(ctx, remotes, opt); err != nil {
		return nil, err
	}
	files, work, err := cacheFiles(stores, srcs, opt)
	if err != nil {
		return nil, err
	}
	// Everything DuckDB might write goes beside the caches (a folder known
	// to be writable), or in a temporary folder when every cache is in
	// memory: never $HOME, never a store's read-only folder, and never the
	// network (no extension downloads).
	var tmpDir string
	if work == "" {
		if tmpDir, err = os.MkdirTemp("", "vigil-duckdb-"); err != nil {
			tmpDir = ""
			work = os.TempDir()
		} else {
			work = tmpDir
		}
	}
	db, conn, err := startDuckDB(ctx, duckSetup{home: work, extensions: filepath.Join(work, ".duckdb-extensions"),
		temp: filepath.Join(work, ".duckdb-tmp"), memoryLimit: opt.MemoryLimit})
	if err != nil {
		if tmpDir != "" {
			os.RemoveAll(tmpDir)
		}
		return nil, err
	}
	d := &DB{db: db, conn: conn, Stores: stores, tmpDir: tmpDir, files: files, opt: opt, remotes: remotes}
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

// openStores opens each store file (read-only, into srcs) and refuses two
// copies of one store; it returns the Prometheus-compatible sources among
// the paths (their srcs stay nil).
func openStores(ctx context.Context, stores []string, opt Options, srcs []*store.Store) ([]*remoteSource, error) {
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
	return remotes, nil
}

// cacheFiles locates each store's cache file ("" for a cache in memory,
// and for a source: its catalog is in memory), and the folder of the
// first cache file ("" when there is none).
func cacheFiles(stores []string, srcs []*store.Store, opt Options) (files []string, work string, err error) {
	files = make([]string, len(stores))
	for i, s := range stores {
		if srcs[i] == nil {
			continue
		}
		loc, err := cache.Locate(s, opt.CacheDir)
		if err != nil {
			return nil, "", err
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
	return files, work, nil
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
