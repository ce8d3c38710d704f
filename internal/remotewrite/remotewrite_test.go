package remotewrite

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/prometheus/client_golang/exp/api/remote"
	writev2 "github.com/prometheus/client_golang/exp/api/remote/genproto/v2"
	"github.com/prometheus/prometheus/prompb"

	"github.com/vigil-metrics/vigil/internal/store"
)

// receiver is a remote-write endpoint decoding what it gets (1.0, and
// 2.0 unless v2Status is set: then 2.0 gets that status) into "labels ts
// value" lines; scripted answers are given first.
type receiver struct {
	t        *testing.T
	v2Status int

	mu         sync.Mutex
	script     []int // statuses answered before accepting
	retryAfter string
	hits       int
	types      []string // Content-Type of every request
	lines      []string // accepted samples
	meta       map[string]string
	user, pass string
}

func newReceiver(t *testing.T) (*receiver, *httptest.Server) {
	rc := &receiver{t: t, meta: map[string]string{}}
	// The library's middleware checks Content-Encoding: snappy and
	// decompresses.
	srv := httptest.NewServer(remote.SnappyDecodeMiddleware(slog.New(slog.DiscardHandler))(rc))
	t.Cleanup(srv.Close)
	return rc, srv
}

func (rc *receiver) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	rc.mu.Lock()
	defer rc.mu.Unlock()
	rc.hits++
	ct := r.Header.Get("Content-Type")
	rc.types = append(rc.types, ct)
	rc.user, rc.pass, _ = r.BasicAuth()
	if len(rc.script) > 0 {
		st := rc.script[0]
		rc.script = rc.script[1:]
		if rc.retryAfter != "" {
			w.Header().Set("Retry-After", rc.retryAfter)
		}
		http.Error(w, "scripted", st)
		return
	}
	raw, err := io.ReadAll(r.Body)
	if err != nil {
		http.Error(w, err.Error(), 400)
		return
	}
	if strings.Contains(ct, "io.prometheus.write.v2.Request") {
		if rc.v2Status != 0 {
			http.Error(w, "v1 only", rc.v2Status)
			return
		}
		var req writev2.Request
		if err := req.UnmarshalVT(raw); err != nil {
			http.Error(w, err.Error(), 400)
			return
		}
		n := 0
		for _, ts := range req.Timeseries {
			ls := writev2.DesymbolizeLabels(ts.LabelsRefs, req.Symbols, nil)
			var b strings.Builder
			for i := 0; i < len(ls); i += 2 {
				fmt.Fprintf(&b, "%s=%s,", ls[i], ls[i+1])
			}
			if ts.Metadata != nil {
				rc.meta[b.String()] = ts.Metadata.Type.String()
			}
			for _, s := range ts.Samples {
				rc.lines = append(rc.lines, fmt.Sprintf("%s %d %g", b.String(), s.Timestamp, s.Value))
				n++
			}
		}
		w.Header().Set("X-Prometheus-Remote-Write-Samples-Written", fmt.Sprint(n))
		w.WriteHeader(http.StatusNoContent)
		return
	}
	var req prompb.WriteRequest
	if err := req.Unmarshal(raw); err != nil {
		http.Error(w, err.Error(), 400)
		return
	}
	for _, ts := range req.Timeseries {
		var b strings.Builder
		for _, l := range ts.Labels {
			fmt.Fprintf(&b, "%s=%s,", l.Name, l.Value)
		}
		for _, s := range ts.Samples {
			rc.lines = append(rc.lines, fmt.Sprintf("%s %d %g", b.String(), s.Timestamp, s.Value))
		}
	}
	w.WriteHeader(http.StatusNoContent)
}

func (rc *receiver) got() []string {
	rc.mu.Lock()
	defer rc.mu.Unlock()
	return slices.Clone(rc.lines)
}

func (rc *receiver) hitCount() int {
	rc.mu.Lock()
	defer rc.mu.Unlock()
	return rc.hits
}

func gauge(name string, ts int64, v float64) store.Sample {
	return store.Sample{Name: name, Type: store.Gauge, TS: ts, Value: v}
}

func counter(name string, ts int64, v float64) store.Sample {
	return store.Sample{Name: name, Type: store.Counter, TS: ts, Value: v}
}

// queued lists the queue as "name ts value" without sending it.
func queued(w *Writer) []string {
	var out []string
	for _, e := range w.take(1<<30, nil) {
		out = append(out, fmt.Sprintf("%s %d %g", e.name+suffixes[e.suffix], e.ts, e.v))
	}
	return out
}

func mustWriter(t *testing.T, opt Options) *Writer {
	t.Helper()
	if opt.URL == "" {
		opt.URL = "http://127.0.0.1:1/api/v1/write"
	}
	w, err := newWriter(opt)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(w.cancel)
	return w
}

// A full queue drops its oldest samples, counted exactly.
func TestQueueDropsOldest(t *testing.T) {
	w := mustWriter(t, Options{QueueSize: 5})
	var in []store.Sample
	for i := 1; i <= 8; i++ {
		in = append(in, gauge("g", int64(1000*i), float64(i)))
	}
	w.Enqueue(in[:6]) // 6 into 5: g=1 dropped
	w.Enqueue(in[6:]) // 2 more: g=2 and g=3 dropped
	st := w.Stats()
	if st.Dropped != 3 || st.Queued != 5 {
		t.Fatalf("dropped %d, queued %d; want 3 and 5", st.Dropped, st.Queued)
	}
	want := []string{"g 4000 4", "g 5000 5", "g 6000 6", "g 7000 7", "g 8000 8"}
	if got := queued(w); !slices.Equal(got, want) {
		t.Fatalf("queue %q, want %q", got, want)
	}
	// Room again: nothing more is dropped.
	w.Enqueue([]store.Sample{gauge("g", 9000, 9)})
	if st := w.Stats(); st.Dropped != 3 || st.Queued != 1 {
		t.Fatalf("after taking: dropped %d, queued %d", st.Dropped, st.Queued)
	}
}

// Counters go as running totals: increments 4, 0, 11 are totals 4, 4,
// 15, after a 0 a millisecond before the first (the series starts from 0
// here); a dropped sample does not lose its increment from later totals.
func TestCounterTotals(t *testing.T) {
	w := mustWriter(t, Options{})
	w.Enqueue([]store.Sample{counter("c_total", 1000, 4), counter("c_total", 2000, 0)})
	w.Enqueue([]store.Sample{counter("c_total", 3000, 11)})
	if got, want := queued(w), []string{"c_total 999 0", "c_total 1000 4", "c_total 2000 4", "c_total 3000 15"}; !slices.Equal(got, want) {
		t.Fatalf("queue %q, want %q", got, want)
	}

	w = mustWriter(t, Options{QueueSize: 3})
	for i := 1; i <= 6; i++ {
		w.Enqueue([]store.Sample{counter("c_total", int64(1000*i), 1)})
	}
	if got, want := queued(w), []string{"c_total 4000 4", "c_total 5000 5", "c_total 6000 6"}; !slices.Equal(got, want) {
		t.Fatalf("queue %q, want %q", got, want)
	}
	// Seven queued (the 0 at 999, then 1 to 6) in three places.
	if d := w.Stats().Dropped; d != 4 {
		t.Fatalf("dropped %d, want 4", d)
	}
}

// Timestamps stay increasing per series: a second sample at the same
// millisecond replaces the queued one; an older one is counted, a
// counter's increment carried by the next sample.
func TestSameAndEarlierTimestamps(t *testing.T) {
	w := mustWriter(t, Options{})
	w.Enqueue([]store.Sample{
		counter("c_total", 1000, 2), counter("c_total", 1000, 3), // one sample: 5
		gauge("g", 1000, 1), gauge("g", 1000, 7), // one sample: 7
		counter("c_total", 500, 10), // late: folded into the total
		gauge("g", 500, 9),          // late: lost
		counter("c_total", 2000, 1), // 5 + 10 + 1
	})
	want := []string{"c_total 999 0", "c_total 1000 5", "g 1000 7", "c_total 2000 16"}
	if got := queued(w); !slices.Equal(got, want) {
		t.Fatalf("queue %q, want %q", got, want)
	}
	if n := w.Stats().OutOfOrder; n != 2 {
		t.Fatalf("out of order %d, want 2", n)
	}
	// Already taken to be sent: a sample at the same time is out of order.
	w.Enqueue([]store.Sample{gauge("g", 1000, 8)})
	if got := queued(w); len(got) != 0 || w.Stats().OutOfOrder != 3 {
		t.Fatalf("queue %q, out of order %d", got, w.Stats().OutOfOrder)
	}
}

// Histogram observations become _count and _sum totals.
func TestHistogram(t *testing.T) {
	w := mustWriter(t, Options{})
	h := func(ts int64, v float64) store.Sample {
		return store.Sample{Name: "lat_ms", Type: store.Histogram, TS: ts, Value: v}
	}
	w.Enqueue([]store.Sample{h(1000, 0.5), h(1000, 1.5), h(2000, 3)})
	want := []string{"lat_ms_count 999 0", "lat_ms_count 1000 2", "lat_ms_sum 999 0", "lat_ms_sum 1000 2", "lat_ms_count 2000 3", "lat_ms_sum 2000 5"}
	if got := queued(w); !slices.Equal(got, want) {
		t.Fatalf("queue %q, want %q", got, want)
	}
}

func TestLabels(t *testing.T) {
	str := func(ls []prompb.Label) string {
		var b strings.Builder
		for _, l := range ls {
			fmt.Fprintf(&b, "%s=%s,", l.Name, l.Value)
		}
		return b.String()
	}
	for _, c := range []struct {
		labels  map[string]string
		service string
		want    string
	}{
		{nil, "", "__name__=m,"},
		{map[string]string{"b": "2", "A": "1", "empty": ""}, "", "A=1,__name__=m,b=2,"},
		{map[string]string{"host": "h"}, "api", "__name__=m,host=h,service=api,"},
		{map[string]string{"service": "own"}, "api", "__name__=m,service=own,"}, // the label wins, as in vigil's queries
		{map[string]string{"service": ""}, "api", "__name__=m,service=api,"},
		{map[string]string{"service": "own"}, "", "__name__=m,service=own,"},
	} {
		if got := str(Labels("m", c.labels, c.service)); got != c.want {
			t.Errorf("Labels(%v, %q) = %s, want %s", c.labels, c.service, got, c.want)
		}
	}
}

func start(t *testing.T, opt Options) *Writer {
	t.Helper()
	if opt.MinBackoff == 0 {
		opt.MinBackoff, opt.MaxBackoff = 10*time.Millisecond, 50*time.Millisecond
	}
	if opt.FlushInterval == 0 {
		opt.FlushInterval = 20 * time.Millisecond
	}
	w, err := New(opt)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), time.Second)
		defer cancel()
		w.Close(ctx)
	})
	return w
}

func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

// The receiver gets exactly the samples, with the service label and
// counters as totals (protocol 1.0).
func TestSendV1(t *testing.T) {
	rc, srv := newReceiver(t)
	w := start(t, Options{URL: srv.URL + "/api/v1/write", Protocol: ProtocolV1})
	w.Enqueue([]store.Sample{
		{Name: "c_total", Type: store.Counter, Labels: map[string]string{"k": "v"}, Service: "api", TS: 1000, Value: 4},
		{Name: "g", Type: store.Gauge, TS: 1000, Value: 2.5},
		{Name: "c_total", Type: store.Counter, Labels: map[string]string{"k": "v"}, Service: "api", TS: 2000, Value: 0},
		{Name: "c_total", Type: store.Counter, Labels: map[string]string{"k": "v"}, Service: "api", TS: 3000, Value: 11},
	})
	waitFor(t, "5 samples sent", func() bool { return w.Stats().Sent == 5 })
	want := []string{
		"__name__=c_total,k=v,service=api, 999 0",
		"__name__=c_total,k=v,service=api, 1000 4",
		"__name__=c_total,k=v,service=api, 2000 4",
		"__name__=c_total,k=v,service=api, 3000 15",
		"__name__=g, 1000 2.5",
	}
	if got := rc.got(); !slices.Equal(got, want) {
		t.Fatalf("received %q, want %q", got, want)
	}
	if rc.types[0] != "application/x-protobuf" {
		t.Errorf("Content-Type %q", rc.types[0])
	}
}

// 503 and 429 are retried (Retry-After honoured), then the batch goes
// through once.
func TestRetry503And429(t *testing.T) {
	rc, srv := newReceiver(t)
	rc.script = []int{http.StatusServiceUnavailable, http.StatusTooManyRequests}
	rc.retryAfter = "1"
	w := start(t, Options{URL: srv.URL, Protocol: ProtocolV1})
	began := time.Now()
	w.Enqueue([]store.Sample{gauge("g", 1000, 1), gauge("g", 2000, 2)})
	waitFor(t, "2 samples sent", func() bool { return w.Stats().Sent == 2 })
	if el := time.Since(began); el < 2*time.Second {
		t.Errorf("sent after %v: Retry-After: 1, twice, not honoured", el)
	}
	st := w.Stats()
	if st.Retries != 2 || st.Failed != 0 || rc.hitCount() != 3 {
		t.Fatalf("retries %d, failed %d, requests %d; want 2, 0, 3", st.Retries, st.Failed, rc.hitCount())
	}
	if got, want := rc.got(), []string{"__name__=g, 1000 1", "__name__=g, 2000 2"}; !slices.Equal(got, want) {
		t.Fatalf("received %q, want %q", got, want)
	}
}

// A 400 is not retried: the batch is dropped and counted as failed, with
// one log line; the next batch goes through.
func TestNoRetryOn400(t *testing.T) {
	rc, srv := newReceiver(t)
	rc.script = []int{http.StatusBadRequest}
	var logs syncBuffer
	w := start(t, Options{URL: srv.URL, Protocol: ProtocolV1, Logger: slog.New(slog.NewTextHandler(&logs, nil))})
	w.Enqueue([]store.Sample{gauge("g", 1000, 1), gauge("g", 2000, 2), gauge("h", 2000, 2)})
	waitFor(t, "3 samples failed", func() bool { return w.Stats().Failed == 3 })
	w.Enqueue([]store.Sample{gauge("g", 3000, 3)})
	waitFor(t, "1 sample sent", func() bool { return w.Stats().Sent == 1 })
	st := w.Stats()
	if st.Retries != 0 || rc.hitCount() != 2 {
		t.Fatalf("retries %d, requests %d; want 0 and 2", st.Retries, rc.hitCount())
	}
	if got, want := rc.got(), []string{"__name__=g, 3000 3"}; !slices.Equal(got, want) {
		t.Fatalf("received %q, want %q", got, want)
	}
	if n := strings.Count(logs.String(), "remote write batch dropped"); n != 1 {
		t.Fatalf("%d log lines for the dropped batch, want 1:\n%s", n, logs.String())
	}
}

// Credentials in the URL are sent as basic auth and appear in no log,
// error or URL() (label value).
func TestRedaction(t *testing.T) {
	rc, srv := newReceiver(t)
	u := strings.Replace(srv.URL, "http://", "http://alice:s3cret@", 1) + "/write?token=t0ken"
	w := start(t, Options{URL: u, Protocol: ProtocolV1})
	w.Enqueue([]store.Sample{gauge("g", 1000, 1)})
	waitFor(t, "1 sample sent", func() bool { return w.Stats().Sent == 1 })
	rc.mu.Lock()
	user, pass := rc.user, rc.pass
	rc.mu.Unlock()
	if user != "alice" || pass != "s3cret" {
		t.Errorf("basic auth %q:%q", user, pass)
	}
	if got := w.URL(); strings.Contains(got, "alice") || strings.Contains(got, "s3cret") || strings.Contains(got, "t0ken") {
		t.Errorf("URL() = %s", got)
	}

	// A dead endpoint: the network error quotes the URL.
	l, _ := net.Listen("tcp", "127.0.0.1:0")
	dead := "http://alice:s3cret@" + l.Addr().String() + "/write?token=t0ken"
	l.Close()
	var logs syncBuffer
	w2 := start(t, Options{URL: dead, Protocol: ProtocolV1, MaxRetries: 1,
		Logger: slog.New(slog.NewTextHandler(&logs, &slog.HandlerOptions{Level: slog.LevelDebug}))})
	w2.Enqueue([]store.Sample{gauge("g", 1000, 1)})
	waitFor(t, "the batch given up", func() bool { return w2.Stats().Failed == 1 })
	out := logs.String()
	if !strings.Contains(out, "remote write batch dropped") {
		t.Fatalf("no log line:\n%s", out)
	}
	for _, secret := range []string{"alice", "s3cret", "t0ken"} {
		if strings.Contains(out, secret) {
			t.Errorf("%q in the logs:\n%s", secret, out)
		}
	}
	if _, err := New(Options{URL: "ftp://alice:s3cret@x/"}); err == nil || strings.Contains(err.Error(), "s3cret") {
		t.Errorf("New(ftp URL) = %v", err)
	}
}

// auto: a 2.0 receiver gets 2.0 with metadata; a 1.0 receiver answering
// 415 gets the same batch again as 1.0, and 1.0 from then on.
func TestProtocolNegotiation(t *testing.T) {
	rc, srv := newReceiver(t)
	w := start(t, Options{URL: srv.URL})
	w.Enqueue([]store.Sample{counter("c_total", 1000, 3), gauge("g", 1000, 1)})
	waitFor(t, "3 samples sent", func() bool { return w.Stats().Sent == 3 })
	if p := w.Stats().Protocol; p != ProtocolV2 {
		t.Fatalf("protocol %s, want 2.0", p)
	}
	if got, want := rc.got(), []string{"__name__=c_total, 999 0", "__name__=c_total, 1000 3", "__name__=g, 1000 1"}; !slices.Equal(got, want) {
		t.Fatalf("received %q, want %q", got, want)
	}
	if m := rc.meta["__name__=c_total,"]; m != "METRIC_TYPE_COUNTER" {
		t.Errorf("c_total metadata %s", m)
	}

	rc1, srv1 := newReceiver(t)
	rc1.v2Status = http.StatusUnsupportedMediaType
	w1 := start(t, Options{URL: srv1.URL})
	w1.Enqueue([]store.Sample{counter("c_total", 1000, 3)})
	waitFor(t, "2 samples sent", func() bool { return w1.Stats().Sent == 2 })
	w1.Enqueue([]store.Sample{counter("c_total", 2000, 1)})
	waitFor(t, "3 samples sent", func() bool { return w1.Stats().Sent == 3 })
	if p := w1.Stats().Protocol; p != ProtocolV1 {
		t.Fatalf("protocol %s, want 1.0", p)
	}
	if got, want := rc1.got(), []string{"__name__=c_total, 999 0", "__name__=c_total, 1000 3", "__name__=c_total, 2000 4"}; !slices.Equal(got, want) {
		t.Fatalf("received %q, want %q", got, want)
	}
	if rc1.hitCount() != 3 || w1.Stats().Failed != 0 {
		t.Fatalf("%d requests (want 3: 2.0 refused, 1.0, 1.0), failed %d", rc1.hitCount(), w1.Stats().Failed)
	}

	// A receiver answering 2.0 with 400 and taking 1.0 gets 1.0.
	rc2, srv2 := newReceiver(t)
	rc2.v2Status = http.StatusBadRequest
	w2 := start(t, Options{URL: srv2.URL})
	w2.Enqueue([]store.Sample{gauge("g", 1000, 1)})
	waitFor(t, "1 sample sent", func() bool { return w2.Stats().Sent == 1 })
	if st := w2.Stats(); st.Protocol != ProtocolV1 || st.Failed != 0 || rc2.hitCount() != 2 {
		t.Fatalf("stats %+v after %d requests", st, rc2.hitCount())
	}
}

// Close sends what is queued; against a receiver that keeps failing it
// gives up at the deadline and says how many were left.
func TestCloseFlushes(t *testing.T) {
	rc, srv := newReceiver(t)
	w, err := New(Options{URL: srv.URL, Protocol: ProtocolV1, FlushInterval: time.Hour, BatchSize: 2})
	if err != nil {
		t.Fatal(err)
	}
	w.Enqueue([]store.Sample{gauge("a", 1000, 1), gauge("b", 1000, 2), gauge("c", 1000, 3)})
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if left := w.Close(ctx); left != 0 {
		t.Fatalf("%d left unsent", left)
	}
	if n := len(rc.got()); n != 3 {
		t.Fatalf("received %d samples, want 3", n)
	}

	rc2, srv2 := newReceiver(t)
	for range 1000 {
		rc2.script = append(rc2.script, http.StatusServiceUnavailable)
	}
	w2, err := New(Options{URL: srv2.URL, Protocol: ProtocolV1, FlushInterval: time.Hour, BatchSize: 2,
		MinBackoff: 10 * time.Millisecond, MaxBackoff: 20 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	w2.Enqueue([]store.Sample{gauge("a", 1000, 1), gauge("b", 1000, 2), gauge("c", 1000, 3)})
	ctx2, cancel2 := context.WithTimeout(context.Background(), 300*time.Millisecond)
	defer cancel2()
	if left := w2.Close(ctx2); left != 3 {
		t.Fatalf("%d left unsent, want 3", left)
	}
	if st := w2.Stats(); st.Sent != 0 || st.Failed != 0 || st.Retries == 0 {
		t.Fatalf("stats %+v", st)
	}
}

// Idle series are forgotten: a counter coming back starts from 0, said
// as a 0 before its new total, so that Prometheus reads a reset: 5, then
// 0 and 2 count 7 (without the 0, 5 then 2 reads as a reset to 2, and 5
// then 7 would read as 2 where 7 happened).
func TestSeriesIdle(t *testing.T) {
	now := time.Unix(1000, 0)
	w := mustWriter(t, Options{SeriesIdle: time.Minute, Now: func() time.Time { return now }})
	w.Enqueue([]store.Sample{counter("c_total", 1000, 5)})
	now = now.Add(2 * time.Minute)
	w.Enqueue([]store.Sample{gauge("other", 2000, 1)}) // sweeps c_total
	now = now.Add(time.Second)
	w.Enqueue([]store.Sample{counter("c_total", 3000, 2)})
	if got, want := queued(w), []string{"c_total 999 0", "c_total 1000 5", "other 2000 1", "c_total 2999 0", "c_total 3000 2"}; !slices.Equal(got, want) {
		t.Fatalf("queue %q, want %q", got, want)
	}
}

type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

// The queue takes segments as it fills and frees them as it drains,
// keeping order, in-place updates and drop-oldest across segments.
func TestQueueSegments(t *testing.T) {
	w := mustWriter(t, Options{QueueSize: 2500})
	var want []string
	for i := 1; i <= 3000; i++ {
		w.Enqueue([]store.Sample{gauge("g", int64(i), float64(i))})
		if i > 500 {
			want = append(want, fmt.Sprintf("g %d %d", i, i))
		}
	}
	w.Enqueue([]store.Sample{gauge("g", 3000, -1)}) // replaces the last one
	want[len(want)-1] = "g 3000 -1"
	if st := w.Stats(); st.Dropped != 500 || st.Queued != 2500 {
		t.Fatalf("dropped %d, queued %d; want 500 and 2500", st.Dropped, st.Queued)
	}
	if got := queued(w); !slices.Equal(got, want) {
		t.Fatalf("queue of %d, want %d in order", len(got), len(want))
	}
	if len(w.segs) != 1 { // the segment the tail is in
		t.Fatalf("%d segments held after draining", len(w.segs))
	}
}

// Requests group a batch's samples by series (series in order of first
// appearance, samples in queue order), with buffers reused from batch to
// batch.
func TestBuilderGroups(t *testing.T) {
	w := mustWriter(t, Options{})
	dump1 := func(req *prompb.WriteRequest) string {
		var b strings.Builder
		for _, ts := range req.Timeseries {
			for _, l := range ts.Labels {
				fmt.Fprintf(&b, "%s=%s,", l.Name, l.Value)
			}
			for _, s := range ts.Samples {
				fmt.Fprintf(&b, " %d:%g", s.Timestamp, s.Value)
			}
			b.WriteString("; ")
		}
		return b.String()
	}
	dump2 := func(req *writev2.Request) string {
		var b strings.Builder
		for _, ts := range req.Timeseries {
			ls := writev2.DesymbolizeLabels(ts.LabelsRefs, req.Symbols, nil)
			for i := 0; i < len(ls); i += 2 {
				fmt.Fprintf(&b, "%s=%s,", ls[i], ls[i+1])
			}
			for _, s := range ts.Samples {
				fmt.Fprintf(&b, " %d:%g", s.Timestamp, s.Value)
			}
			b.WriteString("; ")
		}
		return b.String()
	}
	w.Enqueue([]store.Sample{gauge("a", 1, 1), gauge("b", 1, 2), gauge("a", 2, 3),
		{Name: "c", Type: store.Gauge, Labels: map[string]string{"z": "1", "k": "v"}, TS: 1, Value: 4}, gauge("b", 2, 5)})
	batch := w.take(100, nil)
	want := "__name__=a, 1:1 2:3; __name__=b, 1:2 2:5; __name__=c,k=v,z=1, 1:4; "
	if got := dump1(w.b.v1(batch)); got != want {
		t.Errorf("v1 %s\nwant %s", got, want)
	}
	if got := dump2(w.b.v2(batch)); got != want {
		t.Errorf("v2 %s\nwant %s", got, want)
	}
	w.Enqueue([]store.Sample{gauge("b", 3, 6), gauge("d", 3, 7)})
	batch = w.take(100, batch)
	want = "__name__=b, 3:6; __name__=d, 3:7; "
	if got := dump1(w.b.v1(batch)); got != want {
		t.Errorf("second v1 %s\nwant %s", got, want)
	}
	if got := dump2(w.b.v2(batch)); got != want {
		t.Errorf("second v2 %s\nwant %s", got, want)
	}
}

// Store series that are one Prometheus series ({queue=""} and {}, or a
// service label and the same service column) share one running total.
func TestOneSeriesAsSent(t *testing.T) {
	w := mustWriter(t, Options{})
	w.Enqueue([]store.Sample{
		{Name: "c_total", Type: store.Counter, Labels: map[string]string{"queue": ""}, TS: 1000, Value: 2},
		{Name: "c_total", Type: store.Counter, TS: 2000, Value: 3},
		{Name: "d_total", Type: store.Counter, Labels: map[string]string{"service": "api"}, TS: 1000, Value: 1},
		{Name: "d_total", Type: store.Counter, Service: "api", TS: 2000, Value: 1},
	})
	want := []string{"c_total 999 0", "c_total 1000 2", "c_total 2000 5", "d_total 999 0", "d_total 1000 1", "d_total 2000 2"}
	if got := queued(w); !slices.Equal(got, want) {
		t.Fatalf("queue %q, want %q", got, want)
	}
}
