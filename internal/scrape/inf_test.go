package scrape

import (
	"math"
	"testing"

	dto "github.com/prometheus/client_model/go"

	"github.com/vigil-metrics/vigil/internal/cumulative"
)

// A scraped counter reading +Inf (or -Inf) and then a finite value again
// is counted against the last finite reading: 10, +Inf, 10 is no increase
// (not a reset counting the 10 again), 10, +Inf, 15 is 5.
func TestConvertCounterThroughInf(t *testing.T) {
	for _, tc := range []struct{ after, want float64 }{{10, 0}, {15, 5}} {
		tr := cumulative.New()
		sum := 0.0
		for _, v := range []float64{10, math.Inf(1), tc.after, math.Inf(-1), tc.after} {
			name, typ := "c_total", dto.MetricType_COUNTER
			fams := map[string]*dto.MetricFamily{name: {Name: &name, Type: &typ, Metric: []*dto.Metric{{Counter: &dto.Counter{Value: &v}}}}}
			for _, s := range Convert(fams, nil, "", 1, tr) {
				sum += s.Value
			}
		}
		if sum != tc.want {
			t.Errorf("10 -> +Inf -> %v -> -Inf -> %v: increments sum to %v, want %v", tc.after, tc.after, sum, tc.want)
		}
	}
}
