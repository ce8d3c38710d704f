package collect

import (
	"context"
	"fmt"
	"net/http"
	"os"
	"strconv"
	"strings"
	"time"

	"github.com/vigil-metrics/vigil/collect/store"
)

// Counter records increments. The zero value (for a refused series)
// records nothing.
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

// Counter returns the counter name{labels}. Keep the handle for hot paths;
// looking it up again does not allocate either.
func (r *Recorder) Counter(name string, labels map[string]string) Counter {
	return Counter{r, r.lookup(name, store.Counter, labels, r.opt.Service)}
}

// Gauge returns the gauge name{labels}.
func (r *Recorder) Gauge(name string, labels map[string]string) Gauge {
	return Gauge{r, r.lookup(name, store.Gauge, labels, r.opt.Service)}
}

// Histogram returns the histogram name{labels}.
func (r *Recorder) Histogram(name string, labels map[string]string) Histogram {
	return Histogram{r, r.lookup(name, store.Histogram, labels, r.opt.Service)}
}

// Add records an increment (v >= 0).
func (c Counter) Add(v float64) { c.r.recordNow(c.s, v) }

// Inc records an increment of 1.
func (c Counter) Inc() { c.Add(1) }

// Set records the gauge's current value.
func (g Gauge) Set(v float64) { g.r.recordNow(g.s, v) }

// Observe records one observation.
func (h Histogram) Observe(v float64) { h.r.recordNow(h.s, v) }

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
// milliseconds into the histogram name{labels}: `defer r.Timer(...)()`.
func (r *Recorder) Timer(name string, labels map[string]string) func() {
	h := r.Histogram(name, labels)
	start := r.opt.Now()
	return func() { h.Observe(ms(r.opt.Now().Sub(start))) }
}

// Monitor runs fn as the reference design's monitored_operation: it records
// <op>_started_total, then <op>_completed_total{status="success"} or
// <op>_failed_total{status="failed",error=<type>}, and the histograms
// <op>_duration_ms and <op>_memory_delta_mb (process RSS before and after).
// fn's error is returned unchanged.
func (r *Recorder) Monitor(ctx context.Context, op string, labels map[string]string, fn func(context.Context) error) error {
	r.Counter(op+"_started_total", labels).Inc()
	start := r.opt.Now()
	rss0 := residentBytes()
	err := fn(ctx)
	with := func(extra ...string) map[string]string {
		m := make(map[string]string, len(labels)+len(extra)/2)
		for k, v := range labels {
			m[k] = v
		}
		for i := 0; i+1 < len(extra); i += 2 {
			m[extra[i]] = extra[i+1]
		}
		return m
	}
	if err != nil {
		r.Counter(op+"_failed_total", with("status", "failed", "error", ErrorType(err))).Inc()
	} else {
		r.Counter(op+"_completed_total", with("status", "success")).Inc()
	}
	r.Histogram(op+"_duration_ms", labels).Observe(ms(r.opt.Now().Sub(start)))
	r.Histogram(op+"_memory_delta_mb", labels).Observe(float64(residentBytes()-rss0) / (1 << 20))
	return err
}

// ErrorType names an error's type as the reference design's
// type(e).__name__ does: "*fs.PathError" becomes "PathError".
func ErrorType(err error) string {
	t := fmt.Sprintf("%T", err)
	t = strings.TrimLeft(t, "*")
	if i := strings.LastIndexByte(t, '.'); i >= 0 {
		t = t[i+1:]
	}
	return t
}

// residentBytes reads the process's resident set size (Linux); 0 elsewhere.
func residentBytes() int64 {
	b, err := os.ReadFile("/proc/self/statm")
	if err != nil {
		return 0
	}
	f := strings.Fields(string(b))
	if len(f) < 2 {
		return 0
	}
	pages, _ := strconv.ParseInt(f[1], 10, 64)
	return pages * int64(os.Getpagesize())
}

// MiddlewareOptions tune Middleware.
type MiddlewareOptions struct {
	// Endpoint names a request's endpoint label. By default the route
	// pattern a net/http ServeMux matched ("GET /users/{id}" gives
	// "/users/{id}"), else the URL path: keep the label's cardinality low.
	Endpoint func(*http.Request) string
}

// Middleware records http_requests_total{method,endpoint,status} and the
// histogram response_time_ms{method,endpoint} for every request.
func (r *Recorder) Middleware(next http.Handler, opt MiddlewareOptions) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, req *http.Request) {
		start := r.opt.Now()
		sw := &statusWriter{ResponseWriter: w, status: http.StatusOK}
		next.ServeHTTP(sw, req)
		var endpoint string
		switch {
		case opt.Endpoint != nil:
			endpoint = opt.Endpoint(req)
		case req.Pattern != "":
			endpoint = req.Pattern
			if i := strings.IndexByte(endpoint, ' '); i >= 0 {
				endpoint = endpoint[i+1:] // drop the method of "GET /users/{id}"
			}
		default:
			endpoint = req.URL.Path
		}
		r.Counter("http_requests_total", map[string]string{
			"method": req.Method, "endpoint": endpoint, "status": strconv.Itoa(sw.status),
		}).Inc()
		r.Histogram("response_time_ms", map[string]string{"method": req.Method, "endpoint": endpoint}).
			Observe(ms(r.opt.Now().Sub(start)))
	})
}

type statusWriter struct {
	http.ResponseWriter
	status      int
	wroteHeader bool
}

func (w *statusWriter) WriteHeader(code int) {
	if !w.wroteHeader {
		w.status, w.wroteHeader = code, true
	}
	w.ResponseWriter.WriteHeader(code)
}

func (w *statusWriter) Write(b []byte) (int, error) {
	w.wroteHeader = true
	return w.ResponseWriter.Write(b)
}

// Unwrap lets http.ResponseController reach the underlying writer.
func (w *statusWriter) Unwrap() http.ResponseWriter { return w.ResponseWriter }

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
	r.Histogram("sli_request_duration_ms", l).Observe(ms(d))
}

// TrackLatency records the latency SLI: sli_latency_requests_total
// {service,fast}, fast meaning d < threshold.
func (r *Recorder) TrackLatency(service string, d, threshold time.Duration) {
	r.Counter("sli_latency_requests_total", map[string]string{"service": service, "fast": boolLabel(d < threshold)}).Inc()
}
