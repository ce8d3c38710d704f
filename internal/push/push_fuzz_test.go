package push

import (
	"bytes"
	"compress/gzip"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"testing"
	"time"

	"github.com/vigil-metrics/vigil/collect"
)

// FuzzPush: any push (JSON Lines or a JSON array to /v1/metrics, an
// exposition to /metrics/job/..., grouping labels in the path, base64
// ones included, gzip or not) is answered with one of the documented
// statuses and never a panic: 202 accepted, 400 a bad body or path, 413
// too large, 415 an encoding, 429 too many series, 503 a full buffer;
// 404 and 405 for what no endpoint takes, 301/307 where the router
// cleans a path ("//", "/./", "").
func FuzzPush(f *testing.F) {
	for _, s := range []struct {
		path, ctype, body string
	}{
		{"/v1/metrics", "application/x-ndjson", `{"ts":1795946400,"name":"m","type":"gauge","value":1.5,"labels":{"a":"x"}}` + "\n"},
		{"/v1/metrics", "application/json", `[{"ts":"2026-11-29T10:00:00Z","name":"c_total","type":"counter","value":3,"service":"api"}]`},
		{"/metrics/job/batch/instance/h1", "text/plain", "# TYPE jobs_total counter\njobs_total{kind=\"a\"} 4\n# TYPE last gauge\nlast 1795946400\n"},
		{"/metrics/job@base64/YmF0Y2g=/path@base64/L3Zhci90bXA=", "text/plain", "up 1\n"},
		{"/metrics/job/x/a", "text/plain", "up 1\n"},
		{"/metrics/job/x%2Fy", "text/plain", "# TYPE h histogram\nh_bucket{le=\"1\"} 1\nh_bucket{le=\"+Inf\"} 1\nh_sum 1\nh_count 1\n"},
	} {
		f.Add(s.path, s.ctype, []byte(s.body), false)
	}
	rec, err := collect.Open(filepath.Join(f.TempDir(), "v.db"), collect.Options{FlushInterval: -1, MaxBuffer: 1 << 16})
	if err != nil {
		f.Fatal(err)
	}
	f.Cleanup(func() { rec.Close() })
	now := time.Date(2026, 11, 29, 10, 0, 0, 0, time.UTC)
	h := (&Server{Sink: RecorderSink(rec), Now: func() time.Time { return now }, BodyLimit: 1 << 16}).Handler()
	allowed := map[int]bool{301: true, 307: true, 202: true, 400: true, 404: true, 405: true, 413: true, 415: true, 429: true, 503: true}
	f.Fuzz(func(t *testing.T, path, ctype string, body []byte, gz bool) {
		method := http.MethodPost
		if len(path) > 0 && path[0] == '/' && len(path)%2 == 0 {
			method = http.MethodPut
		}
		req, err := http.NewRequest(method, "http://agent"+path, bytes.NewReader(compress(body, gz)))
		if err != nil {
			return // no client could send it
		}
		req.RequestURI = req.URL.RequestURI()
		req.Header.Set("Content-Type", ctype)
		if gz {
			req.Header.Set("Content-Encoding", "gzip")
		}
		w := httptest.NewRecorder()
		h.ServeHTTP(w, req)
		if !allowed[w.Code] {
			t.Fatalf("%s %s (%s): status %d: %s", method, path, ctype, w.Code, w.Body)
		}
	})
}

func compress(b []byte, gz bool) []byte {
	if !gz {
		return b
	}
	var buf bytes.Buffer
	zw := gzip.NewWriter(&buf)
	zw.Write(b) //nolint:errcheck // a bytes.Buffer
	zw.Close()
	return buf.Bytes()
}
