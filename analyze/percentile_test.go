package analyze

import (
	"math/rand/v2"
	"slices"
	"testing"
)

// percentile7 against published numpy values and, over random inputs with
// many ties, against a sort: selection must leave the same order
// statistics a full sort gives.
func TestPercentile7(t *testing.T) {
	for _, c := range []struct {
		v    []float64
		q    float64
		want float64
	}{
		{[]float64{40, 15, 50, 20, 35}, 0.4, 29}, // numpy.percentile([15, 20, 35, 40, 50], 40)
		{[]float64{11, 10, 9, 8, 7, 6, 5, 4, 3, 2, 1, 0}, 0.25, 2.75},
		{[]float64{7}, 0.99, 7},
		{[]float64{3, 1}, 0.5, 2},
		{[]float64{5, 5, 5, 5}, 0.9, 5},
	} {
		if got := percentile7(slices.Clone(c.v), c.q); got != c.want {
			t.Errorf("percentile7(%v, %v) = %v, want %v", c.v, c.q, got, c.want)
		}
	}
	rng := rand.New(rand.NewPCG(5, 6))
	for round := 0; round < 2000; round++ {
		n := 1 + rng.IntN(300)
		v := make([]float64, n)
		for i := range v {
			v[i] = float64(rng.IntN(1 + n/3)) // ties
			if round%2 == 0 {
				v[i] = rng.NormFloat64()
			}
		}
		k := rng.IntN(n)
		sorted := slices.Sorted(slices.Values(v))
		w := slices.Clone(v)
		if got := selectKth(w, k); got != sorted[k] {
			t.Fatalf("selectKth(%v, %d) = %v, want %v", v, k, got, sorted[k])
		}
		for i := range w {
			if (i < k && w[i] > w[k]) || (i > k && w[i] < w[k]) {
				t.Fatalf("selectKth left %v out of place at %d (k %d)", w[i], i, k)
			}
		}
	}
}
