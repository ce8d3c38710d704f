package promsrc

import (
	"context"
	"fmt"
	"net/http"
	"net/http/httptest"
	"reflect"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/vigil-metrics/vigil/internal/metricpath"
	"github.com/vigil-metrics/vigil/internal/sources"
	"github.com/vigil-metrics/vigil/internal/store"
)

// vmLike answers remote read as VictoriaMetrics does (400 "unsupported
// path") and a range selector with two samples, counting the reads.
func vmLike(t *testing.T) (*httptest.Server, *atomic.Int32) {
	var reads atomic.Int32
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		switch r.URL.Path {
		case "/api/v1/read":
			reads.Add(1)
			http.Error(w, `unsupported path requested: "/api/v1/read"`, http.StatusBadRequest)
		case "/api/v1/query":
			w.Header().Set("Content-Type", "application/json")
			fmt.Fprint(w, `{"status":"success","data":{"resultType":"matrix","result":[`+
				`{"metric":{"__name__":"up","job":"a"},"values":[[10,"1"],[20,"2"]]}]}}`)
		default:
			http.NotFound(w, r)
		}
	}))
	t.Cleanup(srv.Close)
	return srv, &reads
}

// An engine without remote read (VictoriaMetrics' 400 "unsupported
// path") is read by the query API, probed once; with read_api:
// remote_read it is an error that says so and what to set.
func TestRemoteReadFallsBack(t *testing.T) {
	srv, reads := vmLike(t)
	ctx := context.Background()
	cl, err := New(srv.URL, Config{}, 5*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	for range 2 {
		var got []Series
		err := cl.Raw(ctx, "up", Selector("up", nil), store.Gauge, 0, 60_000, func(ss []Series) error { got = append(got, ss...); return nil })
		want := []Series{{Labels: map[string]string{"job": "a"}, TS: []int64{10_000, 20_000}, Values: []float64{1, 2}}}
		if err != nil || !reflect.DeepEqual(got, want) {
			t.Fatalf("auto: %v %+v", err, got)
		}
	}
	if n := reads.Load(); n != 1 {
		t.Errorf("the probe asked %d times, want once per source", n)
	}

	cl, err = New(srv.URL, Config{ReadAPI: sources.ReadRemote}, 5*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	err = cl.Raw(ctx, "up", Selector("up", nil), store.Gauge, 0, 60_000, func([]Series) error { return nil })
	if err == nil || !strings.Contains(err.Error(), "read_api is remote_read") || !strings.Contains(err.Error(), "400 Bad Request: unsupported path") ||
		!strings.Contains(err.Error(), "set read_api: auto or query") {
		t.Errorf("remote_read forced on an engine without it: %v", err)
	}

	// read_api: query never asks.
	reads.Store(0)
	cl, _ = New(srv.URL, Config{ReadAPI: sources.ReadQuery}, 5*time.Second)
	if err := cl.Raw(ctx, "up", Selector("up", nil), store.Gauge, 0, 60_000, func([]Series) error { return nil }); err != nil || reads.Load() != 0 {
		t.Errorf("read_api: query: %v, %d remote reads", err, reads.Load())
	}
}

// A 2xx answer that is not streamed (an engine that answers every path
// with its own page, or the sampled type) is no remote read either.
func TestRemoteReadProbeNeedsStreamed(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/x-protobuf")
		w.Write([]byte{})
	}))
	defer srv.Close()
	cl, _ := New(srv.URL, Config{}, 5*time.Second)
	remote, err := cl.useRemoteRead(context.Background())
	if err != nil || remote || !strings.Contains(cl.readWhy, `"application/x-protobuf"`) {
		t.Errorf("remote %v, err %v, why %q", remote, err, cl.readWhy)
	}
}

// matchersOf reads back every selector Selector writes.
func TestMatchersOf(t *testing.T) {
	ms := []metricpath.Matcher{{Label: "a", Op: metricpath.Equal, Value: `x"y,}`}, {Label: "b_2", Op: metricpath.NotEqual, Value: ""},
		{Label: "c", Op: metricpath.RegexMatch, Value: `a|b\d`}, {Label: "d", Op: metricpath.RegexNoMatch, Value: "é=!~"}}
	got, err := matchersOf(Selector("m:x", ms))
	if err != nil {
		t.Fatal(err)
	}
	var s []string
	for _, m := range got {
		s = append(s, fmt.Sprintf("%d %s %q", m.Type, m.Name, m.Value))
	}
	want := []string{`0 __name__ "m:x"`, `0 a "x\"y,}"`, `1 b_2 ""`, `2 c "a|b\\d"`, `3 d "é=!~"`}
	if !reflect.DeepEqual(s, want) {
		t.Errorf("got %q, want %q", s, want)
	}
	for _, bad := range []string{"m", "{}", `m{a}`, `m{a="x"`, `m{a=x}`} {
		if _, err := matchersOf(bad); err == nil {
			t.Errorf("%q read", bad)
		}
	}
}

// The envelope check on a raw read's answer (v1 decodes the body after
// it): 20 series of 5,000 samples.
func BenchmarkCheckEnvelope(b *testing.B) {
	var sb strings.Builder
	sb.WriteString(`{"status":"success","data":{"resultType":"matrix","result":[`)
	for i := range 20 {
		if i > 0 {
			sb.WriteByte(',')
		}
		fmt.Fprintf(&sb, `{"metric":{"__name__":"cpu","host":"h%d"},"values":[`, i)
		for j := range 5000 {
			if j > 0 {
				sb.WriteByte(',')
			}
			fmt.Fprintf(&sb, `[%d.%03d,"%d.25"]`, 1700000000+j, j%1000, j)
		}
		sb.WriteString("]}")
	}
	sb.WriteString("]}}")
	body := []byte(sb.String())
	c := &apiClient{}
	b.SetBytes(int64(len(body)))
	for b.Loop() {
		if err := c.checkEnvelope(body); err != nil {
			b.Fatal(err)
		}
	}
}
