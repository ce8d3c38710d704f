package collect

import (
	"context"
	"errors"
	"testing"
)

// A declared-label-names vec makes the same series as the map form: its
// handles and the map form's add up in one series, Options.ConstLabels
// merged in, the help exposed.
func TestCounterVecSameSeries(t *testing.T) {
	r, _ := newRecorder(t, Options{Service: "app", ConstLabels: map[string]string{"region": "eu", "method": "const"}})
	v, err := r.NewCounterVec(Opts{Name: "req_total", Help: "Requests."}, []string{"method", "code"})
	if err != nil {
		t.Fatal(err)
	}
	v.WithLabelValues("GET", "200").Inc()
	v.WithLabelValues("GET", "200").Add(2)
	r.Counter("req_total", map[string]string{"method": "GET", "code": "200"}).Add(4)
	v.WithLabelValues("POST", "500").Inc()
	fams := scrapeHandler(t, r)
	if got := findMetric(t, fams, "req_total", map[string]string{"region": "eu", "method": "GET", "code": "200"}).GetCounter().GetValue(); got != 7 {
		t.Errorf("GET 200 = %v, want 7", got)
	}
	if got := findMetric(t, fams, "req_total", map[string]string{"region": "eu", "method": "POST", "code": "500"}).GetCounter().GetValue(); got != 1 {
		t.Errorf("POST 500 = %v, want 1", got)
	}
	if got := fams["req_total"].GetHelp(); got != "Requests." {
		t.Errorf("help %q", got)
	}
	if n := r.Stats().Series; n != 2 {
		t.Errorf("series = %d, want 2", n)
	}
	g, _ := r.NewGaugeVec(Opts{Name: "depth_count"}, []string{"queue"})
	g.WithLabelValues("a").Set(3)
	h, _ := r.NewHistogramVec(Opts{Name: "wait_seconds"}, []string{"queue"})
	h.WithLabelValues("a").Observe(0.5)
	r.Flush(context.Background())
	if got := rows(t, r, `SELECT name || labels || ' ' || sum(value) FROM metrics WHERE name != 'req_total' GROUP BY name, labels ORDER BY name`); len(got) != 2 ||
		got[0] != `depth_count{"method":"const","queue":"a","region":"eu"} 3.0` || got[1] != `wait_seconds{"method":"const","queue":"a","region":"eu"} 0.5` {
		t.Errorf("stored %q", got)
	}
}

// Mistakes: a wrong number of values, a bad label name, a type conflict.
func TestVecMistakes(t *testing.T) {
	r, _ := newRecorder(t, Options{})
	if _, err := r.NewCounterVec(Opts{Name: "x_total"}, []string{"a", "a"}); !errors.Is(err, ErrInvalid) {
		t.Errorf("duplicate label name: %v", err)
	}
	if _, err := r.NewCounterVec(Opts{Name: "x_total"}, []string{"0bad"}); !errors.Is(err, ErrInvalid) {
		t.Errorf("bad label name: %v", err)
	}
	r.Gauge("g_total", nil).Set(1)
	if _, err := r.NewCounterVec(Opts{Name: "g_total"}, []string{"a"}); !errors.Is(err, ErrTypeConflict) {
		t.Errorf("type conflict: %v", err)
	}
	v, err := r.NewCounterVec(Opts{Name: "x_total"}, []string{"a", "b"})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := v.GetMetricWithLabelValues("only-one"); !errors.Is(err, ErrInvalid) {
		t.Errorf("one value for two names: %v", err)
	}
	before := r.Stats().Invalid
	v.WithLabelValues("1").Inc() // logged once, counted
	if got := r.Stats().Invalid - before; got != 1 {
		t.Errorf("invalid = %d, want 1", got)
	}
	var nilRec *Recorder
	nilRec.MustCounterVec(Opts{Name: "x_total"}, []string{"a"}).WithLabelValues("1").Inc() // no panic
}

// The kept handle and a repeated WithLabelValues of an existing series
// allocate nothing.
func TestVecAllocs(t *testing.T) {
	r, _ := newRecorder(t, Options{ConstLabels: map[string]string{"region": "eu"}})
	v := r.MustCounterVec(Opts{Name: "req_total"}, []string{"method", "code"})
	c := v.WithLabelValues("GET", "200")
	if n := testing.AllocsPerRun(1000, func() { c.Inc() }); n != 0 {
		t.Errorf("kept handle Inc: %v allocs, want 0", n)
	}
	if n := testing.AllocsPerRun(1000, func() { v.WithLabelValues("GET", "200").Inc() }); n != 0 {
		t.Errorf("WithLabelValues(existing).Inc: %v allocs, want 0", n)
	}
}

// A series ForgetIdle forgot is looked up again by the vec (not served
// from its cache): it is back in the index and on the page, from 0.
func TestVecAfterForgetIdle(t *testing.T) {
	r, _ := newRecorder(t, Options{Service: "app"})
	v := r.MustCounterVec(Opts{Name: "req_total"}, []string{"code"})
	v.WithLabelValues("200").Add(2)
	r.Flush(context.Background())
	r.ForgetIdle(0)
	r.ForgetIdle(0)
	if n := r.Stats().Series; n != 0 {
		t.Fatalf("series after ForgetIdle = %d, want 0", n)
	}
	v.WithLabelValues("200").Inc()
	if n := r.Stats().Series; n != 1 {
		t.Errorf("series = %d, want 1", n)
	}
	if got := findMetric(t, scrapeHandler(t, r), "req_total", map[string]string{"code": "200"}).GetCounter().GetValue(); got != 1 {
		t.Errorf("req_total = %v, want 1 (a new entry starts at 0)", got)
	}
	if len(v.v.cache) != 1 {
		t.Errorf("cache entries = %d, want 1", len(v.v.cache))
	}
}

// Lookups from many goroutines, with ForgetIdle and scrapes running, lose
// no increment of a series that is never forgotten mid-way (run with
// -race).
func TestVecConcurrent(t *testing.T) {
	r, _ := newRecorder(t, Options{Service: "app"})
	v := r.MustCounterVec(Opts{Name: "req_total"}, []string{"worker", "code"})
	done := make(chan struct{})
	go func() {
		for {
			select {
			case <-done:
				return
			default:
				r.ForgetIdle(1000) // forgets nothing recorded lately
				r.Gather()
			}
		}
	}()
	codes := []string{"200", "404", "500"}
	finished := make(chan struct{})
	for w := range 4 {
		go func() {
			for i := range 1000 {
				v.WithLabelValues(codes[w%3], codes[i%3]).Inc()
			}
			finished <- struct{}{}
		}()
	}
	for range 4 {
		<-finished
	}
	close(done)
	var total float64
	for _, f := range scrapeHandler(t, r) {
		for _, m := range f.Metric {
			total += m.GetCounter().GetValue()
		}
	}
	if total != 4000 {
		t.Errorf("total = %v, want 4000", total)
	}
}
