package promstore

import (
	"math/rand/v2"
	"testing"

	"github.com/prometheus/prometheus/model/labels"

	"github.com/vigil-metrics/vigil/analyze"
	"github.com/vigil-metrics/vigil/internal/store"
)

// A property of every catalog: no label set is served twice (PromQL
// fails on a vector holding two series of one label set), and every
// served label set is valid (no name twice, no empty value), whatever
// the stores hold: names as a histogram's derived series, labels with
// empty values, a stored le, one name with several types.
func TestCatalogLabelSetsUnique(t *testing.T) {
	names := []string{"x", "x_count", "x_sum", "x_bucket", "y", "y_total"}
	types := []store.Type{store.Gauge, store.Counter, store.Histogram}
	keys := []string{"k", "le", "service", "j"}
	values := []string{"", "a", "+Inf", "5"}
	buckets := map[string][]float64{"x": {5, 10}, "y": {1}}
	for seed := range uint64(300) {
		r := rand.New(rand.NewPCG(seed, 28))
		var stored []analyze.StoredSeries
		for i := range 1 + r.IntN(30) {
			ls := map[string]string{}
			for range r.IntN(3) {
				ls[keys[r.IntN(len(keys))]] = values[r.IntN(len(values))]
			}
			stored = append(stored, analyze.StoredSeries{Store: r.IntN(2), ID: int64(i), Name: names[r.IntN(len(names))],
				Type: types[r.IntN(len(types))], Labels: ls, Oldest: 1, Newest: 2, HasSamples: true})
		}
		c := buildCatalog(stored, buckets)
		seen := map[string]bool{}
		for _, v := range c.series {
			k := v.lset.String()
			if seen[k] {
				t.Fatalf("seed %d: %s served twice; stored %+v", seed, k, stored)
			}
			seen[k] = true
			if _, dup := v.lset.HasDuplicateLabelNames(); dup {
				t.Fatalf("seed %d: %s has a name twice", seed, k)
			}
			v.lset.Range(func(l labels.Label) {
				if l.Value == "" {
					t.Fatalf("seed %d: %s has an empty label", seed, k)
				}
			})
		}
	}
}
