package analyze

import (
	"math"
	"math/rand/v2"
	"slices"
	"testing"
)

// sortRuns orders a group's samples as sorting them whole does, whatever
// runs they come in: a store's stretches shuffled, several stores' runs
// interleaved (equal times across stores, NaN among them), runs of one
// sample, one sample, none.
func TestSortRunsAsSort(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	// stretches cuts [0, n) samples of stores every 15 ms (offset per
	// store) into stretches of about size, shuffled.
	stretches := func(stores, n, size int) []RawSample {
		var parts [][]RawSample
		for s := range stores {
			for a := 0; a < n; a += size {
				var p []RawSample
				for i := a; i < min(a+size, n); i++ {
					v := float64(rng.IntN(5))
					if rng.IntN(50) == 0 {
						v = math.NaN()
					}
					p = append(p, RawSample{TS: int64(i*15 + s%2*7), Value: v})
				}
				parts = append(parts, p)
			}
		}
		rng.Shuffle(len(parts), func(i, j int) { parts[i], parts[j] = parts[j], parts[i] })
		return slices.Concat(parts...)
	}
	cases := map[string][]RawSample{
		"none":              nil,
		"one":               {{5, 1}},
		"sorted":            stretches(1, 1000, 1000),
		"one store":         stretches(1, 5800, 28),
		"three stores":      stretches(3, 2000, 50),
		"twelve stores":     stretches(12, 300, 7),
		"random":            stretches(1, 3000, 1),
		"two stores 1 long": stretches(2, 500, 1),
	}
	var buf []RawSample
	for name, g := range cases {
		want := slices.Clone(g)
		slices.SortFunc(want, compareRaw)
		got := slices.Clone(g)
		buf = sortRuns(got, buf)
		if !slices.EqualFunc(got, want, func(a, b RawSample) bool { return compareRaw(a, b) == 0 }) {
			t.Errorf("%s: sortRuns gave another order than a sort", name)
		}
	}
}

// A store's shuffled stretches of 28 samples (as a day of 1,000 counters
// comes out of the cache) merged, against a sort of the group whole.
func BenchmarkSortRuns(b *testing.B) {
	rng := rand.New(rand.NewPCG(3, 4))
	var parts [][]RawSample
	for a := 0; a < 5800; a += 28 {
		var p []RawSample
		for i := a; i < min(a+28, 5800); i++ {
			p = append(p, RawSample{TS: int64(i * 15), Value: float64(rng.IntN(5))})
		}
		parts = append(parts, p)
	}
	rng.Shuffle(len(parts), func(i, j int) { parts[i], parts[j] = parts[j], parts[i] })
	in := slices.Concat(parts...)
	g := make([]RawSample, len(in))
	var buf []RawSample
	b.Run("sortRuns", func(b *testing.B) {
		for b.Loop() {
			copy(g, in)
			buf = sortRuns(g, buf)
		}
	})
	b.Run("SortFunc", func(b *testing.B) {
		for b.Loop() {
			copy(g, in)
			slices.SortFunc(g, compareRaw)
		}
	})
}
