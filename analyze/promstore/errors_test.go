package promstore_test

import (
	"encoding/json"
	"io"
	"net/http"
	"net/url"
	"strings"
	"testing"

	"github.com/vigil-metrics/vigil/analyze/promstore"
	"github.com/vigil-metrics/vigil/internal/promtest"
)

// Bad queries, bad parameters, the sample limit and timeouts get
// Prometheus's status code and errorType; a query_range POSTed as a
// form (as Grafana sends it) gets the GET's answer.
func TestServeErrorsAsPrometheus(t *testing.T) {
	om, jsonl := fixture()
	prom := promtest.Start(t, promtest.Blocks(t, om), "--query.max-samples=1000")
	limits := promstore.DefaultLimits
	limits.MaxSamples = 1000
	srv, _ := newServerLimits(t, fixtureStores(t, jsonl[:]...), limits)
	at := secs(fixtureEnd - 7_123)
	from := secs(fixtureEnd - 3600_000 - 7_123)
	for _, c := range []struct {
		path string
		q    url.Values
		code int
		typ  string
	}{
		{"/api/v1/query", url.Values{"query": {"sum(cpu"}, "time": {at}}, 400, "bad_data"},
		{"/api/v1/query", url.Values{"query": {"cpu"}, "time": {"yesterday"}}, 400, "bad_data"},
		{"/api/v1/query", url.Values{"query": {""}, "time": {at}}, 400, "bad_data"},
		{"/api/v1/query", url.Values{"query": {"rate(cpu)"}, "time": {at}}, 400, "bad_data"},
		{"/api/v1/query", url.Values{"query": {"count_over_time(cpu[6h])"}, "time": {at}}, 422, "execution"},
		{"/api/v1/query", url.Values{"query": {"cpu"}, "time": {at}, "timeout": {"0.000000001"}}, 503, "timeout"},
		{"/api/v1/query", url.Values{"query": {"cpu"}, "time": {at}, "timeout": {"soon"}}, 400, "bad_data"},
		{"/api/v1/query_range", url.Values{"query": {"cpu"}, "start": {at}, "end": {from}, "step": {"60"}}, 400, "bad_data"},
		{"/api/v1/query_range", url.Values{"query": {"cpu"}, "start": {from}, "end": {at}, "step": {"0"}}, 400, "bad_data"},
		{"/api/v1/query_range", url.Values{"query": {"cpu"}, "start": {from}, "end": {at}, "step": {"0.1"}}, 400, "bad_data"},
		{"/api/v1/query_range", url.Values{"query": {"cpu[5m]"}, "start": {from}, "end": {at}, "step": {"60"}}, 400, "bad_data"},
		{"/api/v1/query_range", url.Values{"query": {"cpu"}, "end": {at}, "step": {"60"}}, 400, "bad_data"},
		{"/api/v1/query_range", url.Values{"query": {"cpu"}, "start": {from}, "end": {at}, "step": {"60"}}, 200, ""},
		{"/api/v1/series", url.Values{}, 400, "bad_data"},
		{"/api/v1/series", url.Values{"match[]": {`{host=""}`}}, 400, "bad_data"},
		{"/api/v1/series", url.Values{"match[]": {"cpu{"}}, 400, "bad_data"},
	} {
		for _, post := range []bool{false, true} {
			var wc, gc int
			var wb, gb []byte
			if post {
				wc, wb = postForm(t, prom.URL+c.path, c.q)
				gc, gb = postForm(t, srv.URL+c.path, c.q)
			} else {
				wc, wb = get(t, prom.URL, c.path, c.q)
				gc, gb = get(t, srv.URL, c.path, c.q)
			}
			var w, g answer
			json.Unmarshal(wb, &w)
			json.Unmarshal(gb, &g)
			if wc != c.code || w.ErrorType != c.typ {
				t.Errorf("%s %v (post %v): prometheus %d %s, the test wants %d %s", c.path, c.q, post, wc, wb, c.code, c.typ)
			}
			if gc != wc || g.ErrorType != w.ErrorType || g.Status != w.Status {
				t.Errorf("%s %v (post %v): %d %s, prometheus %d %s", c.path, c.q, post, gc, gb, wc, wb)
			}
			if wc == 200 {
				_, want := results(t, "prometheus", wb)
				_, got := results(t, "vigil", gb)
				compareSeries(t, c.path, exact, got, want)
			}
		}
	}
}

func postForm(t *testing.T, u string, q url.Values) (int, []byte) {
	t.Helper()
	resp, err := http.Post(u, "application/x-www-form-urlencoded", strings.NewReader(q.Encode()))
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, b
}

// Methods other than GET and POST get what Prometheus answers: 405
// Method Not Allowed with an Allow header, on every API path.
func TestServeMethodsAsPrometheus(t *testing.T) {
	om, jsonl := fixture()
	prom := promtest.Start(t, promtest.Blocks(t, om))
	srv, _ := newServerLimits(t, fixtureStores(t, jsonl[:]...), promstore.DefaultLimits)
	paths := []string{"/api/v1/query?query=cpu", "/api/v1/query_range?query=cpu&start=1&end=2&step=1", "/api/v1/series?match[]=cpu",
		"/api/v1/labels", "/api/v1/label/host/values", "/api/v1/metadata", "/api/v1/status/buildinfo"}
	do := func(method, u string) (int, string, string) {
		req, _ := http.NewRequest(method, u, nil)
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		return resp.StatusCode, resp.Header.Get("Allow"), string(b)
	}
	for _, p := range paths {
		for _, m := range []string{"PUT", "DELETE", "PATCH", "OPTIONS", "POST"} {
			if m == "DELETE" && strings.HasPrefix(p, "/api/v1/series") {
				continue // Prometheus's admin API (off: 500 unavailable); below
			}
			wc, wa, wb := do(m, prom.URL+p)
			gc, ga, gb := do(m, srv.URL+p)
			if strings.HasPrefix(p, "/api/v1/series") {
				wa = strings.Replace(wa, "DELETE, ", "", 1) // no admin API here
			}
			if m != "OPTIONS" && m != "POST" && (wc != http.StatusMethodNotAllowed || wa == "") {
				t.Errorf("%s %s: prometheus %d Allow %q, the test wants 405 with an Allow header", m, p, wc, wa)
			}
			if gc != wc || ga != wa || (wc != 200 && gb != wb) {
				t.Errorf("%s %s: %d Allow %q %q, prometheus %d Allow %q %q", m, p, gc, ga, gb, wc, wa, wb)
			}
		}
	}
	// vigil serve has no admin API: deleting series is a method the
	// path does not allow.
	if c, a, _ := do("DELETE", srv.URL+"/api/v1/series?match[]=cpu"); c != 405 || a != "GET, OPTIONS, POST" {
		t.Errorf("DELETE /api/v1/series: %d Allow %q, want 405 Allow GET, OPTIONS, POST", c, a)
	}
}
