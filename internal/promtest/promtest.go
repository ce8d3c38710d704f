// Package promtest runs a real Prometheus for tests: samples written as
// OpenMetrics are built into TSDB blocks with promtool, and Prometheus is
// started over them on loopback. Tests are skipped where Prometheus is
// not installed, and fail under CI, whose .ci/run installs it.
//
// It is for tests alone: no non-test code may import it.
package promtest

import (
	"bytes"
	"crypto/tls"
	"fmt"
	"math"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"sort"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"
)

// Binary returns the path of prog (prometheus or promtool).
func Binary(t testing.TB, prog string) string {
	t.Helper()
	bin, err := exec.LookPath(prog)
	if err != nil {
		if os.Getenv("CI") != "" {
			t.Fatalf("%s is not installed; .ci/run must install it (apt-get install prometheus)", prog)
		}
		t.Skipf("SKIPPING: %s not installed (apt-get install prometheus); CI runs this test", prog)
	}
	return bin
}

// Blocks builds OpenMetrics text (every sample with a timestamp, ending
// with "# EOF") into TSDB blocks in a new data folder, and returns it.
func Blocks(t testing.TB, om string) string {
	t.Helper()
	bin := Binary(t, "promtool")
	dir := t.TempDir()
	in := filepath.Join(dir, "in.om")
	if err := os.WriteFile(in, []byte(om), 0o644); err != nil {
		t.Fatal(err)
	}
	data := filepath.Join(dir, "data")
	// Blocks of up to a day keep their count (and Prometheus's start) small.
	out, err := exec.Command(bin, "tsdb", "create-blocks-from", "openmetrics", "--max-block-duration=24h", in, data).CombinedOutput()
	if err != nil {
		t.Fatalf("promtool create-blocks-from openmetrics: %v\n%s", err, out)
	}
	return data
}

// Server is a Prometheus started by Start.
type Server struct {
	URL  string // http://127.0.0.1:port
	logs *syncBuffer
}

// Logs is what Prometheus wrote so far.
func (s *Server) Logs() string { return s.logs.String() }

// Start runs Prometheus over dataDir ("" for a new one) on loopback with
// no scrape targets, plus flags, waits until it is ready and stops it
// when the test ends.
func Start(t testing.TB, dataDir string, flags ...string) *Server {
	t.Helper()
	bin := Binary(t, "prometheus")
	dir := t.TempDir()
	if dataDir == "" {
		dataDir = filepath.Join(dir, "data")
	}
	cfg := filepath.Join(dir, "prometheus.yml")
	if err := os.WriteFile(cfg, []byte("global:\n  scrape_interval: 1m\nscrape_configs: []\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := l.Addr().String()
	l.Close()
	logs := &syncBuffer{}
	args := append([]string{"--storage.tsdb.path=" + dataDir, "--web.listen-address=" + addr,
		"--storage.tsdb.retention.time=100y"}, flags...)
	// A --config.file among flags (external_labels) replaces the default
	// one: Prometheus refuses the flag twice.
	if !slices.ContainsFunc(flags, func(f string) bool { return strings.HasPrefix(f, "--config.file=") }) {
		args = append(args, "--config.file="+cfg)
	}
	p := exec.Command(bin, args...)
	p.Stdout, p.Stderr = logs, logs
	if err := p.Start(); err != nil {
		t.Fatal(err)
	}
	exited := make(chan struct{})
	go func() { _ = p.Wait(); close(exited) }() // killed at the end: its status says nothing
	t.Cleanup(func() { p.Process.Kill(); <-exited })
	s := &Server{URL: "http://" + addr, logs: logs}
	// A --web.config.file with tls_server_config serves https: the probe
	// trusts any certificate (the tests check the client's trust).
	probe := &http.Client{Transport: &http.Transport{TLSClientConfig: &tls.Config{InsecureSkipVerify: true}}}
	deadline := time.Now().Add(60 * time.Second)
	for {
		resp, err := probe.Get(s.URL + "/-/ready")
		if err == nil {
			resp.Body.Close()
			// 401: up, behind its own basic auth (--web.config.file).
			if resp.StatusCode == 200 || resp.StatusCode == 401 {
				return s
			}
			if resp.StatusCode == 400 && strings.HasPrefix(s.URL, "http:") {
				s.URL = "https:" + strings.TrimPrefix(s.URL, "http:") // "an HTTP request to an HTTPS server"
				continue
			}
		}
		if time.Now().After(deadline) {
			t.Fatalf("prometheus not ready after 60s:\n%s", logs.String())
		}
		select {
		case <-exited:
			t.Fatalf("prometheus exited:\n%s", logs.String())
		case <-time.After(100 * time.Millisecond):
		}
	}
}

type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

// Sample is one reading as a scrape gives it: counters cumulative.
type Sample struct {
	MS    int64 // unix ms
	Value float64
}

// Series is one series of a fixture.
type Series struct {
	Name   string // as stored: req_total
	Family string // OpenMetrics family: req
	Type   string // counter, gauge or histogram (vigil's raw observations)
	Labels map[string]string
	Points []Sample
}

// Fixture writes series as OpenMetrics (for promtool) and as the JSON
// Lines a store imports, counters there as their increments: each
// reading's difference from the one before, its own value after a reset
// (a reading below the one before), the first reading only a baseline.
// vigil's histograms are gauges to Prometheus (raw observations). A
// gauge's NaN or infinite value goes to Prometheus only: no store holds
// one, and a scrape into a store skips it. The
// JSON Lines of a family go in time order across its series, as scrapes
// append them (and as package analyze loads a source's rows: a float sum's
// last bits depend on the order it adds in).
func Fixture(series []Series) (om, jsonl string) {
	var o, j strings.Builder
	fams := map[string][]Series{}
	var order []string
	for _, s := range series {
		if _, ok := fams[s.Family]; !ok {
			order = append(order, s.Family)
		}
		fams[s.Family] = append(fams[s.Family], s)
	}
	for _, f := range order {
		typ := fams[f][0].Type
		if typ == "histogram" {
			typ = "gauge"
		}
		fmt.Fprintf(&o, "# TYPE %s %s\n", f, typ)
		type line struct {
			ms   int64
			key  string
			text string
		}
		var lines []line
		for _, s := range fams[f] {
			ls := labelText(s.Labels)
			for i, p := range s.Points {
				fmt.Fprintf(&o, "%s%s %s %s\n", s.Name, ls, omNum(p.Value), seconds(p.MS))
				v := p.Value
				if math.IsNaN(v) || math.IsInf(v, 0) {
					continue // no store holds it; a scrape skips it (gauges only)
				}
				if s.Type == "counter" {
					if i == 0 {
						continue
					}
					if prev := s.Points[i-1].Value; v >= prev {
						v -= prev
					}
				}
				lines = append(lines, line{p.MS, s.Name + labelText(s.Labels), fmt.Sprintf(`{"ts": %s, "name": %q, "type": %q, "value": %s, "labels": %s}`+"\n",
					seconds(p.MS), s.Name, s.Type, num(v), labelJSON(s.Labels))})
			}
		}
		sort.SliceStable(lines, func(a, b int) bool {
			if lines[a].ms != lines[b].ms {
				return lines[a].ms < lines[b].ms
			}
			return lines[a].key < lines[b].key
		})
		for _, l := range lines {
			j.WriteString(l.text)
		}
	}
	o.WriteString("# EOF\n")
	return o.String(), j.String()
}

func labelText(ls map[string]string) string {
	if len(ls) == 0 {
		return ""
	}
	keys := make([]string, 0, len(ls))
	for k := range ls {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	parts := make([]string, len(keys))
	for i, k := range keys {
		parts[i] = fmt.Sprintf("%s=%q", k, ls[k])
	}
	return "{" + strings.Join(parts, ",") + "}"
}

func labelJSON(ls map[string]string) string {
	keys := make([]string, 0, len(ls))
	for k := range ls {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	parts := make([]string, len(keys))
	for i, k := range keys {
		parts[i] = fmt.Sprintf("%q: %q", k, ls[k])
	}
	return "{" + strings.Join(parts, ", ") + "}"
}

// omNum writes a value as OpenMetrics does, NaN and infinities included.
func omNum(f float64) string {
	switch {
	case math.IsNaN(f):
		return "NaN"
	case math.IsInf(f, 1):
		return "+Inf"
	case math.IsInf(f, -1):
		return "-Inf"
	}
	return num(f)
}

func num(f float64) string {
	if math.IsInf(f, 0) || math.IsNaN(f) {
		panic("fixture values are finite")
	}
	return strconv.FormatFloat(f, 'g', -1, 64)
}

// seconds writes unix ms as exact decimal seconds.
func seconds(ms int64) string {
	s := fmt.Sprintf("%d.%03d", ms/1000, ms%1000)
	return strings.TrimSuffix(strings.TrimRight(s, "0"), ".")
}

// FixtureEnd is the last instant of FixtureSeries: 2026-11-29T10:00:00Z
// in unix ms.
const FixtureEnd = int64(1795946400_000)

// FixtureSeries is a day and two hours of gauges (cpu), counters with
// resets (req_total), counters whose previous sample is far back
// (jobs_total, new_total), the SLI counters (sli_requests_total of api
// and web) and raw latency observations (response_time_ms, a vigil
// histogram), at uneven offsets, ending at FixtureEnd: what the tests
// comparing a store with a Prometheus holding the same samples share.
func FixtureSeries() []Series {
	const span = 26 * 3600_000
	start := FixtureEnd - span
	var out []Series
	for h, host := range []string{"a", "b", "c"} {
		s := Series{Name: "cpu", Family: "cpu", Type: "gauge",
			Labels: map[string]string{"host": host, "dc": []string{"x", "y", "x"}[h]}}
		off := []int64{500, 3250, 7000}[h]
		for i := 0; start+off+int64(i)*15_000 <= FixtureEnd; i++ {
			// Tenths and quarters: sums that are not exact in binary.
			v := float64((i*7+h*13)%20)*0.25 + float64(h) + float64(i%3)*0.1
			s.Points = append(s.Points, Sample{MS: start + off + int64(i)*15_000, Value: v})
		}
		out = append(out, s)
	}
	for h, host := range []string{"a", "b"} {
		s := Series{Name: "req_total", Family: "req", Type: "counter", Labels: map[string]string{"host": host, "dc": []string{"x", "y"}[h]}}
		total := 0.0
		for i := 0; start+int64(i)*30_000+1000 <= FixtureEnd; i++ {
			total += float64((i*5+h*3)%11) + 0.5*float64(i%2)
			// Resets: a restart every 7 hours (host a) or 11 (host b),
			// and one exactly at an evaluation window's edge.
			if i > 0 && i%(840+h*480) == 0 || start+int64(i)*30_000+1000 == FixtureEnd-3600_000+1000 {
				total = float64(i % 4)
			}
			s.Points = append(s.Points, Sample{MS: start + int64(i)*30_000 + 1000, Value: total})
		}
		out = append(out, s)
	}
	for _, svc := range []string{"api", "web"} {
		for _, ok := range []string{"true", "false"} {
			s := Series{Name: "sli_requests_total", Family: "sli_requests", Type: "counter",
				Labels: map[string]string{"service": svc, "success": ok}}
			total := 0.0
			for i := 0; start+int64(i)*60_000 <= FixtureEnd; i++ {
				switch {
				case ok == "true":
					total += float64(100 + (i*13)%50)
				case svc == "api":
					total += float64((i * 7) % 3)
				default:
					total += float64(i%40) / 39
				}
				s.Points = append(s.Points, Sample{MS: start + int64(i)*60_000, Value: total})
			}
			out = append(out, s)
		}
	}
	// Counters whose previous sample is far back: a nightly job every 97
	// minutes (with a reset), one born half an hour before the end, one
	// silent for its last three hours.
	jobs := Series{Name: "jobs_total", Family: "jobs", Type: "counter", Labels: map[string]string{"job": "nightly"}}
	for i, v := 0, 0.0; start+int64(i)*97*60_000 <= FixtureEnd; i++ {
		v += 3
		if i == 9 {
			v = 1
		}
		jobs.Points = append(jobs.Points, Sample{MS: start + int64(i)*97*60_000, Value: v})
	}
	late := Series{Name: "new_total", Family: "new", Type: "counter", Labels: map[string]string{"kind": "late"}}
	for i := 0; FixtureEnd-30*60_000+int64(i)*30_000 <= FixtureEnd; i++ {
		late.Points = append(late.Points, Sample{MS: FixtureEnd - 30*60_000 + int64(i)*30_000, Value: float64(10 + i*i)})
	}
	gone := Series{Name: "new_total", Family: "new", Type: "counter", Labels: map[string]string{"kind": "gone"}}
	for i := 0; start+int64(i)*60_000 <= FixtureEnd-3*3600_000; i++ {
		gone.Points = append(gone.Points, Sample{MS: start + int64(i)*60_000, Value: float64(i / 3)})
	}
	out = append(out, jobs, gone, late)
	// Summary quantiles as Prometheus exports them: NaN when there were no
	// observations (every 7th reading of q=0.5, q=0.9's last ten minutes),
	// and one +Inf.
	for _, q := range []string{"0.5", "0.9", "0.99"} {
		s := Series{Name: "rpc_ms", Family: "rpc_ms", Type: "gauge", Labels: map[string]string{"quantile": q}}
		for i := 0; start+int64(i)*20_000+700 <= FixtureEnd; i++ {
			ts := start + int64(i)*20_000 + 700
			v := float64(10+(i*11)%90) + 0.25
			switch {
			case q == "0.5" && i%7 == 3, q == "0.9" && ts > FixtureEnd-10*60_000:
				v = math.NaN()
			case q == "0.99" && ts > FixtureEnd-3*3600_000 && ts <= FixtureEnd-3*3600_000+20_000:
				v = math.Inf(1)
			}
			s.Points = append(s.Points, Sample{MS: ts, Value: v})
		}
		out = append(out, s)
	}
	// Failed requests' latencies, a vigil histogram, none in the last two
	// hours: it exists (a ratio's counted numerator is 0 there, not "no
	// data") without a sample in a recent window.
	failed := Series{Name: "failed_ms", Family: "failed_ms", Type: "histogram", Labels: map[string]string{"service": "api"}}
	for i := 0; start+int64(i)*300_000 <= FixtureEnd-2*3600_000; i++ {
		failed.Points = append(failed.Points, Sample{MS: start + int64(i)*300_000, Value: float64(100 + i%9)})
	}
	out = append(out, failed)
	lat := Series{Name: "response_time_ms", Family: "response_time_ms", Type: "histogram", Labels: map[string]string{"service": "api"}}
	for i := 0; start+int64(i)*10_000+250 <= FixtureEnd; i++ {
		lat.Points = append(lat.Points, Sample{MS: start + int64(i)*10_000 + 250, Value: float64(20 + (i*37)%500)})
	}
	return append(out, lat)
}
