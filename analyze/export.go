package analyze

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"github.com/vigil-metrics/vigil/analyze/cache"
	"github.com/vigil-metrics/vigil/internal/store"
	"github.com/vigil-metrics/vigil/queries"
)

// Export writes the samples of the stores at paths with timestamps in
// [since, until) (unix ms) under the folder out, as parquet or csv files
// (format), one folder per UTC day (day=YYYY-MM-DD), through
// DuckDB's COPY. It syncs each store's cache first, as every query does,
// and returns how many rows it wrote.
func Export(ctx context.Context, paths []string, cacheDir, format, out string, since, until int64) (int64, error) {
	if format != "parquet" && format != "csv" {
		return 0, fmt.Errorf("export format %q: want parquet or csv", format)
	}
	owner := map[string]string{}
	for _, p := range paths {
		st, err := store.Open(ctx, p, store.Options{ReadOnly: true})
		if err != nil {
			return 0, err
		}
		m, err := st.Meta(ctx)
		st.Close()
		if err != nil {
			return 0, fmt.Errorf("open store %s: %w", p, err)
		}
		if first, ok := owner[m.StoreID]; ok {
			return 0, queryErrorf("%s and %s are copies of one store (store_id %s): give one of them", first, p, m.StoreID)
		}
		owner[m.StoreID] = p
	}
	conn, closeDB, err := scratchDuckDB(ctx)
	if err != nil {
		return 0, err
	}
	defer closeDB()
	for i, p := range paths {
		cat := "c" + strconv.Itoa(i)
		if err := attachShared(ctx, conn, cat, p, cacheDir); err != nil {
			return 0, err
		}
		if _, err := cache.Sync(ctx, conn, cat, p); err != nil {
			return 0, fmt.Errorf("sync cache of %s: %w", p, err)
		}
	}
	for _, s := range append([]string{"USE memory"}, unionViews(len(paths))...) {
		if _, err := conn.ExecContext(ctx, s); err != nil {
			return 0, fmt.Errorf("prepare export: %w", err)
		}
	}
	// A new folder is no more open than the stores it copies (the files
	// DuckDB writes in it get 0666 less the umask).
	mode, err := cache.CopyMode(paths)
	if err != nil {
		return 0, err
	}
	if err := os.MkdirAll(out, cache.FolderMode(mode)); err != nil {
		return 0, err
	}
	abs, err := filepath.Abs(out)
	if err != nil {
		return 0, err
	}
	// The folder is the only text from the command line in the statement,
	// quoted as a string literal; the format is one of two words; the
	// bounds are bound parameters.
	stmt := "COPY (" + strings.TrimSuffix(queries.Get("export_rows"), ";") + ") TO " + sqlString(abs) +
		" (FORMAT " + format + ", PARTITION_BY (day), OVERWRITE_OR_IGNORE)"
	res, err := conn.ExecContext(ctx, stmt, since, until)
	if err != nil {
		return 0, fmt.Errorf("export: %w", err)
	}
	n, _ := res.RowsAffected()
	return n, nil
}

// errInMemory says a cache file cannot be used now: a copy in memory
// serves this run.
var errInMemory = errors.New("cache in memory")

// attachShared attaches the DuckDB cache of the store at p as cat: the
// cache file the queries use (so an export after a query copies only what
// is new), waiting up to 30s for another process that holds it, or one in
// memory when that file cannot be used now. Unlike a query's, an
// unreadable cache file is left alone.
func attachShared(ctx context.Context, conn *sql.Conn, cat, p, cacheDir string) error {
	loc, err := cache.Locate(p, cacheDir)
	if err != nil {
		return err
	}
	if !loc.InMemory() {
		if err := cache.Create(loc.File, p); err != nil {
			return err
		}
		err := attachWithRetry(ctx, conn, "ATTACH "+sqlString(loc.File)+" AS "+quoteIdent(cat), time.Now().Add(30*time.Second),
			func() error { return errInMemory },
			func(error) (bool, error) { return false, errInMemory }) // unreadable or not writable
		if !errors.Is(err, errInMemory) {
			return err
		}
	}
	if _, err := conn.ExecContext(ctx, "ATTACH ':memory:' AS "+quoteIdent(cat)); err != nil {
		return fmt.Errorf("open cache in memory: %w", err)
	}
	return nil
}

// RebuildCache syncs a new cache of the store at p into file.compact and
// moves it over file: a fresh file holds no space left by deleted rows. A
// reader that has the old file open keeps reading it; the next one opens
// the new.
func RebuildCache(ctx context.Context, p, file string) error {
	tmp := file + ".compact"
	for _, f := range []string{tmp, tmp + ".wal"} {
		if err := os.Remove(f); err != nil && !errors.Is(err, os.ErrNotExist) {
			return err
		}
	}
	conn, closeDB, err := scratchDuckDB(ctx)
	if err != nil {
		return err
	}
	defer closeDB()
	if err := cache.Create(tmp, p); err != nil {
		return fmt.Errorf("rebuild cache %s: %w", file, err)
	}
	if _, err := conn.ExecContext(ctx, "ATTACH "+sqlString(tmp)+" AS fresh"); err != nil {
		return fmt.Errorf("rebuild cache %s: %w", file, err)
	}
	if _, err := cache.Sync(ctx, conn, "fresh", p); err != nil {
		return fmt.Errorf("rebuild cache %s: %w", file, err)
	}
	for _, s := range []string{"USE memory", "CHECKPOINT fresh", "DETACH fresh"} {
		if _, err := conn.ExecContext(ctx, s); err != nil {
			return fmt.Errorf("rebuild cache %s: %w", file, err)
		}
	}
	// The old WAL belongs to the old file: it must not be replayed onto
	// the new one.
	if err := os.Remove(file + ".wal"); err != nil && !errors.Is(err, os.ErrNotExist) {
		return err
	}
	return os.Rename(tmp, file)
}

// scratchDuckDB starts a DuckDB for one command, in UTC, whose work folder
// is a temporary one, removed by the returned func with the rest.
func scratchDuckDB(ctx context.Context) (*sql.Conn, func(), error) {
	work, err := os.MkdirTemp("", "vigil-duckdb-")
	if err != nil {
		return nil, nil, err
	}
	db, conn, err := startDuckDB(ctx, duckSetup{home: work, extensions: filepath.Join(work, "ext"),
		temp: filepath.Join(work, "tmp"), memoryLimit: "1GB", utc: true})
	if err != nil {
		os.RemoveAll(work)
		return nil, nil, err
	}
	return conn, func() {
		conn.Close()
		db.Close()
		os.RemoveAll(work)
	}, nil
}
