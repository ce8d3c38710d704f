package main

import (
	"fmt"
	"path/filepath"
)

// The demo's interactive targets: a warm query answers within demoTargetMS
// and within demoVersionX times `vigil version`, the floor of any vigil
// command (process start, nothing else).
const (
	demoRuns     = 5
	demoTargetMS = 80
	demoVersionX = 2
	demoAt       = "2026-11-29T12:00:00Z" // the Makefile's DEMO_AT
	demoQuery    = "response_time_ms.p95 by (service, endpoint)"
)

// benchDemo times the first query `make demo` runs, warm, against `vigil
// version`, on the demo store.
func benchDemo(cfg *config) ([]row, error) {
	db := filepath.Join(cfg.dir, "demo.db")
	if _, err := measure(cfg.vigil, "store", "demo", "--db", db, "--at", demoAt, "--force"); err != nil {
		return nil, fmt.Errorf("build the demo store: %w", err)
	}
	query := func() (run, error) {
		return measure(cfg.vigil, "query", "--db", db, "--at", demoAt, "--window", "1h", demoQuery)
	}
	// The first query builds the cache; from then on the query is warm.
	if _, err := query(); err != nil {
		return nil, fmt.Errorf("sync the cache: %w", err)
	}
	q, v, err := alternate(demoRuns, query, func() (run, error) { return measure(cfg.vigil, "version") })
	if err != nil {
		return nil, err
	}
	fmt.Printf("demo: %s --window 1h on the demo store, warm; %d runs each, alternated\n", demoQuery, demoRuns)
	fmt.Printf("%-40s %10s %10s\n", "command", "best ms", "median ms")
	fmt.Printf("%-40s %10.1f %10.1f\n", "vigil query (warm)", ms(q.best()), ms(q.median()))
	fmt.Printf("%-40s %10.1f %10.1f\n", "vigil version", ms(v.best()), ms(v.median()))
	fmt.Println()
	return demoRows(q, v), nil
}

// alternate runs a and b n times each, turn about, so that a noisy spell
// on the machine slows both rather than one.
func alternate(n int, a, b func() (run, error)) (runs, runs, error) {
	var ra, rb runs
	for range n {
		r, err := a()
		if err != nil {
			return nil, nil, err
		}
		ra = append(ra, r)
		if r, err = b(); err != nil {
			return nil, nil, err
		}
		rb = append(rb, r)
	}
	return ra, rb, nil
}

func demoRows(q, v runs) []row {
	best, version := ms(q.best()), ms(v.best())
	name := fmt.Sprintf("demo warm query, best of %d (ms)", demoRuns)
	value := fmt.Sprintf("%.1f", best)
	return []row{
		{measure: name, value: value, ratio: best / demoTargetMS, vs: fmt.Sprintf("%d ms", demoTargetMS),
			target: fmt.Sprintf("<= %d ms", demoTargetMS), ok: verdict(best <= demoTargetMS)},
		{measure: name, value: value, ratio: best / version, vs: "version",
			target: fmt.Sprintf("<= %dx version", demoVersionX), ok: verdict(best <= demoVersionX*version)},
		{measure: fmt.Sprintf("demo vigil version, best of %d (ms)", demoRuns), value: fmt.Sprintf("%.1f", version),
			ratio: 1, vs: "version", target: "ref", ok: noTarget},
	}
}
