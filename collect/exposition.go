package collect

import (
	"bytes"
	"maps"
	"math"
	"net/http"
	"slices"
	"sort"
	"strings"
	"sync/atomic"

	dto "github.com/prometheus/client_model/go"
	"github.com/prometheus/common/expfmt"

	"github.com/vigil-metrics/vigil/internal/store"
)

// DefBuckets are the default buckets of a histogram in seconds (the
// Prometheus client's): Handler uses them for names ending in _seconds and
// names without a unit, and converted to the unit of time a name says
// otherwise (x1000 for names ending in _ms, ...).
var DefBuckets = []float64{.005, .01, .025, .05, .1, .25, .5, 1, 2.5, 5, 10}

var defMSBuckets = func() []float64 {
	b := make([]float64, len(DefBuckets))
	for i, v := range DefBuckets {
		b[i] = math.Round(v*1000*1e6) / 1e6
	}
	return b
}()

// cleanBuckets sorts the bounds and drops NaN, +Inf (implicit) and
// duplicates; nil stays nil (the defaults by name).
func cleanBuckets(b []float64) []float64 {
	if b == nil {
		return nil
	}
	out := make([]float64, 0, len(b))
	for _, v := range b {
		if v == v && !math.IsInf(v, 1) {
			out = append(out, v)
		}
	}
	slices.Sort(out)
	return slices.Compact(out)
}

// sizeBuckets are the default buckets of a size in bytes: 1 KiB to 1 GiB
// by powers of 4; mbBuckets the same in megabytes (MiB, as Monitor's
// <op>_memory_delta_mb).
var sizeBuckets, mbBuckets = func() (b, mb []float64) {
	for v := 1024.0; v <= 1<<30; v *= 4 {
		b = append(b, v)
		mb = append(mb, v/(1<<20))
	}
	return b, mb
}()

// bucketsFor is a histogram's bucket bounds: Options.Buckets, else the
// sizes of sizeBuckets for a name ending in _bytes or _mb, else
// DefBuckets in the unit of time the name says (seconds without one).
func (r *Recorder) bucketsFor(name string) []float64 {
	switch {
	case r.opt.Buckets != nil:
		return r.opt.Buckets
	case strings.HasSuffix(name, "_bytes"):
		return sizeBuckets
	case strings.HasSuffix(name, "_mb"):
		return mbBuckets
	}
	u, ok := timeUnitOf(name)
	switch {
	case !ok:
		return DefBuckets
	case u.bucket == nil:
		return defMSBuckets
	}
	scaled := make([]float64, len(DefBuckets)) // once per series made
	for i, b := range DefBuckets {
		scaled[i] = u.bucket(b)
	}
	return scaled
}

// histState is a histogram's buckets for Handler: counts per bucket (not
// cumulative; the last one is +Inf), the sum and the count.
type histState struct {
	bounds []float64
	counts []atomic.Uint64
	sum    atomic.Uint64 // float64 bits
	count  atomic.Uint64
}

func newHist(bounds []float64) *histState {
	return &histState{bounds: bounds, counts: make([]atomic.Uint64, len(bounds)+1)}
}

func (h *histState) observe(v float64) {
	h.counts[sort.SearchFloat64s(h.bounds, v)].Add(1) // first bound >= v: le
	addFloat(&h.sum, v)
	h.count.Add(1)
}

// Handler serves what the Recorder holds in the Prometheus text format
// (version 0.0.4), so that Prometheus can scrape the service that vigil
// stores: counters as their totals since the Recorder started, gauges as
// their last value (a GaugeFunc is read at the scrape), histograms as
// cumulative buckets (Options.Buckets) with _sum and _count. It serves the
// series of Options.Service, made by the handles, Monitor, Middleware
// and the SLI helpers (Add and AddBatch samples of another service are
// left out). A series that ForgetIdle forgot is left out until it is
// recorded again, then starts from 0 (a counter reset to Prometheus). On a
// nil Recorder it serves an empty page.
func (r *Recorder) Handler() http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		var buf bytes.Buffer
		for _, mf := range r.gather() {
			if _, err := expfmt.MetricFamilyToText(&buf, mf); err != nil {
				http.Error(w, err.Error(), http.StatusInternalServerError)
				return
			}
		}
		w.Header().Set("Content-Type", string(expfmt.NewFormat(expfmt.TypeTextPlain)))
		w.Write(buf.Bytes()) //nolint:errcheck // the scraper went away: nothing to do
	})
}

// gather returns the metric families Handler serves, sorted by name, their
// metrics sorted by labels.
func (r *Recorder) gather() []*dto.MetricFamily {
	if r == nil {
		return nil
	}
	r.smu.RLock()
	var ss []*series
	for _, l := range r.byHash {
		for _, s := range l {
			if s.service == r.opt.Service && !s.refused.Load() && !s.external {
				ss = append(ss, s)
			}
		}
	}
	help := maps.Clone(r.help)
	r.smu.RUnlock()

	r.amu.Lock()
	fns := make(map[*series]func() float64, len(r.funcs))
	for _, f := range r.funcs {
		fns[f.s] = f.fn
	}
	// Under amu a drain cannot be halfway between an accumulator and the
	// total.
	totals := make(map[*series]float64)
	for _, s := range ss {
		if s.typ == store.Counter {
			totals[s] = math.Float64frombits(s.total.Load()) + float64(s.accInt.Load()) + math.Float64frombits(s.accF.Load())
		}
	}
	r.amu.Unlock()

	fams := map[string]*dto.MetricFamily{}
	for _, s := range ss {
		m := &dto.Metric{Label: labelPairs(s.labels)}
		var typ dto.MetricType
		switch s.typ {
		case store.Counter:
			typ = dto.MetricType_COUNTER
			m.Counter = &dto.Counter{Value: ptr(totals[s])}
		case store.Gauge:
			typ = dto.MetricType_GAUGE
			v := math.Float64frombits(s.gval.Load())
			if fn := fns[s]; fn != nil {
				v = fn() // outside the locks: it may use the Recorder
			}
			m.Gauge = &dto.Gauge{Value: ptr(v)}
		case store.Histogram:
			if s.hist == nil {
				continue
			}
			typ = dto.MetricType_HISTOGRAM
			m.Histogram = s.hist.dto()
		default:
			continue
		}
		f := fams[s.name]
		if f == nil {
			f = &dto.MetricFamily{Name: ptr(s.name), Type: typ.Enum()}
			if h := help[s.name]; h != "" {
				f.Help = ptr(h)
			}
			fams[s.name] = f
		}
		f.Metric = append(f.Metric, m)
	}
	out := make([]*dto.MetricFamily, 0, len(fams))
	for _, f := range fams {
		sort.Slice(f.Metric, func(i, j int) bool { return labelsLess(f.Metric[i].Label, f.Metric[j].Label) })
		out = append(out, f)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].GetName() < out[j].GetName() })
	return out
}

func (h *histState) dto() *dto.Histogram {
	out := &dto.Histogram{Bucket: make([]*dto.Bucket, len(h.bounds))}
	// Read the buckets first: the count is then at least their sum (an
	// observation racing the scrape shows in _count, not yet in a bucket).
	var cum uint64
	for i, b := range h.bounds {
		cum += h.counts[i].Load()
		out.Bucket[i] = &dto.Bucket{UpperBound: ptr(b), CumulativeCount: ptr(cum)}
	}
	cum += h.counts[len(h.bounds)].Load()
	n := max(h.count.Load(), cum)
	out.SampleCount = &n
	out.SampleSum = ptr(math.Float64frombits(h.sum.Load()))
	return out
}

func labelPairs(l map[string]string) []*dto.LabelPair {
	out := make([]*dto.LabelPair, 0, len(l))
	for k, v := range l {
		out = append(out, &dto.LabelPair{Name: ptr(k), Value: ptr(v)})
	}
	sort.Slice(out, func(i, j int) bool { return out[i].GetName() < out[j].GetName() })
	return out
}

func labelsLess(a, b []*dto.LabelPair) bool {
	for i := 0; i < len(a) && i < len(b); i++ {
		if a[i].GetName() != b[i].GetName() {
			return a[i].GetName() < b[i].GetName()
		}
		if a[i].GetValue() != b[i].GetValue() {
			return a[i].GetValue() < b[i].GetValue()
		}
	}
	return len(a) < len(b)
}

func ptr[T any](v T) *T { return &v }
