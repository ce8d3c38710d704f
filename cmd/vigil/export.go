package main

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"io/fs"
	"math"
	"net/url"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"github.com/duckdb/duckdb-go/v2"
	"github.com/spf13/cobra"

	"github.com/vigil-metrics/vigil/analyze/cache"
	"github.com/vigil-metrics/vigil/cmd/internal/cli"
	"github.com/vigil-metrics/vigil/internal/store"
	"github.com/vigil-metrics/vigil/internal/vtime"
	"github.com/vigil-metrics/vigil/queries"
)

type exportOptions struct {
	Format string
	Out    string
	Since  string
	Until  string
}

// newExportCmd writes the stores' samples as Parquet or CSV files, one
// folder per UTC day (day=YYYY-MM-DD), through DuckDB's COPY.
func newExportCmd(a *app) *cobra.Command {
	o := &exportOptions{}
	cmd := &cobra.Command{
		Use:   "export",
		Short: "Write samples to Parquet or CSV files partitioned by day",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if o.Format != "parquet" && o.Format != "csv" {
				return cli.Usagef("--format %q: want parquet or csv", o.Format)
			}
			if o.Out == "" {
				return cli.Usagef("--out: name the folder to write")
			}
			since, until := int64(math.MinInt64), int64(math.MaxInt64)
			if o.Since != "" {
				t, err := vtime.ParseInstant(o.Since)
				if err != nil {
					return cli.Usagef("--since: %v", err)
				}
				since = t.UnixMilli()
			}
			if o.Until != "" {
				t, err := vtime.ParseInstant(o.Until)
				if err != nil {
					return cli.Usagef("--until: %v", err)
				}
				until = t.UnixMilli()
			}
			if since >= until {
				return cli.Usagef("--since %s is not before --until %s", o.Since, o.Until)
			}
			if ents, err := os.ReadDir(o.Out); err == nil && len(ents) > 0 {
				return cli.WithHint(cli.Usagef("--out %s is not empty", o.Out), "export into a new or empty folder")
			} else if err != nil && !errors.Is(err, fs.ErrNotExist) {
				return cli.Usagef("--out %s: %v", o.Out, err)
			}
			paths, err := a.storeFiles()
			if err != nil {
				return err
			}
			n, err := exportStores(cmd.Context(), paths, a.cfg.CacheDir, o.Format, o.Out, since, until)
			if err != nil {
				return err
			}
			fmt.Fprintf(a.stdout, "wrote %d samples to %s (%s, one folder per day)\n", n, o.Out, o.Format)
			return nil
		},
	}
	cmd.Flags().StringVar(&o.Format, "format", "parquet", "file format: parquet or csv")
	cmd.Flags().StringVar(&o.Out, "out", "", "folder to write (new or empty)")
	cmd.Flags().StringVar(&o.Since, "since", "", "first instant to export (inclusive; default the oldest sample)")
	cmd.Flags().StringVar(&o.Until, "until", "", "instant to stop at (exclusive; default after the newest sample)")
	addDBFlag(cmd.Flags(), false)
	return cmd
}

// exportStores syncs each store's DuckDB cache (as every query does),
// unites them and copies the rows of [since, until) out. It returns how
// many rows it wrote.
func exportStores(ctx context.Context, paths []string, cacheDir, format, out string, since, until int64) (int64, error) {
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
			return 0, cli.Usagef("%s and %s are copies of one store (store_id %s): give one of them", first, p, m.StoreID)
		}
		owner[m.StoreID] = p
	}
	conn, closeDB, err := openDuckDB(ctx)
	if err != nil {
		return 0, err
	}
	defer closeDB()
	var smp, ser []string
	for i, p := range paths {
		cat := "c" + strconv.Itoa(i)
		if err := attachCache(ctx, conn, cat, p, cacheDir); err != nil {
			return 0, err
		}
		if _, err := cache.Sync(ctx, conn, cat, p); err != nil {
			return 0, fmt.Errorf("sync cache of %s: %w", p, err)
		}
		smp = append(smp, fmt.Sprintf("SELECT %d::INTEGER AS store, series_id, ts, value FROM %s.main.samples", i, cat))
		ser = append(ser, fmt.Sprintf("SELECT %d::INTEGER AS store, id, name, type, labels, service FROM %s.main.series", i, cat))
	}
	// The view text is built only from generated catalog names.
	for _, s := range []string{
		"USE memory",
		"CREATE OR REPLACE TEMP VIEW all_samples AS " + strings.Join(smp, " UNION ALL "),
		"CREATE OR REPLACE TEMP VIEW all_series AS " + strings.Join(ser, " UNION ALL "),
	} {
		if _, err := conn.ExecContext(ctx, s); err != nil {
			return 0, fmt.Errorf("prepare export: %w", err)
		}
	}
	if err := os.MkdirAll(out, 0o755); err != nil {
		return 0, err
	}
	abs, err := filepath.Abs(out)
	if err != nil {
		return 0, err
	}
	// The folder is the only text from the command line in the statement,
	// quoted as a string literal; the bounds are bound parameters.
	stmt := "COPY (" + strings.TrimSuffix(queries.Get("export_rows"), ";") + ") TO " + sqlQuote(abs) +
		" (FORMAT " + format + ", PARTITION_BY (day), OVERWRITE_OR_IGNORE)"
	res, err := conn.ExecContext(ctx, stmt, since, until)
	if err != nil {
		return 0, fmt.Errorf("export: %w", err)
	}
	n, _ := res.RowsAffected()
	return n, nil
}

// attachCache attaches the DuckDB cache of the store at p as cat: the
// cache file the queries use (so an export after a query copies only what
// is new), or one in memory when that file cannot be used now.
func attachCache(ctx context.Context, conn *sql.Conn, cat, p, cacheDir string) error {
	loc, err := cache.Locate(p, cacheDir)
	if err != nil {
		return err
	}
	if !loc.InMemory() {
		deadline := time.Now().Add(30 * time.Second)
		for {
			_, err := conn.ExecContext(ctx, "ATTACH "+sqlQuote(loc.File)+" AS "+cat)
			if err == nil {
				return nil
			}
			msg := err.Error()
			if (strings.Contains(msg, "Could not set lock") || strings.Contains(msg, "Conflicting lock")) && time.Now().Before(deadline) {
				select {
				case <-ctx.Done():
					return ctx.Err()
				case <-time.After(100 * time.Millisecond):
				}
				continue
			}
			break // unreadable or not writable: a copy in memory for this run
		}
	}
	if _, err := conn.ExecContext(ctx, "ATTACH ':memory:' AS "+cat); err != nil {
		return fmt.Errorf("open cache in memory: %w", err)
	}
	return nil
}

func sqlQuote(s string) string { return "'" + strings.ReplaceAll(s, "'", "''") + "'" }

// openDuckDB starts a DuckDB for one command, configured as analyze's
// (never the network, nothing written to $HOME: its work folder is a
// temporary one, removed by the returned func), in UTC.
func openDuckDB(ctx context.Context) (*sql.Conn, func(), error) {
	work, err := os.MkdirTemp("", "vigil-duckdb-")
	if err != nil {
		return nil, nil, err
	}
	q := url.Values{}
	q.Set("autoinstall_known_extensions", "false")
	q.Set("autoload_known_extensions", "false")
	q.Set("extension_directory", filepath.Join(work, "ext"))
	q.Set("temp_directory", filepath.Join(work, "tmp"))
	q.Set("memory_limit", "1GB")
	connector, err := duckdb.NewConnector("?"+q.Encode(), nil)
	if err != nil {
		os.RemoveAll(work)
		return nil, nil, fmt.Errorf("start duckdb: %w", err)
	}
	db := sql.OpenDB(connector)
	conn, err := db.Conn(ctx)
	if err != nil {
		db.Close()
		os.RemoveAll(work)
		return nil, nil, err
	}
	closeDB := func() {
		conn.Close()
		db.Close()
		os.RemoveAll(work)
	}
	for _, s := range []string{"SET home_directory = " + sqlQuote(work), "SET TimeZone = 'UTC'"} {
		if _, err := conn.ExecContext(ctx, s); err != nil {
			closeDB()
			return nil, nil, fmt.Errorf("configure duckdb: %w", err)
		}
	}
	return conn, closeDB, nil
}
