// Package store owns vigil's on-disk metric store: a SQLite file with a
// series table, an append-only samples table and the reference design's
// metrics view. It opens, migrates and writes stores, and answers the few
// questions others ask of one (read.go, maintain.go): its database handle
// stays inside, so SQL over a store lives here and in queries/store_*.sql.
// It never runs analytics (that is package analyze, over a DuckDB cache).
package store

import (
	"context"
	"crypto/rand"
	"database/sql"
	"embed"
	"encoding/hex"
	"errors"
	"fmt"
	"io/fs"
	"net/url"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"

	_ "modernc.org/sqlite" // registers the "sqlite" driver

	"github.com/vigil-metrics/vigil/internal/sqlmigrate"
)

//go:embed migrations/*.sql
var migrationFS embed.FS

var migrations = sqlmigrate.MustLoad(migrationFS, "migrations/*.sql")

// Version is the newest store format this binary understands.
var Version = migrations.Version()

// MinReadable is the oldest format a read-only open accepts without
// migrating: version 2 only added metric_metadata, which reads of an
// older store treat as empty, so a frozen or read-only copy of a version
// 1 store stays readable.
const MinReadable = 1

// Meta keys kept in the store's meta table.
const (
	MetaStoreID        = "store_id"
	MetaHorizonMS      = "horizon_ms"
	MetaDeletedSamples = "deleted_samples"
	MetaDeletedSeries  = "deleted_series"
)

// ErrNotStore says a file exists but is not a vigil store.
var ErrNotStore = errors.New("not a vigil store")

// Store is an open metric store.
type Store struct {
	db       *sql.DB
	Path     string
	readOnly bool

	// Series known to this process, keyed by seriesKey; filled lazily.
	series map[string]seriesEntry
	// Metric name -> type, to refuse a name used with two types.
	types map[string]Type
}

type seriesEntry struct {
	id  int64
	typ Type
}

// Options tune Open.
type Options struct {
	// ReadOnly opens without write access; the store must exist.
	ReadOnly bool
	// MustExist refuses to create a new store.
	MustExist bool
}

func dsn(p string, ro bool) string {
	q := url.Values{}
	q.Add("_pragma", "busy_timeout(10000)")
	if ro {
		q.Add("mode", "ro")
		if frozen(p) {
			q.Add("immutable", "1")
		}
	} else {
		q.Add("_pragma", "journal_mode(WAL)")
		q.Add("_pragma", "synchronous(NORMAL)")
		q.Add("_txlock", "immediate")
	}
	return "file:" + (&url.URL{Path: p}).EscapedPath() + "?" + q.Encode()
}

// frozen reports whether a store can only be read as an immutable file: a
// WAL store is readable without write access only if its -shm file exists
// or can be created, so a copy in a read-only folder (a read-only mount of
// copied host stores) has no other way in. Nobody can be writing it then:
// a writer would have made the -shm file.
func frozen(p string) bool {
	if _, err := os.Stat(p + "-shm"); err == nil {
		return false
	}
	return syscall.Access(filepath.Dir(p), 2 /* W_OK */) != nil
}

// Open opens (and, unless read-only, creates or migrates) the store at p.
func Open(ctx context.Context, p string, opt Options) (*Store, error) {
	if opt.ReadOnly || opt.MustExist {
		st, err := os.Stat(p)
		if err != nil {
			if errors.Is(err, fs.ErrNotExist) {
				return nil, fmt.Errorf("open store %s: no such file", p)
			}
			return nil, fmt.Errorf("open store %s: %w", p, err)
		}
		if st.IsDir() {
			return nil, fmt.Errorf("open store %s: is a directory", p)
		}
	}
	if !opt.ReadOnly {
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			return nil, fmt.Errorf("open store %s: %w", p, err)
		}
	}
	db, err := sql.Open("sqlite", dsn(p, opt.ReadOnly))
	if err != nil {
		return nil, fmt.Errorf("open store %s: %w", p, err)
	}
	s := &Store{db: db, Path: p, readOnly: opt.ReadOnly}
	if err := s.init(ctx); err != nil {
		db.Close()
		return nil, fmt.Errorf("open store %s: %w", p, err)
	}
	return s, nil
}

// Close releases the store.
func (s *Store) Close() error { return s.db.Close() }

func (s *Store) init(ctx context.Context) error {
	var v int
	if err := s.db.QueryRowContext(ctx, "PRAGMA user_version").Scan(&v); err != nil {
		return notStore(err)
	}
	if v > Version {
		return fmt.Errorf("store format version %d is newer than this vigil understands (%d): upgrade vigil", v, Version)
	}
	if v == 0 {
		var n int
		if err := s.db.QueryRowContext(ctx, "SELECT count(*) FROM sqlite_schema").Scan(&n); err != nil {
			return notStore(err)
		}
		if n > 0 {
			return fmt.Errorf("%w: the file has tables but no vigil format version", ErrNotStore)
		}
	}
	if v == Version {
		return nil
	}
	if s.readOnly {
		if v == 0 {
			return fmt.Errorf("%w: the file is empty", ErrNotStore)
		}
		if v >= MinReadable {
			return nil // what later versions add reads as empty (Metadata)
		}
		return fmt.Errorf("store format version %d needs migrating to %d: run any writing command (vigil record) first", v, Version)
	}
	return s.migrate(ctx, v)
}

func notStore(err error) error {
	if strings.Contains(err.Error(), "file is not a database") {
		return fmt.Errorf("%w: file is not a database", ErrNotStore)
	}
	return err
}

func (s *Store) migrate(ctx context.Context, from int) error {
	tx, err := s.db.BeginTx(ctx, nil)
	if err != nil {
		return fmt.Errorf("migrate: %w", err)
	}
	defer tx.Rollback()
	// Re-read under the write lock: another process may have migrated.
	var v int
	if err := tx.QueryRowContext(ctx, "PRAGMA user_version").Scan(&v); err != nil {
		return fmt.Errorf("migrate: %w", err)
	}
	if v >= Version {
		return nil
	}
	if err := migrations.Apply(ctx, tx, v); err != nil {
		return err
	}
	if v == 0 {
		id := make([]byte, 16)
		if _, err := rand.Read(id); err != nil {
			return err
		}
		for k, val := range map[string]string{
			MetaStoreID: hex.EncodeToString(id), MetaHorizonMS: "0",
			MetaDeletedSamples: "0", MetaDeletedSeries: "0",
		} {
			if _, err := tx.ExecContext(ctx, "INSERT INTO meta(key, value) VALUES (?, ?)", k, val); err != nil {
				return fmt.Errorf("migrate: %w", err)
			}
		}
	}
	if _, err := tx.ExecContext(ctx, "PRAGMA user_version = "+strconv.Itoa(Version)); err != nil {
		return fmt.Errorf("migrate: %w", err)
	}
	return tx.Commit()
}

// Meta is the store's identity and deletion bookkeeping, read in one snapshot.
type Meta struct {
	StoreID        string
	HorizonMS      int64
	DeletedSamples int64
	DeletedSeries  int64
}

// Querier is what ReadMeta needs: a *sql.DB, *sql.Conn or *sql.Tx.
type Querier interface {
	QueryContext(ctx context.Context, query string, args ...any) (*sql.Rows, error)
}

// ReadMeta reads the meta table through q.
func ReadMeta(ctx context.Context, q Querier) (Meta, error) {
	rows, err := q.QueryContext(ctx, "SELECT key, value FROM meta")
	if err != nil {
		return Meta{}, fmt.Errorf("read meta: %w", err)
	}
	defer rows.Close()
	var m Meta
	for rows.Next() {
		var k, v string
		if err := rows.Scan(&k, &v); err != nil {
			return Meta{}, err
		}
		n, _ := strconv.ParseInt(v, 10, 64)
		switch k {
		case MetaStoreID:
			m.StoreID = v
		case MetaHorizonMS:
			m.HorizonMS = n
		case MetaDeletedSamples:
			m.DeletedSamples = n
		case MetaDeletedSeries:
			m.DeletedSeries = n
		}
	}
	if err := rows.Err(); err != nil {
		return Meta{}, err
	}
	if m.StoreID == "" {
		return Meta{}, fmt.Errorf("%w: meta table has no store_id", ErrNotStore)
	}
	return m, nil
}

// Prune deletes samples older than cutMS (unix ms) in batches of batch rows,
// each its own short transaction so writers are never blocked for long, and
// records the cut as the store's horizon so caches can apply the same cut.
func (s *Store) Prune(ctx context.Context, cutMS int64, batch int) (int64, error) {
	if batch <= 0 {
		batch = 10000
	}
	// Record the horizon first: a cache that syncs mid-prune then applies
	// the cut itself rather than rebuilding.
	if _, err := s.db.ExecContext(ctx,
		"UPDATE meta SET value = CAST(max(CAST(value AS INTEGER), ?) AS TEXT) WHERE key = ?", cutMS, MetaHorizonMS); err != nil {
		return 0, fmt.Errorf("prune: %w", err)
	}
	var total int64
	for {
		res, err := s.db.ExecContext(ctx,
			"DELETE FROM samples WHERE id IN (SELECT id FROM samples WHERE ts < ? LIMIT ?)", cutMS, batch)
		if err != nil {
			return total, fmt.Errorf("prune: %w", err)
		}
		n, _ := res.RowsAffected()
		total += n
		if n < int64(batch) {
			return total, nil
		}
	}
}
