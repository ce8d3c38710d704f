package collect_test

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/vigil-metrics/vigil/collect"
	"github.com/vigil-metrics/vigil/internal/collectlink"
)

// A fixed clock keeps the examples' output stable.
func clock() time.Time { return time.Date(2026, 11, 29, 10, 0, 0, 0, time.UTC) }

func tempStore() (string, func()) {
	dir, _ := os.MkdirTemp("", "vigil-example")
	return filepath.Join(dir, "app.db"), func() { os.RemoveAll(dir) }
}

// storeDB is the Recorder's store, read here with SQL as any SQLite client
// reads the file (docs/storage.md: the metrics view is the reference
// design's table).
func storeDB(r *collect.Recorder) *sql.DB { return collectlink.Store(r).DBForTest() }

func show(r *collect.Recorder) {
	rows, _ := storeDB(r).Query(`SELECT name, type, labels, sum(value), count(*) FROM metrics GROUP BY name, type, labels ORDER BY name, labels`)
	defer rows.Close()
	for rows.Next() {
		var name, typ, labels string
		var sum float64
		var n int
		rows.Scan(&name, &typ, &labels, &sum, &n)
		fmt.Println(name, typ, labels, sum, n)
	}
}

func Example() {
	path, cleanup := tempStore()
	defer cleanup()
	r, err := collect.Open(path, collect.Options{Service: "billing", Now: clock})
	if err != nil {
		panic(err)
	}
	defer r.Close()

	invoices := r.Counter("invoices_total", map[string]string{"currency": "EUR"}) // keep handles on hot paths
	invoices.Inc()
	invoices.Add(2) // increments within a second (Options.Resolution) are one row
	r.Gauge("queue_depth", nil).Set(17)
	r.Histogram("render_ms", nil).Observe(41.5)

	r.Flush(context.Background())
	show(r)
	// Output:
	// invoices_total counter {"currency":"EUR"} 3 1
	// queue_depth gauge {} 17 1
	// render_ms histogram {} 41.5 1
}

func ExampleRecorder_Timer() {
	path, cleanup := tempStore()
	defer cleanup()
	r, _ := collect.Open(path, collect.Options{Now: clock})
	defer r.Close()

	func() {
		defer r.Timer("model_compression_duration_ms", map[string]string{"ratio": "0.5"})()
		// ... the work being timed ...
	}()

	r.Flush(context.Background())
	show(r)
	// Output:
	// model_compression_duration_ms histogram {"ratio":"0.5"} 0 1
}

func ExampleRecorder_Monitor() {
	path, cleanup := tempStore()
	defer cleanup()
	r, _ := collect.Open(path, collect.Options{Now: clock})
	defer r.Close()

	err := r.Monitor(context.Background(), "rag_query", map[string]string{"user_type": "premium"},
		func(ctx context.Context) error { return errors.New("index unavailable") })
	fmt.Println("error:", err)

	r.Flush(context.Background())
	rows, _ := storeDB(r).Query(`SELECT DISTINCT name, labels FROM metrics WHERE type = 'counter' ORDER BY name`)
	defer rows.Close()
	for rows.Next() {
		var name, labels string
		rows.Scan(&name, &labels)
		fmt.Println(name, labels)
	}
	// Output:
	// error: index unavailable
	// rag_query_failed_total {"error":"error","status":"failed","user_type":"premium"}
	// rag_query_started_total {"user_type":"premium"}
}

func ExampleRecorder_Middleware() {
	path, cleanup := tempStore()
	defer cleanup()
	r, _ := collect.Open(path, collect.Options{Now: clock})
	defer r.Close()

	mux := http.NewServeMux()
	mux.HandleFunc("GET /api/users/{id}", func(w http.ResponseWriter, _ *http.Request) { fmt.Fprint(w, "{}") })
	srv := httptest.NewServer(r.Middleware(mux, collect.MiddlewareOptions{}))
	defer srv.Close()
	for _, id := range []string{"1", "2", "3"} {
		resp, _ := http.Get(srv.URL + "/api/users/" + id)
		resp.Body.Close()
	}

	r.Flush(context.Background())
	show(r)
	// Output:
	// http_requests_total counter {"endpoint":"/api/users/{id}","method":"GET","status":"200"} 3 1
	// response_time_ms histogram {"endpoint":"/api/users/{id}","method":"GET"} 0 3
}

func ExampleRecorder_TrackAvailability() {
	path, cleanup := tempStore()
	defer cleanup()
	r, _ := collect.Open(path, collect.Options{Now: clock})
	defer r.Close()

	r.TrackAvailability("checkout", true, 120*time.Millisecond)
	r.TrackLatency("checkout", 120*time.Millisecond, 2*time.Second)

	r.Flush(context.Background())
	show(r)
	// Output:
	// sli_latency_requests_total counter {"fast":"true","service":"checkout"} 1 1
	// sli_request_duration_ms histogram {"service":"checkout","success":"true"} 120 1
	// sli_requests_total counter {"service":"checkout","success":"true"} 1 1
}

func ExampleRecorder_StartTimer() {
	path, cleanup := tempStore()
	defer cleanup()
	r, _ := collect.Open(path, collect.Options{Now: clock})
	defer r.Close()

	func() {
		t := r.StartTimer("checkout_duration_seconds", map[string]string{"region": "eu"})
		defer t.ObserveDurationWith(map[string]string{"status": "ok"}) // labels known at the end
		// ... the work being timed ...
	}()

	r.Flush(context.Background())
	show(r)
	// Output:
	// checkout_duration_seconds histogram {"region":"eu","status":"ok"} 0 1
}

func ExampleRecorder_NewCounter() {
	path, cleanup := tempStore()
	defer cleanup()
	r, _ := collect.Open(path, collect.Options{Now: clock})
	defer r.Close()

	if _, err := r.NewCounter("orders-created", nil); errors.Is(err, collect.ErrInvalid) {
		fmt.Println(err)
	}
	orders := r.MustCounter("orders_created_total", nil) // panics on a mistake: for handles made at start-up
	orders.Inc()
	if _, err := r.NewGauge("orders_created_total", nil); errors.Is(err, collect.ErrTypeConflict) {
		fmt.Println(err)
	}
	// Output:
	// metric "orders-created": invalid metric: invalid metric name "orders-created" (want [a-zA-Z_:][a-zA-Z0-9_:]*)
	// metric "orders_created_total" as a gauge: metric name already used with another type (a counter)
}

func ExampleRecorder_GaugeFunc() {
	path, cleanup := tempStore()
	defer cleanup()
	r, _ := collect.Open(path, collect.Options{Now: clock, ConstLabels: map[string]string{"host": "web-1"}})
	defer r.Close()

	queue := []string{"a", "b", "c"}
	r.GaugeFunc("queue_length", nil, func() float64 { return float64(len(queue)) }) // read at every flush

	r.Flush(context.Background())
	show(r)
	// Output:
	// queue_length gauge {"host":"web-1"} 3 1
}

func ExampleClassifyErrors() {
	path, cleanup := tempStore()
	defer cleanup()
	errNotFound := errors.New("not found")
	r, _ := collect.Open(path, collect.Options{Now: clock,
		ErrorClassifier: collect.ClassifyErrors(collect.ErrorClass{Err: errNotFound, Label: "not_found"})})
	defer r.Close()

	r.Monitor(context.Background(), "lookup", nil, func(context.Context) error {
		return fmt.Errorf("user 42: %w", errNotFound)
	})

	r.Flush(context.Background())
	rows, _ := storeDB(r).Query(`SELECT labels FROM metrics WHERE name = 'lookup_failed_total'`)
	defer rows.Close()
	for rows.Next() {
		var labels string
		rows.Scan(&labels)
		fmt.Println(labels)
	}
	// Output:
	// {"error":"not_found","status":"failed"}
}

// Middleware labels requests that match no route endpoint="unmatched" and
// methods outside MiddlewareOptions.Methods method="other", so scans make
// no new series; SLIService records the SLIs of every request.
func ExampleMiddlewareOptions() {
	path, cleanup := tempStore()
	defer cleanup()
	r, _ := collect.Open(path, collect.Options{Now: clock})
	defer r.Close()

	mux := http.NewServeMux()
	mux.HandleFunc("GET /api/users/{id}", func(w http.ResponseWriter, _ *http.Request) { fmt.Fprint(w, "{}") })
	h := r.Middleware(mux, collect.MiddlewareOptions{SLIService: "users", LatencyThreshold: 250 * time.Millisecond})
	for _, req := range []*http.Request{
		httptest.NewRequest("GET", "/api/users/1", nil),
		httptest.NewRequest("GET", "/wp-admin", nil),
		httptest.NewRequest("GET", "/.env", nil),
		httptest.NewRequest("DELETE", "/api/users/1", nil), // 405
		httptest.NewRequest("FOO", "/api/users/1", nil),
	} {
		h.ServeHTTP(httptest.NewRecorder(), req)
	}

	r.Flush(context.Background())
	rows, _ := storeDB(r).Query(`SELECT name, labels, sum(value) FROM metrics WHERE name IN ('http_requests_total', 'sli_requests_total') GROUP BY name, labels ORDER BY name, labels`)
	defer rows.Close()
	for rows.Next() {
		var name, labels string
		var sum float64
		rows.Scan(&name, &labels, &sum)
		fmt.Println(name, labels, sum)
	}
	// Output:
	// http_requests_total {"endpoint":"/api/users/{id}","method":"GET","status":"200"} 1
	// http_requests_total {"endpoint":"unmatched","method":"DELETE","status":"405"} 1
	// http_requests_total {"endpoint":"unmatched","method":"GET","status":"404"} 2
	// http_requests_total {"endpoint":"unmatched","method":"other","status":"405"} 1
	// sli_requests_total {"service":"users","success":"true"} 5
}

// Handler serves what the Recorder holds in the Prometheus text format:
// mount it on /metrics and the same service is scraped by Prometheus and
// stored by vigil.
func ExampleRecorder_Handler() {
	path, cleanup := tempStore()
	defer cleanup()
	r, _ := collect.Open(path, collect.Options{Now: clock, Buckets: []float64{0.1, 1}})
	defer r.Close()

	jobs := r.Counter("jobs_total", map[string]string{"queue": "mail"})
	jobs.Add(3)
	jobs.Inc() // a counter shows its total since start
	r.Gauge("queue_depth", nil).Set(7)
	r.Histogram("job_seconds", nil).Observe(0.4)

	mux := http.NewServeMux()
	mux.Handle("GET /metrics", r.Handler())
	w := httptest.NewRecorder()
	mux.ServeHTTP(w, httptest.NewRequest("GET", "/metrics", nil))
	body, _ := io.ReadAll(w.Body)
	fmt.Print(strings.ReplaceAll(string(body), "\n\n", "\n"))
	// Output:
	// # TYPE job_seconds histogram
	// job_seconds_bucket{le="0.1"} 0
	// job_seconds_bucket{le="1"} 1
	// job_seconds_bucket{le="+Inf"} 1
	// job_seconds_sum 0.4
	// job_seconds_count 1
	// # TYPE jobs_total counter
	// jobs_total{queue="mail"} 4
	// # TYPE queue_depth gauge
	// queue_depth 7
}

// A Gauge can also move up and down from 0 (Add, Inc, Dec): an in-flight
// count. Within one Options.Resolution bucket the last value is stored.
func ExampleGauge_Add() {
	path, cleanup := tempStore()
	defer cleanup()
	r, _ := collect.Open(path, collect.Options{Now: clock})
	defer r.Close()

	inflight := r.Gauge("jobs_inflight", nil)
	inflight.Inc()
	inflight.Inc()
	inflight.Add(3)
	inflight.Dec()

	r.Flush(context.Background())
	show(r)
	// Output:
	// jobs_inflight gauge {} 4 1
}

// Methods on a nil *Recorder do nothing, so a component can be given nil
// in tests or when metrics are off; its Middleware returns the handler.
func Example_nilRecorder() {
	var r *collect.Recorder
	r.Counter("jobs_total", nil).Inc()
	defer r.StartTimer("job_seconds", nil).ObserveDuration()
	err := r.Monitor(context.Background(), "job", nil, func(context.Context) error { return nil })
	fmt.Println(err, r.Stats().Written)
	// Output:
	// <nil> 0
}

// ErrorType names an error by its Go type, for an ErrorClassifier: keep
// the label's values few (a type, not a message).
func ExampleErrorType() {
	_, err := os.Open("/does/not/exist")
	fmt.Println(collect.ErrorType(err))
	// Output:
	// PathError
}

// Histogram.ObserveDuration records in the unit the name says: seconds
// for _seconds, milliseconds for _ms.
func ExampleHistogram_ObserveDuration() {
	path, cleanup := tempStore()
	defer cleanup()
	r, _ := collect.Open(path, collect.Options{Now: clock})
	defer r.Close()

	r.Histogram("upload_seconds", nil).ObserveDuration(1500 * time.Millisecond)
	r.Histogram("upload_ms", nil).ObserveDuration(1500 * time.Millisecond)

	r.Flush(context.Background())
	show(r)
	// Output:
	// upload_ms histogram {} 1500 1
	// upload_seconds histogram {} 1.5 1
}
