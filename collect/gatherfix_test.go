package collect

import (
	"bytes"
	"context"
	"errors"
	"log/slog"
	"strings"
	"testing"

	"github.com/prometheus/client_golang/prometheus"
	dto "github.com/prometheus/client_model/go"
)

// sumOf is the number of rows and the sum of the values stored for name,
// as "rows|sum".
func sumOf(t *testing.T, r *Recorder, name string) string {
	t.Helper()
	got := rows(t, r, `SELECT count(*) || '|' || coalesce(sum(s.value), 0) FROM samples s JOIN series x ON x.id = s.series_id WHERE x.name = '`+name+`'`)
	return strings.Join(got, "")
}

// linesWith counts the lines of log that hold s.
func linesWith(log, s string) int {
	n := 0
	for _, l := range strings.Split(log, "\n") {
		if strings.Contains(l, s) {
			n++
		}
	}
	return n
}

// logRecorder is newRecorder with its log kept.
func logRecorder(t *testing.T, opt Options) (*Recorder, *bytes.Buffer) {
	var buf bytes.Buffer
	opt.Logger = slog.New(slog.NewTextHandler(&buf, nil))
	r, _ := newRecorder(t, opt)
	return r, &buf
}

// Help text given with an invalid name (a non-Strict constructor logs the
// name once and records nothing) never reaches the store: every later
// flush writes.
func TestInvalidNameHelpDoesNotPoisonFlushes(t *testing.T) {
	r, _ := newRecorder(t, Options{Service: "app"})
	ctx := context.Background()
	good := r.Counter("good_total", nil)
	good.Inc()
	if err := r.Flush(ctx); err != nil {
		t.Fatal(err)
	}
	r.Counter("bad-name_total", nil, Help("oops")).Inc()
	r.Gauge("also bad", nil, Help("oops")).Set(1)
	good.Inc()
	if err := r.Flush(ctx); err != nil {
		t.Errorf("flush after help for an invalid name: %v", err)
	}
	good.Inc()
	if err := r.Flush(ctx); err != nil {
		t.Errorf("next flush: %v", err)
	}
	if got := sumOf(t, r, "good_total"); got != "3|3.0" {
		t.Errorf("good_total stored %s, want 3|3.0", got)
	}
}

// A metadata row the store cannot take is dropped, counted and logged
// once; it never holds the samples back.
func TestUnwritableMetadataNeverBlocksSamples(t *testing.T) {
	r, log := logRecorder(t, Options{Service: "app"})
	ctx := context.Background()
	r.smu.Lock()
	r.help["not.valid"] = "x" // past every check, as a future path might
	r.helpPending = append(r.helpPending, "not.valid")
	r.smu.Unlock()
	r.Counter("good_total", nil).Inc()
	if err := r.Flush(ctx); err != nil {
		t.Fatalf("flush: %v", err)
	}
	r.Counter("good_total", nil).Inc()
	if err := r.Flush(ctx); err != nil {
		t.Fatalf("flush: %v", err)
	}
	if got := sumOf(t, r, "good_total"); got != "2|2.0" {
		t.Errorf("good_total stored %s, want 2|2.0", got)
	}
	if got := r.Stats().MetadataDropped; got != 1 {
		t.Errorf("Stats().MetadataDropped = %d, want 1", got)
	}
	if n := linesWith(log.String(), "not.valid"); n != 1 {
		t.Errorf("logged %d times, want once:\n%s", n, log)
	}
}

// An OpenTelemetry-style name (legal in client_golang 1.25) gathered from
// a registry is logged once and records nothing; the rest is recorded.
func TestGatherUTF8Name(t *testing.T) {
	r, log := logRecorder(t, Options{Service: "app"})
	ctx := context.Background()
	reg := prometheus.NewRegistry()
	dotted := prometheus.NewCounter(prometheus.CounterOpts{Name: "jobs.done.total", Help: "dotted"})
	ok := prometheus.NewCounter(prometheus.CounterOpts{Name: "ok_total", Help: "fine"})
	reg.MustRegister(dotted, ok)
	dotted.Add(3)
	ok.Add(5)
	for i := 0; i < 2; i++ {
		err := r.RecordGatherer(ctx, reg)
		if err == nil || !strings.Contains(err.Error(), "jobs.done.total") {
			t.Errorf("RecordGatherer: %v, want an error naming jobs.done.total", err)
		}
		if err := r.Flush(ctx); err != nil {
			t.Fatalf("flush %d: %v", i, err)
		}
	}
	r.Counter("mine_total", nil).Inc()
	if err := r.Flush(ctx); err != nil {
		t.Fatalf("flush: %v", err)
	}
	if got := sumOf(t, r, "ok_total"); got != "2|5.0" {
		t.Errorf("ok_total %s, want 2|5.0", got)
	}
	if got := sumOf(t, r, "mine_total"); got != "1|1.0" {
		t.Errorf("mine_total %s, want 1|1.0", got)
	}
	if n := linesWith(log.String(), "jobs.done.total"); n != 1 {
		t.Errorf("jobs.done.total logged %d times, want once:\n%s", n, log)
	}
}

// The same through Options.Gatherers: the Recorder's own metrics are
// written at every flush.
func TestOptionsGatherersDottedName(t *testing.T) {
	reg := prometheus.NewRegistry()
	reg.MustRegister(prometheus.NewGauge(prometheus.GaugeOpts{Name: "http.server.active_requests", Help: "otel-style"}))
	r, _ := newRecorder(t, Options{Service: "app", Gatherers: []prometheus.Gatherer{reg}})
	orders := r.Counter("orders_total", nil, Help("Orders."))
	for i := 0; i < 3; i++ {
		orders.Inc()
		if err := r.Flush(context.Background()); err != nil {
			t.Fatalf("flush %d: %v", i, err)
		}
	}
	if got := sumOf(t, r, "orders_total"); got != "3|3.0" {
		t.Errorf("orders_total %s, want 3|3.0", got)
	}
}

// One series the store refuses (a label value over 4096 bytes) loses
// that series only; the error names it.
func TestGatherLongLabelValue(t *testing.T) {
	r, _ := newRecorder(t, Options{Service: "app"})
	ctx := context.Background()
	reg := prometheus.NewRegistry()
	info := prometheus.NewGaugeVec(prometheus.GaugeOpts{Name: "build_info", Help: "b"}, []string{"flags"})
	ok := prometheus.NewCounter(prometheus.CounterOpts{Name: "ok_total", Help: "fine"})
	reg.MustRegister(info, ok)
	info.WithLabelValues(strings.Repeat("x", 5000)).Set(1)
	info.WithLabelValues("short").Set(1)
	ok.Add(7)
	err := r.RecordGatherer(ctx, reg)
	if err == nil || !strings.Contains(err.Error(), "build_info") {
		t.Errorf("RecordGatherer: %v, want an error naming build_info", err)
	}
	if err := r.Flush(ctx); err != nil {
		t.Fatal(err)
	}
	if got := sumOf(t, r, "ok_total"); got != "1|7.0" {
		t.Errorf("ok_total %s, want 1|7.0", got)
	}
	if got := sumOf(t, r, "build_info"); got != "1|1.0" {
		t.Errorf("build_info %s, want the short series alone: 1|1.0", got)
	}
}

// A family whose type conflicts with the Recorder's (another service
// recorded queue_depth as a counter) is reported; the rest is recorded.
func TestGatherTypeConflictKeepsTheRest(t *testing.T) {
	r, _ := newRecorder(t, Options{Service: "app"})
	ctx := context.Background()
	if err := r.Add(Sample{Name: "queue_depth", Type: TypeCounter, Service: "other", Value: 1, TS: 1}); err != nil {
		t.Fatal(err)
	}
	reg := prometheus.NewRegistry()
	qd := prometheus.NewGauge(prometheus.GaugeOpts{Name: "queue_depth", Help: "q"})
	ok := prometheus.NewCounter(prometheus.CounterOpts{Name: "ok_total", Help: "fine"})
	reg.MustRegister(qd, ok)
	qd.Set(3)
	ok.Add(5)
	err := r.RecordGatherer(ctx, reg)
	if err == nil || !strings.Contains(err.Error(), "queue_depth") {
		t.Errorf("RecordGatherer: %v, want an error naming queue_depth", err)
	}
	r.Flush(ctx)
	if got := sumOf(t, r, "ok_total"); got != "1|5.0" {
		t.Errorf("ok_total %s, want 1|5.0", got)
	}
}

// A registry bigger than MaxBuffer is recorded in parts.
func TestGatherLargerThanMaxBuffer(t *testing.T) {
	r, _ := newRecorder(t, Options{Service: "app", MaxBuffer: 10, BufferSize: 10})
	ctx := context.Background()
	reg := prometheus.NewRegistry()
	h := prometheus.NewHistogramVec(prometheus.HistogramOpts{Name: "h_seconds", Help: "h"}, []string{"k"})
	ok := prometheus.NewCounter(prometheus.CounterOpts{Name: "ok_total", Help: "ok"})
	reg.MustRegister(h, ok)
	h.WithLabelValues("a").Observe(1)
	ok.Inc()
	if err := r.RecordGatherer(ctx, reg); err != nil {
		t.Errorf("RecordGatherer: %v", err)
	}
	if err := r.Flush(ctx); err != nil {
		t.Fatal(err)
	}
	if got := sumOf(t, r, "ok_total"); got != "1|1.0" {
		t.Errorf("ok_total %s, want 1|1.0", got)
	}
	if got := sumOf(t, r, "h_seconds_count"); got != "1|1.0" {
		t.Errorf("h_seconds_count %s, want 1|1.0", got)
	}
}

// A batch refused for a full buffer leaves the counters' baselines where
// they were: the next call records the increments it held.
func TestGatherBufferFullKeepsIncrements(t *testing.T) {
	r, _ := newRecorder(t, Options{Service: "app", MaxBuffer: 3, BufferSize: 3})
	ctx := context.Background()
	reg := prometheus.NewRegistry()
	cv := prometheus.NewCounterVec(prometheus.CounterOpts{Name: "jobs_total", Help: "j"}, []string{"k"})
	reg.MustRegister(cv)
	cv.WithLabelValues("a").Add(10)
	cv.WithLabelValues("b").Add(10)
	r.Add(Sample{Name: "x_total", Type: TypeCounter, Service: "app", Value: 1, TS: 1})
	r.Add(Sample{Name: "x_total", Type: TypeCounter, Service: "app", Value: 1, TS: 2})
	if err := r.RecordGatherer(ctx, reg); !errors.Is(err, ErrBufferFull) {
		t.Fatalf("RecordGatherer with a full buffer: %v, want ErrBufferFull", err)
	}
	if err := r.Flush(ctx); err != nil {
		t.Fatal(err)
	}
	cv.WithLabelValues("a").Add(1)
	cv.WithLabelValues("b").Add(1)
	if err := r.RecordGatherer(ctx, reg); err != nil {
		t.Fatal(err)
	}
	r.Flush(ctx)
	if got := sumOf(t, r, "jobs_total"); got != "2|22.0" {
		t.Errorf("jobs_total %s, want 2|22.0 (the registry's total)", got)
	}
}

// Close records Options.Gatherers once more before its final flush.
func TestGatherersAtClose(t *testing.T) {
	reg := prometheus.NewRegistry()
	c := prometheus.NewCounter(prometheus.CounterOpts{Name: "done_total", Help: "d"})
	reg.MustRegister(c)
	r, _ := newRecorder(t, Options{Service: "app", Gatherers: []prometheus.Gatherer{reg}})
	path := r.storeNow().Path
	ctx := context.Background()
	c.Add(2)
	r.Flush(ctx)
	c.Add(3)
	r.Flush(ctx)
	c.Add(4) // after the last Flush
	if err := r.Close(); err != nil {
		t.Fatal(err)
	}
	if n := countSamples(t, path); n != 3 {
		t.Errorf("the store holds %d samples, want 3 (2, 3 and the 4 gathered at Close)", n)
	}
}

// A registry the Recorder is not registered in, using one of the
// Recorder's names with other labels, is recorded.
func TestGatherSameNameNotRegistered(t *testing.T) {
	r, _ := newRecorder(t, Options{Service: "app"})
	ctx := context.Background()
	r.Counter("http_requests_total", map[string]string{"status": "200"}).Inc()
	reg := prometheus.NewRegistry()
	cv := prometheus.NewCounterVec(prometheus.CounterOpts{Name: "http_requests_total", Help: "promhttp"}, []string{"code"})
	reg.MustRegister(cv)
	cv.WithLabelValues("500").Add(4)
	if err := r.RecordGatherer(ctx, reg); err != nil {
		t.Errorf("RecordGatherer: %v", err)
	}
	r.Flush(ctx)
	got := rows(t, r, `SELECT name || labels || ' ' || sum(value) FROM metrics GROUP BY name, labels ORDER BY labels`)
	want := []string{`http_requests_total{"code":"500"} 4.0`, `http_requests_total{"status":"200"} 1.0`}
	if strings.Join(got, "\n") != strings.Join(want, "\n") {
		t.Errorf("stored:\n%s\nwant:\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
}

// A gatherer that panics is an error of RecordGatherer, and of no Flush.
type panicGatherer struct{}

func (panicGatherer) Gather() ([]*dto.MetricFamily, error) { panic("boom") }

func TestGathererPanics(t *testing.T) {
	r, _ := newRecorder(t, Options{Service: "app", Gatherers: []prometheus.Gatherer{panicGatherer{}}})
	ctx := context.Background()
	r.Counter("x_total", nil).Inc()
	func() {
		defer func() {
			if p := recover(); p != nil {
				t.Errorf("Flush panicked: %v", p)
			}
		}()
		if err := r.Flush(ctx); err != nil {
			t.Errorf("flush: %v", err)
		}
	}()
	if got := sumOf(t, r, "x_total"); got != "1|1.0" {
		t.Errorf("x_total %s, want 1|1.0", got)
	}
	if got := r.Stats().GatherErrors; got != 1 {
		t.Errorf("Stats().GatherErrors = %d, want 1", got)
	}
	err := func() (err error) {
		defer func() {
			if p := recover(); p != nil {
				err = errors.New("panicked")
			}
		}()
		return r.RecordGatherer(ctx, panicGatherer{})
	}()
	if err == nil || !strings.Contains(err.Error(), "boom") {
		t.Errorf("RecordGatherer of a panicking gatherer: %v, want an error saying boom", err)
	}
}
