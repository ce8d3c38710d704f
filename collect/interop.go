// Interop with client_golang both ways: the Recorder as a
// prometheus.Collector and Gatherer, and a Gatherer's families recorded
// into the Recorder's store.

package collect

import (
	"github.com/prometheus/client_golang/prometheus"
	dto "github.com/prometheus/client_model/go"
)

var (
	_ prometheus.Collector = (*Recorder)(nil)
	_ prometheus.Gatherer  = (*Recorder)(nil)
)

// Describe implements prometheus.Collector. It sends no descriptor: the
// Recorder's series are made while it runs, so it registers as an
// unchecked collector (registry.MustRegister(r) works; a name both the
// Recorder and another collector of the registry expose is an error at
// gather time, not at registration; so is the Recorder registered twice
// in one registry: a checked Recorder would be refused by pedantic
// registries, testutil.CollectAndCompare's among them).
func (r *Recorder) Describe(chan<- *prometheus.Desc) {}

// Collect implements prometheus.Collector: the series Handler serves, as
// constant metrics with their help text.
func (r *Recorder) Collect(ch chan<- prometheus.Metric) {
	for _, f := range r.gather() {
		for _, m := range f.Metric {
			names := make([]string, len(m.Label))
			values := make([]string, len(m.Label))
			for i, l := range m.Label {
				names[i], values[i] = l.GetName(), l.GetValue()
			}
			desc := prometheus.NewDesc(f.GetName(), f.GetHelp(), names, nil)
			var pm prometheus.Metric
			var err error
			switch f.GetType() {
			case dto.MetricType_COUNTER:
				pm, err = prometheus.NewConstMetric(desc, prometheus.CounterValue, m.GetCounter().GetValue(), values...)
			case dto.MetricType_GAUGE:
				pm, err = prometheus.NewConstMetric(desc, prometheus.GaugeValue, m.GetGauge().GetValue(), values...)
			case dto.MetricType_HISTOGRAM:
				h := m.GetHistogram()
				buckets := make(map[float64]uint64, len(h.Bucket))
				for _, b := range h.Bucket {
					buckets[b.GetUpperBound()] = b.GetCumulativeCount()
				}
				pm, err = prometheus.NewConstHistogram(desc, h.GetSampleCount(), h.GetSampleSum(), buckets, values...)
			default:
				continue
			}
			if err != nil {
				pm = prometheus.NewInvalidMetric(desc, err)
			}
			ch <- pm
		}
	}
}

// Gather implements prometheus.Gatherer: the metric families Handler
// serves, sorted by name, their metrics sorted by labels, so
// promhttp.HandlerFor(r, ...) and client_golang's testutil take the
// Recorder. The error is always nil (a nil Recorder gathers nothing).
func (r *Recorder) Gather() ([]*dto.MetricFamily, error) { return r.gather(), nil }
