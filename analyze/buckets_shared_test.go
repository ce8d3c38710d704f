package analyze

import (
	"context"
	"fmt"
	"math"
	"math/rand/v2"
	"testing"
	"time"

	"github.com/vigil-metrics/vigil/internal/metricpath"
	"github.com/vigil-metrics/vigil/internal/store"
)

// Rules that each select one series of a metric (a rule per host, as
// tuning has) are answered from the metric's values read once
// (sharedBuckets): to the bit what each rule's own query answers, for
// every aggregation, with Buckets and with Sliding.
func TestSharedBucketsSameBits(t *testing.T) {
	f := newFixture(t)
	rng := rand.New(rand.NewPCG(3, 5))
	var s []store.Sample
	hosts := []string{"a", "b", "c", "d", "e"}
	for ts := -2 * time.Hour; ts <= 0; ts += time.Duration(2+rng.IntN(9)) * time.Second {
		for _, h := range hosts {
			if rng.IntN(5) == 0 {
				continue
			}
			v := math.Round(rng.Float64()*1e6) / 1e3
			switch rng.IntN(10) {
			case 0:
				v = 1e16 * float64(rng.IntN(3)-1) // Kahan-hard
			case 1:
				v = 0.1 * float64(rng.IntN(7))
			}
			s = append(s, store.Sample{Name: "g", Type: store.Gauge, Labels: map[string]string{"h": h}, TS: atMS(ts), Value: v})
			s = append(s, store.Sample{Name: "c", Type: store.Counter, Labels: map[string]string{"h": h}, TS: atMS(ts), Value: float64(rng.IntN(5))})
		}
	}
	// One bucket of host a cancels: Eval takes the exact sum there.
	for i, v := range []float64{1e100, 1, -1e100, 0.1, 0.2} {
		s = append(s, store.Sample{Name: "g", Type: store.Gauge, Labels: map[string]string{"h": "a"}, TS: atMS(-17*time.Minute + time.Duration(i)*time.Second + 500*time.Millisecond), Value: v})
	}
	p := f.write("v.db", s...)
	open := func() *DB {
		db, err := Open(context.Background(), []string{p}, Options{CacheDir: f.cacheDir})
		if err != nil {
			t.Fatal(err)
		}
		return db
	}
	ctx := context.Background()
	aggs := []string{"avg", "sum", "count", "count_le(500)", "p95", "p50", "min", "max", "last", "stddev"}
	counterAggs := []string{"increase", "rate", "sum", "count"}
	type ask struct {
		path         string
		step, window time.Duration
		n            int
	}
	var asks []ask
	for _, w := range []struct {
		step, window time.Duration
		n            int
	}{{5 * time.Minute, 5 * time.Minute, 26}, {time.Minute, 5 * time.Minute, 100}, {90 * time.Second, 6 * time.Minute, 60}} {
		for _, a := range aggs {
			for _, h := range hosts {
				asks = append(asks, ask{fmt.Sprintf("g{h=%q}.%s", h, a), w.step, w.window, w.n})
			}
		}
		for _, a := range counterAggs {
			for _, h := range hosts {
				asks = append(asks, ask{fmt.Sprintf("c{h=%q}.%s", h, a), w.step, w.window, w.n})
			}
		}
		asks = append(asks, ask{`g{h="a"}.avg / c{h="a"}.count`, w.step, w.window, w.n})
	}
	run := func(shared bool, maxWords int) [][]BucketSeries {
		old, oldMax := sharedBuckets, maxSharedValues
		sharedBuckets, maxSharedValues = shared, maxWords
		defer func() { sharedBuckets, maxSharedValues = old, oldMax }()
		db := open()
		defer db.Close()
		reads := 0
		defer func() {
			if shared && arrowBuild && reads == 0 {
				t.Errorf("no rule was answered from shared values")
			}
		}()
		var out [][]BucketSeries
		for _, a := range asks {
			e, err := metricpath.Parse(a.path)
			if err != nil {
				t.Fatal(err)
			}
			got, err := db.Sliding(ctx, e, at, a.step, a.window, a.n)
			if err != nil {
				t.Fatalf("%s: %v", a.path, err)
			}
			out = append(out, got)
			for _, sv := range db.memo.shared {
				if sv.vals != nil {
					reads++
				}
			}
		}
		return out
	}
	want := run(false, maxSharedValues)
	// Everything kept, then every read dropping the others.
	for _, maxWords := range []int{maxSharedValues, 1} {
		got := run(true, maxWords)
		for i, a := range asks {
			w, g := want[i], got[i]
			if len(w) != len(g) {
				t.Errorf("%s step %s window %s: %d series, want %d", a.path, a.step, a.window, len(g), len(w))
				continue
			}
			for k := range w {
				if store.CanonicalLabels(w[k].Labels) != store.CanonicalLabels(g[k].Labels) {
					t.Errorf("%s: labels %v, want %v", a.path, g[k].Labels, w[k].Labels)
				}
				for j := range w[k].Values {
					if math.Float64bits(w[k].Values[j]) != math.Float64bits(g[k].Values[j]) || w[k].Samples[j] != g[k].Samples[j] {
						t.Errorf("%s step %s window %s window %d: %v (%d samples), want %v (%d)", a.path, a.step, a.window, j,
							g[k].Values[j], g[k].Samples[j], w[k].Values[j], w[k].Samples[j])
					}
				}
			}
		}
	}
}
