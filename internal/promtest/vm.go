package promtest

import (
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"strings"
	"testing"
	"time"
)

// VMBinary is where Debian's victoria-metrics package puts the
// single-node VictoriaMetrics.
const VMBinary = "victoria-metrics"

// StartVM runs a single-node VictoriaMetrics on loopback over a new data
// folder (retention 100 years, so old fixture samples are kept), waits
// for /health and stops it when the test ends. It is skipped where the
// binary is missing, and fails under CI (CI set), whose .ci/run installs
// the Debian package victoria-metrics.
func StartVM(t testing.TB) *Server {
	t.Helper()
	bin, err := exec.LookPath(VMBinary)
	if err != nil {
		if os.Getenv("CI") != "" {
			t.Fatalf("%s is not installed; .ci/run must install it (apt-get install victoria-metrics)", VMBinary)
		}
		t.Skipf("SKIPPING: %s not installed (apt-get install victoria-metrics); CI runs this test", VMBinary)
	}
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := l.Addr().String()
	l.Close()
	logs := &syncBuffer{}
	p := exec.Command(bin, "-httpListenAddr="+addr, "-storageDataPath="+t.TempDir(), "-retentionPeriod=100y",
		"-search.disableCache", "-search.latencyOffset=0s")
	p.Stdout, p.Stderr = logs, logs
	if err := p.Start(); err != nil {
		t.Fatal(err)
	}
	exited := make(chan struct{})
	go func() { _ = p.Wait(); close(exited) }() // killed at the end: its status says nothing
	t.Cleanup(func() { p.Process.Kill(); <-exited })
	s := &Server{URL: "http://" + addr, logs: logs}
	deadline := time.Now().Add(60 * time.Second)
	for {
		resp, err := http.Get(s.URL + "/health")
		if err == nil {
			resp.Body.Close()
			if resp.StatusCode == 200 {
				return s
			}
		}
		if time.Now().After(deadline) {
			t.Fatalf("victoria-metrics not healthy after 60s:\n%s", logs.String())
		}
		select {
		case <-exited:
			t.Fatalf("victoria-metrics exited:\n%s", logs.String())
		case <-time.After(100 * time.Millisecond):
		}
	}
}

// ImportVM posts Prometheus exposition text whose samples carry
// timestamps (unix ms) to VictoriaMetrics's /api/v1/import/prometheus and
// flushes it, so that queries see the samples at once.
func ImportVM(t testing.TB, s *Server, text string) {
	t.Helper()
	for _, req := range []struct{ path, body string }{{"/api/v1/import/prometheus", text}, {"/internal/force_flush", ""}} {
		method := http.MethodPost
		if req.body == "" {
			method = http.MethodGet
		}
		r, err := http.NewRequest(method, s.URL+req.path, strings.NewReader(req.body))
		if err != nil {
			t.Fatal(err)
		}
		resp, err := http.DefaultClient.Do(r)
		if err != nil {
			t.Fatal(err)
		}
		b, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if resp.StatusCode/100 != 2 {
			t.Fatalf("victoria-metrics %s: %s %s", req.path, resp.Status, b)
		}
	}
}
