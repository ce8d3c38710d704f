package collect

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"math"
	"net"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	dto "github.com/prometheus/client_model/go"
	"github.com/prometheus/common/expfmt"
	"github.com/prometheus/common/model"
)

// scrapeHandler gets r.Handler()'s page and parses it back with expfmt.
func scrapeHandler(t *testing.T, r *Recorder) map[string]*dto.MetricFamily {
	t.Helper()
	w := httptest.NewRecorder()
	r.Handler().ServeHTTP(w, httptest.NewRequest("GET", "/metrics", nil))
	if ct := w.Header().Get("Content-Type"); !strings.HasPrefix(ct, "text/plain; version=0.0.4") {
		t.Errorf("Content-Type %q", ct)
	}
	parser := expfmt.NewTextParser(model.UTF8Validation)
	fams, err := parser.TextToMetricFamilies(bytes.NewReader(w.Body.Bytes()))
	if err != nil {
		t.Fatalf("%v\n%s", err, w.Body.String())
	}
	return fams
}

func findMetric(t *testing.T, fams map[string]*dto.MetricFamily, name string, labels map[string]string) *dto.Metric {
	t.Helper()
	f := fams[name]
	if f == nil {
		t.Fatalf("no family %s", name)
	}
	for _, m := range f.Metric {
		got := map[string]string{}
		for _, l := range m.Label {
			got[l.GetName()] = l.GetValue()
		}
		if sameLabels(got, labels) {
			return m
		}
	}
	t.Fatalf("no %s%v", name, labels)
	return nil
}

func TestHandlerTotals(t *testing.T) {
	r, clk := newRecorder(t, Options{Service: "app", ConstLabels: map[string]string{"region": "eu"},
		Sampling: map[string]float64{"sampled_total": 1}})
	c := r.Counter("jobs_total", map[string]string{"queue": "a"})
	var total float64
	// Increments across several resolution buckets, drained or not: the
	// page shows the running total.
	for i := range 5 {
		c.Inc()
		c.Add(2.5)
		total += 3.5
		if i%2 == 0 {
			clk.Advance(time.Second)
			r.drain(clk.Now(), false)
		}
	}
	r.Gauge("queue_depth", nil).Set(4)
	r.Gauge("queue_depth", nil).Set(7) // last value
	r.Gauge("inflight", nil).Add(3)
	r.Gauge("inflight", nil).Dec()
	calls := 0
	r.GaugeFunc("goroutines", nil, func() float64 { calls++; return float64(40 + calls) })
	h := r.Histogram("render_seconds", nil)
	obs := []float64{0.003, 0.005, 0.02, 0.3, 0.3, 4, 11}
	var sum float64
	for _, v := range obs {
		h.Observe(v)
		sum += v
	}
	r.Histogram("render_ms", nil).Observe(30)
	// Another service's samples (an agent's Add) are not this service's.
	r.Add(Sample{Name: "jobs_total", Type: TypeCounter, Service: "other", Labels: map[string]string{"queue": "a"}, TS: 1, Value: 100})

	fams := scrapeHandler(t, r)
	eu := func(l map[string]string) map[string]string { return merge(map[string]string{"region": "eu"}, l) }
	if got := findMetric(t, fams, "jobs_total", eu(map[string]string{"queue": "a"})).GetCounter().GetValue(); got != total {
		t.Errorf("jobs_total = %v, want %v", got, total)
	}
	if n := len(fams["jobs_total"].Metric); n != 1 {
		t.Errorf("%d jobs_total series, want 1 (the other service's left out)", n)
	}
	if got := findMetric(t, fams, "queue_depth", eu(nil)).GetGauge().GetValue(); got != 7 {
		t.Errorf("queue_depth = %v", got)
	}
	if got := findMetric(t, fams, "inflight", eu(nil)).GetGauge().GetValue(); got != 2 {
		t.Errorf("inflight = %v", got)
	}
	if got := findMetric(t, fams, "goroutines", eu(nil)).GetGauge().GetValue(); got != 41 {
		t.Errorf("goroutines = %v (read at the scrape)", got)
	}
	if fams["render_seconds"].GetType() != dto.MetricType_HISTOGRAM {
		t.Fatalf("render_seconds is a %v", fams["render_seconds"].GetType())
	}
	hs := findMetric(t, fams, "render_seconds", eu(nil)).GetHistogram()
	if hs.GetSampleCount() != uint64(len(obs)) || math.Abs(hs.GetSampleSum()-sum) > 1e-9 {
		t.Errorf("count %d sum %v, want %d %v", hs.GetSampleCount(), hs.GetSampleSum(), len(obs), sum)
	}
	// Hand-counted cumulative buckets (le: v <= bound).
	// (the parser adds the +Inf bucket from _count).
	want := map[float64]uint64{.005: 2, .01: 2, .025: 3, .05: 3, .1: 3, .25: 3, .5: 5, 1: 5, 2.5: 5, 5: 6, 10: 6, math.Inf(1): 7}
	if len(hs.Bucket) != len(want) {
		t.Errorf("%d buckets", len(hs.Bucket))
	}
	for _, b := range hs.Bucket {
		if want[b.GetUpperBound()] != b.GetCumulativeCount() {
			t.Errorf("le=%v: %d, want %d", b.GetUpperBound(), b.GetCumulativeCount(), want[b.GetUpperBound()])
		}
	}
	ms := findMetric(t, fams, "render_ms", eu(nil)).GetHistogram()
	var bounds []float64
	for _, b := range ms.Bucket {
		bounds = append(bounds, b.GetUpperBound())
	}
	if fmt.Sprint(bounds) != "[5 10 25 50 100 250 500 1000 2500 5000 10000 +Inf]" || ms.Bucket[2].GetCumulativeCount() != 0 || ms.Bucket[3].GetCumulativeCount() != 1 {
		t.Errorf("render_ms buckets %v", ms.Bucket)
	}
	// The store is unchanged by scrapes: a flush still writes the rows.
	if err := r.Flush(t.Context()); err != nil {
		t.Fatal(err)
	}
	if got := findMetric(t, scrapeHandler(t, r), "jobs_total", eu(map[string]string{"queue": "a"})).GetCounter().GetValue(); got != total {
		t.Errorf("after Flush jobs_total = %v, want %v", got, total)
	}
}

func TestHandlerOptionsBucketsAndRowPerCall(t *testing.T) {
	r, _ := newRecorder(t, Options{Resolution: -1, Buckets: []float64{10, 1, math.Inf(1), 1}})
	r.Counter("hits_total", nil).Add(2)
	r.Counter("hits_total", nil).Inc()
	h := r.Histogram("size_bytes", nil)
	h.Observe(0.5)
	h.Observe(5)
	h.Observe(50)
	fams := scrapeHandler(t, r)
	if got := findMetric(t, fams, "hits_total", nil).GetCounter().GetValue(); got != 3 {
		t.Errorf("hits_total = %v", got)
	}
	hs := findMetric(t, fams, "size_bytes", nil).GetHistogram()
	if len(hs.Bucket) != 3 || hs.Bucket[0].GetCumulativeCount() != 1 || hs.Bucket[1].GetCumulativeCount() != 2 || hs.GetSampleCount() != 3 {
		t.Errorf("size_bytes %v", hs)
	}
}

func TestHandlerNilRecorder(t *testing.T) {
	var r *Recorder
	w := httptest.NewRecorder()
	r.Handler().ServeHTTP(w, httptest.NewRequest("GET", "/metrics", nil))
	if w.Code != 200 || w.Body.Len() != 0 {
		t.Errorf("%d %q", w.Code, w.Body.String())
	}
}

// A real Prometheus scrapes the handler on loopback; its HTTP API then
// gives the counter's value.
func TestHandlerRealPrometheus(t *testing.T) {
	bin, err := exec.LookPath("prometheus")
	if err != nil {
		if os.Getenv("CI") != "" {
			t.Fatal("prometheus is not installed; .ci/run must install it")
		}
		t.Skip("SKIPPING: prometheus not installed (apt-get install prometheus); CI runs this test")
	}
	r, _ := newRecorder(t, Options{Now: time.Now})
	c := r.Counter("orders_total", map[string]string{"kind": "web"})
	c.Add(42)
	r.Histogram("render_seconds", nil).Observe(0.2)
	app := httptest.NewServer(r.Handler())
	defer app.Close()

	dir := t.TempDir()
	cfg := fmt.Sprintf("global:\n  scrape_interval: 1s\n  evaluation_interval: 1s\nscrape_configs:\n  - job_name: app\n    scrape_interval: 1s\n    static_configs:\n      - targets: ['%s']\n", app.Listener.Addr())
	if err := os.WriteFile(filepath.Join(dir, "prometheus.yml"), []byte(cfg), 0o644); err != nil {
		t.Fatal(err)
	}
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := l.Addr().String()
	l.Close()
	var logs bytes.Buffer
	p := exec.Command(bin, "--config.file="+filepath.Join(dir, "prometheus.yml"), "--storage.tsdb.path="+filepath.Join(dir, "data"),
		"--web.listen-address="+addr)
	p.Stdout, p.Stderr = &logs, &logs
	if err := p.Start(); err != nil {
		t.Fatal(err)
	}
	defer func() { p.Process.Kill(); p.Wait() }()

	query := func(q string) (float64, bool) {
		resp, err := http.Get("http://" + addr + "/api/v1/query?query=" + url.QueryEscape(q))
		if err != nil {
			return 0, false
		}
		defer resp.Body.Close()
		body, _ := io.ReadAll(resp.Body)
		var out struct {
			Data struct {
				Result []struct {
					Value [2]any `json:"value"`
				} `json:"result"`
			} `json:"data"`
		}
		if json.Unmarshal(body, &out) != nil || len(out.Data.Result) != 1 {
			return 0, false
		}
		s, _ := out.Data.Result[0].Value[1].(string)
		v, err := strconv.ParseFloat(s, 64)
		return v, err == nil
	}
	deadline := time.Now().Add(30 * time.Second)
	for {
		if v, ok := query(`orders_total{job="app",kind="web"}`); ok && v == 42 {
			break
		} else if time.Now().After(deadline) {
			t.Fatalf("orders_total = %v, %v after 30s; prometheus said:\n%s", v, ok, logs.String())
		}
		time.Sleep(200 * time.Millisecond)
	}
	c.Add(8)
	for {
		if v, ok := query(`orders_total{job="app",kind="web"}`); ok && v == 50 {
			break
		} else if time.Now().After(deadline) {
			t.Fatalf("orders_total = %v after the increment", v)
		}
		time.Sleep(200 * time.Millisecond)
	}
	if v, ok := query(`render_seconds_bucket{le="0.25"}`); !ok || v != 1 {
		t.Errorf("render_seconds_bucket{le=\"0.25\"} = %v, %v", v, ok)
	}
}

// Scrapes racing increments, observations and drains see a total that
// only grows, and the final one is exact.
func TestHandlerConcurrent(t *testing.T) {
	r, clk := newRecorder(t, Options{})
	c := r.Counter("ops_total", nil)
	h := r.Histogram("op_seconds", nil)
	g := r.Gauge("level", nil)
	done := make(chan struct{})
	const n = 2000
	go func() {
		defer close(done)
		for i := range n {
			c.Inc()
			h.Observe(0.01)
			g.Set(float64(i))
			if i%100 == 0 {
				clk.Advance(time.Second)
				r.drain(clk.Now(), i%300 == 0)
			}
		}
	}()
	last := 0.0
	for running := true; running; {
		select {
		case <-done:
			running = false
		default:
		}
		fams := scrapeHandler(t, r)
		if f := fams["ops_total"]; f != nil {
			v := f.Metric[0].GetCounter().GetValue()
			if v < last {
				t.Fatalf("ops_total went from %v to %v", last, v)
			}
			last = v
		}
	}
	fams := scrapeHandler(t, r)
	if v := fams["ops_total"].Metric[0].GetCounter().GetValue(); v != n {
		t.Errorf("ops_total = %v, want %d", v, n)
	}
	if v := fams["op_seconds"].Metric[0].GetHistogram().GetSampleCount(); v != n {
		t.Errorf("op_seconds_count = %v, want %d", v, n)
	}
}
