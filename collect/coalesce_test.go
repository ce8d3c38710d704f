package collect

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"log/slog"
	"runtime"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/vigil-metrics/vigil/internal/store"
)

func join(l []string) string { return strings.Join(l, "\n") }

func mustPanic(t *testing.T, what string, f func()) {
	t.Helper()
	defer func() {
		if recover() == nil {
			t.Errorf("%s did not panic", what)
		}
	}()
	f()
}

func TestConstructorsReportMistakes(t *testing.T) {
	var logs bytes.Buffer
	r, _ := newRecorder(t, Options{Logger: slog.New(slog.NewTextHandler(&logs, nil))})
	if _, err := r.NewCounter("orders-created", nil); !errors.Is(err, ErrInvalid) {
		t.Errorf("NewCounter(orders-created) = %v, want ErrInvalid", err)
	}
	if _, err := r.NewCounter("orders_total", map[string]string{"1a": "v"}); !errors.Is(err, ErrInvalid) {
		t.Errorf("bad label: %v, want ErrInvalid", err)
	}
	if _, err := r.NewCounter("orders_total", nil); err != nil {
		t.Fatal(err)
	}
	if _, err := r.NewGauge("orders_total", nil); !errors.Is(err, ErrTypeConflict) {
		t.Errorf("NewGauge(orders_total) = %v, want ErrTypeConflict", err)
	}
	if _, err := r.NewHistogram("orders_total", map[string]string{"a": "b"}); !errors.Is(err, ErrTypeConflict) {
		t.Errorf("NewHistogram(orders_total{a}) = %v, want ErrTypeConflict", err)
	}
	mustPanic(t, "MustCounter(bad name)", func() { r.MustCounter("orders-created", nil) })
	mustPanic(t, "MustGauge(type conflict)", func() { r.MustGauge("orders_total", nil) })
	if s := r.Stats(); s.Invalid != 0 {
		t.Errorf("Invalid = %d: an error returned is not also counted", s.Invalid)
	}

	// Without Strict: a negative increment is counted each time and logged once.
	c := r.MustCounter("orders_total", nil)
	c.Add(-1)
	c.Add(-1)
	c.Add(2)
	r.Flush(context.Background())
	if s := r.Stats(); s.Invalid != 2 || s.Written != 1 {
		t.Errorf("stats = %+v, want 2 invalid, 1 written", s)
	}
	if n := strings.Count(logs.String(), "counter increment -1 is negative"); n != 1 {
		t.Errorf("logged %d times, want once:\n%s", n, logs.String())
	}
}

func TestStrictPanicsWhereTheMistakeIsMade(t *testing.T) {
	r, _ := newRecorder(t, Options{Strict: true})
	mustPanic(t, "Counter(bad name)", func() { r.Counter("orders-created", nil) })
	r.Counter("x_total", nil).Inc()
	mustPanic(t, "Gauge(counter's name)", func() { r.Gauge("x_total", nil) })
	mustPanic(t, "Add(-1)", func() { r.Counter("x_total", nil).Add(-1) })
	mustPanic(t, "Set(NaN)", func() { r.Gauge("g", nil).Set(nan()) })
	mustPanic(t, "Observe(NaN)", func() { r.Histogram("h_ms", nil).Observe(nan()) })
	mustPanic(t, "GaugeFunc(counter's name)", func() { r.GaugeFunc("x_total", nil, func() float64 { return 1 }) })
	rs, _ := newRecorder(t, Options{Strict: true, Resolution: -1})
	mustPanic(t, "Add(-1) uncoalesced", func() { rs.Counter("x_total", nil).Add(-1) })
}

// Counter increments in one bucket are one row holding their sum, stamped
// with the bucket's start; a gauge keeps its last value per bucket.
func TestCoalescing(t *testing.T) {
	r, clk := newRecorder(t, Options{})
	ctx := context.Background()
	c := r.Counter("jobs_total", nil)
	g := r.Gauge("depth", nil)
	h := r.Histogram("job_ms", nil)
	c.Add(2)
	c.Inc()
	c.Add(0.5)
	g.Set(5)
	g.Set(7)
	h.Observe(1)
	h.Observe(2)
	clk.Advance(1500 * time.Millisecond) // 10:00:01.5
	r.Flush(ctx)                         // 10:00:00: jobs 3.5, depth 7, two observations
	c.Inc()
	c.Inc()
	g.Add(3)
	g.Dec()
	r.Flush(ctx) // 10:00:01: jobs 2, depth 9
	clk.Advance(200 * time.Millisecond)
	c.Inc()
	r.Flush(ctx) // a second row in 10:00:01 after a mid-bucket flush
	// The bucket clock moves before a drain (the flusher's tick racing an
	// increment): the increment moves the series, writing its old bucket.
	c.Add(4)
	clk.Advance(time.Second) // 10:00:02.7
	r.cur.Store(r.bucketOf(clk.Now()))
	c.Inc()
	r.Flush(ctx)
	got := rows(t, r, "SELECT timestamp, name, value FROM metrics ORDER BY timestamp, name, value")
	want := []string{
		"1.7959464e+09 depth 7",
		"1.7959464e+09 job_ms 1",
		"1.7959464e+09 job_ms 2",
		"1.7959464e+09 jobs_total 3.5",
		"1.795946401e+09 depth 9",
		"1.795946401e+09 jobs_total 1",
		"1.795946401e+09 jobs_total 2",
		"1.795946401e+09 jobs_total 4",
		"1.795946402e+09 jobs_total 1",
	}
	if join(got) != join(want) {
		t.Errorf("got\n%s\nwant\n%s", join(got), join(want))
	}
	// Sums are those of the increments: 3.5 + 2 + 1 + 4 + 1.
	if got := rows(t, r, "SELECT sum(value) FROM metrics WHERE name = 'jobs_total'"); got[0] != "11.5" {
		t.Errorf("sum = %s, want 11.5", got[0])
	}
	// Nothing recorded since: a flush writes nothing.
	before := r.Stats().Written
	r.Flush(ctx)
	if s := r.Stats(); s.Written != before {
		t.Errorf("an idle flush wrote %d rows", s.Written-before)
	}
}

func TestResolutionNegativeKeepsEverySample(t *testing.T) {
	r, _ := newRecorder(t, Options{Resolution: -1})
	c := r.Counter("jobs_total", nil)
	g := r.Gauge("depth", nil)
	c.Inc()
	c.Add(2)
	g.Set(5)
	g.Inc()
	g.Add(-2.5)
	r.Flush(context.Background())
	got := rows(t, r, "SELECT name, value FROM samples s JOIN series se ON se.id = s.series_id ORDER BY s.id")
	want := []string{"jobs_total 1", "jobs_total 2", "depth 5", "depth 6", "depth 3.5"}
	if join(got) != join(want) {
		t.Errorf("got\n%s\nwant\n%s", join(got), join(want))
	}
}

// A series holding undrained increments is not idle; a forgotten series
// is drained first, and its handle registers it again.
func TestForgetIdleDrainsCoalescedSeries(t *testing.T) {
	r, _ := newRecorder(t, Options{})
	c := r.Counter("jobs_total", nil)
	c.Add(3)
	if n := r.ForgetIdle(0); n != 0 {
		t.Fatalf("forgot %d series holding undrained increments, want 0", n)
	}
	r.Flush(context.Background())
	if n := r.ForgetIdle(0); n != 1 {
		t.Fatalf("forgot %d series, want 1", n)
	}
	c.Add(4)
	r.Flush(context.Background())
	if got := rows(t, r, "SELECT count(*), sum(value) FROM metrics"); got[0] != "2 7" {
		t.Errorf("rows, sum = %s, want 2 7", got[0])
	}
}

func TestGaugeFunc(t *testing.T) {
	r, clk := newRecorder(t, Options{})
	depth := 4.0
	if err := r.GaugeFunc("queue_depth", map[string]string{"q": "a"}, func() float64 { return depth }); err != nil {
		t.Fatal(err)
	}
	if err := r.GaugeFunc("queue-depth", nil, func() float64 { return 1 }); !errors.Is(err, ErrInvalid) {
		t.Errorf("GaugeFunc(bad name) = %v", err)
	}
	bad := 0.0
	r.GaugeFunc("broken", nil, func() float64 { return bad / bad })
	r.Flush(context.Background())
	depth = 6
	clk.Advance(250 * time.Millisecond)
	r.Flush(context.Background())
	got := rows(t, r, "SELECT timestamp, name, labels, value FROM metrics ORDER BY timestamp")
	want := []string{
		`1.7959464e+09 queue_depth {"q":"a"} 4`,
		`1.79594640025e+09 queue_depth {"q":"a"} 6`,
	}
	if join(got) != join(want) {
		t.Errorf("got\n%s\nwant\n%s", join(got), join(want))
	}
	if s := r.Stats(); s.Invalid != 2 {
		t.Errorf("invalid = %d, want 2 (the NaN callback, read twice)", s.Invalid)
	}
}

func TestConstLabels(t *testing.T) {
	r, _ := newRecorder(t, Options{ConstLabels: map[string]string{"region": "eu", "app": "shop"}})
	r.Counter("a_total", map[string]string{"x": "1"}).Inc()
	r.Counter("a_total", map[string]string{"x": "1"}).Inc() // the same series
	r.Gauge("b", nil).Set(1)
	r.Histogram("c_ms", map[string]string{"region": "us"}).Observe(1) // the call's label wins
	r.Flush(context.Background())
	got := rows(t, r, "SELECT name, labels, value FROM metrics ORDER BY name")
	want := []string{
		`a_total {"app":"shop","region":"eu","x":"1"} 2`,
		`b {"app":"shop","region":"eu"} 1`,
		`c_ms {"app":"shop","region":"us"} 1`,
	}
	if join(got) != join(want) {
		t.Errorf("got\n%s\nwant\n%s", join(got), join(want))
	}
}

func TestStartTimerAndUnits(t *testing.T) {
	r, clk := newRecorder(t, Options{})
	t1 := r.StartTimer("render_seconds", map[string]string{"page": "home"})
	t2 := r.StartTimer("render_ms", nil)
	t3 := r.StartTimer("fetch_seconds", map[string]string{"page": "home"})
	stop := r.Timer("old_seconds", nil)
	clk.Advance(1500 * time.Millisecond)
	if d := t1.ObserveDuration(); d != 1500*time.Millisecond {
		t.Errorf("ObserveDuration = %v", d)
	}
	t1.ObserveDuration() // records once
	t2.ObserveDuration()
	t3.ObserveDurationWith(map[string]string{"status": "404"})
	stop()
	r.Histogram("wait_seconds", nil).ObserveDuration(250 * time.Millisecond)
	r.Histogram("wait_ms", nil).ObserveDuration(250 * time.Millisecond)
	r.Flush(context.Background())
	got := rows(t, r, "SELECT name, labels, value FROM metrics ORDER BY name")
	want := []string{
		`fetch_seconds {"page":"home","status":"404"} 1.5`,
		`old_seconds {} 1.5`,
		`render_ms {} 1500`,
		`render_seconds {"page":"home"} 1.5`,
		`wait_ms {} 250`,
		`wait_seconds {} 0.25`,
	}
	if join(got) != join(want) {
		t.Errorf("got\n%s\nwant\n%s", join(got), join(want))
	}
}

var errNotFound = errors.New("not found")

func TestMonitorErrorClassifier(t *testing.T) {
	ctx := context.Background()
	for _, tc := range []struct {
		classify func(error) string
		err      error
		want     string
	}{
		{nil, errNotFound, "error"},
		{ClassifyErrors(ErrorClass{errNotFound, "not_found"}, ErrorClass{context.Canceled, "canceled"}), fmt.Errorf("load: %w", errNotFound), "not_found"},
		{ClassifyErrors(ErrorClass{errNotFound, "not_found"}, ErrorClass{context.Canceled, "canceled"}), context.Canceled, "canceled"},
		{ClassifyErrors(ErrorClass{errNotFound, "not_found"}), errors.New("other"), "error"},
		{ErrorType, &myErr{}, "myErr"},
	} {
		r, _ := newRecorder(t, Options{ErrorClassifier: tc.classify})
		r.Monitor(ctx, "load", nil, func(context.Context) error { return tc.err })
		r.Flush(ctx)
		got := rows(t, r, "SELECT labels FROM metrics WHERE name = 'load_failed_total'")
		if want := fmt.Sprintf(`{"error":%q,"status":"failed"}`, tc.want); len(got) != 1 || got[0] != want {
			t.Errorf("%v: labels %v, want %s", tc.err, got, want)
		}
	}
}

// Every method of a nil *Recorder, and of the handles it returns, does
// nothing.
func TestNilRecorder(t *testing.T) {
	var r *Recorder
	ctx := context.Background()
	r.Counter("a_total", nil).Inc()
	r.Counter("a_total", nil).Add(-1)
	r.Gauge("g", nil).Set(1)
	r.Gauge("g", nil).Inc()
	r.Gauge("g", nil).Dec()
	r.Histogram("h_ms", nil).Observe(1)
	r.Histogram("h_ms", nil).ObserveDuration(time.Second)
	r.MustCounter("bad-name", nil).Inc()
	if _, err := r.NewCounter("a_total", nil); err != nil {
		t.Error(err)
	}
	r.MustGauge("g", nil).Set(2)
	r.MustHistogram("h", nil).Observe(2)
	r.GaugeFunc("f", nil, func() float64 { return 1 })
	r.Timer("t_ms", nil)()
	tm := r.StartTimer("t_ms", nil)
	tm.ObserveDuration()
	tm.ObserveDurationWith(map[string]string{"a": "b"})
	ran := false
	if err := r.Monitor(ctx, "op", nil, func(context.Context) error { ran = true; return errNotFound }); !errors.Is(err, errNotFound) || !ran {
		t.Errorf("Monitor = %v, ran %v", err, ran)
	}
	r.TrackAvailability("s", true, time.Second)
	r.TrackLatency("s", time.Second, time.Second)
	r.Add(Sample{Name: "a_total", Type: TypeCounter, TS: 1, Value: 1})
	r.AddBatch(nil)
	r.ForgetIdle(1)
	if r.Flush(ctx) != nil || r.Close() != nil || r.Store() != nil || r.Unwritten() != nil || r.Stats() != (Stats{}) {
		t.Error("a nil Recorder reported something")
	}
	var c Counter // zero handles too
	c.Inc()
	var g Gauge
	g.Add(1)
	var h Histogram
	h.ObserveDuration(time.Second)
}

func TestInMemoryStore(t *testing.T) {
	r, err := Open(":memory:", Options{FlushInterval: -1})
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	c := r.Counter("a_total", nil)
	done := make(chan bool)
	go func() { // queries racing the flushes use the same database
		defer close(done)
		for i := 0; i < 20; i++ {
			var n int
			if err := r.storeNow().DBForTest().QueryRow("SELECT count(*) FROM samples").Scan(&n); err != nil {
				t.Error(err)
				return
			}
		}
	}()
	for i := 0; i < 20; i++ {
		c.Inc()
		if err := r.Flush(context.Background()); err != nil {
			t.Fatal(err)
		}
	}
	<-done
	if got := rows(t, r, "SELECT sum(value) FROM metrics"); got[0] != "20" {
		t.Errorf("sum = %s, want 20", got[0])
	}
}

// Many goroutines increment while the flusher drains on its own clock
// and series are forgotten: no increment is lost or counted twice.
func TestConcurrentCoalescing(t *testing.T) {
	r, err := Open(t.TempDir()+"/v.db", Options{Resolution: time.Millisecond, FlushInterval: 5 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	stop := make(chan struct{})
	forgot := make(chan int)
	go func() {
		n := 0
		for {
			select {
			case <-stop:
				forgot <- n
				return
			case <-time.After(time.Millisecond):
				n += r.ForgetIdle(0)
			}
		}
	}()
	var wg sync.WaitGroup
	var total atomic.Int64 // increments of 1; and as many of 0.5
	var halves atomic.Int64
	deadline := time.Now().Add(100 * time.Millisecond)
	for g := 0; g < 8; g++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			c := r.Counter("c_total", map[string]string{"g": fmt.Sprint(g % 3)})
			sparse := r.Counter("c_total", map[string]string{"g": "sparse"})
			n, h := 0, 0
			for i := 0; time.Now().Before(deadline); i++ {
				c.Inc()
				n++
				if i%500 == 0 { // idle long enough to be forgotten in between
					sparse.Inc()
					r.Counter("c_total", map[string]string{"g": "looked_up"}).Add(0.5)
					r.Gauge("last", nil).Set(float64(i))
					n++
					h++
					runtime.Gosched()
				}
			}
			total.Add(int64(n))
			halves.Add(int64(h))
		}()
	}
	wg.Wait()
	close(stop)
	if n := <-forgot; n == 0 {
		t.Log("no series forgotten while recording")
	} else {
		t.Logf("%d series forgotten while recording", n)
	}
	if err := r.Close(); err != nil {
		t.Fatal(err)
	}
	st, err := store.Open(context.Background(), r.storeNow().Path, store.Options{ReadOnly: true})
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	var sum float64
	st.DBForTest().QueryRow("SELECT sum(s.value) FROM samples s JOIN series se ON se.id = s.series_id WHERE se.name = 'c_total'").Scan(&sum)
	if want := float64(total.Load()) + 0.5*float64(halves.Load()); sum != want {
		t.Errorf("sum = %v, want %v", sum, want)
	}
}

func TestRecordAfterCloseIsDropped(t *testing.T) {
	r, _ := newRecorder(t, Options{})
	c := r.Counter("a_total", nil)
	g := r.Gauge("g", nil)
	c.Inc()
	r.Close()
	c.Inc()
	c.Add(2)
	g.Set(1)
	r.Flush(context.Background())
	if s := r.Stats(); s.Written != 1 || s.Dropped != 3 {
		t.Errorf("stats = %+v, want 1 written, 3 dropped", s)
	}
}

// MaxSeries refusing a series is not a mistake in the code: no panic,
// even in Strict mode; NewCounter says why.
func TestStrictDoesNotPanicOnMaxSeries(t *testing.T) {
	r, _ := newRecorder(t, Options{Strict: true, MaxSeries: 1})
	r.Counter("a_total", nil).Inc()
	r.Counter("b_total", nil).Inc() // refused, counted
	if _, err := r.NewCounter("c_total", nil); !errors.Is(err, ErrTooManySeries) {
		t.Errorf("NewCounter over MaxSeries = %v", err)
	}
	r.Flush(context.Background())
	if s := r.Stats(); s.Written != 1 || s.SeriesRefused != 2 || s.Invalid != 1 {
		t.Errorf("stats = %+v, want 1 written, 2 refused series, 1 invalid", s)
	}
}
