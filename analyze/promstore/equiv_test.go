package promstore_test

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"math"
	"net/http"
	"net/http/httptest"
	"net/url"
	"reflect"
	"sort"
	"strconv"
	"testing"
	"time"

	"github.com/vigil-metrics/vigil/analyze"
	"github.com/vigil-metrics/vigil/analyze/promstore"
	"github.com/vigil-metrics/vigil/internal/promtest"
)

// newServer serves stores through promstore's API on loopback.
func newServer(t *testing.T, paths []string) (*httptest.Server, *promstore.Source) {
	t.Helper()
	return newServerLimits(t, paths, promstore.DefaultLimits)
}

func newServerLimits(t *testing.T, paths []string, limits promstore.Limits) (*httptest.Server, *promstore.Source) {
	t.Helper()
	cache := t.TempDir()
	src, err := promstore.NewSource(context.Background(), promstore.Config{
		Paths: func() ([]string, error) { return paths, nil },
		Open: func(ctx context.Context, ps []string) (*analyze.DB, error) {
			return analyze.Open(ctx, ps, analyze.Options{CacheDir: cache})
		},
		Buckets: fixtureBuckets,
	})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { src.Close() })
	api := &promstore.API{Source: src, Engine: promstore.NewEngine(limits, nil), Limits: limits,
		Now: func() time.Time { return time.UnixMilli(fixtureEnd) }, Version: "test"}
	srv := httptest.NewServer(api.Handler())
	t.Cleanup(srv.Close)
	return srv, src
}

// answer is an API response, decoded.
type answer struct {
	Status    string `json:"status"`
	ErrorType string `json:"errorType"`
	Error     string `json:"error"`
	Data      struct {
		ResultType string            `json:"resultType"`
		Result     []json.RawMessage `json:"result"`
	} `json:"data"`
}

// point is one [time, "value"] pair.
type point struct {
	T float64
	V string
}

func (p *point) UnmarshalJSON(b []byte) error {
	var a [2]any
	if err := json.Unmarshal(b, &a); err != nil {
		return err
	}
	p.T, _ = a[0].(float64)
	p.V, _ = a[1].(string)
	return nil
}

type sample struct {
	Metric map[string]string `json:"metric"`
	Value  *point            `json:"value"`
	Values []point           `json:"values"`
}

func get(t *testing.T, base, path string, q url.Values) (int, []byte) {
	t.Helper()
	resp, err := http.Get(base + path + "?" + q.Encode())
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	return resp.StatusCode, b
}

// results decodes a query's answer into series keyed by label set.
func results(t *testing.T, what string, b []byte) (string, map[string][]point) {
	t.Helper()
	var a answer
	if err := json.Unmarshal(b, &a); err != nil || a.Status != "success" {
		t.Fatalf("%s: %s (%v)", what, b, err)
	}
	out := map[string][]point{}
	if a.Data.ResultType == "scalar" {
		var p point
		if len(a.Data.Result) != 2 {
			t.Fatalf("%s: scalar %s", what, b)
		}
		raw, _ := json.Marshal(a.Data.Result)
		json.Unmarshal(raw, &p)
		out[""] = []point{p}
		return a.Data.ResultType, out
	}
	for _, r := range a.Data.Result {
		var s sample
		if err := json.Unmarshal(r, &s); err != nil {
			t.Fatalf("%s: %v", what, err)
		}
		keys := make([]string, 0, len(s.Metric))
		for k := range s.Metric {
			keys = append(keys, k)
		}
		sort.Strings(keys)
		key := ""
		for _, k := range keys {
			key += k + "=" + strconv.Quote(s.Metric[k]) + ","
		}
		if s.Value != nil {
			out[key] = []point{*s.Value}
		} else {
			out[key] = s.Values
		}
	}
	return a.Data.ResultType, out
}

// counterTol is how far an answer over counters may be from
// Prometheus's: each rebuilt total is a running sum of n <= 720 rounded
// increments, off by at most n*2^-53 of a total below 8,000 (about
// 6.4e-10, recursive summation's bound), where Prometheus rounds each
// exact total once; an increase, a sum by of two such or a rate (which
// divides by at least 60 s) is off by at most twice that times the
// extrapolation's factor (below 2): 1e-8 covers it, and is far below
// any difference a wrong sample would make (0.1).
const counterTol = 1e-8

// engineTol bounds the difference of avg_over_time alone between the
// engines: Prometheus 2.42 computes it as an incremental mean, the 3.x
// engine vigil runs as a Kahan-compensated sum divided once (its answer
// is the better one: 2.48 where 2.42 says 2.4800000000000004). The
// samples are the same bit for bit (cpu[5m] and sum_over_time show it),
// and an incremental mean of n values is off by a few n ulps: 1e-13
// relative covers n <= 240 here.
const engineTol = 1e-13

// kinds of expression, by how close the answers must be.
const (
	exact   = iota // bit for bit
	counter        // within counterTol
	engine         // within engineTol, relative
)

// equivExprs: gauge expressions must match bit for bit; counter and
// histogram ones within counterTol.
var equivExprs = []struct {
	expr string
	kind int
}{
	{"cpu[5m]", exact},
	{"req_total[2m]", counter},
	{"response_time_ms_bucket[1m]", exact},
	{"response_time_ms_sum[1m]", exact},
	{"sum_over_time(cpu[10m])", exact},
	{"count_over_time(cpu[10m])", exact},
	{"cpu", exact},
	{`cpu{host="a"}`, exact},
	{`cpu{host=~"a|c"}`, exact},
	{"sum by (dc) (cpu)", exact},
	{"max by (dc) (cpu)", exact},
	{"count(cpu)", exact},
	{"avg_over_time(cpu[5m])", engine},
	{"max_over_time(cpu[1h])", exact},
	{"min_over_time(cpu[10m])", exact},
	{"quantile_over_time(0.9, cpu[10m])", exact},
	{"quantile_over_time(0.5, cpu[1h])", exact},
	{"topk(2, cpu)", exact},
	{"bottomk(1, cpu)", exact},
	{"absent(nothing_here)", exact},
	{"absent(cpu)", exact},
	{"avg_over_time(cpu[30m:1m])", engine},
	{"max_over_time(cpu[1h:5m])", exact},
	{"cpu offset 10m", exact},
	{"avg_over_time(cpu[5m] offset 1h)", engine},
	{"cpu > 3", exact},
	{"req_total", counter},
	{"rate(req_total[5m])", counter},
	{"rate(req_total[1h])", counter},
	{"increase(req_total[10m])", counter},
	{"irate(req_total[5m])", counter},
	{"sum by (service) (rate(req_total[5m]))", counter},
	{"sum(increase(req_total[1h]))", counter},
	{"rate(req_total[5m] offset 30m)", counter},
	{"max_over_time(rate(req_total[5m])[30m:1m])", counter},
	{"topk(1, rate(req_total[5m]))", counter},
	{"response_time_ms_count", counter},
	{"rate(response_time_ms_count[5m])", counter},
	{"rate(response_time_ms_sum[10m]) / rate(response_time_ms_count[10m])", counter},
	{"histogram_quantile(0.95, sum by (le) (rate(response_time_ms_bucket[10m])))", counter},
	{"histogram_quantile(0.5, rate(response_time_ms_bucket[5m]))", counter},
	{"histogram_quantile(0.99, sum by (le, service) (increase(response_time_ms_bucket[1h])))", counter},
	{`sum by (le) (response_time_ms_bucket{le=~"100|\\+Inf"})`, counter},
}

// The same samples in two stores and in a real Prometheus (2.42, from
// promtool-built blocks) give the same answers to a table of PromQL
// expressions, instant and range: gauges bit for bit, counters and
// histograms within counterTol.
func TestServeAnswersAsPrometheus(t *testing.T) {
	om, jsonl := fixture()
	prom := promtest.Start(t, promtest.Blocks(t, om))
	srv, _ := newServer(t, fixtureStores(t, jsonl[:]...))
	// Never on a sample (all are at .000, .250, .500 s): see fixture.
	at := fixtureEnd - 7_123
	instants := []int64{at, at - 47*60_000, at - 3*3600_000 - 777}
	compared := 0
	for _, x := range equivExprs {
		var qs []url.Values
		for _, ts := range instants {
			qs = append(qs, url.Values{"query": {x.expr}, "time": {secs(ts)}})
		}
		qs = append(qs, url.Values{"query": {x.expr}, "start": {secs(at - 4*3600_000)}, "end": {secs(at)}, "step": {"60"}},
			url.Values{"query": {x.expr}, "start": {secs(at - 2*3600_000)}, "end": {secs(at)}, "step": {"37"}})
		for _, q := range qs {
			path := "/api/v1/query"
			if q.Has("step") {
				path = "/api/v1/query_range"
			}
			what := fmt.Sprintf("%s %v", path, q)
			wc, wb := get(t, prom.URL, path, q)
			gc, gb := get(t, srv.URL, path, q)
			if wc != http.StatusOK {
				// Both refuse it alike (a range vector in a range query).
				var we, ge answer
				json.Unmarshal(wb, &we)
				json.Unmarshal(gb, &ge)
				if gc != wc || ge.Status != "error" || ge.ErrorType != we.ErrorType {
					t.Errorf("%s: %d %s, prometheus %d %s", what, gc, gb, wc, wb)
				}
				compared++
				continue
			}
			wt, want := results(t, what+" (prometheus)", wb)
			gt, got := results(t, what+" (vigil)", gb)
			if wt != gt {
				t.Errorf("%s: result type %s, prometheus %s", what, gt, wt)
				continue
			}
			compareSeries(t, what, x.kind, got, want)
			compared++
		}
	}
	t.Logf("%d answers compared; counters differed by at most %g", compared, maxCounterDiff)
}

// maxCounterDiff is the largest difference seen on counters (logged).
var maxCounterDiff float64

func compareSeries(t *testing.T, what string, kind int, got, want map[string][]point) {
	t.Helper()
	for k := range want {
		if _, ok := got[k]; !ok {
			t.Errorf("%s: series {%s} missing (prometheus has it)", what, k)
		}
	}
	for k, g := range got {
		w, ok := want[k]
		if !ok {
			t.Errorf("%s: series {%s} that prometheus lacks", what, k)
			continue
		}
		if len(g) != len(w) {
			t.Errorf("%s {%s}: %d points, prometheus %d", what, k, len(g), len(w))
			continue
		}
		for i := range g {
			if g[i].T != w[i].T {
				t.Errorf("%s {%s}: point %d at %v, prometheus %v", what, k, i, g[i].T, w[i].T)
				break
			}
			if g[i].V == w[i].V {
				continue
			}
			gv, _ := strconv.ParseFloat(g[i].V, 64)
			wv, _ := strconv.ParseFloat(w[i].V, 64)
			if d := math.Abs(gv - wv); kind == counter && d > maxCounterDiff {
				maxCounterDiff = d
			}
			ok := kind == counter && math.Abs(gv-wv) <= counterTol ||
				kind == engine && math.Abs(gv-wv) <= engineTol*math.Abs(wv)
			if !ok {
				t.Errorf("%s {%s} at %v: %s, prometheus %s", what, k, g[i].T, g[i].V, w[i].V)
				break
			}
		}
	}
}

// Series, label names and label values list what Prometheus lists.
func TestServeListsAsPrometheus(t *testing.T) {
	om, jsonl := fixture()
	prom := promtest.Start(t, promtest.Blocks(t, om))
	srv, _ := newServer(t, fixtureStores(t, jsonl[:]...))
	for _, c := range []struct {
		path string
		q    url.Values
	}{
		{"/api/v1/series", url.Values{"match[]": {"cpu"}}},
		{"/api/v1/series", url.Values{"match[]": {`{__name__=~"response_time_ms_.*"}`, `req_total{service="web"}`}}},
		{"/api/v1/series", url.Values{"match[]": {"cpu"}, "start": {secs(fixtureEnd - 60_000)}, "end": {secs(fixtureEnd)}}},
		{"/api/v1/labels", url.Values{}},
		{"/api/v1/labels", url.Values{"match[]": {"req_total"}}},
		{"/api/v1/label/host/values", url.Values{}},
		{"/api/v1/label/__name__/values", url.Values{}},
		{"/api/v1/label/le/values", url.Values{"match[]": {"response_time_ms_bucket"}}},
	} {
		_, wb := get(t, prom.URL, c.path, c.q)
		_, gb := get(t, srv.URL, c.path, c.q)
		var w, g struct {
			Status string
			Data   any
		}
		json.Unmarshal(wb, &w)
		json.Unmarshal(gb, &g)
		if w.Status != "success" || !reflect.DeepEqual(w, g) {
			t.Errorf("%s %v:\n got %s\nwant %s", c.path, c.q, gb, wb)
		}
	}
}
