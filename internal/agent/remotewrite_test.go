package agent

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/prometheus/client_golang/exp/api/remote"
	"github.com/prometheus/prometheus/prompb"

	"github.com/vigil-metrics/vigil/internal/promtest"
	"github.com/vigil-metrics/vigil/internal/remotewrite"
)

// startPrometheus runs a real Prometheus with the remote-write receiver
// on loopback; it returns its address.
func startPrometheus(t *testing.T) string {
	t.Helper()
	return strings.TrimPrefix(promtest.Start(t, "", "--web.enable-remote-write-receiver").URL, "http://")
}

// promQuery evaluates an instant query at time at (unix ms) and returns
// each series' labels and value.
func promQuery(addr, q string, at int64) (map[string]float64, error) {
	u := fmt.Sprintf("http://%s/api/v1/query?query=%s&time=%s", addr, url.QueryEscape(q), strconv.FormatFloat(float64(at)/1000, 'f', 3, 64))
	resp, err := http.Get(u)
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	var out struct {
		Status string `json:"status"`
		Data   struct {
			Result []struct {
				Metric map[string]string `json:"metric"`
				Value  [2]any            `json:"value"`
			} `json:"result"`
		} `json:"data"`
	}
	if err := json.Unmarshal(body, &out); err != nil || out.Status != "success" {
		return nil, fmt.Errorf("query %s: %s", q, body)
	}
	res := map[string]float64{}
	for _, r := range out.Data.Result {
		s, _ := r.Value[1].(string)
		v, err := strconv.ParseFloat(s, 64)
		if err != nil {
			return nil, err
		}
		delete(r.Metric, "__name__")
		res[fmt.Sprint(r.Metric)] = v
	}
	return res, nil
}

// The agent's --remote-write samples are queryable in a real Prometheus:
// pushed counter increments 4, 0, 11 read as the cumulative total 15, a
// gauge as it is, a histogram as _count and _sum, the service as a label,
// host metrics too; the agent's /metrics counts what was sent.
func TestRemoteWriteRealPrometheus(t *testing.T) {
	prom := startPrometheus(t)
	db := filepath.Join(t.TempDir(), "v.db")
	addr, log, stop := runAgent(t, Config{DB: db, Interval: 200 * time.Millisecond,
		RemoteWrite: []string{"http://" + prom + "/api/v1/write"},
		remoteWrite: func(o *remotewrite.Options) { o.FlushInterval = 50 * time.Millisecond }})

	t0 := time.Now().Add(-10*time.Second).UnixMilli() / 1000 * 1000
	sec := func(ms int64) string { return strconv.FormatFloat(float64(ms)/1000, 'f', 3, 64) }
	var body strings.Builder
	for i, inc := range []float64{4, 0, 11} {
		fmt.Fprintf(&body, `{"ts":%s,"name":"rw_jobs_total","type":"counter","value":%g,"labels":{"queue":"q1"},"service":"billing"}`+"\n", sec(t0+int64(i)*1000), inc)
	}
	fmt.Fprintf(&body, `{"ts":%s,"name":"rw_temp_celsius","type":"gauge","value":21.5}`+"\n", sec(t0+2000))
	fmt.Fprintf(&body, `{"ts":%s,"name":"rw_lat_ms","type":"histogram","value":30}`+"\n", sec(t0+1000))
	fmt.Fprintf(&body, `{"ts":%s,"name":"rw_lat_ms","type":"histogram","value":50}`+"\n", sec(t0+2000))
	if code, msg := post(t, "http://"+addr+"/v1/metrics", body.String()); code != http.StatusAccepted {
		t.Fatalf("push: %d %s", code, msg)
	}

	at := t0 + 2000
	want := []struct {
		q    string
		want string
	}{
		{`rw_jobs_total`, `map[map[queue:q1 service:billing]:15]`},
		// The three totals and the 0 a millisecond before the first.
		{`count_over_time(rw_jobs_total[1m])`, `map[map[queue:q1 service:billing]:4]`},
		{`rw_jobs_total offset 1s`, `map[map[queue:q1 service:billing]:4]`},
		{`rw_temp_celsius`, `map[map[]:21.5]`},
		{`rw_lat_ms_count`, `map[map[]:2]`},
		{`rw_lat_ms_sum`, `map[map[]:80]`},
	}
	deadline := time.Now().Add(30 * time.Second)
	for _, w := range want {
		for {
			got, err := promQuery(prom, w.q, at)
			if err == nil && fmt.Sprint(got) == w.want {
				break
			}
			if time.Now().After(deadline) {
				t.Fatalf("%s = %v (%v), want %s\nagent log:\n%s", w.q, got, err, w.want, log)
			}
			time.Sleep(100 * time.Millisecond)
		}
	}
	// Host metrics go too, under the host label.
	for {
		got, err := promQuery(prom, `count({host="h"}) > 0`, time.Now().UnixMilli())
		if err == nil && len(got) == 1 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("no host metrics in prometheus (%v)\n%s", err, log)
		}
		time.Sleep(100 * time.Millisecond)
	}

	resp, err := http.Get("http://" + addr + "/metrics")
	if err != nil {
		t.Fatal(err)
	}
	b, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	m := string(b)
	u := "http://" + prom + "/api/v1/write"
	for _, s := range []string{
		"# TYPE vigil_agent_remote_write_queue_samples gauge",
		`vigil_agent_remote_write_samples_dropped_total{url="` + u + `"} 0`,
		`vigil_agent_remote_write_samples_failed_total{url="` + u + `"} 0`,
		`vigil_agent_remote_write_protocol_info{protocol="1.0",url="` + u + `"} 1`,
		"vigil_samples_written_total ",
	} {
		if !strings.Contains(m, s) {
			t.Errorf("/metrics lacks %q:\n%s", s, m)
		}
	}
	if !strings.Contains(m, `vigil_agent_remote_write_samples_sent_total{url="`+u+`"}`) ||
		strings.Contains(m, `vigil_agent_remote_write_samples_sent_total{url="`+u+`"} 0`+"\n") {
		t.Errorf("nothing counted as sent:\n%s", m)
	}
	if err := stop(); err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(log.String(), "remote write: queue flushed") {
		t.Errorf("no flush report at shutdown:\n%s", log)
	}
	// The store got the same samples (remote write is besides it).
	var n int
	if err := openDB(t, db).QueryRow(`SELECT count(*) FROM metrics WHERE name = 'rw_jobs_total'`).Scan(&n); err != nil || n != 3 {
		t.Errorf("store holds %d rw_jobs_total rows (%v), want 3", n, err)
	}
}

// v1Receiver counts the samples of remote-write 1.0 requests (2.0 gets
// 415).
type v1Receiver struct {
	mu    sync.Mutex
	lines []string
}

func (rc *v1Receiver) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if strings.Contains(r.Header.Get("Content-Type"), "v2") {
		http.Error(w, "1.0 only", http.StatusUnsupportedMediaType)
		return
	}
	raw, err := io.ReadAll(r.Body) // decompressed by remote.SnappyDecodeMiddleware
	var req prompb.WriteRequest
	if err == nil {
		err = req.Unmarshal(raw)
	}
	if err != nil {
		http.Error(w, err.Error(), http.StatusBadRequest)
		return
	}
	rc.mu.Lock()
	defer rc.mu.Unlock()
	for _, ts := range req.Timeseries {
		var b bytes.Buffer
		for _, l := range ts.Labels {
			fmt.Fprintf(&b, "%s=%s,", l.Name, l.Value)
		}
		for _, s := range ts.Samples {
			rc.lines = append(rc.lines, fmt.Sprintf("%s %d %g", b.String(), s.Timestamp, s.Value))
		}
	}
	w.WriteHeader(http.StatusNoContent)
}

func (rc *v1Receiver) has(prefix string) bool {
	rc.mu.Lock()
	defer rc.mu.Unlock()
	for _, l := range rc.lines {
		if strings.HasPrefix(l, prefix) {
			return true
		}
	}
	return false
}

// --no-store writes no store file: samples go to remote write only, and
// --once flushes them before it returns.
func TestNoStoreCreatesNoFile(t *testing.T) {
	rc := &v1Receiver{}
	srv := httptest.NewServer(remote.SnappyDecodeMiddleware(slog.New(slog.DiscardHandler))(rc))
	defer srv.Close()
	dir := t.TempDir()
	db := filepath.Join(dir, "v.db")
	err := Run(context.Background(), Config{DB: db, NoStore: true, Once: true, GPU: "on", GPULibrary: fakeGPU{},
		Host: "node-7", Service: "infra", RemoteWrite: []string{srv.URL}, Retention: time.Hour})
	if err != nil {
		t.Fatal(err)
	}
	entries, _ := os.ReadDir(dir)
	if len(entries) != 0 {
		t.Fatalf("--no-store left files: %v", entries)
	}
	if !rc.has("__name__=gpu_utilization_percent,device=0,host=node-7,name=Fake GPU,service=infra, ") {
		t.Fatalf("gpu_utilization_percent not received:\n%s", strings.Join(rc.lines, "\n"))
	}

	if err := Run(context.Background(), Config{NoStore: true, Once: true, GPU: "off"}); !errors.Is(err, ErrNoOutput) {
		t.Fatalf("--no-store without --remote-write: %v", err)
	}
}

// --no-store with the push endpoint: pushes are taken (no store types to
// check) and forwarded; /metrics counts them.
func TestNoStorePush(t *testing.T) {
	rc := &v1Receiver{}
	srv := httptest.NewServer(remote.SnappyDecodeMiddleware(slog.New(slog.DiscardHandler))(rc))
	t.Cleanup(srv.Close) // after the agent stops
	dir := t.TempDir()
	addr, log, stop := runAgent(t, Config{DB: filepath.Join(dir, "v.db"), NoStore: true, Interval: 100 * time.Millisecond,
		RemoteWrite: []string{srv.URL}, remoteWrite: func(o *remotewrite.Options) { o.FlushInterval = 20 * time.Millisecond }})
	ts := time.Now().UnixMilli() / 1000
	if code, msg := post(t, "http://"+addr+"/v1/metrics", fmt.Sprintf(`{"ts":%d,"name":"jobs_total","type":"counter","value":3}`+"\n", ts)); code != http.StatusAccepted {
		t.Fatalf("push: %d %s", code, msg)
	}
	deadline := time.Now().Add(10 * time.Second)
	for !rc.has(fmt.Sprintf("__name__=jobs_total, %d 3", ts*1000)) {
		if time.Now().After(deadline) {
			t.Fatalf("push not forwarded\n%s", log)
		}
		time.Sleep(20 * time.Millisecond)
	}
	if err := stop(); err != nil {
		t.Fatal(err)
	}
	if entries, _ := os.ReadDir(dir); len(entries) != 0 {
		t.Fatalf("--no-store left files: %v", entries)
	}
}

// A spill loaded at start reaches the remote-write endpoints too, as
// the samples would have after a flush: the store and the endpoints get
// the same samples (counters as running totals, from a reset).
func TestLoadedSpillIsForwarded(t *testing.T) {
	rc := &v1Receiver{}
	srv := httptest.NewServer(remote.SnappyDecodeMiddleware(slog.New(slog.DiscardHandler))(rc))
	defer srv.Close()
	dir := t.TempDir()
	db := filepath.Join(dir, "v.db")
	spill := `{"ts": 1795946400.125, "name": "sp_g", "type": "gauge", "value": 2.5, "labels": {"k": "v"}, "service": "api"}
{"ts": 1795946400, "name": "sp_total", "type": "counter", "value": 2}
{"ts": 1795946401, "name": "sp_total", "type": "counter", "value": 3}
`
	if err := os.WriteFile(db+".spill-1795946402.jsonl", []byte(spill), 0o600); err != nil {
		t.Fatal(err)
	}
	log := &syncBuf{}
	err := Run(context.Background(), Config{DB: db, Once: true, GPU: "off", Host: "h", RemoteWrite: []string{srv.URL},
		Logger: slog.New(slog.NewTextHandler(log, nil))})
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, l := range rc.lines {
		if strings.HasPrefix(l, "__name__=sp_") {
			got = append(got, l)
		}
	}
	sort.Strings(got)
	want := []string{
		"__name__=sp_g,k=v,service=api, 1795946400125 2.5",
		"__name__=sp_total, 1795946399999 0",
		"__name__=sp_total, 1795946400000 2",
		"__name__=sp_total, 1795946401000 5",
	}
	if strings.Join(got, "\n") != strings.Join(want, "\n") {
		t.Errorf("the endpoint got\n%s\nwant\n%s\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"), log)
	}
	if n := len(query(t, db, `SELECT value FROM metrics WHERE name LIKE 'sp_%'`)); n != 3 {
		t.Errorf("the store holds %d of the 3 spilled samples", n)
	}
}
