package collect

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/vigil-metrics/vigil/internal/store"
)

// fakeClock advances only when told to.
type fakeClock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *fakeClock) Now() time.Time { c.mu.Lock(); defer c.mu.Unlock(); return c.t }
func (c *fakeClock) Advance(d time.Duration) {
	c.mu.Lock()
	c.t = c.t.Add(d)
	c.mu.Unlock()
}

func newRecorder(t testing.TB, opt Options) (*Recorder, *fakeClock) {
	t.Helper()
	clk := &fakeClock{t: time.Date(2026, 11, 29, 10, 0, 0, 0, time.UTC)}
	if opt.Now == nil {
		opt.Now = clk.Now
	}
	if opt.FlushInterval == 0 {
		opt.FlushInterval = -1
	}
	r, err := Open(filepath.Join(t.TempDir(), "v.db"), opt)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { r.Close() })
	return r, clk
}

func rows(t testing.TB, r *Recorder, query string) []string {
	t.Helper()
	rs, err := r.storeNow().DBForTest().Query(query)
	if err != nil {
		t.Fatal(err)
	}
	defer rs.Close()
	cols, _ := rs.Columns()
	var out []string
	for rs.Next() {
		vals := make([]any, len(cols))
		ptrs := make([]any, len(cols))
		for i := range vals {
			ptrs[i] = &vals[i]
		}
		rs.Scan(ptrs...)
		parts := make([]string, len(vals))
		for i, v := range vals {
			parts[i] = fmt.Sprint(v)
		}
		out = append(out, strings.Join(parts, " "))
	}
	return out
}

func TestRecordAndFlush(t *testing.T) {
	r, clk := newRecorder(t, Options{Service: "api", Resolution: -1})
	r.Counter("jobs_total", map[string]string{"queue": "a"}).Add(2)
	clk.Advance(1500 * time.Millisecond)
	r.Counter("jobs_total", map[string]string{"queue": "a"}).Inc()
	r.Gauge("queue_depth", nil).Set(-3.5)
	r.Histogram("job_ms", map[string]string{"queue": "a"}).Observe(12.25)
	if err := r.Flush(context.Background()); err != nil {
		t.Fatal(err)
	}
	got := rows(t, r, "SELECT timestamp, name, type, value, labels, service_name FROM metrics ORDER BY timestamp, name")
	want := []string{
		`1.7959464e+09 jobs_total counter 2 {"queue":"a"} api`,
		`1.7959464015e+09 job_ms histogram 12.25 {"queue":"a"} api`,
		`1.7959464015e+09 jobs_total counter 1 {"queue":"a"} api`,
		`1.7959464015e+09 queue_depth gauge -3.5 {} api`,
	}
	if strings.Join(got, "\n") != strings.Join(want, "\n") {
		t.Errorf("got\n%s\nwant\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
	if s := r.Stats(); s.Written != 4 || s.Buffered != 0 {
		t.Errorf("stats = %+v", s)
	}
}

func TestFlushesWhenBufferFull(t *testing.T) {
	r, _ := newRecorder(t, Options{BufferSize: 100, Resolution: -1})
	c := r.Counter("x_total", nil)
	for i := 0; i < 250; i++ {
		c.Inc()
	}
	deadline := time.Now().Add(10 * time.Second)
	for r.Stats().Written < 200 && time.Now().Before(deadline) {
		time.Sleep(5 * time.Millisecond)
	}
	// Two full buffers went without an explicit Flush; 50 still wait.
	if s := r.Stats(); s.Written != 200 || s.Buffered != 50 {
		t.Errorf("stats = %+v, want 200 written and 50 buffered", s)
	}
}

func TestUnwritableStoreBoundsMemoryAndCountsDrops(t *testing.T) {
	r, _ := newRecorder(t, Options{BufferSize: 100, MaxBuffer: 300, Resolution: -1})
	db := r.storeNow().DBForTest()
	// The store refuses every insert, as a full disk would.
	if _, err := db.Exec(`CREATE TRIGGER disk_full BEFORE INSERT ON samples BEGIN SELECT RAISE(ABORT, 'database or disk is full'); END`); err != nil {
		t.Fatal(err)
	}
	g := r.Gauge("g", nil)
	for i := 0; i < 2000; i++ {
		g.Set(float64(i))
		if i%100 == 0 {
			r.Flush(context.Background()) // fails: the buffers stay queued
		}
	}
	s := r.Stats()
	if s.Buffered > 300+100 {
		t.Errorf("buffered = %d, want at most MaxBuffer+BufferSize = 400", s.Buffered)
	}
	if s.Dropped+int64(s.Buffered) != 2000 || s.Dropped < 1600 || s.FlushErrors == 0 {
		t.Errorf("stats = %+v, want every sample either buffered or counted as dropped", s)
	}
	if err := r.Flush(context.Background()); err == nil || !strings.Contains(err.Error(), "disk is full") {
		t.Errorf("Flush = %v, want the store's error", err)
	}
	// The store recovers: what was kept is written, nothing twice.
	db.Exec(`DROP TRIGGER disk_full`)
	if err := r.Flush(context.Background()); err != nil {
		t.Fatal(err)
	}
	var n int64
	db.QueryRow("SELECT count(*) FROM samples").Scan(&n)
	if s2 := r.Stats(); n != int64(s.Buffered) || s2.Written != n || s2.Buffered != 0 {
		t.Errorf("after recovery: %d rows, stats %+v; want %d", n, s2, s.Buffered)
	}
}

func TestRefusals(t *testing.T) {
	r, _ := newRecorder(t, Options{})
	r.Counter("x", nil).Add(-1)                        // negative increment
	r.Gauge("y", nil).Set(nan())                       // NaN
	r.Counter("bad-name", nil).Inc()                   // invalid name
	r.Gauge("x", nil).Set(1)                           // x is a counter
	r.Counter("x", map[string]string{"1a": "v"}).Inc() // invalid label
	r.Counter("x", nil).Inc()
	r.Flush(context.Background())
	if s := r.Stats(); s.Written != 1 || s.Invalid != 5 {
		t.Errorf("stats = %+v, want 1 written and 5 invalid", s)
	}
}

func nan() float64 { var z float64; return z / z }

func TestConcurrentRecording(t *testing.T) {
	r, _ := newRecorder(t, Options{BufferSize: 64, Resolution: -1})
	var wg sync.WaitGroup
	for g := 0; g < 8; g++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			c := r.Counter("c_total", map[string]string{"g": fmt.Sprint(g % 3)})
			for i := 0; i < 5000; i++ {
				c.Inc()
				r.Histogram("h", nil).Observe(float64(i))
			}
		}()
	}
	wg.Wait()
	r.Flush(context.Background())
	got := rows(t, r, "SELECT count(*), sum(value) FROM metrics WHERE name = 'c_total'")
	if got[0] != "40000 40000" {
		t.Errorf("counter rows, sum = %s, want 40000 40000", got[0])
	}
	got = rows(t, r, "SELECT count(*) FROM samples")
	if got[0] != "80000" {
		t.Errorf("samples = %s, want 80000", got[0])
	}
}

func TestSamplingKeepsRatesUnbiased(t *testing.T) {
	r, _ := newRecorder(t, Options{Sampling: map[string]float64{"hot_total": 0.1}, BufferSize: 10000, MaxBuffer: 1 << 20})
	c := r.Counter("hot_total", nil)
	for i := 0; i < 100000; i++ {
		c.Inc()
	}
	r.Flush(context.Background())
	var n int
	var sum float64
	r.storeNow().DBForTest().QueryRow("SELECT count(*), sum(value) FROM samples").Scan(&n, &sum)
	// ~10% of the events are kept, each counting 10: the sum stays ~100000
	// (the binomial standard deviation of the sum is ~950).
	if n < 9000 || n > 11000 || sum < 95000 || sum > 105000 {
		t.Errorf("kept %d samples summing to %v, want ~10000 summing to ~100000", n, sum)
	}
}

func TestMonitorAndTimer(t *testing.T) {
	r, clk := newRecorder(t, Options{Resolution: -1, ErrorClassifier: ErrorType})
	ctx := context.Background()
	err := r.Monitor(ctx, "rag_query", map[string]string{"kind": "complex"}, func(context.Context) error {
		clk.Advance(250 * time.Millisecond)
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	boom := &myErr{}
	if err := r.Monitor(ctx, "rag_query", map[string]string{"kind": "complex"}, func(context.Context) error { return boom }); !errors.Is(err, boom) {
		t.Fatalf("Monitor returned %v, want fn's error", err)
	}
	stop := r.Timer("compress_ms", nil)
	clk.Advance(40 * time.Millisecond)
	stop()
	r.Flush(ctx)
	got := rows(t, r, "SELECT se.name, se.labels, s.value FROM samples s JOIN series se ON se.id = s.series_id WHERE se.name NOT LIKE '%memory_delta_mb' ORDER BY s.id")
	want := []string{
		`rag_query_started_total {"kind":"complex"} 1`,
		`rag_query_completed_total {"kind":"complex","status":"success"} 1`,
		`rag_query_duration_ms {"kind":"complex"} 250`,
		`rag_query_started_total {"kind":"complex"} 1`,
		`rag_query_failed_total {"error":"myErr","kind":"complex","status":"failed"} 1`,
		`rag_query_duration_ms {"kind":"complex"} 0`,
		`compress_ms {} 40`,
	}
	if strings.Join(got, "\n") != strings.Join(want, "\n") {
		t.Errorf("got\n%s\nwant\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
	if got := rows(t, r, "SELECT count(*) FROM metrics WHERE name = 'rag_query_memory_delta_mb'"); got[0] != "2" {
		t.Errorf("memory delta samples = %s, want 2", got[0])
	}
}

type myErr struct{}

func (*myErr) Error() string { return "boom" }

func TestMiddlewareAndSLI(t *testing.T) {
	r, clk := newRecorder(t, Options{})
	mux := http.NewServeMux()
	mux.HandleFunc("GET /users/{id}", func(w http.ResponseWriter, _ *http.Request) {
		clk.Advance(30 * time.Millisecond)
		w.Write([]byte("ok"))
	})
	mux.HandleFunc("POST /fail", func(w http.ResponseWriter, _ *http.Request) { http.Error(w, "no", http.StatusServiceUnavailable) })
	srv := httptest.NewServer(r.Middleware(mux, MiddlewareOptions{}))
	defer srv.Close()
	http.Get(srv.URL + "/users/42")
	http.Get(srv.URL + "/users/7")
	http.Post(srv.URL+"/fail", "text/plain", nil)
	r.TrackAvailability("checkout", true, 120*time.Millisecond)
	r.TrackAvailability("checkout", false, 2*time.Second)
	r.TrackLatency("checkout", 1999*time.Millisecond, 2*time.Second)
	r.TrackLatency("checkout", 2*time.Second, 2*time.Second)
	r.Flush(context.Background())
	got := rows(t, r, "SELECT name, labels, sum(value), count(*) FROM metrics GROUP BY name, labels ORDER BY name, labels")
	want := []string{
		`http_requests_total {"endpoint":"/fail","method":"POST","status":"503"} 1 1`,
		`http_requests_total {"endpoint":"/users/{id}","method":"GET","status":"200"} 2 1`, // coalesced
		`response_time_ms {"endpoint":"/fail","method":"POST"} 0 1`,
		`response_time_ms {"endpoint":"/users/{id}","method":"GET"} 60 2`,
		`sli_latency_requests_total {"fast":"false","service":"checkout"} 1 1`,
		`sli_latency_requests_total {"fast":"true","service":"checkout"} 1 1`,
		`sli_request_duration_ms {"service":"checkout","success":"false"} 2000 1`,
		`sli_request_duration_ms {"service":"checkout","success":"true"} 120 1`,
		`sli_requests_total {"service":"checkout","success":"false"} 1 1`,
		`sli_requests_total {"service":"checkout","success":"true"} 1 1`,
	}
	if strings.Join(got, "\n") != strings.Join(want, "\n") {
		t.Errorf("got\n%s\nwant\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
}

func TestAddBatchIsAllOrNothing(t *testing.T) {
	r, _ := newRecorder(t, Options{BufferSize: 10, MaxBuffer: 20})
	ok := Sample{Name: "g", Type: TypeGauge, TS: 1, Value: 1}
	bad := Sample{Name: "g", Type: TypeGauge, TS: 2, Value: nan()}
	if err := r.AddBatch([]Sample{ok, ok, bad}); err == nil || !strings.Contains(err.Error(), "sample 3: value is NaN") {
		t.Errorf("AddBatch = %v", err)
	}
	big := make([]Sample, 21)
	for i := range big {
		big[i] = ok
	}
	if err := r.AddBatch(big); !errors.Is(err, ErrBatchTooLarge) {
		t.Errorf("AddBatch(21) = %v, want ErrBatchTooLarge", err)
	}
	// A rejected batch creates no series: its type does not stick.
	clash := []Sample{{Name: "h", Type: TypeCounter, TS: 1, Value: 1}, bad}
	if err := r.AddBatch(clash); err == nil {
		t.Fatal("batch with a NaN accepted")
	}
	if err := r.AddBatch([]Sample{{Name: "h", Type: TypeGauge, TS: 1, Value: 1}, {Name: "h", Type: TypeCounter, TS: 1, Value: 1}}); err == nil || !strings.Contains(err.Error(), "earlier in the batch") {
		t.Errorf("in-batch type clash: %v", err)
	}
	// A full buffer wakes the flusher; holding it off keeps the 15 samples
	// buffered while the next batch is tried.
	r.flushMu.Lock()
	if err := r.AddBatch(big[:15]); err != nil {
		r.flushMu.Unlock()
		t.Fatal(err)
	}
	if err := r.AddBatch(big[:10]); !errors.Is(err, ErrBufferFull) {
		t.Errorf("AddBatch(10) on 15 of 20 = %v, want ErrBufferFull", err)
	}
	r.flushMu.Unlock()
	r.Flush(context.Background())
	if err := r.AddBatch([]Sample{{Name: "h", Type: TypeGauge, TS: 1, Value: 1}}); err != nil {
		t.Errorf("h as a gauge after a refused counter batch: %v", err)
	}
	r.Flush(context.Background())
	if s := r.Stats(); s.Written != 16 {
		t.Fatalf("stats = %+v, want 16 written", s)
	}
	if s := r.Stats(); s.Buffered != 0 {
		t.Errorf("buffered = %d after refused batches, want 0", s.Buffered)
	}
	if err := r.AddBatch(big[:20]); err != nil {
		t.Fatal(err)
	}
	r.Flush(context.Background())
	if s := r.Stats(); s.Written != 36 || s.Dropped != 0 {
		t.Errorf("stats = %+v", s)
	}
}

func TestErrorType(t *testing.T) {
	if got := ErrorType(&myErr{}); got != "myErr" {
		t.Errorf("ErrorType = %q", got)
	}
	if got := ErrorType(context.DeadlineExceeded); got != "deadlineExceededError" {
		t.Errorf("ErrorType = %q", got)
	}
}

// BenchmarkCounterAdd is a kept handle's Add on one goroutine, coalesced
// (0 allocs/op; see BenchmarkIncSideBySide for client_golang's).
func BenchmarkCounterAdd(b *testing.B) {
	r, _ := newRecorder(b, Options{MaxBuffer: 1 << 16})
	c := r.Counter("bench_total", map[string]string{"method": "GET", "status": "200"})
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		c.Add(1)
	}
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "samples/s")
}

// BenchmarkLookupAndAdd looks the series up on every call, as
// r.Counter(name, labels).Add(1) in a handler does.
func BenchmarkLookupAndAdd(b *testing.B) {
	r, _ := newRecorder(b, Options{MaxBuffer: 1 << 16})
	labels := map[string]string{"method": "GET", "status": "200"}
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		r.Counter("bench_total", labels).Add(1)
	}
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "samples/s")
}

// BenchmarkFlush measures buffered samples into SQLite (target: >= 1M rows/s).
func BenchmarkFlush(b *testing.B) {
	r, _ := newRecorder(b, Options{BufferSize: 10000, MaxBuffer: 1 << 30})
	hs := make([]Histogram, 100)
	for i := range hs {
		hs[i] = r.Histogram("bench_ms", map[string]string{"i": fmt.Sprint(i)})
	}
	for i := 0; i < 1000; i++ { // series exist before timing
		hs[i%100].Observe(1)
	}
	r.Flush(context.Background())
	for i := 0; i < b.N; i++ {
		hs[i%100].Observe(float64(i))
	}
	b.ResetTimer()
	if err := r.Flush(context.Background()); err != nil {
		b.Fatal(err)
	}
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "rows/s")
}

// A series the store refuses (its name got another type on disk after the
// Recorder started) is dropped as invalid; the rest of the flush lands.
func TestStoreRefusesASeries(t *testing.T) {
	r, _ := newRecorder(t, Options{})
	if _, err := r.storeNow().DBForTest().Exec(`INSERT INTO series(name, type, labels, service) VALUES ('late', 'gauge', '{}', '')`); err != nil {
		t.Fatal(err)
	}
	r.Counter("late", nil).Inc()
	r.Counter("fine_total", nil).Inc()
	if err := r.Flush(context.Background()); err != nil {
		t.Fatalf("Flush = %v, want the refused series dropped and the rest written", err)
	}
	r.Counter("late", nil).Inc() // refused from now on, without a store round trip
	// New label sets of the refused name are refused up front, not
	// accepted and dropped later.
	if err := r.AddBatch([]Sample{{Name: "late", Type: TypeCounter, Labels: map[string]string{"a": "b"}, TS: 1, Value: 1}}); err == nil || !strings.Contains(err.Error(), "metric late is a gauge in this store") {
		t.Errorf("AddBatch(late counter) = %v, want refused", err)
	}
	r.Counter("late", map[string]string{"a": "c"}).Inc()
	r.Flush(context.Background())
	if s := r.Stats(); s.Written != 1 || s.Invalid != 3 || s.Buffered != 0 {
		t.Errorf("stats = %+v, want 1 written, 3 invalid", s)
	}
}

// A failing store is retried on its backoff even while new samples keep
// waking the flusher.
func TestRetryIsNotStarvedByWakeups(t *testing.T) {
	r, _ := newRecorder(t, Options{BufferSize: 10, MaxBuffer: 100000, Resolution: -1})
	db := r.storeNow().DBForTest()
	db.Exec(`CREATE TRIGGER disk_full BEFORE INSERT ON samples BEGIN SELECT RAISE(ABORT, 'database or disk is full'); END`)
	g := r.Gauge("g", nil)
	for i := 0; i < 30; i++ {
		g.Set(1)
	}
	time.Sleep(50 * time.Millisecond)
	db.Exec(`DROP TRIGGER disk_full`)
	deadline := time.Now().Add(5 * time.Second)
	for r.Stats().Written == 0 && time.Now().Before(deadline) {
		for i := 0; i < 10; i++ { // a full buffer: wakes the flusher
			g.Set(1)
		}
		time.Sleep(20 * time.Millisecond)
	}
	if r.Stats().Written == 0 {
		t.Fatalf("nothing written 5s after the store recovered: %+v", r.Stats())
	}
}

// Batches racing Close are either written or refused with ErrClosed:
// never accepted and lost.
func TestAddBatchRacingClose(t *testing.T) {
	for round := 0; round < 5; round++ {
		clk := &fakeClock{t: time.Date(2026, 11, 29, 10, 0, 0, 0, time.UTC)}
		path := filepath.Join(t.TempDir(), "v.db")
		r, err := Open(path, Options{Now: clk.Now, FlushInterval: -1, BufferSize: 1000, MaxBuffer: 1 << 20})
		if err != nil {
			t.Fatal(err)
		}
		var accepted atomic.Int64
		var wg sync.WaitGroup
		for g := 0; g < 6; g++ {
			wg.Add(1)
			go func() {
				defer wg.Done()
				batch := make([]Sample, 2000)
				for i := range batch {
					batch[i] = Sample{Name: "b_total", Type: TypeCounter, Labels: map[string]string{"g": fmt.Sprint(g)}, TS: int64(i), Value: 1}
				}
				for k := 0; k < 20; k++ {
					err := r.AddBatch(batch)
					if err == nil {
						accepted.Add(int64(len(batch)))
					} else if !errors.Is(err, ErrClosed) && !errors.Is(err, ErrBufferFull) {
						t.Errorf("AddBatch: %v", err)
					}
				}
			}()
		}
		time.Sleep(time.Duration(round) * 5 * time.Millisecond)
		if err := r.Close(); err != nil {
			t.Fatal(err)
		}
		wg.Wait()
		st, _ := store.Open(context.Background(), path, store.Options{ReadOnly: true})
		var n int64
		st.DBForTest().QueryRow("SELECT count(*) FROM samples").Scan(&n)
		st.Close()
		if n != accepted.Load() {
			t.Fatalf("round %d: %d rows for %d accepted samples", round, n, accepted.Load())
		}
	}
}

// After a failed write the store may be reopened on a different file (a
// restore): samples still queued for a series that ForgetIdle already
// dropped must be re-resolved in the new file, not written under the id
// the series had in the old one.
func TestReopenReresolvesForgottenQueuedSeries(t *testing.T) {
	r, _ := newRecorder(t, Options{Reopen: true})
	path := r.storeNow().Path
	r.Counter("a_total", map[string]string{"k": "v"}).Add(1)
	if err := r.Flush(context.Background()); err != nil {
		t.Fatal(err)
	}
	if _, err := r.storeNow().DBForTest().Exec(`CREATE TRIGGER full BEFORE INSERT ON samples BEGIN SELECT RAISE(ABORT, 'database or disk is full'); END`); err != nil {
		t.Fatal(err)
	}
	r.Counter("a_total", map[string]string{"k": "v"}).Add(2)
	flushErr := r.Flush(context.Background())
	if flushErr == nil {
		t.Fatal("flush into a full store succeeded")
	}
	r.ForgetIdle(0)
	r.ForgetIdle(0) // a_total is forgotten; its sample of 2 still waits
	replaceStore(t, path)
	r.reopenAfter(context.Background(), flushErr)
	if err := r.Flush(context.Background()); err != nil {
		t.Fatal(err)
	}
	got := rows(t, r, `SELECT se.name, s.value FROM samples s JOIN series se ON se.id = s.series_id ORDER BY s.id`)
	if strings.Join(got, ";") != "b 9;a_total 2" {
		t.Errorf("rows = %q, want b 9 then a_total 2", got)
	}
}

// A handle kept by the caller outlives ForgetIdle: after a reopen on a
// replaced file its series must be resolved again, not written under the
// id it had in the old file.
func TestReopenReresolvesHeldHandles(t *testing.T) {
	r, _ := newRecorder(t, Options{Reopen: true})
	path := r.storeNow().Path
	c := r.Counter("a_total", map[string]string{"k": "v"})
	c.Add(1)
	if err := r.Flush(context.Background()); err != nil {
		t.Fatal(err)
	}
	r.ForgetIdle(0)
	r.ForgetIdle(0)
	replaceStore(t, path)
	r.reopenAfter(context.Background(), errors.New("a write failed"))
	c.Add(2)
	if err := r.Flush(context.Background()); err != nil {
		t.Fatal(err)
	}
	got := rows(t, r, `SELECT se.name, s.value FROM samples s JOIN series se ON se.id = s.series_id ORDER BY s.id`)
	if strings.Join(got, ";") != "b 9;a_total 2" {
		t.Errorf("rows = %q, want b 9 then a_total 2", got)
	}
}

// replaceStore puts another store in path's place (a restore), whose
// series id 1 is some other series: gauge b, with one sample of 9.
func replaceStore(t *testing.T, path string) {
	t.Helper()
	other := filepath.Join(t.TempDir(), "other.db")
	st, err := store.Open(context.Background(), other, store.Options{})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := st.Write(context.Background(), []store.Sample{{Name: "b", Type: store.Gauge, TS: 1795946400000, Value: 9}}); err != nil {
		t.Fatal(err)
	}
	st.Close()
	for _, suffix := range []string{"-wal", "-shm"} {
		os.Remove(path + suffix)
	}
	if err := os.Rename(other, path); err != nil {
		t.Fatal(err)
	}
}
