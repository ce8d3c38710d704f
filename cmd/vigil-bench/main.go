// Command vigil-bench measures the foundation's performance targets side by
// side in one run, so that ratios hold even on a noisy machine: the store's
// write rate, the sqlite3 CLI's full scan of samples (the floor), and
// `vigil query` cold (no cache) and warm (cache synced after 1% new rows),
// with the query's peak RSS.
package main

import (
	"context"
	"flag"
	"fmt"
	"math/rand/v2"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"syscall"
	"time"

	"github.com/vigil-metrics/vigil/collect/store"
)

func main() {
	rows := flag.Int("rows", 10_000_000, "samples in the synthetic store")
	series := flag.Int("series", 1000, "series in the synthetic store")
	dir := flag.String("dir", ".bench", "work folder (replaced)")
	vigil := flag.String("vigil", "bin/vigil", "the vigil binary to measure")
	sqlite := flag.String("sqlite3", "sqlite3", "the sqlite3 CLI")
	agentBin := flag.String("agent", "bin/vigil-agent", "the vigil-agent binary to measure (empty: skip)")
	nodeExporter := flag.String("node-exporter", "prometheus-node-exporter", "node exporter to compare the agent with")
	agentSpan := flag.Duration("agent-span", 60*time.Second, "how long to run the agent")
	skipQuery := flag.Bool("skip-query", false, "skip the store and query measurements")
	flag.Parse()
	if !*skipQuery {
		if err := run(*rows, *series, *dir, *vigil, *sqlite); err != nil {
			fmt.Fprintln(os.Stderr, "vigil-bench:", err)
			os.Exit(1)
		}
	}
	if *agentBin != "" {
		if err := os.MkdirAll(*dir, 0o755); err != nil {
			fmt.Fprintln(os.Stderr, "vigil-bench:", err)
			os.Exit(1)
		}
		if err := benchAgent(*dir, *agentBin, *nodeExporter, *agentSpan); err != nil {
			fmt.Fprintln(os.Stderr, "vigil-bench:", err)
			os.Exit(1)
		}
	}
}

// end is the synthetic data's last instant; samples are one per second
// per series before it, so a 30-day window holds them all.
var end = time.Date(2026, 11, 29, 12, 0, 0, 0, time.UTC)

func run(rows, series int, dir, vigil, sqlite string) error {
	ctx := context.Background()
	os.RemoveAll(dir)
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return err
	}
	db := filepath.Join(dir, "bench.db")
	st, err := store.Open(ctx, db, store.Options{})
	if err != nil {
		return err
	}
	ids, err := makeSeries(ctx, st, series)
	if err != nil {
		return err
	}
	rng := rand.New(rand.NewPCG(1, 2))
	start := time.Now()
	if err := appendRows(ctx, st, ids, 0, rows, rng); err != nil {
		return err
	}
	writeSecs := time.Since(start).Seconds()
	st.Close()

	scan, err := best(3, func() (time.Duration, int64, error) {
		return timed(exec.Command(sqlite, db, "SELECT count(*), sum(value) FROM samples"))
	})
	if err != nil {
		return fmt.Errorf("sqlite3 scan: %w", err)
	}
	at := end.Format(time.RFC3339)
	query := func() (time.Duration, int64, error) {
		return timed(exec.Command(vigil, "query", "bench_metric.p95 by (series)", "--db", db, "--at", at, "--window", "30d", "-o", "json"))
	}
	coldT, coldRSS, err := query()
	if err != nil {
		return fmt.Errorf("cold query: %w", err)
	}
	st, err = store.Open(ctx, db, store.Options{})
	if err != nil {
		return err
	}
	extra := rows / 100
	if err := appendRows(ctx, st, ids, rows, extra, rng); err != nil {
		return err
	}
	st.Close()
	warmT, warmRSS, err := query()
	if err != nil {
		return fmt.Errorf("warm query: %w", err)
	}
	s := scan.Seconds()
	fmt.Printf("vigil-bench: %d samples over %d series (%s)\n", rows, series, db)
	fmt.Printf("%-34s %12s %10s %10s %s\n", "measure", "value", "x scan", "target", "ok")
	line := func(name, val string, ratio float64, target string, ok bool) {
		r := ""
		if ratio > 0 {
			r = strconv.FormatFloat(ratio, 'f', 2, 64)
		}
		fmt.Printf("%-34s %12s %10s %10s %v\n", name, val, r, target, ok)
	}
	rate := float64(rows) / writeSecs
	line("store write (rows/s)", fmt.Sprintf("%.0f", rate), 0, ">= 1e6", rate >= 1e6)
	line("sqlite3 scan of samples (s)", fmt.Sprintf("%.3f", s), 1, "floor", true)
	line("vigil query cold (s)", fmt.Sprintf("%.3f", coldT.Seconds()), coldT.Seconds()/s, "<= 12x", coldT.Seconds() <= 12*s)
	line("vigil query warm, +1% rows (s)", fmt.Sprintf("%.3f", warmT.Seconds()), warmT.Seconds()/s, "<= 2x", warmT.Seconds() <= 2*s)
	line("query peak RSS cold (MiB)", fmt.Sprintf("%.0f", float64(coldRSS)/1024), 0, "<= 1536", coldRSS <= 1536*1024)
	line("query peak RSS warm (MiB)", fmt.Sprintf("%.0f", float64(warmRSS)/1024), 0, "<= 1536", warmRSS <= 1536*1024)
	return nil
}

func makeSeries(ctx context.Context, st *store.Store, n int) ([]int64, error) {
	tx, err := st.Begin(ctx)
	if err != nil {
		return nil, err
	}
	ids := make([]int64, n)
	for i := range ids {
		ids[i], err = tx.Series(ctx, "bench_metric", store.Histogram, map[string]string{"series": strconv.Itoa(i)}, "")
		if err != nil {
			tx.Rollback()
			return nil, err
		}
	}
	_, err = tx.Commit(ctx)
	return ids, err
}

// appendRows writes samples [from, from+n) round-robin over the series,
// one per series per second, ending at end.
func appendRows(ctx context.Context, st *store.Store, ids []int64, from, n int, rng *rand.Rand) error {
	const perTx = 1_000_000
	total := from + n
	for done := from; done < total; {
		tx, err := st.Begin(ctx)
		if err != nil {
			return err
		}
		for j := 0; j < perTx && done < total; j++ {
			ts := end.UnixMilli() - int64((total-done)/len(ids))*1000
			if err := tx.Append(ctx, ids[done%len(ids)], ts, rng.ExpFloat64()*100); err != nil {
				tx.Rollback()
				return err
			}
			done++
		}
		if _, err := tx.Commit(ctx); err != nil {
			return err
		}
	}
	return nil
}

func timed(cmd *exec.Cmd) (time.Duration, int64, error) {
	cmd.Stderr = os.Stderr
	start := time.Now()
	if err := cmd.Run(); err != nil {
		return 0, 0, err
	}
	d := time.Since(start)
	ru, _ := cmd.ProcessState.SysUsage().(*syscall.Rusage)
	var rss int64
	if ru != nil {
		rss = ru.Maxrss // KiB on Linux
	}
	return d, rss, nil
}

func best(n int, f func() (time.Duration, int64, error)) (time.Duration, error) {
	var min time.Duration
	for i := 0; i < n; i++ {
		d, _, err := f()
		if err != nil {
			return 0, err
		}
		if i == 0 || d < min {
			min = d
		}
	}
	return min, nil
}
