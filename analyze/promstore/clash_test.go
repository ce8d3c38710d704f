package promstore_test

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"log/slog"
	"net/http/httptest"
	"net/url"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/vigil-metrics/vigil/analyze"
	"github.com/vigil-metrics/vigil/analyze/promstore"
)

// Stored series that would be served with one label set are served as
// one series, never two (PromQL fails on a vector with two series of
// one label set: 422 "vector cannot contain metrics with the same
// labelset"). A label stored with an empty value is its absence, as in
// Prometheus: e{k=""} and e are one series, their samples merged in time
// order as the fleet merge merges one series of two stores (of two gauge
// samples at one millisecond the larger is kept). A stored series named
// as a histogram's derived one (a gauge x_count, x_bucket{le="+Inf"})
// is served as stored, the derived one left out, with a warning at sync.
func TestServeNoDuplicateLabelSets(t *testing.T) {
	const t0 = 1795946400
	var jl strings.Builder
	line := func(ts int, name, typ string, v float64, labels string) {
		fmt.Fprintf(&jl, `{"ts": %d, "name": %q, "type": %q, "value": %v, "labels": %s, "service": "s"}`+"\n", ts, name, typ, v, labels)
	}
	line(t0, "e", "gauge", 6, `{"k": ""}`)
	line(t0+15, "e", "gauge", 107, `{}`)
	line(t0+30, "e", "gauge", 8, `{"k": ""}`)
	line(t0+30, "e", "gauge", 108, `{}`)
	for i := 0; i < 3; i++ {
		line(t0+15*i, "response_time_ms", "histogram", float64(10*i), `{}`)
		line(t0+15*i, "response_time_ms_count", "gauge", float64(1000+i), `{}`)
		line(t0+15*i, "response_time_ms_bucket", "gauge", 5, `{"le": "+Inf"}`)
	}
	paths := fixtureStores(t, jl.String())
	logs := &lockedBuf{}
	cache := t.TempDir()
	src, err := promstore.NewSource(context.Background(), promstore.Config{
		Paths: func() ([]string, error) { return paths, nil },
		Open: func(ctx context.Context, ps []string) (*analyze.DB, error) {
			return analyze.Open(ctx, ps, analyze.Options{CacheDir: cache})
		},
		Buckets: fixtureBuckets,
		Logger:  slog.New(slog.NewTextHandler(logs, nil)),
	})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { src.Close() })
	api := &promstore.API{Source: src, Engine: promstore.NewEngine(promstore.DefaultLimits, nil), Limits: promstore.DefaultLimits,
		Now: func() time.Time { return time.Unix(t0+60, 0) }, Version: "test"}
	srv := httptest.NewServer(api.Handler())
	t.Cleanup(srv.Close)

	instant := func(expr string, at int) map[string][]point {
		t.Helper()
		code, b := get(t, srv.URL, "/api/v1/query", url.Values{"query": {expr}, "time": {fmt.Sprint(at)}})
		if code != 200 {
			t.Fatalf("%s at %d: %d %s", expr, at, code, b)
		}
		var a answer
		if err := json.Unmarshal(b, &a); err != nil || len(a.Data.Result) != 1 {
			t.Errorf("%s at %d: %s, want one series", expr, at, b)
		}
		_, out := results(t, expr, b)
		return out
	}
	for _, c := range []struct {
		expr string
		at   int
		want string
	}{
		{"e", t0, "6"}, {"e", t0 + 15, "107"}, {"e", t0 + 30, "108"},
		{"response_time_ms_count", t0 + 30, "1002"},
		{`response_time_ms_bucket{le="+Inf"}`, t0 + 30, "5"},
		{`response_time_ms_bucket{le="50"}`, t0 + 30, "3"}, // derived, no clash
		{"response_time_ms_sum", t0 + 30, "30"},
		{"sum by (service) (rate(e[1m]))", t0 + 30, ""},
	} {
		got := instant(c.expr, c.at)
		if len(got) != 1 {
			t.Errorf("%s at %d: %d series %v, want one", c.expr, c.at, len(got), got)
			continue
		}
		for k, ps := range got {
			if c.want != "" && ps[0].V != c.want {
				t.Errorf("%s at %d: %s %v, want %s", c.expr, c.at, k, ps[0].V, c.want)
			}
		}
	}
	// Every label set served, once.
	_, b := get(t, srv.URL, "/api/v1/series", url.Values{"match[]": {`{__name__=~".+"}`}})
	seen := map[string]bool{}
	var a struct{ Data []map[string]string }
	if err := json.Unmarshal(b, &a); err != nil {
		t.Fatal(err)
	}
	for _, ls := range a.Data {
		k := fmt.Sprint(ls)
		if seen[k] {
			t.Errorf("series %s served twice", k)
		}
		seen[k] = true
	}
	for _, w := range []string{"response_time_ms_count", `response_time_ms_bucket{le=\"+Inf\"`} {
		if !strings.Contains(logs.String(), w) {
			t.Errorf("no warning naming %s: %s", w, logs)
		}
	}
}

type lockedBuf struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (l *lockedBuf) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

func (l *lockedBuf) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.String()
}
