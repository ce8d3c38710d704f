package main

import (
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// vigil-agent --no-store --remote-write against a real Prometheus (with
// --web.enable-remote-write-receiver): pushed counter increments reach it
// as their cumulative total through the shutdown flush alone (--interval
// 1h), and no store file is written.
func TestNoStoreRemoteWriteRealPrometheus(t *testing.T) {
	bin, err := exec.LookPath("prometheus")
	if err != nil {
		if os.Getenv("CI") != "" {
			t.Fatal("prometheus is not installed; .ci/run must install it")
		}
		t.Skip("SKIPPING: prometheus not installed (apt-get install prometheus); CI runs this test")
	}
	dir := t.TempDir()
	cfg := filepath.Join(dir, "prometheus.yml")
	os.WriteFile(cfg, []byte("global:\n  scrape_interval: 1m\n"), 0o644)
	prom := freeAddr(t)
	var plog strings.Builder
	p := exec.Command(bin, "--config.file="+cfg, "--storage.tsdb.path="+filepath.Join(dir, "data"),
		"--web.listen-address="+prom, "--web.enable-remote-write-receiver")
	p.Stdout, p.Stderr = &plog, &plog
	if err := p.Start(); err != nil {
		t.Fatal(err)
	}
	defer func() { p.Process.Kill(); p.Wait() }()

	r := start(t, "--no-store", "--remote-write", "http://"+prom+"/api/v1/write", "--listen", freeAddr(t),
		"--interval", "1h", "--gpu", "off", "--host", "h1", "--retention", "1d")
	ts := time.Now().Add(-5*time.Second).UnixMilli() / 1000
	var b strings.Builder
	for i, inc := range []int{4, 0, 11} {
		fmt.Fprintf(&b, `{"ts": %d, "name": "rw_bin_total", "type": "counter", "value": %d, "service": "svc"}`+"\n", ts+int64(i), inc)
	}
	resp, err := http.Post("http://"+r.addr+"/v1/metrics", "application/x-ndjson", strings.NewReader(b.String()))
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusAccepted {
		t.Fatalf("push: %d", resp.StatusCode)
	}
	r.term(t)
	if !strings.Contains(r.stderr.String(), "remote write: queue flushed") {
		t.Errorf("no flush report:\n%s", r.stderr)
	}
	if _, err := os.Stat("vigil.db"); err == nil { // the agent ran in this folder
		t.Errorf("--no-store wrote ./vigil.db")
	}

	q := "http://" + prom + "/api/v1/query?time=" + fmt.Sprint(ts+2) + "&query=" + url.QueryEscape(`rw_bin_total{service="svc"}`)
	deadline := time.Now().Add(30 * time.Second)
	for {
		got := ""
		if resp, err := http.Get(q); err == nil {
			body, _ := io.ReadAll(resp.Body)
			resp.Body.Close()
			var out struct {
				Data struct {
					Result []struct {
						Value [2]any `json:"value"`
					} `json:"result"`
				} `json:"data"`
			}
			if json.Unmarshal(body, &out) == nil && len(out.Data.Result) == 1 {
				got, _ = out.Data.Result[0].Value[1].(string)
			}
		}
		if got == "15" {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("rw_bin_total = %q, want 15\nagent:\n%s\nprometheus:\n%s", got, r.stderr, plog.String())
		}
		time.Sleep(100 * time.Millisecond)
	}
}
