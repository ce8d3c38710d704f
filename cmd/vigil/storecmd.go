package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"text/tabwriter"
	"time"

	"github.com/spf13/cobra"

	"github.com/vigil-metrics/vigil/analyze"
	"github.com/vigil-metrics/vigil/analyze/cache"
	"github.com/vigil-metrics/vigil/cmd/internal/agentcmd"
	"github.com/vigil-metrics/vigil/cmd/internal/cli"
	"github.com/vigil-metrics/vigil/internal/demo"
	"github.com/vigil-metrics/vigil/internal/safetext"
	"github.com/vigil-metrics/vigil/internal/store"
	"github.com/vigil-metrics/vigil/internal/vtime"
)

func newStoreCmd(a *app) *cobra.Command {
	cmd := &cobra.Command{
		Use:   "store",
		Short: "Inspect stores and generate the demo dataset",
	}
	cmd.AddCommand(newStoreInfoCmd(a), newStoreDemoCmd(a), newStoreStatsCmd(a), newStoreCompactCmd(a))
	return cmd
}

type storeDemoOptions struct {
	At    string
	Span  string
	Seed  uint64
	Force bool
}

func newStoreDemoCmd(a *app) *cobra.Command {
	o := &storeDemoOptions{}
	cmd := &cobra.Command{
		Use:   "demo",
		Short: "Generate the embedded demo dataset (a week of two services and three hosts, with an incident)",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			path, err := a.oneStore()
			if err != nil {
				return err
			}
			at, err := a.at(o.At)
			if err != nil {
				return err
			}
			span, err := vtime.ParseDuration(o.Span)
			if err != nil || span <= 0 {
				return cli.Usagef("--span %q: want a positive duration", o.Span)
			}
			if _, err := os.Stat(path); err == nil {
				if !o.Force {
					return cli.WithHint(cli.Usagef("%s exists", path), "pass --force to replace it")
				}
				for _, suffix := range []string{"", "-wal", "-shm"} {
					if err := os.Remove(path + suffix); err != nil && !errors.Is(err, fs.ErrNotExist) {
						return err
					}
				}
			}
			st, err := store.Open(cmd.Context(), path, store.Options{})
			if err != nil {
				return err
			}
			defer st.Close()
			n, err := demo.Generate(cmd.Context(), st, demo.Options{End: at, Span: span, Seed: o.Seed})
			if err != nil {
				return err
			}
			from, to := demo.Incident(at)
			fmt.Fprintf(a.stdout, "wrote %d samples to %s (%s to %s; api incident from %s)\n", n, path,
				at.Add(-span).Format(time.RFC3339), at.Format(time.RFC3339), from.Format(time.RFC3339))
			_ = to
			return nil
		},
	}
	cmd.Flags().StringVar(&o.At, "at", "", "end of the dataset (default now)")
	cmd.Flags().StringVar(&o.Span, "span", "7d", "how much history to generate")
	cmd.Flags().Uint64Var(&o.Seed, "seed", 1, "random seed (the same seed gives the same data)")
	cmd.Flags().BoolVar(&o.Force, "force", false, "replace an existing store")
	addDBFlag(cmd.Flags(), true)
	return cmd
}

type storeInfo struct {
	Path      string `json:"path"`
	Format    int    `json:"format_version"`
	StoreID   string `json:"store_id"`
	Series    int64  `json:"series"`
	Samples   int64  `json:"samples"`
	First     string `json:"first_sample,omitempty"`
	Last      string `json:"last_sample,omitempty"`
	HorizonMS int64  `json:"retention_horizon_ms"`
}

func newStoreInfoCmd(a *app) *cobra.Command {
	var output string
	cmd := &cobra.Command{
		Use:   "info",
		Short: "Show a store's format, size and time range",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if err := checkOutput(cmd); err != nil {
				return err
			}
			paths, err := a.storeFiles()
			if err != nil {
				return err
			}
			var infos []storeInfo
			for _, p := range paths {
				st, err := store.Open(cmd.Context(), p, store.Options{ReadOnly: true})
				if err != nil {
					return err
				}
				m, err := st.Meta(cmd.Context())
				if err != nil {
					st.Close()
					return err
				}
				in := storeInfo{Path: p, Format: store.Version, StoreID: m.StoreID, HorizonMS: m.HorizonMS}
				t, err := st.Totals(cmd.Context())
				st.Close()
				if err != nil {
					return fmt.Errorf("read %s: %w", p, err)
				}
				in.Series, in.Samples = t.Series, t.Samples
				if t.First.Valid {
					in.First = time.UnixMilli(t.First.Int64).UTC().Format(time.RFC3339Nano)
					in.Last = time.UnixMilli(t.Last.Int64).UTC().Format(time.RFC3339Nano)
				}
				infos = append(infos, in)
			}
			if output == "json" {
				enc := json.NewEncoder(a.stdout)
				enc.SetIndent("", "  ")
				return enc.Encode(map[string]any{"stores": infos})
			}
			tw := tabwriter.NewWriter(a.stdout, 0, 0, 2, ' ', 0)
			fmt.Fprintln(tw, "STORE\tSERIES\tSAMPLES\tFIRST\tLAST")
			for _, in := range infos {
				fmt.Fprintf(tw, "%s\t%d\t%d\t%s\t%s\n", safetext.Terminal(in.Path), in.Series, in.Samples, in.First, in.Last)
			}
			return tw.Flush()
		},
	}
	outputFlag(cmd, &output, "table", "json")
	addDBFlag(cmd.Flags(), false)
	return cmd
}

// storeStats is one store's size and shape (vigil store stats, docs/storage.md).
type storeStats struct {
	Path           string        `json:"path"`
	Series         int64         `json:"series"`
	Samples        int64         `json:"samples"`
	Bytes          int64         `json:"bytes"`      // the database file's pages (without its WAL)
	FreeBytes      int64         `json:"free_bytes"` // pages on the freelist: what VACUUM would return
	WALBytes       int64         `json:"wal_bytes"`
	BytesPerSample float64       `json:"bytes_per_sample"`
	Oldest         string        `json:"oldest,omitempty"`
	Newest         string        `json:"newest,omitempty"`
	Top            []seriesStats `json:"top_series"`
}

type seriesStats struct {
	Name    string `json:"name"`
	Type    string `json:"type"`
	Labels  string `json:"labels"`
	Service string `json:"service"`
	Rows    int64  `json:"rows"`
	Oldest  string `json:"oldest"`
	Newest  string `json:"newest"`
}

func msTime(ms int64) string { return time.UnixMilli(ms).UTC().Format(time.RFC3339Nano) }

// readStoreStats reads the store at p (read-only).
func readStoreStats(ctx context.Context, p string, top int) (storeStats, error) {
	st, err := store.Open(ctx, p, store.Options{ReadOnly: true})
	if err != nil {
		return storeStats{}, err
	}
	defer st.Close()
	out := storeStats{Path: p, Top: []seriesStats{}}
	t, err := st.Totals(ctx)
	if err != nil {
		return out, fmt.Errorf("read %s: %w", p, err)
	}
	out.Series, out.Samples, out.Bytes, out.FreeBytes = t.Series, t.Samples, t.Bytes, t.FreeBytes
	if t.First.Valid {
		out.Oldest, out.Newest = msTime(t.First.Int64), msTime(t.Last.Int64)
	}
	if fi, err := os.Stat(p + "-wal"); err == nil {
		out.WALBytes = fi.Size()
	}
	if out.Samples > 0 {
		out.BytesPerSample = float64(out.Bytes) / float64(out.Samples)
	}
	if top <= 0 {
		return out, nil
	}
	rows, err := st.TopSeries(ctx, top)
	if err != nil {
		return out, fmt.Errorf("read %s: %w", p, err)
	}
	for _, r := range rows {
		out.Top = append(out.Top, seriesStats{Name: r.Name, Type: r.Type, Labels: r.Labels, Service: r.Service,
			Rows: r.Rows, Oldest: msTime(r.First), Newest: msTime(r.Last)})
	}
	return out, nil
}

func newStoreStatsCmd(a *app) *cobra.Command {
	var output string
	var top int
	cmd := &cobra.Command{
		Use:   "stats",
		Short: "Show series, samples, bytes per sample, time range and the series with the most rows",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if err := checkOutput(cmd); err != nil {
				return err
			}
			if top < 0 {
				return cli.Usagef("--top %d: want 0 or more", top)
			}
			paths, err := a.storeFiles()
			if err != nil {
				return err
			}
			var all []storeStats
			for _, p := range paths {
				s, err := readStoreStats(cmd.Context(), p, top)
				if err != nil {
					return err
				}
				all = append(all, s)
			}
			if output == "json" {
				enc := json.NewEncoder(a.stdout)
				enc.SetIndent("", "  ")
				return enc.Encode(map[string]any{"stores": all})
			}
			tw := tabwriter.NewWriter(a.stdout, 0, 0, 2, ' ', 0)
			for i, s := range all {
				if i > 0 {
					fmt.Fprintln(tw)
				}
				fmt.Fprintf(tw, "store\t%s\n", safetext.Terminal(s.Path))
				fmt.Fprintf(tw, "series\t%d\n", s.Series)
				fmt.Fprintf(tw, "samples\t%d\n", s.Samples)
				fmt.Fprintf(tw, "bytes\t%d (free %d, wal %d)\n", s.Bytes, s.FreeBytes, s.WALBytes)
				fmt.Fprintf(tw, "bytes per sample\t%.1f\n", s.BytesPerSample)
				fmt.Fprintf(tw, "oldest\t%s\n", orDash(s.Oldest))
				fmt.Fprintf(tw, "newest\t%s\n", orDash(s.Newest))
				if len(s.Top) > 0 {
					fmt.Fprintln(tw, "\nROWS\tSERIES\tOLDEST\tNEWEST")
					for _, t := range s.Top {
						// Names, labels and services are the store's data:
						// quoted when they hold a control or bidi character.
						id := safetext.Terminal(t.Name) + safetext.Terminal(t.Labels)
						if t.Service != "" {
							id += " service=" + safetext.Terminal(t.Service)
						}
						fmt.Fprintf(tw, "%d\t%s\t%s\t%s\n", t.Rows, id, t.Oldest, t.Newest)
					}
				}
			}
			return tw.Flush()
		},
	}
	outputFlag(cmd, &output, "table", "json")
	cmd.Flags().IntVar(&top, "top", 10, "how many series to list by rows (0: none)")
	addDBFlag(cmd.Flags(), false)
	return cmd
}

// compactResult is what vigil store compact did.
type compactResult struct {
	Path         string `json:"path"`
	Retention    string `json:"retention"` // "" when none applied
	Pruned       int64  `json:"pruned_samples"`
	Vacuum       string `json:"vacuum"` // "full" or "incremental"
	BytesBefore  int64  `json:"bytes_before"`
	BytesAfter   int64  `json:"bytes_after"`
	CacheRebuilt bool   `json:"cache_rebuilt"`
	CacheFile    string `json:"cache_file,omitempty"`
	CacheBytes   int64  `json:"cache_bytes"`
}

func fileBytes(p string) int64 {
	var n int64
	for _, suffix := range []string{"", "-wal"} {
		if fi, err := os.Stat(p + suffix); err == nil {
			n += fi.Size()
		}
	}
	return n
}

func newStoreCompactCmd(a *app) *cobra.Command {
	var output, retention, at string
	var noCache bool
	cmd := &cobra.Command{
		Use:   "compact",
		Short: "Apply retention, vacuum and analyze a store, and rebuild its cache, so it stays small",
		Long: `compact applies the retention (--retention, else the config's retention:,
else none), returns free pages to the file system (VACUUM, or an incremental
vacuum on a store created with auto_vacuum=INCREMENTAL), refreshes SQLite's
statistics (ANALYZE), truncates the WAL, and rebuilds the store's DuckDB
cache from scratch into a new file that replaces the old one. Sample ids are
kept, so queries running meanwhile never see stale or missing rows.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if err := checkOutput(cmd); err != nil {
				return err
			}
			if retention == "" && a.cfg.Retention != nil {
				retention = fmt.Sprint(a.cfg.Retention)
			}
			var keep time.Duration
			if retention != "" {
				var err error
				if keep, err = agentcmd.ParseRetention(retention); err != nil {
					return cli.Usagef("retention %v", err)
				}
			}
			now, err := a.at(at)
			if err != nil {
				return err
			}
			p, err := a.oneStore()
			if err != nil {
				return err
			}
			res, err := compactStore(cmd.Context(), p, keep, now, a.cfg.CacheDir, !noCache)
			if err != nil {
				return err
			}
			if keep > 0 {
				res.Retention = retention
			}
			if output == "json" {
				enc := json.NewEncoder(a.stdout)
				enc.SetIndent("", "  ")
				return enc.Encode(res)
			}
			fmt.Fprintf(a.stdout, "%s: %d -> %d bytes (%s vacuum", p, res.BytesBefore, res.BytesAfter, res.Vacuum)
			if keep > 0 {
				fmt.Fprintf(a.stdout, ", retention %s pruned %d samples", retention, res.Pruned)
			}
			fmt.Fprint(a.stdout, ")")
			if res.CacheRebuilt {
				fmt.Fprintf(a.stdout, "; cache rebuilt (%d bytes)", res.CacheBytes)
			}
			fmt.Fprintln(a.stdout)
			return nil
		},
	}
	outputFlag(cmd, &output, "table", "json")
	cmd.Flags().StringVar(&retention, "retention", "", "delete samples older than this first (30d, 12h; 0 keeps everything; default the config's retention:)")
	cmd.Flags().StringVar(&at, "at", "", "the instant retention counts back from (default now)")
	cmd.Flags().BoolVar(&noCache, "no-cache", false, "leave the DuckDB cache alone (the next query syncs it)")
	addDBFlag(cmd.Flags(), true)
	cmd.Flags().String("cache-dir", "", "where DuckDB caches live (default: beside each store)")
	return cmd
}

// compactStore prunes (keep > 0), vacuums and analyzes the store at p, then
// rebuilds its cache.
func compactStore(ctx context.Context, p string, keep time.Duration, now time.Time, cacheDir string, rebuild bool) (compactResult, error) {
	res := compactResult{Path: p, BytesBefore: fileBytes(p)}
	st, err := store.Open(ctx, p, store.Options{MustExist: true})
	if err != nil {
		return res, err
	}
	defer st.Close()
	if keep > 0 {
		if res.Pruned, err = st.Prune(ctx, now.Add(-keep).UnixMilli(), 0); err != nil {
			return res, err
		}
	}
	if res.Vacuum, err = st.Compact(ctx); err != nil {
		return res, err
	}
	st.Close()
	res.BytesAfter = fileBytes(p)
	if !rebuild {
		return res, nil
	}
	loc, err := cache.Locate(p, cacheDir)
	if err != nil || loc.InMemory() {
		return res, err // no cache file to rebuild
	}
	if err := analyze.RebuildCache(ctx, p, loc.File); err != nil {
		return res, err
	}
	res.CacheRebuilt, res.CacheFile, res.CacheBytes = true, loc.File, fileBytes(loc.File)
	return res, nil
}
