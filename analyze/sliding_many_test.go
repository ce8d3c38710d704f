package analyze

import (
	"context"
	"maps"
	"math"
	"math/big"
	"math/rand/v2"
	"slices"
	"testing"
	"time"

	"github.com/vigil-metrics/vigil/internal/metricpath"
	"github.com/vigil-metrics/vigil/internal/store"
)

// SlidingMany answers a mixed set of queries (every aggregation, groups
// of one series and pooled ones, ratios, windows at two ends, a window as
// long as the step, a metric asked once, a metric that does not exist)
// with each query's own Sliding answer, to the bit, while reading the
// samples once for all.
func TestSlidingManyEqualsSliding(t *testing.T) {
	f := newFixture(t)
	rng := rand.New(rand.NewPCG(13, 17))
	var s []store.Sample
	hosts := []string{"a", "b", "c", "d"}
	for ts := -3 * time.Hour; ts <= 0; ts += time.Duration(5+rng.IntN(40)) * time.Second {
		for _, h := range hosts {
			if rng.IntN(6) == 0 {
				continue
			}
			v := math.Round(rng.Float64()*1e6) / 1e3
			switch rng.IntN(12) {
			case 0:
				v = 1e16 * float64(rng.IntN(3)-1) // Kahan-hard
			case 1:
				v = 0.1 * float64(rng.IntN(7))
			}
			s = append(s, store.Sample{Name: "g", Type: store.Gauge, Labels: map[string]string{"h": h}, TS: atMS(ts), Value: v})
			if ts > -100*time.Minute && ts < -70*time.Minute {
				continue // the counter is silent here
			}
			s = append(s, store.Sample{Name: "c", Type: store.Counter, Labels: map[string]string{"h": h}, TS: atMS(ts), Value: float64(rng.IntN(5))})
		}
		s = append(s, store.Sample{Name: "u", Type: store.Gauge, TS: atMS(ts), Value: rng.Float64()})
	}
	for i, v := range []float64{1e100, 1, -1e100, 0.1, 0.2} {
		s = append(s, store.Sample{Name: "g", Type: store.Gauge, Labels: map[string]string{"h": "a"}, TS: atMS(-17*time.Minute + time.Duration(i)*time.Second + 500*time.Millisecond), Value: v})
	}
	p := f.write("v.db", s...)
	open := func() *DB {
		db, err := Open(context.Background(), []string{p}, Options{CacheDir: f.cacheDir})
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { db.Close() })
		return db
	}
	paths := []string{"g.avg", "g.sum", "g.avg by (h)", "g.min", "g.max by (h)", "g.count", "g.count_le(500)", "g.count_le(500) by (h)",
		"g.p95", "g.p50 by (h)", "g.stddev", "g.stddev by (h)", "g.last", "g.last by (h)", `g{h="a"}.max`, `g{h=~"a|b"}.sum`, "g",
		"c.increase", "c.rate by (h)", "c.sum", "c", "c.count by (h)", "c.increase by (h) / g.count by (h)", "u.avg", "nope.avg"}
	const n, step = 60, 90 * time.Second
	windows := []time.Duration{5 * time.Minute, 3 * time.Minute, 10 * time.Minute, step}
	var qs []SlideQuery
	for i, path := range paths {
		e, err := metricpath.Parse(path)
		if err != nil {
			t.Fatal(err)
		}
		w := windows[i%len(windows)]
		qs = append(qs, SlideQuery{Expr: e, End: at, Window: w}, SlideQuery{Expr: e, End: at.Add(-w), Window: 2 * w})
	}
	qs = append(qs[:len(qs)-4], qs[len(qs)-3]) // u.avg asked once
	one := open()
	ctx := context.Background()
	// All metrics in one read; one a metric where all do not fit (u,
	// asked once, reads its own); none where none fits.
	if !arrowBuild {
		t.Skip("SlidingMany reads through Arrow only")
	}
	probe := open()
	reads := probe.manyGrids(ctx, qs, step, n)
	all := mergeGrids(reads, slices.Sorted(maps.Keys(reads)))
	defer func(v int64) { maxManyCells = v }(maxManyCells)
	for _, c := range []struct {
		max   int64
		reads int
	}{{maxManyCells, 1}, {4 * int64(all.m), 2}, {1, 0}} {
		maxManyCells = c.max
		many := open()
		got, errs := many.SlidingMany(ctx, qs, step, n)
		if many.memo.manyReads != c.reads {
			t.Errorf("max %d cells: %d reads, want %d", c.max, many.memo.manyReads, c.reads)
		}
		sameAsSliding(t, one, qs, step, n, got, errs)
	}
}

func sameAsSliding(t *testing.T, one *DB, qs []SlideQuery, step time.Duration, n int, got [][]BucketSeries, errs []error) {
	t.Helper()
	ctx := context.Background()
	for i, q := range qs {
		want, err := one.Sliding(ctx, q.Expr, q.End, step, q.Window, n)
		if err != nil || errs[i] != nil {
			t.Fatalf("%s: %v, Sliding's %v", q.Expr, errs[i], err)
		}
		if len(got[i]) != len(want) {
			t.Errorf("%s %s: %d series, want %d", q.Expr, q.Window, len(got[i]), len(want))
			continue
		}
		for k := range want {
			if store.CanonicalLabels(got[i][k].Labels) != store.CanonicalLabels(want[k].Labels) {
				t.Errorf("%s: series %d %v, want %v", q.Expr, k, got[i][k].Labels, want[k].Labels)
				continue
			}
			for j := range want[k].Values {
				g, w := got[i][k].Values[j], want[k].Values[j]
				if math.Float64bits(g) != math.Float64bits(w) || got[i][k].Samples[j] != want[k].Samples[j] {
					t.Errorf("%s %s %v window %d = %v (%d), Sliding %v (%d)", q.Expr, q.Window, want[k].Labels, j, g, got[i][k].Samples[j], w, want[k].Samples[j])
				}
			}
		}
	}
}

// exactSum is the exact sum rounded once (exactGroup's value), with
// cancellation, ties and signed zeros.
func TestExactSum(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	cases := [][]float64{{}, {-0.0}, {1e100, 1, -1e100}, {1, 0x1p-53}, {1, 0x1p-53, 0x1p-106}, {1, -0x1p-54, -0x1p-107},
		{0.1, 0.2, 0.3}, {1e16, 1, 1, -1e16}}
	for range 2000 {
		vs := make([]float64, 1+rng.IntN(40))
		for i := range vs {
			vs[i] = (rng.Float64() - 0.5) * math.Pow(2, float64(rng.IntN(120)-60))
			if rng.IntN(3) == 0 {
				vs[i] = -vs[max(0, i-1)]
			}
		}
		cases = append(cases, vs)
	}
	for _, vs := range cases {
		acc := new(big.Float).SetPrec(4096)
		for _, v := range vs {
			acc.Add(acc, new(big.Float).SetPrec(4096).SetFloat64(v))
		}
		want, _ := acc.Float64()
		got, ok := exactSum(vs)
		if !ok || math.Float64bits(got) != math.Float64bits(want) {
			t.Errorf("exactSum(%v) = %v, %v; want %v", vs, got, ok, want)
		}
	}
	for _, vs := range [][]float64{{1, math.Inf(1)}, {math.NaN()}, {-1e308, -1e308, 1e308}} {
		if _, ok := exactSum(vs); ok {
			t.Errorf("exactSum(%v): ok, want not (non-finite, or an overflow on the way)", vs)
		}
	}
}

// duckMin and duckMax order NaN above every number, as DuckDB does.
func TestDuckMinMax(t *testing.T) {
	nan, inf := math.NaN(), math.Inf(1)
	for _, c := range []struct {
		vs       []float64
		min, max float64
	}{
		{[]float64{2, 1, 3}, 1, 3}, {[]float64{nan, 2}, 2, nan}, {[]float64{nan}, nan, nan}, {[]float64{inf, nan}, inf, nan}, {[]float64{-inf, 0}, -inf, 0},
	} {
		mn, mx := duckMin(c.vs), duckMax(c.vs)
		same := func(a, b float64) bool { return a == b || math.IsNaN(a) && math.IsNaN(b) }
		if !same(mn, c.min) || !same(mx, c.max) {
			t.Errorf("%v: min %v max %v, want %v %v", c.vs, mn, mx, c.min, c.max)
		}
	}
}

// A counter's silent windows are 0 from SlidingMany as from Sliding, once
// the counter exists: "old" and "ancient" from before every grid (and
// the metric's read), "new" from a cell of
// the metric's read before the grid of the query ending at the end.
func TestSlidingManySilentCounter(t *testing.T) {
	f := newFixture(t)
	p := f.write("v.db",
		counter("c", map[string]string{"k": "old"}, -3*time.Hour, 4),
		counter("c", map[string]string{"k": "old"}, -50*time.Minute, 2),
		counter("c", map[string]string{"k": "new"}, -30*time.Minute, 3),
		counter("c", map[string]string{"k": "later"}, time.Minute, 1),
		counter("c", map[string]string{"k": "ancient"}, -4*time.Hour, 1),
	)
	var qs []SlideQuery
	for _, path := range []string{"c.increase by (k)", "c.count by (k)"} {
		e, err := metricpath.Parse(path)
		if err != nil {
			t.Fatal(err)
		}
		qs = append(qs, SlideQuery{Expr: e, End: at, Window: 10 * time.Minute}, SlideQuery{Expr: e, End: at.Add(-20 * time.Minute), Window: 20 * time.Minute})
	}
	many, one := func() (*DB, *DB) {
		var dbs [2]*DB
		for i := range dbs {
			db, err := Open(context.Background(), []string{p}, Options{CacheDir: f.cacheDir})
			if err != nil {
				t.Fatal(err)
			}
			t.Cleanup(func() { db.Close() })
			dbs[i] = db
		}
		return dbs[0], dbs[1]
	}()
	ctx := context.Background()
	if !arrowBuild {
		t.Skip("SlidingMany reads through Arrow only")
	}
	const n, step = 4, 5 * time.Minute
	got, errs := many.SlidingMany(ctx, qs, step, n)
	if many.memo.manyReads != 1 {
		t.Errorf("%d reads, want 1", many.memo.manyReads)
	}
	zeros := 0
	for i, q := range qs {
		want, err := one.Sliding(ctx, q.Expr, q.End, step, q.Window, n)
		if err != nil || errs[i] != nil {
			t.Fatalf("%s: %v, Sliding's %v", q.Expr, errs[i], err)
		}
		if len(got[i]) != len(want) {
			t.Fatalf("%s %s: %d series, want %d", q.Expr, q.Window, len(got[i]), len(want))
		}
		for k := range want {
			for j, w := range want[k].Values {
				g := got[i][k].Values[j]
				if math.Float64bits(g) != math.Float64bits(w) {
					t.Errorf("%s %s %v window %d = %v, Sliding %v", q.Expr, q.Window, want[k].Labels, j, g, w)
				}
				if w == 0 && want[k].Samples[j] == 0 {
					zeros++
				}
			}
		}
	}
	if zeros == 0 {
		t.Error("no silent window: the test tests nothing")
	}
}
