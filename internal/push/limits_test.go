package push

import (
	"bytes"
	"compress/gzip"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/vigil-metrics/vigil/collect"
	"github.com/vigil-metrics/vigil/internal/store"
)

func gz(t *testing.T, s string) string {
	t.Helper()
	var b bytes.Buffer
	w := gzip.NewWriter(&b)
	io.WriteString(w, s)
	w.Close()
	return b.String()
}

// Content-Encoding: gzip is read; its decompressed size is held to the
// body limit (4096 here), so a small bomb gets 413 and stores nothing.
func TestGzipPushAndBomb(t *testing.T) {
	srv, rec := setup(t, "", collect.Options{})
	body := `{"ts": 1795946400, "name": "zipped_total", "type": "counter", "value": 3}` + "\n"
	code, msg := do(t, "POST", srv.URL+"/v1/metrics", gz(t, body), "Content-Encoding", "gzip")
	if code != 202 {
		t.Fatalf("gzip push: %d %s", code, msg)
	}
	bomb := gz(t, strings.Repeat(" ", 1<<20)+body) // 1 MiB of spaces: ~1 KiB compressed
	if len(bomb) > 4096 {
		t.Fatalf("bomb is %d bytes compressed; the test needs it under the limit", len(bomb))
	}
	code, msg = do(t, "POST", srv.URL+"/v1/metrics", bomb, "Content-Encoding", "gzip")
	if code != http.StatusRequestEntityTooLarge {
		t.Fatalf("gzip bomb: %d %s, want 413", code, msg)
	}
	code, _ = do(t, "POST", srv.URL+"/v1/metrics", body, "Content-Encoding", "br")
	if code != http.StatusUnsupportedMediaType {
		t.Errorf("Content-Encoding br: %d, want 415", code)
	}
	want := []string{`zipped_total counter {} 3 `}
	if got := stored(t, rec); fmt.Sprint(got) != fmt.Sprint(want) {
		t.Errorf("stored %q, want %q", got, want)
	}
}

// A JSON array of records is taken like JSON Lines; errors name the record.
func TestPushJSONArray(t *testing.T) {
	srv, rec := setup(t, "", collect.Options{})
	body := ` [{"ts": 1795946400, "name": "a_total", "type": "counter", "value": 1},
	 {"ts": 1795946401, "name": "b", "type": "gauge", "value": 2.5, "labels": {"k": "v"}}]`
	code, msg := do(t, "POST", srv.URL+"/v1/metrics", body)
	if code != 202 || !strings.Contains(msg, `"accepted": 2`) {
		t.Fatalf("array push: %d %s", code, msg)
	}
	code, msg = do(t, "POST", srv.URL+"/v1/metrics", `[{"ts": 1795946400, "name": "c", "type": "gauge", "value": 1}, {"ts": 1}]`)
	if code != 400 || !strings.Contains(msg, "record 2: missing name") {
		t.Errorf("bad second record: %d %s", code, msg)
	}
	want := []string{`a_total counter {} 1 `, `b gauge {"k":"v"} 2.5 `}
	if got := stored(t, rec); fmt.Sprint(got) != fmt.Sprint(want) {
		t.Errorf("stored %q, want %q", got, want)
	}
}

// The bearer scheme is case-insensitive (RFC 7235); the token is not.
func TestBearerSchemeCaseInsensitive(t *testing.T) {
	srv, _ := setup(t, "s3cret", collect.Options{})
	body := `{"ts": 1795946400, "name": "x", "type": "gauge", "value": 1}`
	for _, h := range []string{"Bearer s3cret", "bearer s3cret", "BEARER s3cret", "bearer  s3cret"} {
		if code, msg := do(t, "POST", srv.URL+"/v1/metrics", body, "Authorization", h); code != 202 {
			t.Errorf("%q: %d %s", h, code, msg)
		}
	}
	for _, h := range []string{"bearer S3CRET", "Basic s3cret", "Bearers3cret", ""} {
		if code, _ := do(t, "POST", srv.URL+"/v1/metrics", body, "Authorization", h); code != 401 {
			t.Errorf("%q: %d, want 401", h, code)
		}
	}
}

// Timestamps in a pushed exposition are refused as the Pushgateway does.
// A NaN counter is refused and leaves the baseline: the next push's
// increment is counted from the last good value.
func TestPushTimestampsAndNaNCounter(t *testing.T) {
	srv, rec := setup(t, "", collect.Options{})
	u := srv.URL + "/metrics/job/batch"
	code, msg := do(t, "PUT", u, "# TYPE jobs_total counter\njobs_total 5 1795946400000\n")
	if code != 400 || !strings.Contains(msg, "pushed metrics are invalid or inconsistent with existing metrics: pushed metrics must not have timestamps") {
		t.Errorf("timestamped push: %d %s", code, msg)
	}
	if code, msg := do(t, "PUT", u, "# TYPE jobs_total counter\njobs_total 5\n"); code != 202 {
		t.Fatalf("push 5: %d %s", code, msg)
	}
	code, msg = do(t, "PUT", u, "# TYPE jobs_total counter\njobs_total NaN\n")
	if code != 400 || !strings.Contains(msg, "jobs_total: a counter value is NaN") {
		t.Errorf("NaN counter: %d %s", code, msg)
	}
	if code, msg := do(t, "PUT", u, "# TYPE jobs_total counter\njobs_total 8\n"); code != 202 {
		t.Fatalf("push 8: %d %s", code, msg)
	}
	// 5 from zero, then 3: the NaN changed nothing.
	want := []string{`jobs_total counter {"job":"batch"} 5 `, `jobs_total counter {"job":"batch"} 3 `}
	if got := stored(t, rec); fmt.Sprint(got) != fmt.Sprint(want) {
		t.Errorf("stored %q, want %q", got, want)
	}
}

// A Content-Length over the limit is refused before the body is read.
func TestContentLengthCheckedFirst(t *testing.T) {
	srv, _ := setup(t, "", collect.Options{})
	conn, err := net.Dial("tcp", strings.TrimPrefix(srv.URL, "http://"))
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	// Headers only: the 413 must come without a byte of the body.
	fmt.Fprintf(conn, "POST /v1/metrics HTTP/1.1\r\nHost: x\r\nContent-Length: 1000000\r\n\r\n")
	conn.SetReadDeadline(time.Now().Add(5 * time.Second))
	b := make([]byte, 64)
	n, _ := conn.Read(b)
	if !strings.HasPrefix(string(b[:n]), "HTTP/1.1 413") {
		t.Errorf("answer %q, want 413 at once", b[:n])
	}
}

type slowSink struct {
	entered chan struct{}
	release chan struct{}
}

func (s *slowSink) AddBatch([]store.Sample) error {
	s.entered <- struct{}{}
	<-s.release
	return nil
}
func (s *slowSink) Stats() collect.Stats { return collect.Stats{} }

// With MaxConcurrent bodies in hand, the next push gets 503 with
// Retry-After at once.
func TestConcurrentPushesBounded(t *testing.T) {
	sink := &slowSink{entered: make(chan struct{}, 2), release: make(chan struct{})}
	s := &Server{Sink: sink, Now: time.Now, MaxConcurrent: 2}
	srv := httptest.NewServer(s.Handler())
	defer srv.Close()
	body := `{"ts": 1795946400, "name": "x", "type": "gauge", "value": 1}`
	done := make(chan int, 2)
	for range 2 {
		go func() {
			resp, err := http.Post(srv.URL+"/v1/metrics", "", strings.NewReader(body))
			if err != nil {
				done <- 0
				return
			}
			resp.Body.Close()
			done <- resp.StatusCode
		}()
	}
	<-sink.entered
	<-sink.entered
	start := time.Now()
	req, _ := http.NewRequest("POST", srv.URL+"/v1/metrics", strings.NewReader(body))
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != 503 || resp.Header.Get("Retry-After") == "" || time.Since(start) > 2*time.Second {
		t.Errorf("third push: %d Retry-After %q after %v, want 503 with Retry-After at once", resp.StatusCode, resp.Header.Get("Retry-After"), time.Since(start))
	}
	close(sink.release)
	for range 2 {
		if c := <-done; c != 202 {
			t.Errorf("held push: %d", c)
		}
	}
	if code, _ := do(t, "POST", srv.URL+"/v1/metrics", body); code != 202 {
		t.Errorf("push after release: %d", code)
	}
}

// Past MaxSeries, pushes of new series get 429 and are counted; once the
// idle series are forgotten there is room again, and pushed baselines of
// idle groups are forgotten too.
func TestSeriesCapAndForgetting(t *testing.T) {
	rec, err := collect.Open(filepath.Join(t.TempDir(), "v.db"), collect.Options{FlushInterval: -1, MaxSeries: 3})
	if err != nil {
		t.Fatal(err)
	}
	defer rec.Close()
	s := &Server{Sink: RecorderSink(rec), Now: func() time.Time { return now }}
	srv := httptest.NewServer(s.Handler())
	defer srv.Close()
	line := func(i int) string {
		return fmt.Sprintf(`{"ts": 1795946400, "name": "g", "type": "gauge", "value": 1, "labels": {"i": "%d"}}`+"\n", i)
	}
	if code, msg := do(t, "POST", srv.URL+"/v1/metrics", line(1)+line(2)+line(3)); code != 202 {
		t.Fatalf("3 series: %d %s", code, msg)
	}
	code, msg := do(t, "POST", srv.URL+"/v1/metrics", line(1)+line(4))
	if code != http.StatusTooManyRequests || !strings.Contains(msg, "series limit reached") {
		t.Fatalf("4th series: %d %s", code, msg)
	}
	if got := rec.Stats().SeriesRefused; got != 1 {
		t.Errorf("series refused = %d, want 1", got)
	}
	_, health := do(t, "GET", srv.URL+"/metrics", "")
	if !strings.Contains(health, "vigil_agent_series_refused_total 1\n") || !strings.Contains(health, "vigil_agent_series 3\n") {
		t.Errorf("health lacks the series counters:\n%s", health)
	}
	// Series 1 stays busy; 2 and 3 go idle for two epochs and are forgotten.
	if code, _ := do(t, "PUT", srv.URL+"/metrics/job/j", "# TYPE c_total counter\nc_total 10\n"); code != 429 {
		t.Fatalf("pushgateway series past the cap: %d, want 429", code)
	}
	rec.ForgetIdle(1)
	do(t, "POST", srv.URL+"/v1/metrics", line(1))
	if n := rec.ForgetIdle(1); n != 2 {
		t.Errorf("forgot %d series, want 2", n)
	}
	if code, msg := do(t, "PUT", srv.URL+"/metrics/job/j", "# TYPE c_total counter\nc_total 10\n"); code != 202 {
		t.Fatalf("after forgetting: %d %s", code, msg)
	}
	if s.Baselines() != 1 {
		t.Fatalf("baselines = %d, want 1", s.Baselines())
	}
	s.ForgetIdle(1)
	s.ForgetIdle(1)
	if s.Baselines() != 0 {
		t.Errorf("baselines after two idle epochs = %d, want 0", s.Baselines())
	}
}

// A series forgotten while idle continues from its last value when it
// comes back: its total is never counted a second time; a batch job's next
// run (a lower total) is a reset and counts whole; a series never seen,
// even in a group that had some forgotten, counts from zero.
func TestForgottenSeriesContinue(t *testing.T) {
	srv, rec := setup(t, "", collect.Options{})
	s := &Server{Sink: RecorderSink(rec), Now: func() time.Time { return now }, BodyLimit: 4096}
	srv.Close()
	srv = httptest.NewServer(s.Handler())
	defer srv.Close()
	push := func(job, body string) {
		t.Helper()
		if code, msg := do(t, "PUT", srv.URL+"/metrics/job/"+job, body); code != 202 {
			t.Fatalf("push: %d %s", code, msg)
		}
	}
	idle := func() {
		for i := 0; i < 8; i++ {
			s.ForgetIdle(4)
		}
	}
	push("long", "# TYPE c_total counter\nc_total 1000000\n")
	push("nightly", "# TYPE rows_total counter\nrows_total 500\n")
	idle()
	push("long", "# TYPE c_total counter\nc_total 1000010\n")
	push("long", "# TYPE c_total counter\nc_total 1000015\n# TYPE errors_total counter\nerrors_total 7\n")
	push("nightly", "# TYPE rows_total counter\nrows_total 300\n")
	sums := map[string]float64{}
	for _, l := range stored(t, rec) {
		f := strings.Fields(l)
		var v float64
		fmt.Sscanf(f[3], "%g", &v)
		sums[f[0]] += v
	}
	// 1000000 (the job's total since it started), then +10 and +5.
	if sums["c_total"] != 1000015 {
		t.Errorf("c_total increments sum to %v, want 1000015", sums["c_total"])
	}
	// A new run: 500, then a reset to 300 counts 300.
	if sums["rows_total"] != 800 {
		t.Errorf("rows_total increments sum to %v, want 800", sums["rows_total"])
	}
	if sums["errors_total"] != 7 {
		t.Errorf("a new series in a group with forgotten ones: %v, want 7", sums["errors_total"])
	}
}

// --max-series-bytes counts the series held: forgetting idle ones frees
// their bytes, so new series are taken again; a series over
// --max-label-bytes is refused whatever is held.
func TestSeriesBytesForgotten(t *testing.T) {
	// "g" 1 + "i" 1 + 3 digits + "pad" 3 + 92 = 100 bytes a series.
	rec, err := collect.Open(filepath.Join(t.TempDir(), "v.db"), collect.Options{FlushInterval: -1, MaxSeriesBytes: 300, MaxLabelBytes: 150})
	if err != nil {
		t.Fatal(err)
	}
	defer rec.Close()
	srv := httptest.NewServer((&Server{Sink: RecorderSink(rec), Now: func() time.Time { return now }}).Handler())
	defer srv.Close()
	line := func(i int) string {
		return fmt.Sprintf(`{"ts": 1795946400, "name": "g", "type": "gauge", "value": 1, "labels": {"i": "%03d", "pad": "%s"}}`+"\n", i, strings.Repeat("p", 92))
	}
	if code, msg := do(t, "POST", srv.URL+"/v1/metrics", line(1)+line(2)+line(3)); code != 202 {
		t.Fatalf("300 bytes of series: %d %s", code, msg)
	}
	if got := rec.Stats().SeriesBytes; got != 300 {
		t.Errorf("series bytes = %d, want 300", got)
	}
	code, msg := do(t, "POST", srv.URL+"/v1/metrics", line(4))
	if code != http.StatusTooManyRequests || !strings.Contains(msg, "--max-series-bytes") {
		t.Fatalf("past the bytes: %d %s", code, msg)
	}
	rec.ForgetIdle(1)
	do(t, "POST", srv.URL+"/v1/metrics", line(1))
	if n := rec.ForgetIdle(1); n != 2 || rec.Stats().SeriesBytes != 100 {
		t.Fatalf("forgot %d series, %d bytes held; want 2 and 100", n, rec.Stats().SeriesBytes)
	}
	if code, msg := do(t, "POST", srv.URL+"/v1/metrics", line(4)); code != 202 {
		t.Errorf("after forgetting: %d %s", code, msg)
	}
	big := `{"ts": 1795946400, "name": "g", "type": "gauge", "value": 1, "labels": {"pad": "` + strings.Repeat("p", 200) + `"}}`
	code, msg = do(t, "POST", srv.URL+"/v1/metrics", big)
	if code != http.StatusTooManyRequests || !strings.Contains(msg, "204 bytes of name, labels and service, over the limit of 150 (--max-label-bytes)") {
		t.Errorf("a series over the label bytes: %d %s", code, msg)
	}
	if got := rec.Stats().SeriesRefused; got != 2 {
		t.Errorf("series refused = %d, want 2", got)
	}
}
