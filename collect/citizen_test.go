package collect

import (
	"context"
	"math"
	"testing"

	"github.com/prometheus/client_golang/prometheus"
	dto "github.com/prometheus/client_model/go"
)

// counterFam is a gathered counter family of one series holding v.
func counterFam(name string, v float64, labels ...string) []*dto.MetricFamily {
	m := &dto.Metric{Counter: &dto.Counter{Value: ptr(v)}}
	for i := 0; i+1 < len(labels); i += 2 {
		m.Label = append(m.Label, &dto.LabelPair{Name: ptr(labels[i]), Value: ptr(labels[i+1])})
	}
	return []*dto.MetricFamily{{Name: ptr(name), Type: dto.MetricType_COUNTER.Enum(), Metric: []*dto.Metric{m}}}
}

// A gathered counter that reads +Inf once (a broken collector, a glitch)
// and then a finite value again: the +Inf reading is no reading, as a NaN
// is, so the next finite one counts against the last finite one. The sum
// of the stored increments is the counter's increase, as Prometheus's
// increase() makes of every window without the +Inf sample (one with it
// is +Inf there, which the store cannot hold): 10 -> +Inf -> 10 is an
// increase of 10, not 20; 10 -> +Inf -> 15 is 15; 10 -> +Inf -> 3 is a
// reset, 13.
func TestGatheredCounterThroughInfCountedOnce(t *testing.T) {
	for _, tc := range []struct {
		after float64
		want  string
	}{{10, "10"}, {15, "15"}, {3, "13"}} {
		r, _ := newRecorder(t, Options{Service: "app"})
		ctx := context.Background()
		for _, v := range []float64{10, math.Inf(1), tc.after, math.Inf(-1), tc.after} {
			g := prometheus.GathererFunc(func() ([]*dto.MetricFamily, error) { return counterFam("glitch_total", v), nil })
			if err := r.RecordGatherer(ctx, g); err != nil {
				t.Fatalf("record %v: %v", v, err)
			}
			if err := r.Flush(ctx); err != nil {
				t.Fatal(err)
			}
		}
		got := rows(t, r, `SELECT coalesce(sum(s.value), 0) FROM samples s JOIN series x ON x.id = s.series_id WHERE x.name = 'glitch_total'`)
		if len(got) != 1 || got[0] != tc.want {
			t.Errorf("10 -> +Inf -> %v -> -Inf -> %v: stored increase %v, want %s", tc.after, tc.after, got, tc.want)
		}
	}
}
