package collect

import (
	"context"
	"errors"
	"fmt"
	"math"
	"os"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/vigil-metrics/vigil/internal/store"
)

// Counter records increments. The zero value, a handle from a nil
// Recorder, records nothing; a handle refused by a non-strict Recorder
// counts every call in Stats().Invalid.
type Counter struct {
	r *Recorder
	s *series
}

// Gauge records point-in-time values.
type Gauge struct {
	r *Recorder
	s *series
}

// Histogram records raw observations, from which percentiles are computed.
type Histogram struct {
	r *Recorder
	s *series
}

// handle resolves name{labels} with the constant labels merged in.
// quiet: see lookupQ.
func (r *Recorder) handle(name string, typ store.Type, labels map[string]string, quiet bool) (*series, error) {
	if len(r.opt.ConstLabels) > 0 {
		labels = merge(r.opt.ConstLabels, labels)
	}
	return r.lookupQ(name, typ, labels, r.opt.Service, quiet, true)
}

// merge returns base overlaid with over (a new map when both are set).
func merge(base, over map[string]string) map[string]string {
	if len(over) == 0 {
		return base
	}
	if len(base) == 0 {
		return over
	}
	m := make(map[string]string, len(base)+len(over))
	for k, v := range base {
		m[k] = v
	}
	for k, v := range over {
		m[k] = v
	}
	return m
}

// handleOrLog is the constructors without an error: a mistake panics in
// Strict mode; otherwise it was logged once and the handle counts each
// use as invalid. A series refused by MaxSeries, MaxLabelBytes or
// MaxSeriesBytes (limits on data, not a mistake in the code) never panics.
// The help of opts is kept only for a name that is valid and of this type
// (help given with a refused name would be refused by the store).
func (r *Recorder) handleOrLog(name string, typ store.Type, labels map[string]string, opts []MetricOption) *series {
	s, err := r.handle(name, typ, labels, false)
	if err != nil && r.opt.Strict && !refusedForRoom(err) {
		panic("collect: " + err.Error())
	}
	if err == nil || refusedForRoom(err) {
		if herr := r.applyOpts(name, opts); herr != nil {
			if r.opt.Strict {
				panic("collect: " + herr.Error())
			}
			r.warnOnce("help-invalid:"+name, "help text refused", "name", name, "err", herr)
		}
	}
	return s
}

// handleType is the handle types: a Recorder and a series, nothing else.
type handleType interface {
	~struct {
		r *Recorder
		s *series
	}
}

// handleFor is the constructors without an error (see handleOrLog): the
// zero handle from a nil Recorder.
func handleFor[H handleType](r *Recorder, name string, typ store.Type, labels map[string]string, opts []MetricOption) H {
	if r == nil {
		return H{}
	}
	return H{r, r.handleOrLog(name, typ, labels, opts)}
}

// newHandle is the constructors with an error: the zero handle from a nil
// Recorder, or with the error of a refused series.
func newHandle[H handleType](r *Recorder, name string, typ store.Type, labels map[string]string, opts []MetricOption) (H, error) {
	if r == nil {
		return H{}, nil
	}
	if err := checkOpts(name, opts); err != nil {
		return H{}, err
	}
	s, err := r.handle(name, typ, labels, true)
	if err != nil {
		return H{}, err
	}
	r.applyOpts(name, opts)
	return H{r, s}, nil
}

// Counter returns the counter name{labels}. Keep the handle for hot paths;
// looking it up again does not allocate either. A mistake (see NewCounter)
// is logged once, or panics in Strict mode.
func (r *Recorder) Counter(name string, labels map[string]string, opts ...MetricOption) Counter {
	return handleFor[Counter](r, name, store.Counter, labels, opts)
}

// Gauge returns the gauge name{labels}.
func (r *Recorder) Gauge(name string, labels map[string]string, opts ...MetricOption) Gauge {
	return handleFor[Gauge](r, name, store.Gauge, labels, opts)
}

// Histogram returns the histogram name{labels}.
func (r *Recorder) Histogram(name string, labels map[string]string, opts ...MetricOption) Histogram {
	return handleFor[Histogram](r, name, store.Histogram, labels, opts)
}

// NewCounter returns the counter name{labels}, or an error matching
// ErrInvalid (bad name or label), ErrTypeConflict (the name is another
// type's), ErrGathered (RecordGatherer records that series) or
// ErrTooManySeries. It neither logs nor counts the mistake.
func (r *Recorder) NewCounter(name string, labels map[string]string, opts ...MetricOption) (Counter, error) {
	return newHandle[Counter](r, name, store.Counter, labels, opts)
}

// NewGauge is NewCounter for a gauge.
func (r *Recorder) NewGauge(name string, labels map[string]string, opts ...MetricOption) (Gauge, error) {
	return newHandle[Gauge](r, name, store.Gauge, labels, opts)
}

// NewHistogram is NewCounter for a histogram.
func (r *Recorder) NewHistogram(name string, labels map[string]string, opts ...MetricOption) (Histogram, error) {
	return newHandle[Histogram](r, name, store.Histogram, labels, opts)
}

// MustCounter is NewCounter that panics on an error, for handles made
// once at start-up (package-level variables).
func (r *Recorder) MustCounter(name string, labels map[string]string, opts ...MetricOption) Counter {
	return must(r.NewCounter(name, labels, opts...))
}

// MustGauge is NewGauge that panics on an error.
func (r *Recorder) MustGauge(name string, labels map[string]string, opts ...MetricOption) Gauge {
	return must(r.NewGauge(name, labels, opts...))
}

// MustHistogram is NewHistogram that panics on an error.
func (r *Recorder) MustHistogram(name string, labels map[string]string, opts ...MetricOption) Histogram {
	return must(r.NewHistogram(name, labels, opts...))
}

func must[H any](h H, err error) H {
	if err != nil {
		panic("collect: " + err.Error())
	}
	return h
}

// Add records an increment (v >= 0; a negative or NaN one panics in
// Strict mode, else it is counted in Stats().Invalid and logged once).
// With coalescing it is an atomic add on the series: no lock, no
// allocation, no clock read.
func (c Counter) Add(v float64) {
	s := c.s
	if s == nil || !s.coalesce {
		c.r.recordNow(s, v)
		return
	}
	if !(v >= 0) || v > math.MaxFloat64 {
		c.r.invalidValue(s, store.ValidateValue(store.Counter, v))
		return
	}
	if s.bucket.Load() != c.r.cur.Load() && !c.r.rollover(s) {
		return
	}
	if u := uint64(v); v < 1<<53 && float64(u) == v {
		s.accInt.Add(u)
	} else {
		addFloat(&s.accF, v)
	}
}

// Inc records an increment of 1.
func (c Counter) Inc() {
	s := c.s
	if s == nil || !s.coalesce {
		c.r.recordNow(s, 1)
		return
	}
	if s.bucket.Load() != c.r.cur.Load() && !c.r.rollover(s) {
		return
	}
	s.accInt.Add(1)
}

// Set records the gauge's current value.
func (g Gauge) Set(v float64) { g.update(v, false) }

// Add adds v (which may be negative) to the gauge's value, which starts
// at 0 in this process, and records the result.
func (g Gauge) Add(v float64) { g.update(v, true) }

// update is Set, or Add where add. An invalid value (NaN or infinite)
// panics in Strict mode, else it is counted in Stats().Invalid and logged
// once; the gauge's value stays as it was.
func (g Gauge) update(v float64, add bool) {
	s := g.s
	if s == nil {
		g.r.recordNow(s, v)
		return
	}
	if v != v || math.IsInf(v, 0) {
		g.r.invalidValue(s, store.ValidateValue(store.Gauge, v))
		return
	}
	if s.coalesce && s.bucket.Load() != g.r.cur.Load() && !g.r.rollover(s) {
		return
	}
	if add {
		v = addFloat(&s.gval, v)
	} else {
		s.gval.Store(math.Float64bits(v))
	}
	if !s.coalesce {
		g.r.recordNow(s, v)
		return
	}
	s.gdirty.Store(true)
}

// Inc adds 1 to the gauge.
func (g Gauge) Inc() { g.Add(1) }

// Dec subtracts 1 from the gauge.
func (g Gauge) Dec() { g.Add(-1) }

// Observe records one observation.
func (h Histogram) Observe(v float64) { h.r.recordNow(h.s, v) }

// ObserveDuration records d in the unit of time the histogram's name says
// (_seconds, _ms, _us, _ns, _minutes... under either naming); a name
// without one takes Options.Naming's unit (see Naming).
func (h Histogram) ObserveDuration(d time.Duration) {
	if h.s == nil {
		h.r.recordNow(nil, 0)
		return
	}
	h.Observe(h.r.durationIn(h.s.name, d))
}

// GaugeFunc registers a gauge whose value fn returns; it is read at every
// flush (the interval, Flush and Close), stamped with the flush's time,
// and at every scrape of Handler. fn must be safe to call from the
// flushing goroutine and from the scraping one, and must not block.
func (r *Recorder) GaugeFunc(name string, labels map[string]string, fn func() float64, opts ...MetricOption) error {
	if r == nil {
		return nil
	}
	if err := checkOpts(name, opts); err != nil {
		if r.opt.Strict {
			panic("collect: " + err.Error())
		}
		return err
	}
	s, err := r.handle(name, store.Gauge, labels, false)
	if err != nil {
		if r.opt.Strict {
			panic("collect: " + err.Error())
		}
		return err
	}
	r.applyOpts(name, opts)
	r.amu.Lock()
	r.funcs = append(r.funcs, gaugeFunc{s, fn})
	r.amu.Unlock()
	return nil
}

// recordNow records v at the clock's now; a refused series (nil, logged
// once when refused) is counted as invalid, not stored. r is nil only for
// a zero-value handle.
func (r *Recorder) recordNow(s *series, v float64) {
	if r == nil {
		return
	}
	if s == nil {
		r.invalid.Add(1)
		return
	}
	r.record(s, r.now(), v)
}

func ms(d time.Duration) float64 { return float64(d) / float64(time.Millisecond) }

// Timer starts timing and returns the function that records the elapsed
// time into the histogram name{labels}: `defer r.Timer(...)()`. The unit
// follows the name and Options.Naming, as for StartTimer. It is kept for
// existing callers: a forgotten final () times nothing, and it cannot
// add labels known at the end or return the duration.
//
// Deprecated: use StartTimer (t := r.StartTimer(...); defer
// t.ObserveDuration()), which mirrors client_golang's prometheus.NewTimer.
func (r *Recorder) Timer(name string, labels map[string]string, opts ...MetricOption) func() {
	if r == nil {
		return func() {}
	}
	t := r.StartTimer(name, labels, opts...)
	return func() { t.ObserveDuration() }
}

// A Timer times one operation into a histogram; it records once.
type Timer struct {
	r      *Recorder
	h      Histogram
	name   string
	labels map[string]string
	start  time.Time
	done   atomic.Bool
}

// StartTimer starts timing into the histogram name{labels}:
//
//	t := r.StartTimer("render_seconds", labels)
//	defer t.ObserveDuration()
//
// The unit follows the name and Options.Naming (see
// Histogram.ObserveDuration). A bad name is reported here
// (logged once, or a panic in Strict mode). It is the timer API to use;
// Timer is deprecated.
func (r *Recorder) StartTimer(name string, labels map[string]string, opts ...MetricOption) *Timer {
	if r == nil {
		return &Timer{}
	}
	return &Timer{r: r, h: r.Histogram(name, labels, opts...), name: name, labels: labels, start: r.opt.Now()}
}

// ObserveDuration records the time since StartTimer and returns it. Only
// the first ObserveDuration or ObserveDurationWith records.
func (t *Timer) ObserveDuration() time.Duration {
	if t.r == nil {
		return 0
	}
	d := t.r.opt.Now().Sub(t.start)
	if !t.done.Swap(true) {
		t.h.ObserveDuration(d)
	}
	return d
}

// ObserveDurationWith is ObserveDuration with labels known only at the
// end (a status, a result class) added to the timer's.
func (t *Timer) ObserveDurationWith(extra map[string]string) time.Duration {
	if t.r == nil {
		return 0
	}
	d := t.r.opt.Now().Sub(t.start)
	if !t.done.Swap(true) {
		t.r.Histogram(t.name, merge(t.labels, extra)).ObserveDuration(d)
	}
	return d
}

// ErrorClass names the errors that match Err (errors.Is).
type ErrorClass struct {
	Err   error
	Label string
}

// ClassifyErrors returns an Options.ErrorClassifier giving the Label of
// the first class whose Err matches (errors.Is), else "error".
func ClassifyErrors(classes ...ErrorClass) func(error) string {
	return func(err error) string {
		for _, c := range classes {
			if errors.Is(err, c.Err) {
				return c.Label
			}
		}
		return "error"
	}
}

type monitorNames struct{ started, completed, failed, duration, memory string }

// monitorCache holds Monitor's names per op, one map per Naming.
var monitorCache [2]sync.Map // op -> *monitorNames

func namesOf(op string, naming Naming) *monitorNames {
	prom := naming == NamingPrometheus
	cache := &monitorCache[0]
	if prom {
		cache = &monitorCache[1]
	}
	if n, ok := cache.Load(op); ok {
		return n.(*monitorNames)
	}
	n := &monitorNames{op + "_started_total", op + "_completed_total", op + "_failed_total",
		op + "_duration_ms", op + "_memory_delta_mb"}
	if prom {
		n.duration, n.memory = op+"_duration_seconds", op+"_memory_delta_bytes"
	}
	cache.Store(op, n)
	return n
}

// Monitor runs fn and records <op>_started_total, then
// <op>_completed_total{status="success"} or
// <op>_failed_total{status="failed",error=<class>} (the class from
// Options.ErrorClassifier), and the histograms <op>_duration_ms and
// <op>_memory_delta_mb (process RSS before and after). fn's error is
// returned unchanged. On a nil Recorder it only runs fn.
func (r *Recorder) Monitor(ctx context.Context, op string, labels map[string]string, fn func(context.Context) error) error {
	if r == nil {
		return fn(ctx)
	}
	n := namesOf(op, r.opt.Naming)
	r.Counter(n.started, labels).Inc()
	start := r.opt.Now()
	rss0 := residentBytes()
	err := fn(ctx)
	d := r.opt.Now().Sub(start)
	m := make(map[string]string, len(labels)+2)
	for k, v := range labels {
		m[k] = v
	}
	if err != nil {
		m["status"], m["error"] = "failed", r.opt.ErrorClassifier(err)
		r.Counter(n.failed, m).Inc()
	} else {
		m["status"] = "success"
		r.Counter(n.completed, m).Inc()
	}
	r.Histogram(n.duration, labels).Observe(r.durationIn(n.duration, d))
	delta := float64(residentBytes() - rss0)
	if r.opt.Naming != NamingPrometheus {
		delta /= 1 << 20
	}
	r.Histogram(n.memory, labels).Observe(delta)
	return err
}

// ErrorType names an error's Go type without its package and pointer:
// "*fs.PathError" gives "PathError" (for Options.ErrorClassifier).
func ErrorType(err error) string {
	t := fmt.Sprintf("%T", err)
	t = strings.TrimLeft(t, "*")
	if i := strings.LastIndexByte(t, '.'); i >= 0 {
		t = t[i+1:]
	}
	return t
}

var statm struct {
	once sync.Once
	f    *os.File
}

// residentBytes reads the process's resident set size (Linux) from a
// /proc/self/statm kept open; 0 elsewhere.
func residentBytes() int64 {
	statm.once.Do(func() { statm.f, _ = os.Open("/proc/self/statm") })
	if statm.f == nil {
		return 0
	}
	var buf [128]byte
	n, err := statm.f.ReadAt(buf[:], 0)
	if n == 0 && err != nil {
		return 0
	}
	// The second field is the resident page count.
	b := buf[:n]
	i := 0
	for i < len(b) && b[i] != ' ' {
		i++
	}
	i++
	var pages int64
	for ; i < len(b) && b[i] >= '0' && b[i] <= '9'; i++ {
		pages = pages*10 + int64(b[i]-'0')
	}
	return pages * int64(os.Getpagesize())
}

func boolLabel(b bool) string {
	if b {
		return "true"
	}
	return "false"
}

// TrackAvailability records the availability SLI: sli_requests_total
// {service,success} and the histogram sli_request_duration_ms
// {service,success}, with lowercase "true"/"false".
func (r *Recorder) TrackAvailability(service string, success bool, d time.Duration) {
	l := map[string]string{"service": service, "success": boolLabel(success)}
	r.Counter("sli_requests_total", l).Inc()
	if r == nil {
		return
	}
	r.Histogram(r.sliDuration(), l).Observe(r.durationIn(r.sliDuration(), d))
}

// TrackLatency records the latency SLI: sli_latency_requests_total
// {service,fast}, fast meaning d < threshold.
func (r *Recorder) TrackLatency(service string, d, threshold time.Duration) {
	r.Counter("sli_latency_requests_total", map[string]string{"service": service, "fast": boolLabel(d < threshold)}).Inc()
}
