package agent

import (
	"context"
	"database/sql"
	"fmt"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/vigil-metrics/vigil/internal/gpu"
	"github.com/vigil-metrics/vigil/internal/scrape"
	"github.com/vigil-metrics/vigil/internal/store"
)

type fakeGPU struct{}

func (fakeGPU) Init() error     { return nil }
func (fakeGPU) Shutdown() error { return nil }
func (fakeGPU) Devices() ([]gpu.Device, error) {
	return []gpu.Device{dev{}}, nil
}

type dev struct{}

func (dev) Name() (string, error)           { return "Fake GPU", nil }
func (dev) Memory() (uint64, uint64, error) { return 1 << 30, 4 << 30, nil }
func (dev) Utilization() (uint32, error)    { return 55, nil }
func (dev) Temperature() (uint32, error)    { return 70, nil }
func (dev) Power() (uint32, error)          { return 150000, nil }

func query(t *testing.T, db, q string) []string {
	t.Helper()
	h, err := sql.Open("sqlite", db)
	if err != nil {
		t.Fatal(err)
	}
	defer h.Close()
	rows, err := h.Query(q)
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	var out []string
	for rows.Next() {
		var a, b, c string
		rows.Scan(&a, &b, &c)
		out = append(out, a+" "+b+" "+c)
	}
	return out
}

// One --once round: host and GPU metrics under the agent's host and
// service, stored once each.
func TestOnceWithGPU(t *testing.T) {
	db := filepath.Join(t.TempDir(), "v.db")
	at := time.Date(2026, 11, 29, 10, 0, 0, 0, time.UTC)
	err := Run(context.Background(), Config{DB: db, Once: true, Host: "node-7", Service: "infra",
		GPU: "on", GPULibrary: fakeGPU{}, Now: func() time.Time { return at }})
	if err != nil {
		t.Fatal(err)
	}
	got := query(t, db, `SELECT name, labels, value FROM metrics WHERE name LIKE 'gpu_%' ORDER BY name`)
	l := `{"device":"0","host":"node-7","name":"Fake GPU"}`
	want := []string{
		"gpu_memory_allocated_bytes " + l + " 1.073741824e+09",
		"gpu_memory_total_bytes " + l + " 4.294967296e+09",
		"gpu_memory_usage_percent " + l + " 25",
		"gpu_power_watts " + l + " 150",
		"gpu_temperature_celsius " + l + " 70",
		"gpu_utilization_percent " + l + " 55",
	}
	if strings.Join(got, "\n") != strings.Join(want, "\n") {
		t.Errorf("got\n%s\nwant\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
	got = query(t, db, `SELECT count(*), count(DISTINCT name), min(service_name) FROM metrics WHERE name = 'cpu_usage_percent'`)
	if len(got) != 1 || got[0] != "1 1 infra" {
		t.Errorf("cpu_usage_percent: %v, want one row for service infra", got)
	}
	// The heartbeat: one 1 for the host, in the agent's service.
	got = query(t, db, `SELECT name, labels, value FROM metrics WHERE name = 'vigil_agent_up'`)
	if len(got) != 1 || got[0] != `vigil_agent_up {"host":"node-7"} 1` {
		t.Errorf("heartbeat: %v, want one vigil_agent_up {host=node-7} of 1", got)
	}
	got = query(t, db, `SELECT DISTINCT timestamp, '', '' FROM metrics`)
	if len(got) != 1 || !strings.HasPrefix(got[0], "1.7959464e+09 ") {
		t.Errorf("timestamps %v, want all at the injected clock", got)
	}
}

// A malformed exposition is dropped whole, counted, and the agent goes on
// scraping; the next good scrape is stored.
func TestMalformedScrapeIsCountedAndSurvived(t *testing.T) {
	var n atomic.Int32
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		switch n.Add(1) {
		case 2:
			fmt.Fprint(w, "# TYPE up gauge\nup 1") // no final newline
		default:
			fmt.Fprint(w, "# TYPE up gauge\nup 1\n")
		}
	}))
	defer srv.Close()
	db := filepath.Join(t.TempDir(), "v.db")
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	var addr atomic.Value
	ready := make(chan struct{})
	go func() {
		done <- Run(ctx, Config{DB: db, Interval: 100 * time.Millisecond, GPU: "off", Host: "h",
			Targets: []scrape.Target{{Job: "app", URL: srv.URL}}, Listen: "127.0.0.1:0",
			Ready: func(a string) { addr.Store(a); close(ready) }})
	}()
	<-ready
	deadline := time.Now().Add(10 * time.Second)
	for n.Load() < 4 && time.Now().Before(deadline) {
		time.Sleep(20 * time.Millisecond)
	}
	resp, err := http.Get("http://" + addr.Load().(string) + "/metrics")
	if err != nil {
		t.Fatal(err)
	}
	fams, err := scrape.Parse(resp.Body)
	resp.Body.Close()
	if err != nil {
		t.Fatal(err)
	}
	cancel()
	if err := <-done; err != nil {
		t.Fatal(err)
	}
	f := fams["vigil_scrape_errors_total"]
	if f == nil || len(f.Metric) != 1 || f.Metric[0].GetCounter().GetValue() != 1 || f.Metric[0].Label[0].GetValue() != "app" {
		t.Errorf("vigil_scrape_errors_total = %v, want 1 for job app", f)
	}
	got := query(t, db, `SELECT count(*), min(value), max(value) FROM metrics WHERE name = 'up'`)
	scrapes := int(n.Load())
	rows := 0
	fmt.Sscan(strings.Fields(got[0])[0], &rows)
	if rows < scrapes-2 || rows > scrapes-1 {
		t.Errorf("%d up rows from %d scrapes, want all but the malformed one", rows, scrapes)
	}
}

// Samples past --retention are deleted; newer ones stay.
func TestRetention(t *testing.T) {
	db := filepath.Join(t.TempDir(), "v.db")
	at := time.Date(2026, 11, 29, 10, 0, 0, 0, time.UTC)
	st, err := store.Open(context.Background(), db, store.Options{})
	if err != nil {
		t.Fatal(err)
	}
	var old []store.Sample
	for i := 0; i < 12000; i++ { // more than one prune batch
		old = append(old, store.Sample{Name: "g", Type: store.Gauge, TS: at.Add(-48*time.Hour).UnixMilli() + int64(i), Value: 1})
	}
	old = append(old, store.Sample{Name: "g", Type: store.Gauge, TS: at.Add(-time.Hour).UnixMilli(), Value: 2})
	if _, err := st.Write(context.Background(), old); err != nil {
		t.Fatal(err)
	}
	st.Close()
	err = Run(context.Background(), Config{DB: db, Once: true, GPU: "off", Host: "h", Retention: 24 * time.Hour,
		Now: func() time.Time { return at }})
	if err != nil {
		t.Fatal(err)
	}
	got := query(t, db, `SELECT count(*), sum(value), '' FROM metrics WHERE name = 'g'`)
	if got[0] != "1 2 " {
		t.Errorf("g rows, sum = %q, want the one sample inside the retention", got[0])
	}
	got = query(t, db, `SELECT value, '', '' FROM meta WHERE key = 'horizon_ms'`)
	if want := fmt.Sprint(at.Add(-24*time.Hour).UnixMilli()) + "  "; got[0] != want {
		t.Errorf("horizon = %q, want %q", got[0], want)
	}
}

// The same URL under two jobs is two targets: both are scraped, each with
// its own baselines.
func TestSameURLTwoJobs(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		fmt.Fprint(w, "# TYPE up gauge\nup 1\n")
	}))
	defer srv.Close()
	db := filepath.Join(t.TempDir(), "v.db")
	ctx, cancel := context.WithTimeout(context.Background(), 700*time.Millisecond)
	defer cancel()
	err := Run(ctx, Config{DB: db, Interval: 100 * time.Millisecond, GPU: "off", Host: "h",
		Targets: []scrape.Target{{Job: "a", URL: srv.URL}, {Job: "b", URL: srv.URL}}})
	if err != nil {
		t.Fatal(err)
	}
	got := query(t, db, `SELECT DISTINCT json_extract(labels, '$.job'), '', '' FROM metrics WHERE name = 'up' ORDER BY 1`)
	if strings.Join(got, ",") != "a  ,b  " {
		t.Errorf("jobs scraped: %q, want a and b", got)
	}
}

// The agent says what it does (issue 30): at info level, a line every
// StatusInterval with what happened since the last one: samples written,
// series held, scrapes ok and failed, pushes accepted and refused. Here,
// over the agent's life, one target answering and one not, one push
// accepted and one refused (no token): the counts add up to that.
func TestStatusLine(t *testing.T) {
	ok := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		fmt.Fprint(w, "# TYPE up gauge\nup 1\n")
	}))
	defer ok.Close()
	down := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		http.Error(w, "no", http.StatusInternalServerError)
	}))
	defer down.Close()
	var logs syncBuf
	db := filepath.Join(t.TempDir(), "v.db")
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	var addr atomic.Value
	ready := make(chan struct{})
	go func() {
		done <- Run(ctx, Config{DB: db, Interval: 50 * time.Millisecond, GPU: "off", Host: "h", Token: "s3cret-token-value",
			Targets: []scrape.Target{{Job: "app", URL: ok.URL}, {Job: "gone", URL: down.URL}},
			Listen:  "127.0.0.1:0", StatusInterval: 300 * time.Millisecond,
			Logger: slog.New(slog.NewTextHandler(&logs, &slog.HandlerOptions{Level: slog.LevelInfo})),
			Ready:  func(a string) { addr.Store(a); close(ready) }})
	}()
	<-ready
	base := "http://" + addr.Load().(string)
	push := func(token string) int {
		req, _ := http.NewRequest(http.MethodPost, base+"/v1/metrics", strings.NewReader(`{"ts": 1795946400, "name": "p", "type": "gauge", "value": 1}`+"\n"))
		if token != "" {
			req.Header.Set("Authorization", "Bearer "+token)
		}
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		return resp.StatusCode
	}
	if c := push("s3cret-token-value"); c != http.StatusAccepted {
		t.Fatalf("push with the token: %d", c)
	}
	if c := push(""); c != http.StatusUnauthorized {
		t.Fatalf("push without the token: %d", c)
	}
	deadline := time.Now().Add(10 * time.Second)
	for strings.Count(logs.String(), "agent status") < 3 && time.Now().Before(deadline) {
		time.Sleep(50 * time.Millisecond)
	}
	cancel()
	if err := <-done; err != nil {
		t.Fatal(err)
	}
	sum := map[string]int{}
	lines := 0
	for _, l := range strings.Split(logs.String(), "\n") {
		if !strings.Contains(l, "msg=\"agent status\"") {
			continue
		}
		lines++
		if !strings.Contains(l, "level=INFO") || !strings.Contains(l, "series_held=") {
			t.Errorf("status line %q", l)
		}
		for _, k := range []string{"scrapes_ok", "scrapes_failed", "pushes_accepted", "pushes_refused", "samples_written"} {
			m := regexp.MustCompile(` ` + k + `=(\d+)`).FindStringSubmatch(l)
			if m == nil {
				t.Fatalf("no %s in %q", k, l)
			}
			n, _ := strconv.Atoi(m[1])
			sum[k] += n
		}
	}
	if lines < 3 {
		t.Fatalf("%d status lines in:\n%s", lines, logs.String())
	}
	// Each round scrapes both targets (concurrently, so a line may fall
	// between the two scrapes of a round): both counted, neither lost.
	if sum["pushes_accepted"] != 1 || sum["pushes_refused"] != 1 || sum["scrapes_ok"] < 2 || sum["scrapes_failed"] < 2 ||
		sum["samples_written"] < 2 {
		t.Errorf("status counts %v: want 1 push accepted, 1 refused, scrapes ok and failed alike", sum)
	}
	if strings.Contains(logs.String(), "s3cret-token-value") {
		t.Error("the token is in the log")
	}
}

// The status line is a log line only (h30 D3): a status tick, or the timer
// that forgets idle series, must not run a collection round. With an
// Interval of an hour the agent collects once at start and then waits,
// however often it logs its status.
func TestStatusTicksDoNotCollect(t *testing.T) {
	var logs syncBuf
	db := filepath.Join(t.TempDir(), "v.db")
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() {
		done <- Run(ctx, Config{DB: db, Interval: time.Hour, GPU: "off", Host: "h", StatusInterval: 100 * time.Millisecond,
			SeriesIdle: 400 * time.Millisecond, // forget timer every 100ms
			Logger:     slog.New(slog.NewTextHandler(&logs, &slog.HandlerOptions{Level: slog.LevelInfo}))})
	}()
	deadline := time.Now().Add(10 * time.Second)
	for strings.Count(logs.String(), "agent status") < 5 && time.Now().Before(deadline) {
		time.Sleep(50 * time.Millisecond)
	}
	cancel()
	if err := <-done; err != nil {
		t.Fatal(err)
	}
	if n := strings.Count(logs.String(), "agent status"); n < 5 {
		t.Fatalf("%d status lines, want 5 or more:\n%s", n, logs.String())
	}
	got := query(t, db, `SELECT name, COUNT(*), '' FROM metrics WHERE name = 'vigil_agent_up' GROUP BY name`)
	if len(got) != 1 || got[0] != "vigil_agent_up 1 " {
		t.Errorf("heartbeat samples %q, want one round (vigil_agent_up 1)", got)
	}
}

// A status interval too short to read is floored (h30 D3): the agent
// never spins logging.
func TestStatusIntervalFloored(t *testing.T) {
	c := Config{StatusInterval: time.Nanosecond}
	c.defaults()
	if c.StatusInterval != MinStatusInterval {
		t.Errorf("status interval %v, want %v", c.StatusInterval, MinStatusInterval)
	}
}

// The heartbeat is written whatever --max-series says (h30 D36): the host
// metrics of a round (more than 10 series) must not take the places
// first, or agent_down pages for an agent that runs.
func TestHeartbeatUnderSeriesCap(t *testing.T) {
	db := filepath.Join(t.TempDir(), "v.db")
	err := Run(context.Background(), Config{DB: db, Once: true, GPU: "off", Host: "h", MaxSeries: 1})
	if err != nil {
		t.Fatal(err)
	}
	got := query(t, db, `SELECT name, COUNT(*), '' FROM metrics WHERE name = 'vigil_agent_up' GROUP BY name`)
	if len(got) != 1 || got[0] != "vigil_agent_up 1 " {
		t.Errorf("heartbeat samples %q, want one (vigil_agent_up 1)", got)
	}
}
