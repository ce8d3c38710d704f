package collect

import (
	"context"
	"errors"
	"net/http"
	"net/http/httptest"
	"reflect"
	"testing"
	"time"
)

// histSums flushes r and returns each histogram's stored observations by
// name (sum and count).
func histSums(t *testing.T, r *Recorder) map[string][2]float64 {
	t.Helper()
	if err := r.Flush(context.Background()); err != nil {
		t.Fatal(err)
	}
	rs, err := r.storeNow().DBForTest().Query(`SELECT name, sum(value), count(*) FROM metrics WHERE type = 'histogram' GROUP BY name`)
	if err != nil {
		t.Fatal(err)
	}
	defer rs.Close()
	out := map[string][2]float64{}
	for rs.Next() {
		var name string
		var sum, n float64
		rs.Scan(&name, &sum, &n)
		out[name] = [2]float64{sum, n}
	}
	return out
}

// unitsRun records one 250 ms request through Middleware (with the SLI
// helpers), one 250 ms Monitor operation, and 250 ms timers into render_ms
// and render_seconds and a name without a unit.
func unitsRun(t *testing.T, naming Naming) map[string][2]float64 {
	r, clk := newRecorder(t, Options{Service: "app", Naming: naming})
	mux := http.NewServeMux()
	mux.HandleFunc("GET /x", func(http.ResponseWriter, *http.Request) { clk.Advance(250 * time.Millisecond) })
	h := r.Middleware(mux, MiddlewareOptions{SLIService: "app", LatencyThreshold: time.Second})
	h.ServeHTTP(httptest.NewRecorder(), httptest.NewRequest("GET", "/x", nil))
	r.Monitor(context.Background(), "job", nil, func(context.Context) error { clk.Advance(250 * time.Millisecond); return errors.New("x") })
	for _, name := range []string{"render_ms", "render_seconds", "render"} {
		tm := r.StartTimer(name, nil)
		clk.Advance(250 * time.Millisecond)
		tm.ObserveDuration()
	}
	got := histSums(t, r)
	delete(got, "job_memory_delta_mb")
	delete(got, "job_memory_delta_bytes")
	return got
}

// The default keeps the reference design's names and milliseconds.
func TestUnitsReference(t *testing.T) {
	got := unitsRun(t, NamingReference)
	want := map[string][2]float64{
		"response_time_ms": {250, 1}, "sli_request_duration_ms": {250, 1}, "job_duration_ms": {250, 1},
		"render_ms": {250, 1}, "render_seconds": {0.25, 1}, "render": {250, 1},
	}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("reference naming: %v, want %v", got, want)
	}
}

// NamingPrometheus records base units under Prometheus's names: 250 ms is
// 0.25 in http_request_duration_seconds; a name that says _ms keeps ms.
func TestUnitsPrometheus(t *testing.T) {
	got := unitsRun(t, NamingPrometheus)
	want := map[string][2]float64{
		"http_request_duration_seconds": {0.25, 1}, "sli_request_duration_seconds": {0.25, 1}, "job_duration_seconds": {0.25, 1},
		"render_ms": {250, 1}, "render_seconds": {0.25, 1}, "render": {0.25, 1},
	}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("prometheus naming: %v, want %v", got, want)
	}
}

// Under NamingPrometheus Monitor's memory delta is in bytes.
func TestUnitsPrometheusMemoryName(t *testing.T) {
	r, _ := newRecorder(t, Options{Naming: NamingPrometheus})
	r.Monitor(context.Background(), "job", nil, func(context.Context) error { return nil })
	got := histSums(t, r)
	if _, ok := got["job_memory_delta_bytes"]; !ok {
		t.Errorf("histograms %v: no job_memory_delta_bytes", got)
	}
}
