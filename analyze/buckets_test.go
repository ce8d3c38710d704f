package analyze

import (
	"context"
	"math"
	"math/rand/v2"
	"testing"
	"time"

	"github.com/vigil-metrics/vigil/internal/metricpath"
	"github.com/vigil-metrics/vigil/internal/store"
)

// bucketsFixture: two hours of a gauge (two hosts, irregular times,
// duplicates of a value and one NaN-free run of Kahan-hard values), a
// counter with a silent stretch (its zeros), and a bucket with 1e100, 1,
// -1e100 (Eval takes the exact sum there).
func bucketsFixture(t *testing.T) (*fixture, string) {
	f := newFixture(t)
	rng := rand.New(rand.NewPCG(7, 11))
	var s []store.Sample
	for _, h := range []string{"a", "b"} {
		for ts := -2 * time.Hour; ts <= 0; ts += time.Duration(3+rng.IntN(20)) * time.Second {
			s = append(s, store.Sample{Name: "g", Type: store.Gauge, Labels: map[string]string{"h": h}, TS: atMS(ts), Value: math.Round(rng.Float64()*1000) / 10})
			if rng.IntN(4) == 0 && ts > -90*time.Minute && ts < -60*time.Minute {
				continue // the counter is silent here
			}
			s = append(s, store.Sample{Name: "c", Type: store.Counter, Labels: map[string]string{"h": h}, TS: atMS(ts), Value: float64(rng.IntN(5))})
		}
	}
	// A gauge whose one bucket cancels: Kahan's sum says 0, Eval's exact 1.
	for i, v := range []float64{1e100, 1, -1e100, 0.1, 0.2} {
		s = append(s, store.Sample{Name: "x", Type: store.Gauge, TS: atMS(-17*time.Minute + time.Duration(i)*time.Second), Value: v})
	}
	for i := 0; i < 50; i++ {
		s = append(s, store.Sample{Name: "x", Type: store.Gauge, TS: atMS(-time.Hour + time.Duration(i)*37*time.Second), Value: 0.1 * float64(i%7)})
	}
	return f, f.write("v.db", s...)
}

// Buckets answers, for every window, what Eval answers for that window,
// to the bit for each aggregation and for ratios, except avg: DuckDB's
// favg keeps a Kahan (sum, error) pair whose parts depend on how the
// grouped query feeds it rows, so a bucket's mean may differ from Eval's in
// the last bits (within 1e-14 relative; the sum, count and every other
// aggregation are bit-identical).
func TestBucketsEqualEval(t *testing.T) {
	f, p := bucketsFixture(t)
	db, err := Open(context.Background(), []string{p}, Options{CacheDir: f.cacheDir})
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	ctx := context.Background()
	paths := []string{
		"g.avg", "g.sum", "g.min", "g.max", "g.count", "g.last", "g.p90", "g.p50 by (h)", "g.count_le(50)",
		"g.stddev", "g.avg by (h)", "g.max by (h)", "g", "c.increase", "c.rate by (h)", "c.count by (h)", "c.sum", "c",
		"c.increase by (h) / g.count by (h)", "g.count_le(30) by (h) / g.count by (h)", "x.sum", "x.avg", "nope.avg",
	}
	const n, bucket = 26, 5 * time.Minute // reaches before the first sample
	for _, path := range paths {
		e, err := metricpath.Parse(path)
		if err != nil {
			t.Fatal(err)
		}
		got, err := db.Buckets(ctx, e, at, bucket, n)
		if err != nil {
			t.Fatalf("Buckets(%s): %v", path, err)
		}
		want := map[string][]float64{}
		for i := 0; i < n; i++ {
			rs, err := db.Eval(ctx, e, Window{At: at.Add(-time.Duration(n-1-i) * bucket), Length: bucket})
			if err != nil {
				t.Fatal(err)
			}
			for _, r := range rs {
				k := store.CanonicalLabels(r.Labels)
				if want[k] == nil {
					want[k] = nanSlice(n)
				}
				want[k][i] = r.Value
			}
		}
		if len(got) != len(want) {
			t.Errorf("%s: %d series, want %d", path, len(got), len(want))
		}
		for _, s := range got {
			w := want[store.CanonicalLabels(s.Labels)]
			for i := range s.Values {
				g, x := s.Values[i], w[i]
				same := math.Float64bits(g) == math.Float64bits(x) || math.IsNaN(g) && math.IsNaN(x)
				if (e.Num.Agg.Kind == metricpath.Avg || e.Num.Name == "g" && e.Num.Agg.Kind == metricpath.Default) && e.Den == nil && math.Abs(g-x) <= 1e-14*math.Abs(x) {
					same = true
				}
				if !same {
					t.Errorf("%s %v bucket %d = %v, Eval %v", path, s.Labels, i, s.Values[i], w[i])
				}
			}
		}
	}
}

func nanSlice(n int) []float64 {
	v := make([]float64, n)
	for i := range v {
		v[i] = math.NaN()
	}
	return v
}

// Sliding windows (step 1m, window 5m) agree with Eval at every step:
// exactly for count, count_le, min, max, last and percentiles, within
// 1e-12 relative for the sums and means it combines from buckets.
func TestSlidingEqualsEval(t *testing.T) {
	f, p := bucketsFixture(t)
	db, err := Open(context.Background(), []string{p}, Options{CacheDir: f.cacheDir})
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	ctx := context.Background()
	exact := map[string]bool{"g.min": true, "g.max by (h)": true, "g.count": true, "g.last": true, "g.p95": true,
		"g.p50 by (h)": true, "g.count_le(50)": true, "c.count by (h)": true, "c.increase by (h)": true}
	paths := []string{"g.min", "g.max by (h)", "g.count", "g.last", "g.p95", "g.p50 by (h)", "g.count_le(50)", "c.count by (h)",
		"g.avg", "g.sum by (h)", "c.increase by (h)", "c.rate", "g.stddev", "c.increase by (h) / g.count by (h)"}
	const n, step, window = 100, 90 * time.Second, 6 * time.Minute
	for _, path := range paths {
		e, err := metricpath.Parse(path)
		if err != nil {
			t.Fatal(err)
		}
		got, err := db.Sliding(ctx, e, at, step, window, n)
		if err != nil {
			t.Fatalf("Sliding(%s): %v", path, err)
		}
		want := map[string][]float64{}
		for i := 0; i < n; i++ {
			rs, err := db.Eval(ctx, e, Window{At: at.Add(-time.Duration(n-1-i) * step), Length: window})
			if err != nil {
				t.Fatal(err)
			}
			for _, r := range rs {
				k := store.CanonicalLabels(r.Labels)
				if want[k] == nil {
					want[k] = nanSlice(n)
				}
				want[k][i] = r.Value
			}
		}
		if len(got) != len(want) {
			t.Errorf("%s: %d series, want %d", path, len(got), len(want))
		}
		for _, s := range got {
			w := want[store.CanonicalLabels(s.Labels)]
			for i := range s.Values {
				g, x := s.Values[i], w[i]
				same := math.Float64bits(g) == math.Float64bits(x) || math.IsNaN(g) && math.IsNaN(x)
				if !same && (exact[path] || math.Abs(g-x) > 1e-12*math.Max(1, math.Abs(x))) {
					t.Errorf("%s %v step %d = %v, Eval %v", path, s.Labels, i, g, x)
				}
			}
		}
	}
}

// A counter's windows with no sample are 0 once the counter exists (its
// first sample at or before the window's end, before the buckets or in
// one of them) and no data before, as Eval says: "old" began before the
// buckets and fell silent, "new" began in the third bucket (at its end,
// the edge belongs to it) and is silent after, "later" began after the
// buckets' end.
func TestBucketsSilentCounter(t *testing.T) {
	f := newFixture(t)
	p := f.write("v.db",
		counter("c", map[string]string{"k": "old"}, -3*time.Hour, 4),
		counter("c", map[string]string{"k": "old"}, -50*time.Minute, 2),
		counter("c", map[string]string{"k": "new"}, -30*time.Minute, 3),
		counter("c", map[string]string{"k": "later"}, time.Minute, 1),
	)
	db, err := Open(context.Background(), []string{p}, Options{CacheDir: f.cacheDir})
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	ctx := context.Background()
	e, err := metricpath.Parse("c.increase by (k)")
	if err != nil {
		t.Fatal(err)
	}
	got, err := db.Buckets(ctx, e, at, 10*time.Minute, 6)
	if err != nil {
		t.Fatal(err)
	}
	want := map[string][]float64{
		"old": {2, 0, 0, 0, 0, 0},
		"new": {math.NaN(), math.NaN(), 3, 0, 0, 0},
	}
	if len(got) != len(want) {
		t.Fatalf("%d series, want %d: %v", len(got), len(want), got)
	}
	for _, s := range got {
		w := want[s.Labels["k"]]
		for i, v := range s.Values {
			if !(v == w[i] || math.IsNaN(v) && math.IsNaN(w[i])) {
				t.Errorf("%s bucket %d = %v, want %v", s.Labels["k"], i, v, w[i])
			}
			rs, err := db.Eval(ctx, e, Window{At: at.Add(-time.Duration(5-i) * 10 * time.Minute), Length: 10 * time.Minute})
			if err != nil {
				t.Fatal(err)
			}
			ev := math.NaN()
			for _, r := range rs {
				if r.Labels["k"] == s.Labels["k"] {
					ev = r.Value
				}
			}
			if !(v == ev || math.IsNaN(v) && math.IsNaN(ev)) {
				t.Errorf("%s bucket %d = %v, Eval %v", s.Labels["k"], i, v, ev)
			}
		}
	}
}
