package analyze_test

import (
	"bytes"
	"context"
	"io"
	"net/http"
	"net/http/httptest"
	"net/http/httputil"
	"net/url"
	"sync/atomic"
	"testing"
	"time"

	"github.com/golang/snappy"
	"github.com/prometheus/prometheus/prompb"

	"github.com/vigil-metrics/vigil/analyze"
	"github.com/vigil-metrics/vigil/analyze/promsrc"
	"github.com/vigil-metrics/vigil/internal/metricpath"
	"github.com/vigil-metrics/vigil/internal/promtest"
	"github.com/vigil-metrics/vigil/internal/sources"
	"github.com/vigil-metrics/vigil/internal/store"
)

// Remote read under the server's limits answers as the store: a
// Prometheus streaming frames of at most 256 bytes (a series split over
// many), with a sample limit of 100 (which streamed reads ignore) and
// one read at a time, behind a proxy that refuses a read of over 30
// minutes as Mimir refuses one over its sample limit: vigil splits the
// time range until each read is taken.
func TestRemoteReadLimitsSplit(t *testing.T) {
	om, _ := equivFixture()
	srv := promtest.Start(t, promtest.Blocks(t, om), "--storage.remote.read-sample-limit=100",
		"--storage.remote.read-max-bytes-in-frame=256", "--storage.remote.read-concurrent-limit=1")
	target, _ := url.Parse(srv.URL)
	proxy := httputil.NewSingleHostReverseProxy(target)
	var refused, streamed atomic.Int32
	front := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "/api/v1/read" {
			body, _ := io.ReadAll(r.Body)
			pb, err := snappy.Decode(nil, body)
			var rr prompb.ReadRequest
			if err != nil || rr.Unmarshal(pb) != nil || len(rr.Queries) != 1 {
				http.Error(w, "bad request", http.StatusBadRequest)
				return
			}
			if q := rr.Queries[0]; q.EndTimestampMs-q.StartTimestampMs > 30*60_000 {
				refused.Add(1)
				http.Error(w, "the query exceeded the maximum number of samples (limit: 1000 samples)", http.StatusUnprocessableEntity)
				return
			}
			streamed.Add(1)
			r.Body = io.NopCloser(bytes.NewReader(body))
		}
		proxy.ServeHTTP(w, r)
	}))
	defer front.Close()

	ctx := context.Background()
	types := map[string]store.Type{"response_time_ms": store.Histogram, "failed_ms": store.Histogram}
	off := false
	open := func(src string, cfg promsrc.Config) *analyze.DB {
		db, err := analyze.Open(ctx, []string{src}, analyze.Options{CacheDir: t.TempDir(),
			Sources: map[string]promsrc.Config{src: cfg}, Timeout: 30 * time.Second})
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { db.Close() })
		return db
	}
	want := open(equivStore(t), promsrc.Config{})
	got := open(front.URL, promsrc.Config{Types: types, Pushdown: &off, ReadAPI: sources.ReadRemote, MaxSamplesPerRequest: 1 << 30})
	for _, p := range []string{"cpu.count", "cpu.p99.9", "cpu.stddev by (dc)", "req_total.increase by (host)", "req_total.count",
		"response_time_ms.p99", `sli_requests_total{success="true"}.rate by (service)`, "new_total.count by (kind)", "rpc_ms.max by (quantile)"} {
		e, err := metricpath.Parse(p)
		if err != nil {
			t.Fatal(err)
		}
		for _, w := range []time.Duration{5 * time.Minute, 6 * time.Hour, 24 * time.Hour} {
			win := analyze.Window{At: time.UnixMilli(equivBase - 29_500), Length: w}
			ws, err := want.Eval(ctx, e, win)
			if err != nil {
				t.Fatal(err)
			}
			gs, err := got.Eval(ctx, e, win)
			if err != nil {
				t.Fatalf("%s over %s: %v", p, w, err)
			}
			if !sameResults(ws, gs) {
				t.Errorf("%s over %s: remote read gives\n%v\nthe store gives\n%v", p, w, gs, ws)
			}
		}
	}
	if refused.Load() == 0 || streamed.Load() == 0 {
		t.Errorf("%d reads refused, %d streamed: the limit was not exercised", refused.Load(), streamed.Load())
	}
}
