// Package cache keeps a DuckDB copy of one SQLite metric store and brings
// it up to date incrementally: only rows added since the last sync are read
// (the samples id is the watermark), the store's retention horizon is
// applied in place, and a store that was replaced, truncated or rewritten
// is detected and the cache rebuilt from scratch.
package cache

import (
	"context"
	"crypto/sha256"
	"database/sql"
	"database/sql/driver"
	"encoding/hex"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"sync"
	"unicode/utf8"

	duckdb "github.com/duckdb/duckdb-go/v2"

	"github.com/vigil-metrics/vigil/internal/store"
	"github.com/vigil-metrics/vigil/queries"
)

// format is bumped whenever the cache schema changes; an old cache is
// rebuilt rather than migrated, since it is only a copy.
const format = 1

// FileFor returns where the cache of storePath lives: beside the store by
// default, or in cacheDir under a name derived from the store's absolute
// path (so two stores called vigil.db in different folders never collide).
func FileFor(storePath, cacheDir string) (string, error) {
	abs, err := filepath.Abs(storePath)
	if err != nil {
		return "", err
	}
	if cacheDir == "" {
		return abs + ".cache.duckdb", nil
	}
	sum := sha256.Sum256([]byte(abs))
	return filepath.Join(cacheDir, filepath.Base(abs)+"-"+hex.EncodeToString(sum[:6])+".duckdb"), nil
}

// Stats says what a sync did.
type Stats struct {
	StoreID string // the store's identity (its meta store_id)
	Rebuilt bool
	Reason  string // why it rebuilt, empty if it did not
	Added   int64  // sample rows copied
	Pruned  int64  // rows removed by the retention horizon
	// Repaired counts series copied with invalid UTF-8 in a name, label
	// set or service (written by an older vigil or by hand), mapped to
	// U+FFFD so that the store stays queryable.
	Repaired int
}

type cacheState struct {
	format                        int
	storeID                       string
	watermark, seriesWatermark    int64
	horizon, deletedS, deletedSer int64
	lastSeries, lastTS            sql.NullInt64
	lastValue                     sql.NullFloat64
	valid                         bool
}

// Sync brings the cache attached as catalog on conn up to date with the
// store at storePath, in one DuckDB transaction: a sync that fails leaves
// the cache as it was.
func Sync(ctx context.Context, conn *sql.Conn, catalog, storePath string) (Stats, error) {
	src, err := store.Open(ctx, storePath, store.Options{ReadOnly: true})
	if err != nil {
		return Stats{}, err
	}
	defer src.Close()
	return SyncStore(ctx, conn, catalog, src)
}

// SyncStore is Sync for a store the caller opened (read-only is enough).
func SyncStore(ctx context.Context, conn *sql.Conn, catalog string, src *store.Store) (st Stats, err error) {
	if _, err := conn.ExecContext(ctx, "USE "+quoteIdent(catalog)); err != nil {
		return st, fmt.Errorf("use cache: %w", err)
	}
	unwritten, err := protect(ctx, conn, catalog, src.Path)
	if err != nil {
		return st, err
	}
	defer unwritten()
	if _, err := conn.ExecContext(ctx, queries.Get("cache_schema")); err != nil {
		return st, fmt.Errorf("create cache schema: %w", err)
	}
	if _, err := conn.ExecContext(ctx, "BEGIN TRANSACTION"); err != nil {
		return st, err
	}
	unchanged := false
	defer func() {
		if err != nil || unchanged {
			// A failed sync leaves the cache as it was; one that found
			// nothing new has written nothing and must not cost a commit
			// (a WAL write, an fsync, a checkpoint at close) on every run.
			conn.ExecContext(context.Background(), "ROLLBACK") //nolint:errcheck // best effort; the error is already reported
			return
		}
		if _, cerr := conn.ExecContext(ctx, "COMMIT"); cerr != nil {
			conn.ExecContext(context.Background(), "ROLLBACK") //nolint:errcheck // leave no transaction open
			err = fmt.Errorf("commit cache: %w", cerr)
		}
	}()
	cs, err := readState(ctx, conn)
	if err != nil {
		return st, err
	}

	// One read snapshot of the store for the bookkeeping and the new series.
	sc, err := src.ReadConn(ctx)
	if err != nil {
		return st, err
	}
	defer sc.Close()
	if _, err := sc.ExecContext(ctx, "BEGIN"); err != nil {
		return st, fmt.Errorf("read store: %w", err)
	}
	defer sc.ExecContext(context.Background(), "ROLLBACK") //nolint:errcheck // read-only snapshot
	meta, err := store.ReadMeta(ctx, sc)
	if err != nil {
		return st, err
	}
	st.StoreID = meta.StoreID
	top, err := sampleTop(ctx, sc)
	if err != nil {
		return st, err
	}

	reason, err := checkState(ctx, conn, sc, cs, meta, top, &st)
	if err != nil {
		return st, err
	}
	if reason != "" {
		st.Rebuilt, st.Reason = true, reason
		if _, err := conn.ExecContext(ctx, queries.Get("cache_reset")); err != nil {
			return st, fmt.Errorf("reset cache: %w", err)
		}
		cs = cacheState{}
	}

	var seriesTop sql.NullInt64
	if err := sc.QueryRowContext(ctx, queries.Get("store_max_series_id")).Scan(&seriesTop); err != nil {
		return st, err
	}
	horizon := max(cs.horizon, meta.HorizonMS)
	if !st.Rebuilt && top == cs.watermark && seriesTop.Int64 <= cs.seriesWatermark && horizon == cs.horizon &&
		meta.DeletedSamples == cs.deletedS && meta.DeletedSeries == cs.deletedSer {
		unchanged = true
		return st, nil
	}
	if seriesTop.Int64 > cs.seriesWatermark {
		if st.Repaired, err = copySeries(ctx, conn, catalog, sc, cs.seriesWatermark); err != nil {
			return st, err
		}
	}
	if top > cs.watermark {
		// Rows below the horizon are on their way out of the store (a
		// prune in progress, or old data imported after one): the cache
		// holds exactly the store's rows at or after the horizon.
		n, err := copySamples(ctx, conn, catalog, src, cs.watermark, top, horizon)
		if err != nil {
			return st, err
		}
		st.Added = n
	}
	if err := writeState(ctx, conn, sc, cs, meta, top, seriesTop.Int64, horizon); err != nil {
		return st, err
	}
	return st, nil
}

// sampleTop is the store's sample high-water mark: its AUTOINCREMENT
// sequence, which unlike max(id) never goes back when the newest rows are
// deleted, or max(id) where that is higher (the sequence row was lost: a
// hand-edited store, or a copy made by a tool that skips sqlite_sequence;
// O(log n)).
func sampleTop(ctx context.Context, sc *sql.Conn) (int64, error) {
	var seq sql.NullInt64
	err := sc.QueryRowContext(ctx, queries.Get("store_sample_seq")).Scan(&seq)
	if err != nil && !errors.Is(err, sql.ErrNoRows) {
		return 0, fmt.Errorf("read store: %w", err)
	}
	var maxID sql.NullInt64
	if err := sc.QueryRowContext(ctx, queries.Get("store_max_sample_id")).Scan(&maxID); err != nil {
		return 0, fmt.Errorf("read store: %w", err)
	}
	return max(seq.Int64, maxID.Int64), nil
}

// writeState records what the cache now mirrors: the watermarks, the
// horizon, the store's delete counters, and the row at the watermark (to
// detect a store rewritten under the same id).
func writeState(ctx context.Context, conn, sc *sql.Conn, cs cacheState, meta store.Meta, top, seriesTop, horizon int64) error {
	var last struct {
		sid, ts sql.NullInt64
		v       sql.NullFloat64
	}
	if top > 0 {
		err := sc.QueryRowContext(ctx, queries.Get("store_sample_at"), top).Scan(&last.sid, &last.ts, &last.v)
		if err != nil && !errors.Is(err, sql.ErrNoRows) {
			return err
		}
	}
	if _, err := conn.ExecContext(ctx, queries.Get("cache_meta_clear")); err != nil {
		return err
	}
	_, err := conn.ExecContext(ctx, queries.Get("cache_meta_write"), format, meta.StoreID, max(top, cs.watermark),
		max(seriesTop, cs.seriesWatermark), horizon, meta.DeletedSamples, meta.DeletedSeries, last.sid, last.ts, last.v)
	if err != nil {
		return fmt.Errorf("write cache meta: %w", err)
	}
	return nil
}

func readState(ctx context.Context, conn *sql.Conn) (cacheState, error) {
	var cs cacheState
	err := conn.QueryRowContext(ctx, queries.Get("cache_meta_read")).Scan(&cs.format, &cs.storeID, &cs.watermark,
		&cs.seriesWatermark, &cs.horizon, &cs.deletedS, &cs.deletedSer, &cs.lastSeries, &cs.lastTS, &cs.lastValue)
	if errors.Is(err, sql.ErrNoRows) {
		return cacheState{}, nil
	}
	if err != nil {
		return cs, fmt.Errorf("read cache meta: %w", err)
	}
	cs.valid = true
	return cs, nil
}

// checkState decides whether the cache still mirrors the store's rows at
// or after the horizon, up to its watermark, applying a new retention
// horizon in place. It returns a non-empty reason when the cache must be
// rebuilt.
func checkState(ctx context.Context, conn, sc *sql.Conn, cs cacheState, meta store.Meta, top int64, st *Stats) (string, error) {
	switch {
	case !cs.valid:
		return "new cache", nil
	case cs.format != format:
		return "cache format changed", nil
	case cs.storeID != meta.StoreID:
		return "store was replaced", nil
	case meta.DeletedSeries != cs.deletedSer:
		return "series were deleted", nil
	case meta.DeletedSamples < cs.deletedS:
		return "store was replaced", nil
	case top < cs.watermark:
		return "store was truncated", nil
	case meta.HorizonMS < cs.horizon:
		// Samples older than the cut were imported on purpose (a backup
		// restored after a prune): the cache left out every row below
		// its cut, so it starts again from the store's.
		return "retention horizon moved back (older samples imported)", nil
	}
	horizon := max(cs.horizon, meta.HorizonMS)
	if meta.HorizonMS > cs.horizon {
		res, err := conn.ExecContext(ctx, queries.Get("cache_prune"), meta.HorizonMS)
		if err != nil {
			return "", fmt.Errorf("apply retention to cache: %w", err)
		}
		st.Pruned, _ = res.RowsAffected()
	}
	if meta.DeletedSamples != cs.deletedS || meta.HorizonMS > cs.horizon {
		// Rows went (or are going) away. Retention explains every row
		// below the horizon; anything else means the cache is stale.
		var have, want int64
		if err := conn.QueryRowContext(ctx, queries.Get("cache_count")).Scan(&have); err != nil {
			return "", err
		}
		if err := sc.QueryRowContext(ctx, queries.Get("store_count_kept"), cs.watermark, horizon).Scan(&want); err != nil {
			return "", err
		}
		if have != want {
			return "samples were deleted outside retention", nil
		}
		return "", nil
	}
	if cs.lastSeries.Valid {
		// The row at the watermark is still there, unchanged, unless the
		// file was swapped for another copy of the same store.
		var sid, ts int64
		var v float64
		err := sc.QueryRowContext(ctx, queries.Get("store_sample_at"), cs.watermark).Scan(&sid, &ts, &v)
		if errors.Is(err, sql.ErrNoRows) || (err == nil && (sid != cs.lastSeries.Int64 || ts != cs.lastTS.Int64 || v != cs.lastValue.Float64)) {
			return "store was rewritten", nil
		}
		if err != nil {
			return "", err
		}
	}
	return "", nil
}

// copySeries appends the store's series after id after; it returns how many
// needed invalid UTF-8 mapped to U+FFFD (DuckDB refuses such strings, and
// one bad series must not make a whole fleet of stores unqueryable).
func copySeries(ctx context.Context, conn *sql.Conn, catalog string, sc *sql.Conn, after int64) (int, error) {
	rows, err := sc.QueryContext(ctx, queries.Get("store_series_after"), after)
	if err != nil {
		return 0, fmt.Errorf("read series: %w", err)
	}
	defer rows.Close()
	repaired := 0
	err = withAppender(conn, catalog, "series", func(a *duckdb.Appender) error {
		for rows.Next() {
			var id int64
			var name, typ, labels, service string
			if err := rows.Scan(&id, &name, &typ, &labels, &service); err != nil {
				return err
			}
			if !utf8.ValidString(name) || !utf8.ValidString(labels) || !utf8.ValidString(service) {
				repaired++
				name = strings.ToValidUTF8(name, "\uFFFD")
				labels = strings.ToValidUTF8(labels, "\uFFFD")
				service = strings.ToValidUTF8(service, "\uFFFD")
			}
			if err := a.AppendRow(id, name, typ, labels, service); err != nil {
				return err
			}
		}
		return rows.Err()
	})
	return repaired, err
}

func withAppender(conn *sql.Conn, catalog, table string, fill func(*duckdb.Appender) error) error {
	return conn.Raw(func(dc any) error {
		c, ok := dc.(driver.Conn)
		if !ok {
			return errors.New("not a DuckDB connection")
		}
		a, err := duckdb.NewAppender(c, catalog, "main", table)
		if err != nil {
			return fmt.Errorf("appender for %s: %w", table, err)
		}
		if err := fill(a); err != nil {
			a.Close()
			return fmt.Errorf("copy %s: %w", table, err)
		}
		if err := a.Close(); err != nil {
			return fmt.Errorf("copy %s: %w", table, err)
		}
		return nil
	})
}

// A chunk of rows read from the store, handed to the appender.
type rowBatch struct {
	sid, ts []int64
	v       []float64
}

const (
	batchRows = 8192
	rangeIDs  = 1 << 20 // ids per work unit of a parallel cold read
)

// copySamples reads samples with ids in (lo, hi] and appends them to the
// cache. Large ranges are read by several SQLite connections over disjoint
// id ranges while one goroutine appends: reading SQLite is the bottleneck.
func copySamples(ctx context.Context, conn *sql.Conn, catalog string, src *store.Store, lo, hi, horizon int64) (int64, error) {
	readers := 1
	if hi-lo > 4*batchRows*8 {
		readers = max(1, min(runtime.GOMAXPROCS(0), 4))
	}
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	work := make(chan [2]int64)
	go func() {
		defer close(work)
		for a := lo; a < hi; a += rangeIDs {
			select {
			case work <- [2]int64{a, min(a+rangeIDs, hi)}:
			case <-ctx.Done():
				return
			}
		}
	}()
	out := make(chan *rowBatch, 2*readers)
	pool := sync.Pool{New: func() any {
		return &rowBatch{sid: make([]int64, 0, batchRows), ts: make([]int64, 0, batchRows), v: make([]float64, 0, batchRows)}
	}}
	var wg sync.WaitGroup
	errs := make(chan error, readers+1)
	for i := 0; i < readers; i++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			if err := readRanges(ctx, src, work, horizon, out, &pool); err != nil {
				errs <- err
				cancel()
			}
		}()
	}
	go func() { wg.Wait(); close(out) }()

	var n int64
	appendErr := withAppender(conn, catalog, "samples", func(a *duckdb.Appender) error {
		for b := range out {
			for i := range b.sid {
				if err := a.AppendRow(b.sid[i], b.ts[i], b.v[i]); err != nil {
					return err
				}
			}
			n += int64(len(b.sid))
			b.sid, b.ts, b.v = b.sid[:0], b.ts[:0], b.v[:0]
			pool.Put(b)
		}
		return nil
	})
	if appendErr != nil {
		cancel()
		for range out { //nolint:revive // drain so readers exit
		}
		return 0, appendErr
	}
	select {
	case err := <-errs:
		return 0, err
	default:
	}
	return n, nil
}

func quoteIdent(s string) string {
	return `"` + s + `"`
}

// EnsureDir creates the folder a cache file goes in.
func EnsureDir(file string) error {
	return os.MkdirAll(filepath.Dir(file), 0o755)
}
