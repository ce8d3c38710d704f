package analyze

import (
	"context"
	"database/sql"
	"fmt"
	"net/url"
	"os"
	"strconv"
	"strings"
	"time"

	duckdb "github.com/duckdb/duckdb-go/v2"

	"github.com/vigil-metrics/vigil/analyze/cache"
	"github.com/vigil-metrics/vigil/internal/store"
	"github.com/vigil-metrics/vigil/queries"
)

// attachAndSync attaches store i's cache and syncs it. A cache found
// damaged while syncing (a block whose checksum fails) is only a copy:
// warn, delete it and rebuild, once.
func (d *DB) attachAndSync(ctx context.Context, i int, src *store.Store) (cache.Stats, error) {
	cat, s := "c"+strconv.Itoa(i), d.Stores[i]
	var st cache.Stats
	for try := 0; ; try++ {
		if err := d.attach(ctx, cat, d.files[i], s, d.opt); err != nil {
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

// attach opens a cache file, waiting while another vigil holds it, and
// starting afresh when the file is not a readable cache (it is only a copy).
// An empty file, or a cache file this user may not write, gives a cache in
// memory for this run. A new file gets no permission the store at
// storePath lacks (cache.Create).
func (d *DB) attach(ctx context.Context, cat, file, storePath string, opt Options) error {
	if file == "" {
		if _, err := d.conn.ExecContext(ctx, "ATTACH ':memory:' AS "+quoteIdent(cat)); err != nil {
			return fmt.Errorf("open cache in memory: %w", err)
		}
		return nil
	}
	if err := cache.Create(file, storePath); err != nil {
		return err
	}
	removed := false
	return attachWithRetry(ctx, d.conn, "ATTACH "+sqlString(file)+" AS "+quoteIdent(cat), time.Now().Add(opt.LockWait),
		func() error {
			return fmt.Errorf("cache %s is locked by another process for over %s", file, opt.LockWait)
		},
		func(err error) (bool, error) {
			msg := err.Error()
			switch {
			case context.Cause(ctx) != nil:
				// A stop (SIGTERM) cut the ATTACH short ("INTERRUPT Error"):
				// the file is not damaged, and a rebuild would cost the
				// next run the whole store's copy (h33).
				return false, fmt.Errorf("open cache %s: %w", file, context.Cause(ctx))
			case notPermitted(msg):
				// Not a damaged cache: one this user may not write (another
				// user's file, a read-only file or mount). Leave it alone.
				opt.Logger.Info("cache in memory for this run", "cache", file, "reason", "cache file is not writable", "err", msg)
				return false, d.attach(ctx, cat, "", storePath, opt)
			case !removed && (exists(file) || exists(file+".wal")):
				opt.Logger.Warn("cache unreadable, rebuilding", "cache", file, "err", msg)
				os.Remove(file)
				os.Remove(file + ".wal")
				removed = true
				if err := cache.Create(file, storePath); err != nil {
					return false, err
				}
				return true, nil
			}
			return false, fmt.Errorf("open cache %s: %w", file, err)
		})
}

// attachWithRetry runs stmt, an ATTACH of a cache file: again every 100ms
// while another process holds the file's lock, until deadline (then it
// returns locked()); for any other error, other says whether to try again
// (it repaired something) or what to return.
// The deadline is on the real clock: waiting for a lock is I/O, not a
// decision about the data (whose instant is the caller's --at).
func attachWithRetry(ctx context.Context, conn *sql.Conn, stmt string, deadline time.Time, locked func() error, other func(error) (retry bool, err error)) error {
	for {
		_, err := conn.ExecContext(ctx, stmt)
		if err == nil {
			return nil
		}
		if msg := err.Error(); !strings.Contains(msg, "Could not set lock") && !strings.Contains(msg, "Conflicting lock") {
			retry, err := other(err)
			if !retry {
				return err
			}
			continue
		}
		if time.Now().After(deadline) {
			return locked()
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(100 * time.Millisecond):
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

// createViews unites the attached caches.
func (d *DB) createViews(ctx context.Context, n int) error {
	// The views, the selection table and the thread count start afresh,
	// and with them everything the DB kept.
	d.resetMemo()
	stmts := append([]string{"USE memory"}, unionViews(n)...)
	// Every selection a query picks by its id (memo.go), and its samples.
	stmts = append(stmts, queries.Get("selection_table"), selectedView(n), "RESET threads")
	for _, s := range stmts {
		if _, err := d.conn.ExecContext(ctx, s); err != nil {
			return fmt.Errorf("prepare queries: %w", err)
		}
	}
	return nil
}

// unionViews are the statements that unite the n caches attached as c0,
// c1, ... in the views all_samples and all_series, each row tagged with
// its store's index. The SQL text is built here only from generated
// catalog names, never from user input.
func unionViews(n int) []string {
	var smp, ser []string
	for i := 0; i < n; i++ {
		c := quoteIdent("c" + strconv.Itoa(i))
		smp = append(smp, fmt.Sprintf("SELECT %d::INTEGER AS store, series_id, ts, value FROM %s.main.samples", i, c))
		ser = append(ser, fmt.Sprintf("SELECT %d::INTEGER AS store, id, name, type, labels, service FROM %s.main.series", i, c))
	}
	return []string{
		"CREATE OR REPLACE TEMP VIEW all_samples AS " + strings.Join(smp, " UNION ALL "),
		"CREATE OR REPLACE TEMP VIEW all_series AS " + strings.Join(ser, " UNION ALL "),
	}
}

// selectedView is the statement that makes the view sel_samples: the
// samples of every selection in sel (its sel_id, the group, ts and value),
// joined store by store with the store's index a constant. Joining
// all_samples to sel on (store, series_id) costs twice as much: DuckDB
// hashes the pair for each of the window's rows, where the join on one
// series id against one store's part of sel runs on a small dense key (3M
// samples: 17 ms against 37 ms, of a warm p95 of about 150 ms). Rows come
// in no particular order; only order-free reads (the values percentiles
// select from) use it.
func selectedView(n int) string {
	var parts []string
	for i := 0; i < n; i++ {
		parts = append(parts, fmt.Sprintf("SELECT g.sel_id, g.grp, s.ts, s.value FROM %s.main.samples s "+
			"JOIN sel g ON g.store = %d AND g.series_id = s.series_id", quoteIdent("c"+strconv.Itoa(i)), i))
	}
	return "CREATE OR REPLACE TEMP VIEW sel_samples AS " + strings.Join(parts, " UNION ALL ")
}

// duckSetup is where a DuckDB of vigil's may write: a work folder known
// to be writable, never $HOME, and never the network (no extension
// downloads).
type duckSetup struct {
	home, extensions, temp string
	memoryLimit            string
	utc                    bool // SET TimeZone = 'UTC'
}

// startDuckDB starts an in-memory DuckDB set up as s says, and the one
// connection every statement goes through.
func startDuckDB(ctx context.Context, s duckSetup) (*sql.DB, *sql.Conn, error) {
	q := url.Values{}
	q.Set("autoinstall_known_extensions", "false")
	q.Set("autoload_known_extensions", "false")
	q.Set("extension_directory", s.extensions)
	q.Set("temp_directory", s.temp)
	q.Set("memory_limit", s.memoryLimit)
	connector, err := duckdb.NewConnector("?"+q.Encode(), nil)
	if err != nil {
		return nil, nil, fmt.Errorf("start duckdb: %w", err)
	}
	db := sql.OpenDB(connector)
	conn, err := db.Conn(ctx)
	if err != nil {
		db.Close()
		return nil, nil, err
	}
	stmts := []string{"SET home_directory = " + sqlString(s.home)}
	if s.utc {
		stmts = append(stmts, "SET TimeZone = 'UTC'")
	}
	for _, st := range stmts {
		if _, err := conn.ExecContext(ctx, st); err != nil {
			conn.Close()
			db.Close()
			return nil, nil, fmt.Errorf("configure duckdb: %w", err)
		}
	}
	return db, conn, nil
}

func sqlString(s string) string { return "'" + strings.ReplaceAll(s, "'", "''") + "'" }

func quoteIdent(s string) string { return `"` + strings.ReplaceAll(s, `"`, `""`) + `"` }
