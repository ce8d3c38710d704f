package analyze

import (
	"math"
	"math/rand/v2"
	"testing"
)

// slidePercentiles gives each window what percentile7 over the window's
// values gives, to the bit: ties, empty cells and windows, every
// quantile, windows of several steps.
func TestSlidePercentilesAsPercentile7(t *testing.T) {
	rng := rand.New(rand.NewPCG(5, 8))
	for trial := range 300 {
		perStep, perWin := 1+rng.IntN(3), 1+rng.IntN(12)
		n := 1 + rng.IntN(40)
		m := (n-1)*perStep + perWin
		vals := make([][]float64, m)
		for c := range vals {
			if rng.IntN(5) == 0 {
				continue // an empty cell
			}
			for range rng.IntN(8) {
				v := math.Round(rng.NormFloat64()*100)/10 + 0 // no negative zero
				if trial%3 == 0 {
					v = float64(rng.IntN(4)) // many ties
				}
				vals[c] = append(vals[c], v)
			}
		}
		q := []float64{0, 1, 0.5, 0.9, 0.95, 0.99, 0.123}[trial%7]
		values, samples := nanSlice(n), make([]int64, n)
		if !slidePercentiles(vals, q, n, perStep, perWin, values, samples) {
			t.Fatal("not done")
		}
		for j := 0; j < n; j++ {
			var w []float64
			for c := j * perStep; c < j*perStep+perWin; c++ {
				w = append(w, vals[c]...)
			}
			want := math.NaN()
			if len(w) > 0 {
				want = percentile7(w, q)
			}
			if math.Float64bits(values[j]) != math.Float64bits(want) && !(math.IsNaN(want) && math.IsNaN(values[j])) || samples[j] != int64(len(w)) {
				t.Fatalf("trial %d window %d: %v (%d), percentile7 %v (%d)", trial, j, values[j], samples[j], want, len(w))
			}
		}
	}
	for _, v := range []float64{math.NaN(), math.Copysign(0, -1)} {
		if slidePercentiles([][]float64{{1, v}}, 0.5, 1, 1, 1, nanSlice(1), make([]int64, 1)) {
			t.Errorf("%v: done, want left to percentile7", v)
		}
	}
}
