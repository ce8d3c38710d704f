package collecttest_test

import (
	"context"
	"errors"
	"net/http"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/vigil-metrics/vigil/collect"
	"github.com/vigil-metrics/vigil/collect/collecttest"
)

func TestHelpersReadBack(t *testing.T) {
	r := collecttest.New(t)
	ok := map[string]string{"status": "ok", "method": "GET"}
	r.Counter("orders_total", ok).Inc()
	r.Counter("orders_total", ok).Add(2)
	r.Counter("orders_total", map[string]string{"status": "failed", "method": "GET"}).Inc()
	h := r.Histogram("render_ms", map[string]string{"page": "home"})
	h.Observe(10)
	h.Observe(30)
	r.Histogram("render_ms", map[string]string{"page": "cart"}).Observe(5)
	g := r.Gauge("queue_depth", nil)
	g.Set(4)
	g.Inc()

	if got := collecttest.CounterTotal(t, r, "orders_total", map[string]string{"status": "ok"}); got != 3 {
		t.Errorf("orders_total{status=ok} = %v, want 3", got)
	}
	if got := collecttest.CounterTotal(t, r, "orders_total", map[string]string{"method": "GET"}); got != 4 {
		t.Errorf("orders_total{method=GET} = %v, want 4", got)
	}
	if got := collecttest.CounterTotal(t, r, "orders_total", map[string]string{"status": "none"}); got != 0 {
		t.Errorf("orders_total{status=none} = %v, want 0", got)
	}
	if got := collecttest.HistogramCount(t, r, "render_ms", map[string]string{"page": "home"}); got != 2 {
		t.Errorf("render_ms{page=home} count = %d, want 2", got)
	}
	if got := collecttest.HistogramCount(t, r, "render_ms", nil); got != 3 {
		t.Errorf("render_ms count = %d, want 3", got)
	}
	if got := collecttest.HistogramSum(t, r, "render_ms", nil); got != 45 {
		t.Errorf("render_ms sum = %v, want 45", got)
	}
	if v, ok := collecttest.GaugeValue(t, r, "queue_depth", nil); !ok || v != 5 {
		t.Errorf("queue_depth = %v, %v; want 5", v, ok)
	}
	if _, ok := collecttest.GaugeValue(t, r, "missing", nil); ok {
		t.Error("a gauge never set has a value")
	}
	// Reads flush: later increments are counted too.
	r.Counter("orders_total", ok).Inc()
	if got := collecttest.CounterTotal(t, r, "orders_total", ok); got != 4 {
		t.Errorf("after one more: %v, want 4", got)
	}
}

func TestNewIsStrict(t *testing.T) {
	r := collecttest.New(t)
	defer func() {
		if recover() == nil {
			t.Error("a bad name did not panic")
		}
	}()
	r.Counter("orders-created", nil).Inc()
}

func TestNewWith(t *testing.T) {
	r := collecttest.NewWith(t, collect.Options{Resolution: -1})
	c := r.Counter("a_total", nil)
	c.Add(-1) // not strict: counted as invalid
	c.Inc()
	c.Inc()
	if got := collecttest.CounterTotal(t, r, "a_total", nil); got != 2 {
		t.Errorf("a_total = %v, want 2", got)
	}
	if s := r.Stats(); s.Written != 2 || s.Invalid != 1 {
		t.Errorf("stats = %+v, want 2 rows (Resolution -1) and 1 invalid", s)
	}
}

func TestNop(t *testing.T) {
	r := collecttest.Nop()
	r.Counter("a_total", nil).Inc()
	r.Gauge("g", nil).Set(1)
	r.Histogram("h_ms", nil).Observe(1)
	defer r.StartTimer("t_seconds", nil).ObserveDuration()
	err := r.Monitor(context.Background(), "op", nil, func(context.Context) error { return errors.New("x") })
	if err == nil {
		t.Error("Monitor lost fn's error")
	}
	r.TrackAvailability("s", true, time.Millisecond)
	if err := r.Flush(context.Background()); err != nil {
		t.Error(err)
	}
	// The middleware of a nil recorder is the handler itself.
	h := r.Middleware(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) { w.WriteHeader(http.StatusTeapot) }), collect.MiddlewareOptions{})
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, httptest.NewRequest("GET", "/", nil))
	if rec.Code != http.StatusTeapot {
		t.Errorf("status %d through a nil recorder's middleware", rec.Code)
	}
}

// Help reads back the help text stored with a metric.
func TestHelpReadBack(t *testing.T) {
	r := collecttest.New(t)
	r.Counter("orders_total", nil, collect.Help("Orders placed.")).Inc()
	r.Gauge("queue_depth", nil).Set(1)
	if got := collecttest.Help(t, r, "orders_total"); got != "Orders placed." {
		t.Errorf("Help(orders_total) = %q, want %q", got, "Orders placed.")
	}
	if got := collecttest.Help(t, r, "queue_depth"); got != "" {
		t.Errorf("Help(queue_depth) = %q, want none", got)
	}
}

// A label with an empty value is no label (the Recorder keeps {a=""} as
// {}): asking for a="" reads the series without a, as Prometheus's
// matcher a="" does, and only those.
func TestEmptyLabelValueReadsSeriesWithoutIt(t *testing.T) {
	r := collecttest.New(t)
	r.Counter("jobs_total", map[string]string{"queue": ""}).Inc()
	r.Counter("jobs_total", nil).Add(2)
	r.Counter("jobs_total", map[string]string{"queue": "mail"}).Add(4)
	if got := collecttest.CounterTotal(t, r, "jobs_total", map[string]string{"queue": ""}); got != 3 {
		t.Errorf("jobs_total{queue=\"\"} = %v, want 3 (the series without queue)", got)
	}
	if got := collecttest.CounterTotal(t, r, "jobs_total", nil); got != 7 {
		t.Errorf("jobs_total = %v, want 7", got)
	}
}
