package main

import (
	"encoding/json"
	"errors"
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

	"github.com/vigil-metrics/vigil/internal/promtest"
)

// vigil-agent --no-store --remote-write against a real Prometheus (with
// --web.enable-remote-write-receiver): pushed counter increments reach it
// as their cumulative total through the shutdown flush alone (--interval
// 1h), and no store file is written.
func TestNoStoreRemoteWriteRealPrometheus(t *testing.T) {
	prom := strings.TrimPrefix(promtest.Start(t, "", "--web.enable-remote-write-receiver").URL, "http://")

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

	waitValue(t, "http://"+prom, `rw_bin_total{service="svc"}`, ts+2, "", "15", r)
}

// The credentials of a --remote-write URL come from the config's sources:
// section (a password file here), never from the URL: a Prometheus behind
// basic auth takes the samples, and the password is in no output. A URL
// with credentials in it is refused before anything starts.
func TestRemoteWriteCredentialsFromConfig(t *testing.T) {
	dir := t.TempDir()
	webCfg := filepath.Join(dir, "web.yml")
	// bcrypt of "s3cret-pw" (cost 4).
	os.WriteFile(webCfg, []byte("basic_auth_users:\n  vigil: $2a$04$CLrrTGj.8uc98D4vaJVb4uRKUQkvnIoVeILlXUqyEmXZgjcI1BzNG\n"), 0o644)
	prom := promtest.Start(t, "", "--web.enable-remote-write-receiver", "--web.config.file="+webCfg)
	pw := filepath.Join(dir, "pw")
	os.WriteFile(pw, []byte("s3cret-pw\n"), 0o600)
	write := prom.URL + "/api/v1/write"
	conf := filepath.Join(dir, "vigil.yaml")
	os.WriteFile(conf, []byte(fmt.Sprintf("sources:\n  %s:\n    basic_auth:\n      username: vigil\n      password_file: %s\n", write, pw)), 0o644)

	r := start(t, "--config", conf, "--no-store", "--remote-write", write, "--listen", freeAddr(t),
		"--interval", "1h", "--gpu", "off", "--host", "h1")
	ts := time.Now().Add(-5*time.Second).UnixMilli() / 1000
	body := fmt.Sprintf(`{"ts": %d, "name": "rw_auth_total", "type": "counter", "value": 7}`+"\n", ts)
	resp, err := http.Post("http://"+r.addr+"/v1/metrics", "application/x-ndjson", strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	r.term(t)
	if strings.Contains(r.stderr.String(), "s3cret-pw") {
		t.Errorf("the password is in the agent's output:\n%s", r.stderr)
	}
	waitValue(t, prom.URL, "rw_auth_total", ts, "s3cret-pw", "7", r)

	withPW := strings.Replace(write, "http://", "http://vigil:s3cret-pw@", 1)
	out, err := exec.Command(agentBin, "--no-store", "--remote-write", withPW, "--once", "--gpu", "off").CombinedOutput()
	if code := exitCode(err); code != 2 || !strings.Contains(string(out), "credentials in the URL") || strings.Contains(string(out), "s3cret-pw") {
		t.Errorf("credentials in the URL: exit %d\n%s", code, out)
	}
}

func exitCode(err error) int {
	var ee *exec.ExitError
	if errors.As(err, &ee) {
		return ee.ExitCode()
	}
	if err != nil {
		return -1
	}
	return 0
}

// waitValue polls Prometheus at base (with basic auth as vigil when pw is
// given) until query at unix second ts has one series with value want,
// for 30 s.
func waitValue(t *testing.T, base, query string, ts int64, pw, want string, r *running) {
	t.Helper()
	q := base + "/api/v1/query?time=" + fmt.Sprint(ts) + "&query=" + url.QueryEscape(query)
	deadline := time.Now().Add(30 * time.Second)
	for {
		req, _ := http.NewRequest("GET", q, nil)
		if pw != "" {
			req.SetBasicAuth("vigil", pw)
		}
		got := ""
		if resp, err := http.DefaultClient.Do(req); err == nil {
			b, _ := io.ReadAll(resp.Body)
			resp.Body.Close()
			var out struct {
				Data struct {
					Result []struct {
						Value [2]any `json:"value"`
					} `json:"result"`
				} `json:"data"`
			}
			if json.Unmarshal(b, &out) == nil && len(out.Data.Result) == 1 {
				got, _ = out.Data.Result[0].Value[1].(string)
			}
		}
		if got == want {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("%s = %q, want %s\nagent:\n%s", query, got, want, r.stderr)
		}
		time.Sleep(100 * time.Millisecond)
	}
}
