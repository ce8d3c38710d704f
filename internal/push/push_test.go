package push

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/vigil-metrics/vigil/collect"
	"github.com/vigil-metrics/vigil/internal/collectlink"
	"github.com/vigil-metrics/vigil/internal/scrape"
)

var now = time.Date(2026, 11, 29, 10, 0, 0, 0, time.UTC)

func setup(t *testing.T, token string, opt collect.Options) (*httptest.Server, *collect.Recorder) {
	t.Helper()
	opt.FlushInterval = -1
	opt.Now = func() time.Time { return now }
	rec, err := collect.Open(filepath.Join(t.TempDir(), "v.db"), opt)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { rec.Close() })
	s := &Server{Sink: RecorderSink(rec), Token: token, Now: func() time.Time { return now }, BodyLimit: 4096}
	srv := httptest.NewServer(s.Handler())
	t.Cleanup(srv.Close)
	return srv, rec
}

func do(t *testing.T, method, url, body string, hdr ...string) (int, string) {
	t.Helper()
	req, _ := http.NewRequest(method, url, strings.NewReader(body))
	for i := 0; i+1 < len(hdr); i += 2 {
		req.Header.Set(hdr[i], hdr[i+1])
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b)
}

func stored(t *testing.T, rec *collect.Recorder) []string {
	t.Helper()
	if err := rec.Flush(context.Background()); err != nil {
		t.Fatal(err)
	}
	rows, err := collectlink.Store(rec).DBForTest().Query("SELECT name, type, labels, value, service_name FROM metrics ORDER BY name, labels, timestamp")
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	var out []string
	for rows.Next() {
		var n, ty, l, s string
		var v float64
		rows.Scan(&n, &ty, &l, &v, &s)
		out = append(out, fmt.Sprintf("%s %s %s %g %s", n, ty, l, v, s))
	}
	return out
}

func TestPushJSONLines(t *testing.T) {
	srv, rec := setup(t, "", collect.Options{})
	body := `{"ts": 1795946400, "name": "builds_total", "type": "counter", "value": 1, "labels": {"branch": "main"}, "service": "ci"}
{"ts": "2026-11-29T10:00:01Z", "name": "build_seconds", "type": "histogram", "value": 93.5}
`
	code, resp := do(t, "POST", srv.URL+"/v1/metrics", body)
	if code != http.StatusAccepted || !strings.Contains(resp, `"accepted": 2`) {
		t.Fatalf("push = %d %q", code, resp)
	}
	want := []string{
		`build_seconds histogram {} 93.5 `,
		`builds_total counter {"branch":"main"} 1 ci`,
	}
	if got := stored(t, rec); strings.Join(got, "\n") != strings.Join(want, "\n") {
		t.Errorf("stored:\n%s\nwant\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
}

// Every 4xx stores nothing from its request.
func TestPushRejectionsStoreNothing(t *testing.T) {
	srv, rec := setup(t, "s3cret", collect.Options{BufferSize: 2, MaxBuffer: 2})
	auth := []string{"Authorization", "Bearer s3cret"}
	good := `{"ts": 1795946400, "name": "g", "type": "gauge", "value": 1}` + "\n"
	cases := []struct {
		name, method, path, body string
		hdr                      []string
		code                     int
		msg                      string
	}{
		{"no token", "POST", "/v1/metrics", good, nil, 401, "bearer token"},
		{"wrong token", "POST", "/v1/metrics", good, []string{"Authorization", "Bearer nope"}, 401, "bearer token"},
		{"bad line", "POST", "/v1/metrics", good + good + `{"ts": 1, "name": "g", "type": "gauge", "value": "NaN"}`, auth, 400, "line 3: value is NaN"},
		{"bad json", "POST", "/v1/metrics", good + "{oops\n", auth, 400, "line 2: bad JSON"},
		{"empty", "POST", "/v1/metrics", "\n", auth, 400, "no samples"},
		{"too large", "POST", "/v1/metrics", strings.Repeat(good, 100), auth, 413, "over the limit"},
		{"batch too large", "POST", "/v1/metrics", strings.Repeat(good, 5), auth, 413, "larger than the whole buffer"},
		{"bad exposition", "PUT", "/metrics/job/batch", "# TYPE a counter\na 1", auth, 400, "malformed exposition"},
		{"dup TYPE", "POST", "/metrics/job/batch", "# TYPE a counter\n# TYPE a counter\na 1\n", auth, 400, "malformed exposition"},
		{"odd labels", "PUT", "/metrics/job/batch/instance", "a 1\n", auth, 400, "pairs"},
		{"bad label", "PUT", "/metrics/job/batch/1x/y", "a 1\n", auth, 400, "invalid label name"},
		{"wrong method", "GET", "/v1/metrics", "", auth, 405, ""},
		{"unknown path", "POST", "/v2/metrics", good, auth, 404, ""},
	}
	for _, c := range cases {
		code, resp := do(t, c.method, srv.URL+c.path, c.body, c.hdr...)
		if code != c.code || !strings.Contains(resp, c.msg) {
			t.Errorf("%s: %d %q, want %d containing %q", c.name, code, resp, c.code, c.msg)
		}
	}
	if got := stored(t, rec); len(got) != 0 {
		t.Errorf("stored after rejected requests: %v", got)
	}
	if code, _ := do(t, "POST", srv.URL+"/v1/metrics", good, auth...); code != 202 {
		t.Errorf("good push with token = %d", code)
	}
	// The buffer holds 2: a second push of 2 must wait for a flush.
	if code, resp := do(t, "POST", srv.URL+"/v1/metrics", good+good, auth...); code != 503 || !strings.Contains(resp, "buffer full") {
		t.Errorf("push into a full buffer = %d %q, want 503", code, resp)
	}
	// A type that clashes with the store is a 400, not a 202 that later
	// blocks every flush.
	if code, resp := do(t, "POST", srv.URL+"/v1/metrics", `{"ts": 1795946400, "name": "g", "type": "counter", "value": 1}`, auth...); code != 400 || !strings.Contains(resp, "metric g is a gauge") {
		t.Errorf("type clash = %d %q, want 400", code, resp)
	}
	if got := stored(t, rec); len(got) != 1 {
		t.Errorf("stored = %v, want 1 sample", got)
	}
}

func TestPushgatewayText(t *testing.T) {
	srv, rec := setup(t, "", collect.Options{})
	// A batch job's first run pushes its totals: they count from zero.
	run1 := "# TYPE jobs_processed_total counter\njobs_processed_total 50\n# TYPE last_success_timestamp_seconds gauge\nlast_success_timestamp_seconds 1795946400\n"
	if code, resp := do(t, "PUT", srv.URL+"/metrics/job/nightly/instance/db-01", run1); code != 202 {
		t.Fatalf("push = %d %q", code, resp)
	}
	// A long-running pusher: cumulative totals become increments.
	if code, _ := do(t, "POST", srv.URL+"/metrics/job/nightly/instance/db-01", "# TYPE jobs_processed_total counter\njobs_processed_total 80\n"); code != 202 {
		t.Fatal(code)
	}
	// A new run restarts from zero: a reset, its value is the increment.
	if code, _ := do(t, "POST", srv.URL+"/metrics/job/nightly/instance/db-01", "# TYPE jobs_processed_total counter\njobs_processed_total 30\n"); code != 202 {
		t.Fatal(code)
	}
	// Base64 values carry slashes; a pushed job label is kept as exported_job.
	if code, resp := do(t, "PUT", srv.URL+"/metrics/job@base64/YmFja3Vw/path@base64/L3Zhci9saWI", "# TYPE size_bytes gauge\nsize_bytes{job=\"inner\"} 1024\n"); code != 202 {
		t.Fatalf("base64 push = %d %q", code, resp)
	}
	// An encoded slash stays inside its value.
	if code, resp := do(t, "PUT", srv.URL+"/metrics/job/files/path/a%2Fb%2Fc", "# TYPE n gauge\nn 3\n"); code != 202 {
		t.Fatalf("escaped push = %d %q", code, resp)
	}
	got := stored(t, rec)
	want := []string{
		`n gauge {"job":"files","path":"a/b/c"} 3 `,
		`jobs_processed_total counter {"instance":"db-01","job":"nightly"} 50 `,
		`jobs_processed_total counter {"instance":"db-01","job":"nightly"} 30 `,
		`jobs_processed_total counter {"instance":"db-01","job":"nightly"} 30 `,
		`last_success_timestamp_seconds gauge {"instance":"db-01","job":"nightly"} 1.7959464e+09 `,
		`size_bytes gauge {"exported_job":"inner","job":"backup","path":"/var/lib"} 1024 `,
	}
	sort.Strings(got)
	sort.Strings(want)
	if strings.Join(got, "\n") != strings.Join(want, "\n") {
		t.Errorf("stored:\n%s\nwant\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
}

func TestHealthEndpoints(t *testing.T) {
	srv, rec := setup(t, "tok", collect.Options{})
	rec.Gauge("g", nil).Set(1)
	rec.Flush(context.Background())
	code, body := do(t, "GET", srv.URL+"/healthz", "")
	if code != 200 || body != "ok\n" {
		t.Errorf("/healthz = %d %q", code, body)
	}
	code, body = do(t, "GET", srv.URL+"/metrics", "") // no token needed
	if code != 200 {
		t.Fatalf("/metrics = %d", code)
	}
	fams, err := scrape.Parse(strings.NewReader(body))
	if err != nil {
		t.Fatalf("/metrics is not a valid exposition: %v\n%s", err, body)
	}
	for name, want := range map[string]float64{"vigil_samples_written_total": 1, "vigil_samples_dropped_total": 0, "vigil_buffer_length": 0} {
		f, ok := fams[name]
		if !ok {
			t.Errorf("no %s", name)
			continue
		}
		m := f.Metric[0]
		v := m.GetCounter().GetValue() + m.GetGauge().GetValue()
		if v != want {
			t.Errorf("%s = %v, want %v", name, v, want)
		}
	}
	if _, ok := fams["vigil_flush_duration_seconds"]; !ok {
		t.Error("no vigil_flush_duration_seconds")
	}
}

// An encoded slash stays in its value even when the path also holds
// characters Go would escape differently.
func TestGroupPathKeepsEncodedSlashes(t *testing.T) {
	srv, rec := setup(t, "", collect.Options{})
	req, _ := http.NewRequest("PUT", srv.URL, strings.NewReader("# TYPE n gauge\nn 1\n"))
	// Opaque sends the path exactly as written (Go's client would
	// otherwise re-escape it and lose the %2F itself).
	req.URL.Opaque = "/metrics/job/a/x/b%2Fc/y/{z}"
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != 202 {
		t.Fatalf("status %d", resp.StatusCode)
	}
	got := stored(t, rec)
	if want := `n gauge {"job":"a","x":"b/c","y":"{z}"} 1 `; len(got) != 1 || got[0] != want {
		t.Errorf("stored %q, want %q", got, want)
	}
}
