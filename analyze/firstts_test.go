package analyze

import (
	"context"
	"maps"
	"testing"
	"time"

	"github.com/vigil-metrics/vigil/internal/store"
)

// firstSamples answers from every series' first sample time, read once,
// what buckets_first_ts reads for each end: each group's first sample at
// or before end (the least over its series, across stores), no group
// whose series have none by then.
func TestFirstSamplesKeptAsQuery(t *testing.T) {
	f := newFixture(t)
	g := func(labels map[string]string, offset time.Duration, n int) []store.Sample {
		var out []store.Sample
		for i := range n {
			out = append(out, store.Sample{Name: "hits", Type: store.Counter, Labels: labels, TS: atMS(offset + time.Duration(i)*time.Minute), Value: float64(i)})
		}
		return out
	}
	pa := f.write("a.db", append(g(map[string]string{"h": "x"}, -50*time.Minute, 5), g(map[string]string{"h": "y"}, -20*time.Minute, 5)...)...)
	pb := f.write("b.db", g(map[string]string{"h": "z"}, -40*time.Minute, 5)...)
	ctx := context.Background()
	db, err := Open(ctx, []string{pa, pb}, Options{CacheDir: f.cacheDir})
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	rows, err := db.seriesOf(ctx, "hits")
	if err != nil || len(rows) != 3 {
		t.Fatalf("series %v %v", rows, err)
	}
	by := map[string]seriesRow{}
	for _, r := range rows {
		by[r.labels["h"]] = r
	}
	// Group 0: x and z (two stores); 1: y; 2: a series with no samples.
	st := []int64{by["x"].store, by["z"].store, by["y"].store, by["y"].store}
	id := []int64{by["x"].id, by["z"].id, by["y"].id, 999}
	grp := []int64{0, 0, 1, 2}
	set, err := db.fillSelection(ctx, st, id, grp)
	if err != nil {
		t.Fatal(err)
	}
	query := func(end int64) map[int]int64 {
		rows, err := db.query(ctx, "buckets_first_ts", end, set)
		if err != nil {
			t.Fatal(err)
		}
		defer rows.Close()
		out := map[int]int64{}
		for rows.Next() {
			var g int
			var ts int64
			if err := rows.Scan(&g, &ts); err != nil {
				t.Fatal(err)
			}
			out[g] = ts
		}
		return out
	}
	for _, other := range []bool{false, true} {
		if other { // the selection asked is not the last one made
			if _, err := db.fillSelection(ctx, []int64{0}, []int64{by["x"].id}, []int64{0}); err != nil {
				t.Fatal(err)
			}
		}
		for _, end := range []time.Duration{-time.Hour, -50 * time.Minute, -45 * time.Minute, -30 * time.Minute, -20 * time.Minute, 0} {
			got, err := db.firstSamplesKept(ctx, set, atMS(end))
			if err != nil {
				t.Fatal(err)
			}
			if want := query(atMS(end)); !maps.Equal(got, want) {
				t.Errorf("end %v (other selection last: %v): %v, the query %v", end, other, got, want)
			}
		}
	}
	got, _ := db.firstSamplesKept(ctx, set, atMS(-30*time.Minute))
	if want := map[int]int64{0: atMS(-50 * time.Minute)}; !maps.Equal(got, want) {
		t.Errorf("at -30m: %v, want group 0 at -50m only", got)
	}
	got, _ = db.firstSamplesKept(ctx, set, atMS(0))
	if want := map[int]int64{0: atMS(-50 * time.Minute), 1: atMS(-20 * time.Minute)}; !maps.Equal(got, want) {
		t.Errorf("at 0: %v, want group 0 at -50m, 1 at -20m", got)
	}
}
