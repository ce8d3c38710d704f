package scrape

import (
	"context"
	"fmt"
	"net/http"
	"net/http/httptest"
	"sort"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/vigil-metrics/vigil/internal/store"
)

// exporter serves whatever body is set, like an exporter between scrapes.
type exporter struct {
	mu   sync.Mutex
	body string
}

func (e *exporter) set(b string) { e.mu.Lock(); e.body = b; e.mu.Unlock() }
func (e *exporter) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	e.mu.Lock()
	defer e.mu.Unlock()
	if !strings.Contains(r.Header.Get("Accept"), "text/plain;version=0.0.4") {
		http.Error(w, "want text format", http.StatusNotAcceptable)
		return
	}
	w.Header().Set("Content-Type", "text/plain; version=0.0.4")
	fmt.Fprint(w, e.body)
}

func render(ss []store.Sample) []string {
	var out []string
	for _, s := range ss {
		out = append(out, fmt.Sprintf("%s%s %s %g", s.Name, store.CanonicalLabels(s.Labels), s.Type, s.Value))
	}
	sort.Strings(out)
	return out
}

const scrape1 = `# HELP http_requests_total Requests.
# TYPE http_requests_total counter
http_requests_total{code="200",job="app"} 100
http_requests_total{code="500"} 7
# TYPE temperature_celsius gauge
temperature_celsius 21.5
# TYPE latency_seconds histogram
latency_seconds_bucket{le="0.1"} 10
latency_seconds_bucket{le="1"} 15
latency_seconds_bucket{le="+Inf"} 16
latency_seconds_sum 4.5
latency_seconds_count 16
# TYPE rpc_seconds summary
rpc_seconds{quantile="0.5"} 0.2
rpc_seconds_sum 10
rpc_seconds_count 40
`

const scrape2 = `# TYPE http_requests_total counter
http_requests_total{code="200",job="app"} 130
http_requests_total{code="500"} 2
# TYPE temperature_celsius gauge
temperature_celsius 22
# TYPE latency_seconds histogram
latency_seconds_bucket{le="0.1"} 12
latency_seconds_bucket{le="1"} 18
latency_seconds_bucket{le="+Inf"} 20
latency_seconds_sum 6
latency_seconds_count 20
# TYPE rpc_seconds summary
rpc_seconds{quantile="0.5"} 0.25
rpc_seconds_sum 12.5
rpc_seconds_count 50
`

func TestScrapeCountersBecomeIncrements(t *testing.T) {
	ex := &exporter{body: scrape1}
	srv := httptest.NewServer(ex)
	defer srv.Close()
	tg, err := ParseTarget("app=" + srv.URL + "/metrics")
	if err != nil {
		t.Fatal(err)
	}
	inst := strings.TrimPrefix(srv.URL, "http://")
	s := &Scraper{}
	now := time.Unix(1795946400, 0)
	got, err := s.Scrape(context.Background(), tg, now)
	if err != nil {
		t.Fatal(err)
	}
	// First scrape: gauges only; counters set their baselines.
	want := []string{
		`rpc_seconds{"instance":"` + inst + `","job":"app","quantile":"0.5"} gauge 0.2`,
		`temperature_celsius{"instance":"` + inst + `","job":"app"} gauge 21.5`,
	}
	if g := render(got); strings.Join(g, "\n") != strings.Join(want, "\n") {
		t.Errorf("first scrape:\n%s\nwant\n%s", strings.Join(g, "\n"), strings.Join(want, "\n"))
	}
	ex.set(scrape2)
	got, err = s.Scrape(context.Background(), tg, now.Add(10*time.Second))
	if err != nil {
		t.Fatal(err)
	}
	l := `"instance":"` + inst + `","job":"app"`
	want = []string{
		`http_requests_total{"code":"200","exported_job":"app",` + l + `} counter 30`,
		`http_requests_total{"code":"500",` + l + `} counter 2`, // 7 -> 2 is a reset
		`latency_seconds_bucket{` + l + `,"le":"+Inf"} counter 4`,
		`latency_seconds_bucket{` + l + `,"le":"0.1"} counter 2`,
		`latency_seconds_bucket{` + l + `,"le":"1"} counter 3`,
		`latency_seconds_count{` + l + `} counter 4`,
		`latency_seconds_sum{` + l + `} counter 1.5`,
		`rpc_seconds_count{` + l + `} counter 10`,
		`rpc_seconds_sum{` + l + `} counter 2.5`,
		`rpc_seconds{` + l + `,"quantile":"0.5"} gauge 0.25`,
		`temperature_celsius{` + l + `} gauge 22`,
	}
	if g := render(got); strings.Join(g, "\n") != strings.Join(want, "\n") {
		t.Errorf("second scrape:\n%s\nwant\n%s", strings.Join(g, "\n"), strings.Join(want, "\n"))
	}
	for _, smp := range got {
		if smp.TS != now.Add(10*time.Second).UnixMilli() {
			t.Errorf("sample time %d, want the scrape time", smp.TS)
		}
	}
}

func TestMalformedExpositionsAreRejectedWhole(t *testing.T) {
	cases := map[string]string{
		"no final newline":   "# TYPE a_total counter\na_total 5",
		"duplicate TYPE":     "# TYPE a_total counter\n# TYPE a_total counter\na_total 5\n",
		"bad escape":         "# TYPE a_total counter\na_total{l=\"x\\q\"} 5\n",
		"TYPE after samples": "a_total 5\n# TYPE a_total counter\n",
		"duplicate series":   "# TYPE a_total counter\na_total 5\na_total 6\n",
	}
	for name, body := range cases {
		t.Run(name, func(t *testing.T) {
			ex := &exporter{body: "# TYPE a_total counter\na_total 1\n"}
			srv := httptest.NewServer(ex)
			defer srv.Close()
			s := &Scraper{}
			tg := Target{Job: "j", URL: srv.URL}
			now := time.Unix(1795946400, 0)
			if _, err := s.Scrape(context.Background(), tg, now); err != nil {
				t.Fatal(err)
			}
			ex.set(body)
			got, err := s.Scrape(context.Background(), tg, now)
			if err == nil || !strings.Contains(err.Error(), "malformed exposition") || len(got) != 0 {
				t.Fatalf("Scrape = %v, %v; want the whole scrape rejected", render(got), err)
			}
			// The bad scrape left the baseline alone: 1 -> 4 is +3.
			ex.set("# TYPE a_total counter\na_total 4\n")
			got, err = s.Scrape(context.Background(), tg, now)
			if err != nil || len(got) != 1 || got[0].Value != 3 {
				t.Errorf("next good scrape = %v, %v; want one increment of 3", render(got), err)
			}
		})
	}
}

func TestScrapeLimits(t *testing.T) {
	big := "# TYPE g gauge\n" + strings.Repeat("g 1\n", 0) + "g{l=\"" + strings.Repeat("x", 2000) + "\"} 1\n"
	ex := &exporter{body: big}
	srv := httptest.NewServer(ex)
	defer srv.Close()
	s := &Scraper{BodyLimit: 1000}
	if _, err := s.Scrape(context.Background(), Target{Job: "j", URL: srv.URL}, time.Now()); err == nil || !strings.Contains(err.Error(), "exceeds the limit of 1000 bytes") {
		t.Errorf("body limit: err = %v", err)
	}
	slow := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		select {
		case <-time.After(5 * time.Second):
		case <-r.Context().Done():
		}
	}))
	defer slow.Close()
	s = &Scraper{Timeout: 100 * time.Millisecond}
	start := time.Now()
	if _, err := s.Scrape(context.Background(), Target{Job: "j", URL: slow.URL}, time.Now()); err == nil || !strings.Contains(err.Error(), "deadline exceeded") {
		t.Errorf("timeout: err = %v", err)
	}
	if time.Since(start) > 3*time.Second {
		t.Error("the scrape did not stop at its timeout")
	}
	notFound := httptest.NewServer(http.NotFoundHandler())
	defer notFound.Close()
	if _, err := s.Scrape(context.Background(), Target{Job: "j", URL: notFound.URL}, time.Now()); err == nil || !strings.Contains(err.Error(), "404") {
		t.Errorf("404: err = %v", err)
	}
}

func TestParseTarget(t *testing.T) {
	tg, err := ParseTarget("node=http://127.0.0.1:9100/metrics")
	if err != nil || tg.Job != "node" || tg.URL != "http://127.0.0.1:9100/metrics" || tg.Instance() != "127.0.0.1:9100" {
		t.Errorf("ParseTarget = %+v, %v", tg, err)
	}
	tg, err = ParseTarget("http://example.test/metrics?a=b")
	if err != nil || tg.Job != "scrape" || tg.Instance() != "example.test:80" {
		t.Errorf("ParseTarget = %+v, %v", tg, err)
	}
	for _, bad := range []string{"", "localhost:9100", "ftp://x/metrics", "job="} {
		if _, err := ParseTarget(bad); err == nil {
			t.Errorf("ParseTarget(%q) succeeded", bad)
		}
	}
}
