package main

import (
	"context"
	"fmt"
	"math/rand/v2"
	"path/filepath"
	"strconv"
	"time"

	"github.com/vigil-metrics/vigil/internal/store"
)

// Query targets, against the sqlite3 CLI's full scan of the same store.
const (
	coldTarget = 12.0
	rssTarget  = 1536 // MiB, cold or warm
)

// warmTarget is the warm p95's bound as a multiple of the scan. The
// targets are set at 3M rows (1.2x) and 10M rows (0.8x): a warm query
// pays a fixed process and cache start that a bigger scan hides, so
// smaller stores get the 3M bound and the 0.8x holds from 10M up.
func warmTarget(rows int) float64 {
	if rows >= 10_000_000 {
		return 0.8
	}
	return 1.2
}

// end is the synthetic data's last instant; samples are one per second
// per series before it, so a 30-day window holds them all.
var end = time.Date(2026, 11, 29, 12, 0, 0, 0, time.UTC)

// userTarget bounds the warm p95 as a user times it (the whole `vigil
// query` process, best of 3) as a multiple of the sqlite3 scan measured
// alongside it (issue 26).
const userTarget = 1.0

// queryResult is the measurements on one store size; runs are best of 3.
type queryResult struct {
	rows      int
	writeRate float64
	scan      runs // sqlite3 CLI full scan
	cold      run  // p95, no cache
	warm      runs // p95, cache already synced
	avg       runs // avg, cache already synced
	warmNew   runs // p95, each after 1% new rows
	// user is the warm p95 as a user types and times it (the default
	// table output), each run right after one of userScan's: the pair
	// sees the same load, so their ratio holds on a busy machine.
	user, userScan runs
}

// userQuery is the command line a user times: `time vigil query --db
// s.db 'bench_metric.p95 by (series)' --at ... --window 30d`.
func userQuery(db, at string) []string {
	return []string{"query", "--db", db, "bench_metric.p95 by (series)", "--at", at, "--window", "30d"}
}

// benchQuery measures each store size in turn, then prints them side by
// side.
func benchQuery(cfg *config) ([]row, error) {
	var results []queryResult
	var err error
	for _, n := range cfg.queryRows {
		var r queryResult
		if r, err = queryStore(cfg, n); err != nil {
			err = fmt.Errorf("%s rows: %w", humanCount(n), err)
			break
		}
		results = append(results, r)
	}
	if len(results) > 0 {
		printQueryTable(cfg.series, results)
	}
	var rows []row
	for _, r := range results {
		rows = append(rows, r.tableRows()...)
	}
	return rows, err
}

// queryStore builds a store of n samples and measures it: the scan (the
// floor for reading the store at all), the query cold, warm with nothing
// new to sync (pure DuckDB), warm with another aggregate, and warm after
// 1% new rows (the sync's cost on top).
func queryStore(cfg *config, n int) (queryResult, error) {
	ctx := context.Background()
	res := queryResult{rows: n}
	db := filepath.Join(cfg.dir, "query-"+humanCount(n)+".db")
	if err := removeStore(db); err != nil {
		return res, err
	}
	rng := rand.New(rand.NewPCG(1, 2))
	ids, rate, err := buildStore(ctx, db, cfg.series, n, rng)
	if err != nil {
		return res, err
	}
	res.writeRate = rate
	if res.scan, err = repeat(3, func() (run, error) {
		return measure(cfg.sqlite, db, "SELECT count(*), sum(value) FROM samples")
	}); err != nil {
		return res, fmt.Errorf("sqlite3 scan: %w", err)
	}
	at := end.Format(time.RFC3339)
	query := func(path string) func() (run, error) {
		return func() (run, error) {
			return measure(cfg.vigil, "query", path, "--db", db, "--at", at, "--window", "30d", "-o", "json")
		}
	}
	p95, avg := query("bench_metric.p95 by (series)"), query("bench_metric.avg by (series)")
	if res.cold, err = p95(); err != nil {
		return res, fmt.Errorf("cold query: %w", err)
	}
	if res.warm, err = repeat(3, p95); err != nil {
		return res, fmt.Errorf("warm query: %w", err)
	}
	if res.avg, err = repeat(3, avg); err != nil {
		return res, fmt.Errorf("warm avg query: %w", err)
	}
	res.userScan, res.user, err = interleave(3, func() (run, error) {
		return measure(cfg.sqlite, db, "SELECT count(*), sum(value) FROM samples")
	}, func() (run, error) {
		return measure(cfg.vigil, userQuery(db, at)...)
	})
	if err != nil {
		return res, fmt.Errorf("warm query as users time it: %w", err)
	}
	total := n
	res.warmNew, err = repeat(3, func() (run, error) {
		extra := n / 100
		if err := addRows(ctx, db, ids, total, extra, rng); err != nil {
			return run{}, err
		}
		total += extra
		return p95()
	})
	if err != nil {
		return res, fmt.Errorf("warm query after new rows: %w", err)
	}
	return res, nil
}

// buildStore writes a store of n samples over the given number of series
// and returns the series ids and the write rate. The store is closed on
// return so that the queries, other processes, find it quiet.
func buildStore(ctx context.Context, db string, series, n int, rng *rand.Rand) ([]int64, float64, error) {
	st, err := store.Open(ctx, db, store.Options{})
	if err != nil {
		return nil, 0, err
	}
	defer st.Close()
	ids, err := makeSeries(ctx, st, series)
	if err != nil {
		return nil, 0, err
	}
	start := time.Now()
	if err := appendRows(ctx, st, ids, 0, n, rng); err != nil {
		return nil, 0, err
	}
	return ids, float64(n) / time.Since(start).Seconds(), nil
}

// addRows opens the store, appends n rows after the first from, and closes
// it again.
func addRows(ctx context.Context, db string, ids []int64, from, n int, rng *rand.Rand) error {
	st, err := store.Open(ctx, db, store.Options{})
	if err != nil {
		return err
	}
	defer st.Close()
	return appendRows(ctx, st, ids, from, n, rng)
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

// printQueryTable puts the sizes side by side, each with its figures'
// ratio to that size's scan.
func printQueryTable(series int, results []queryResult) {
	fmt.Printf("query: bench_metric over %d series, one sample per series per second, --window 30d; best of 3 but cold\n", series)
	head := fmt.Sprintf("%-40s", "measure")
	for _, r := range results {
		head += fmt.Sprintf(" %12s %7s", humanCount(r.rows)+" rows", "x scan")
	}
	printLine("%s", head)
	line := func(name string, cell func(queryResult) (string, float64)) {
		l := fmt.Sprintf("%-40s", name)
		for _, r := range results {
			v, x := cell(r)
			xs := ""
			if x > 0 {
				xs = fmt.Sprintf("%.2f", x)
			}
			l += fmt.Sprintf(" %12s %7s", v, xs)
		}
		printLine("%s", l)
	}
	secs := func(get func(queryResult) time.Duration) func(queryResult) (string, float64) {
		return func(r queryResult) (string, float64) {
			d := get(r)
			return fmt.Sprintf("%.3f", d.Seconds()), d.Seconds() / r.scan.best().Seconds()
		}
	}
	line("store write (rows/s)", func(r queryResult) (string, float64) { return fmt.Sprintf("%.0f", r.writeRate), 0 })
	line("sqlite3 scan of samples (s)", secs(func(r queryResult) time.Duration { return r.scan.best() }))
	line("vigil query p95 cold (s)", secs(func(r queryResult) time.Duration { return r.cold.wall }))
	line("vigil query p95 warm, synced (s)", secs(func(r queryResult) time.Duration { return r.warm.best() }))
	line("vigil query avg warm, synced (s)", secs(func(r queryResult) time.Duration { return r.avg.best() }))
	line("vigil query p95 warm, +1% rows (s)", secs(func(r queryResult) time.Duration { return r.warmNew.best() }))
	// The figure: the same p95, table output, each run right
	// after a scan (x scan here is against those scans).
	pair := func(get func(runs) time.Duration, of func(queryResult) runs) func(queryResult) (string, float64) {
		return func(r queryResult) (string, float64) {
			d := get(of(r))
			return fmt.Sprintf("%.3f", d.Seconds()), d.Seconds() / get(r.userScan).Seconds()
		}
	}
	wall, cpu := runs.best, runs.bestCPU
	users := func(r queryResult) runs { return r.user }
	scans := func(r queryResult) runs { return r.userScan }
	line("sqlite3 scan, interleaved (s)", pair(wall, scans))
	line("vigil query p95 as users time it (s)", pair(wall, users))
	line("sqlite3 scan, interleaved, CPU (s)", pair(cpu, scans))
	line("vigil query p95 as users time it, CPU (s)", pair(cpu, users))
	fmt.Println("(the last four: table output, each query right after a scan, x scan against those scans;")
	fmt.Println(" CPU is user + system time of all the process's threads: vigil uses both cores, sqlite3 one)")
	line("query peak RSS cold (MiB)", func(r queryResult) (string, float64) { return fmt.Sprintf("%.0f", mib(r.cold.rssKiB)), 0 })
	line("query peak RSS warm (MiB)", func(r queryResult) (string, float64) {
		return fmt.Sprintf("%.0f", mib(max(r.warm.peakRSS(), r.avg.peakRSS(), r.warmNew.peakRSS()))), 0
	})
	fmt.Println()
}

// tableRows are one size's rows of the final table.
func (r queryResult) tableRows() []row {
	scan := r.scan.best().Seconds()
	name := "query " + humanCount(r.rows) + " "
	vsScan := func(measure string, d time.Duration, bound float64) row {
		x := d.Seconds() / scan
		out := row{measure: name + measure, value: fmt.Sprintf("%.3f", d.Seconds()), ratio: x, vs: "scan", target: "ref", ok: noTarget}
		if bound > 0 {
			out.target, out.ok = fmt.Sprintf("<= %gx scan", bound), verdict(x <= bound)
		}
		return out
	}
	rss := func(measure string, kib int64) row {
		return row{measure: name + measure, value: fmt.Sprintf("%.0f", mib(kib)), target: fmt.Sprintf("<= %d", rssTarget), ok: verdict(mib(kib) <= rssTarget)}
	}
	warm := warmTarget(r.rows)
	uScan, uScanCPU := r.userScan.best().Seconds(), r.userScan.bestCPU().Seconds()
	user, userCPU := r.user.best().Seconds(), r.user.bestCPU().Seconds()
	return []row{
		rateRow(name+"store write (rows/s)", r.writeRate, ">= 1e6"),
		{measure: name + "sqlite3 scan (s)", value: fmt.Sprintf("%.3f", scan), ratio: 1, vs: "scan", target: "floor", ok: noTarget},
		vsScan("p95 cold (s)", r.cold.wall, coldTarget),
		vsScan("p95 warm, synced (s)", r.warm.best(), warm),
		vsScan("avg warm, synced (s)", r.avg.best(), 0),
		vsScan("p95 warm, +1% rows (s)", r.warmNew.best(), warm),
		{measure: name + "sqlite3 scan, interleaved (s)", value: fmt.Sprintf("%.3f", uScan), ratio: 1, vs: "scan*", target: "floor", ok: noTarget},
		{measure: name + "p95 warm as users time it (s)", value: fmt.Sprintf("%.3f", user), ratio: user / uScan, vs: "scan*",
			target: fmt.Sprintf("<= %gx scan*", userTarget), ok: verdict(user/uScan <= userTarget)},
		{measure: name + "p95 as users time it, CPU (s)", value: fmt.Sprintf("%.3f", userCPU), ratio: userCPU / uScanCPU, vs: "scan CPU", target: "ref", ok: noTarget},
		rss("peak RSS cold (MiB)", r.cold.rssKiB),
		rss("peak RSS warm (MiB)", max(r.warm.peakRSS(), r.avg.peakRSS(), r.warmNew.peakRSS())),
	}
}
