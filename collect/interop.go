// Interop with client_golang both ways: the Recorder as a
// prometheus.Collector and Gatherer, and a Gatherer's families recorded
// into the Recorder's store.

package collect

import (
	"context"
	"errors"
	"fmt"

	"github.com/prometheus/client_golang/prometheus"
	dto "github.com/prometheus/client_model/go"

	"github.com/vigil-metrics/vigil/internal/cumulative"
	"github.com/vigil-metrics/vigil/internal/scrape"
)

var (
	_ prometheus.Collector = (*Recorder)(nil)
	_ prometheus.Gatherer  = (*Recorder)(nil)
)

// Describe implements prometheus.Collector. It sends no descriptor: the
// Recorder's series are made while it runs, so it registers as an
// unchecked collector (registry.MustRegister(r) works; a name both the
// Recorder and another collector of the registry expose is an error at
// gather time, not at registration).
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

// RecordGatherer records what g gathers (a client_golang registry, in
// the same process: no HTTP) into the Recorder's store, stamped now, as
// the agent's scrape path stores a scraped page: counters, and
// histograms' and summaries' buckets, _sum and _count, as increments
// since the previous call (the first call counts from zero: the
// registry's totals are what this process did), gauges and summary
// quantiles as values. The samples take Options.Service, and
// Options.ConstLabels where the gathered labels lack them; the families'
// help texts are stored too. Families the Recorder itself serves (a
// registry it is registered in) are skipped, and what is recorded here
// is left out of Handler and Gather (the registry serves it). Call it
// once, or on a timer (Options.Gatherers does so at every flush). g's
// errors are returned after what it did gather is recorded.
func (r *Recorder) RecordGatherer(ctx context.Context, g prometheus.Gatherer) error {
	if r == nil {
		return nil
	}
	fams, gerr := g.Gather()
	if err := ctx.Err(); err != nil {
		return err
	}
	own := map[string]bool{}
	for _, f := range r.gather() {
		own[f.GetName()] = true
	}
	byName := make(map[string]*dto.MetricFamily, len(fams))
	for _, f := range fams {
		if f == nil || own[f.GetName()] {
			continue
		}
		byName[f.GetName()] = f
		if f.GetHelp() != "" {
			r.setHelp(f.GetName(), f.GetHelp())
		}
	}
	r.gmu.Lock()
	if r.gtrack == nil {
		r.gtrack = cumulative.New()
		r.gtrack.ZeroBase = true
	}
	samples := scrape.Convert(byName, nil, r.opt.Service, r.now(), r.gtrack)
	r.gmu.Unlock()
	for i := range samples {
		for k, v := range r.opt.ConstLabels {
			if _, ok := samples[i].Labels[k]; !ok {
				samples[i].Labels[k] = v
			}
		}
	}
	err := r.addBatch(samples, true)
	return errors.Join(gerr, err)
}

// recordGatherers records Options.Gatherers (at every flush); errors are
// logged once per gatherer.
func (r *Recorder) recordGatherers() {
	for i, g := range r.opt.Gatherers {
		if err := r.RecordGatherer(r.loopCtx, g); err != nil && !errors.Is(err, ErrClosed) {
			r.warnOnce(fmt.Sprint("gatherer:", i), "record gatherer", "gatherer", i, "err", err)
		}
	}
}
