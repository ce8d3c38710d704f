package analyze

import (
	"context"
	"fmt"
	"math"
	"slices"
	"testing"
	"time"

	"github.com/vigil-metrics/vigil/internal/metricpath"
	"github.com/vigil-metrics/vigil/internal/store"
)

func gauges(name string, offset time.Duration, vals ...float64) []store.Sample {
	var out []store.Sample
	for i, v := range vals {
		out = append(out, store.Sample{Name: name, Type: store.Gauge, TS: atMS(offset + time.Duration(i)*time.Second), Value: v})
	}
	return out
}

// Over two stores, the sum, mean and population standard deviation of
// one group are the hand-computed ones, with cancellation across the
// stores taken exactly, and their bits are the same on every fresh DB.
func TestTwoStoresCombined(t *testing.T) {
	f := newFixture(t)
	a := f.write("a.db", append(gauges("x", -time.Minute, 1, 2, 3), gauges("big", -time.Minute, 1e100)...)...)
	b := f.write("b.db", append(gauges("x", -30*time.Second, 4, 5), gauges("big", -30*time.Second, 1, -1e100)...)...)
	for _, c := range []struct {
		path string
		want float64
		n    int64
	}{
		{"x.sum", 15, 5},
		{"x.avg", 3, 5},
		// values 1..5: mean 3, squared deviations 4+1+0+1+4 = 10 over 5.
		{"x.stddev", math.Sqrt(2), 5},
		// 1e100 in a, 1 - 1e100 in b: the exact sum is 1.
		{"big.sum", 1, 3},
		{"big.avg", 1.0 / 3, 3},
	} {
		rs, _ := f.query(c.path, time.Hour, a, b)
		if len(rs) != 1 || rs[0].Value != c.want || rs[0].Samples != c.n {
			t.Errorf("%s over two stores = %v, want %v over %d samples", c.path, rs, c.want, c.n)
		}
	}
	// Two 30 s buckets over the two stores: (at-60s, at-30s] holds a's 2
	// and 3 (its 1 is at at-60s, outside) and b's 4 at at-30s; (at-30s,
	// at] b's 5.
	db, err := Open(context.Background(), []string{a, b}, Options{CacheDir: f.cacheDir})
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	e, _ := metricpath.Parse("x.sum")
	bs, err := db.Buckets(context.Background(), e, at, 30*time.Second, 2)
	if err != nil {
		t.Fatal(err)
	}
	if len(bs) != 1 || bs[0].Values[0] != 9 || bs[0].Values[1] != 5 || bs[0].Samples[0] != 3 || bs[0].Samples[1] != 1 {
		t.Errorf("buckets of x.sum over two stores = %+v, want 9 (3 samples) and 5 (1)", bs)
	}
}

// Percentiles over several stores whose series ids collide (each store
// numbers its series from 1) read each store's samples with that store's
// selection only: every group's p0/p50/p95/p100 and count are the ones
// computed here from the samples written, by sorting (type 7: RN =
// (n-1)q, lo*(1-d) + hi*d), on both paths (values in Go, quantile_cont).
func TestPercentilesAcrossStores(t *testing.T) {
	f := newFixture(t)
	// Store k holds series "a" and "b" (ids 1 and 2 in every store) and,
	// in store 1 only, "c"; the values tell the stores apart.
	want := map[string][]float64{} // label s -> its values over all stores
	var paths []string
	for k := 0; k < 3; k++ {
		var smp []store.Sample
		for _, s := range []string{"a", "b", "c"} {
			if s == "c" && k != 1 {
				continue
			}
			for i := 0; i < 7+k; i++ {
				v := float64(100*k+i) + float64(s[0]-'a')/10
				smp = append(smp, store.Sample{Name: "lat", Type: store.Histogram, Labels: map[string]string{"s": s},
					TS: atMS(-time.Duration(i+1) * time.Second), Value: v})
				want[s] = append(want[s], v)
			}
		}
		paths = append(paths, f.write(fmt.Sprintf("s%d.db", k), smp...))
	}
	type7 := func(v []float64, q float64) float64 {
		v = slices.Sorted(slices.Values(v))
		rn := float64(len(v)-1) * q
		lo, hi := v[int(math.Floor(rn))], v[int(math.Ceil(rn))]
		d := rn - math.Floor(rn)
		return lo*(1-d) + hi*d
	}
	for _, inGo := range []bool{true, false} {
		old := PercentilesInGo
		PercentilesInGo = inGo
		for _, q := range []float64{0, 0.5, 0.95, 1} {
			path := fmt.Sprintf("lat.p%g by (s)", q*100)
			rs, _ := f.query(path, time.Minute, paths...)
			if len(rs) != 3 {
				t.Fatalf("in Go %v: %s: %d results, want 3", inGo, path, len(rs))
			}
			for _, r := range rs {
				vals := want[r.Labels["s"]]
				if w := type7(vals, q); r.Value != w || r.Samples != int64(len(vals)) {
					t.Errorf("in Go %v: %s{s=%s} = %v over %d samples, want %v over %d", inGo, path, r.Labels["s"], r.Value, r.Samples, w, len(vals))
				}
			}
		}
		PercentilesInGo = old
	}
}
