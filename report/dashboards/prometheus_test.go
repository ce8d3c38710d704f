package dashboards

import (
	"encoding/json"
	"fmt"
	"io"
	"math"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/vigil-metrics/vigil/internal/promtest"
)

// dataModel is vigil serve's data model (issue 28) for testInput's
// catalogue, 8 hours of one-minute samples: counters as running totals,
// gauges as they are, histograms as _count, _sum and _bucket{le} totals
// (buckets 100, 300, +Inf).
func dataModel(end time.Time) []promtest.Series {
	const n = 8 * 60
	start := end.Add(-n * time.Minute).UnixMilli()
	var out []promtest.Series
	add := func(name, typ string, labels map[string]string, value func(i int) float64) {
		s := promtest.Series{Name: name, Family: strings.TrimSuffix(name, "_total"), Type: typ, Labels: labels}
		if typ != "counter" {
			s.Family = name // a _bucket, _count or _sum total: its own family, read as it is
			s.Type = "gauge"
		}
		for i := 1; i <= n; i++ {
			s.Points = append(s.Points, promtest.Sample{MS: start + int64(i)*60_000, Value: value(i)})
		}
		out = append(out, s)
	}
	per := func(rate float64) func(int) float64 { return func(i int) float64 { return rate * float64(i) } }
	add("http_requests_total", "counter", map[string]string{"service": "api", "status": "200", "endpoint": "/"}, per(100))
	add("http_requests_total", "counter", map[string]string{"service": "api", "status": "500", "endpoint": "/"}, per(1))
	// search's SLOs: availability (the default SLI) and latency over the
	// histogram; api's: availability and latency from the SLI counters.
	for _, svc := range []string{"api", "search"} {
		add("sli_requests_total", "counter", map[string]string{"service": svc, "success": "true"}, per(99))
		add("sli_requests_total", "counter", map[string]string{"service": svc, "success": "false"}, per(0.1))
	}
	add("sli_latency_requests_total", "counter", map[string]string{"service": "api", "fast": "True"}, per(98))
	add("sli_latency_requests_total", "counter", map[string]string{"service": "api", "fast": "false"}, per(1))
	add("payments_total", "counter", map[string]string{"service": "checkout", "status": "ok"}, per(10))
	add("payments_total", "counter", map[string]string{"service": "checkout", "status": "err"}, per(0.01))
	for _, h := range []map[string]string{{"service": "api", "endpoint": "/"}, {"service": "search"}} {
		with := func(k, v string) map[string]string {
			m := map[string]string{k: v}
			for a, b := range h {
				m[a] = b
			}
			return m
		}
		add("response_time_ms_bucket", "", with("le", "100"), per(60))
		add("response_time_ms_bucket", "", with("le", "300"), per(95))
		add("response_time_ms_bucket", "", with("le", "+Inf"), per(100))
		add("response_time_ms_count", "", h, per(100))
		add("response_time_ms_sum", "", h, per(100*120))
	}
	add("cpu_usage_percent", "gauge", map[string]string{"host": "h1"}, func(i int) float64 { return 40 + 10*math.Sin(float64(i)/30) })
	add("cpu_usage_percent", "gauge", map[string]string{"host": "api-1", "service": "api"}, func(i int) float64 { return 20 + float64(i%10) })
	add("network_receive_bytes_total", "counter", map[string]string{"host": "h1", "interface": "eth0"}, per(1e6))
	add("queue_depth", "gauge", nil, func(i int) float64 { return float64(i % 7) })
	return out
}

// TestEveryPanelAnswersOnPrometheus sends every request Grafana would
// send for the generated dashboards (Replay, VariableRequests, through
// Request.HTTP) to a real Prometheus holding vigil serve's data model,
// and checks each answers success with data: the PromQL is answerable
// over that model, and the requests are what a Prometheus API takes.
// The same check against vigil serve itself is TestServeE2E.
func TestEveryPanelAnswersOnPrometheus(t *testing.T) {
	end := time.Date(2026, 11, 29, 12, 0, 0, 0, time.UTC)
	om, _ := promtest.Fixture(dataModel(end))
	srv := promtest.Start(t, promtest.Blocks(t, om), "--query.lookback-delta=5m")
	in := testInput(t)
	files, _, err := Build(in)
	if err != nil {
		t.Fatal(err)
	}
	from, to := end.Add(-6*time.Hour), end
	var failed []string
	count := 0
	for _, f := range files {
		var d Dashboard
		if err := json.Unmarshal(f.Data, &d); err != nil {
			t.Fatal(err)
		}
		vrs, err := VariableRequests(&d, from, to)
		if err != nil {
			t.Fatal(err)
		}
		values := map[string][]string{}
		for _, r := range vrs {
			var vs []string
			if err := ask(srv.URL, r, &vs); err != nil || len(vs) == 0 {
				failed = append(failed, fmt.Sprintf("%s %s: %v %v", f.Name, r.Panel, vs, err))
			}
			values[strings.TrimPrefix(r.Panel, "variable ")] = vs
		}
		reqs, err := Replay(&d, Datasource{TimeInterval: "1m", Method: "POST"}, from, to, values)
		if err != nil {
			t.Fatal(err)
		}
		for _, r := range reqs {
			count++
			var res struct {
				Result []json.RawMessage `json:"result"`
			}
			if err := ask(srv.URL, r, &res); err != nil || len(res.Result) == 0 {
				failed = append(failed, fmt.Sprintf("%s %q %s: %v (%d series): %s", f.Name, r.Panel, r.RefID, err, len(res.Result), r.Form.Get("query")))
			}
		}
	}
	if count < 40 {
		t.Errorf("%d panel queries, want every panel's (40 or more)", count)
	}
	if len(failed) > 0 {
		t.Errorf("%d requests without data:\n%s", len(failed), strings.Join(failed, "\n"))
	}
}

func ask(base string, r Request, data any) error {
	req, err := r.HTTP(base)
	if err != nil {
		return err
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	var env struct {
		Status string          `json:"status"`
		Data   json.RawMessage `json:"data"`
	}
	if err := json.Unmarshal(body, &env); err != nil || resp.StatusCode != 200 || env.Status != "success" {
		return fmt.Errorf("HTTP %d: %.300s", resp.StatusCode, body)
	}
	return json.Unmarshal(env.Data, data)
}
