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

// seriesOf lists the stored series of name as "labels=sum".
func seriesOf(t *testing.T, r *Recorder, name string) []string {
	t.Helper()
	return rows(t, r, `SELECT x.labels || '=' || coalesce(sum(s.value), 0) FROM series x LEFT JOIN samples s ON s.series_id = x.id WHERE x.name = '`+name+`' GROUP BY x.id ORDER BY x.labels`)
}

// A label with an empty value is no label, as Prometheus reads it: {a=""}
// and {} are one series on every path (the map form, ConstLabels, a vec's
// WithLabelValues, Add, AddBatch, a gatherer), in memory, in the store and
// on /metrics.
func TestEmptyLabelValueIsAbsent(t *testing.T) {
	r, _ := newRecorder(t, Options{Service: "app", ConstLabels: map[string]string{"env": ""}})
	ctx := context.Background()
	r.Counter("jobs_total", nil).Inc()
	r.Counter("jobs_total", map[string]string{"queue": ""}).Inc()
	must(r.NewCounter("jobs_total", map[string]string{"queue": "", "env": ""})).Inc()
	v := r.MustCounterVec(Opts{Name: "jobs_total"}, []string{"queue"})
	v.WithLabelValues("").Inc()
	must(v.GetMetricWithLabelValues("")).Inc()
	v.WithLabelValues("mail").Inc()
	r.Counter("jobs_total", map[string]string{"queue": "mail", "result": ""}).Inc()
	if err := r.Add(Sample{Name: "jobs_total", Type: TypeCounter, Labels: map[string]string{"queue": ""}, Service: "app", TS: 1, Value: 1}); err != nil {
		t.Fatal(err)
	}
	if err := r.AddBatch([]Sample{{Name: "jobs_total", Type: TypeCounter, Labels: map[string]string{"queue": "", "x": ""}, Service: "app", TS: 1, Value: 1}}); err != nil {
		t.Fatal(err)
	}
	if n := r.Stats().Series; n != 2 {
		t.Errorf("Stats().Series = %d, want 2 ({} and {queue=mail})", n)
	}
	if err := r.Flush(ctx); err != nil {
		t.Fatal(err)
	}
	got := seriesOf(t, r, "jobs_total")
	want := []string{`{"queue":"mail"}=2.0`, `{}=7.0`}
	if len(got) != 2 || got[0] != want[0] || got[1] != want[1] {
		t.Errorf("stored series %q, want %q", got, want)
	}
	fams, _ := r.Gather()
	if len(fams) != 1 || len(fams[0].Metric) != 2 || len(fams[0].Metric[0].Label) != 0 || fams[0].Metric[0].GetCounter().GetValue() != 6 {
		t.Errorf("gathered %v, want jobs_total 6 (5 handles, 1 Add) and jobs_total{queue=\"mail\"} 2", fams)
	}

	// A gatherer's {a=""} is its {}: one series, one baseline.
	g := prometheus.GathererFunc(func() ([]*dto.MetricFamily, error) {
		return counterFam("ext_total", 4, "a", ""), nil
	})
	for range 2 {
		if err := r.RecordGatherer(ctx, g); err != nil {
			t.Fatal(err)
		}
	}
	if err := r.Flush(ctx); err != nil {
		t.Fatal(err)
	}
	if got := seriesOf(t, r, "ext_total"); len(got) != 1 || got[0] != `{}=4.0` {
		t.Errorf("gathered ext_total{a=\"\"} stored as %q, want [{}=4.0]", got)
	}
}

// The Recorder's own series {} served by a registry with an empty label
// (a="") is still its own: skipped, not recorded a second time.
func TestGatheredOwnSeriesWithEmptyLabel(t *testing.T) {
	r, _ := newRecorder(t, Options{Service: "app"})
	ctx := context.Background()
	r.Counter("own_total", nil).Add(3)
	g := prometheus.GathererFunc(func() ([]*dto.MetricFamily, error) {
		return counterFam("own_total", 3, "a", ""), nil
	})
	if err := r.RecordGatherer(ctx, g); err != nil {
		t.Fatal(err)
	}
	if err := r.Flush(ctx); err != nil {
		t.Fatal(err)
	}
	if got := seriesOf(t, r, "own_total"); len(got) != 1 || got[0] != `{}=3.0` {
		t.Errorf("own_total stored %q, want [{}=3.0] (the gathered copy skipped)", got)
	}
}
