// The end-to-end check of issue 28: every panel of the dashboards that
// `vigil dashboards` writes for the demo store (examples/vigil.yaml, whose
// serve: buckets: give response_time_ms its _bucket series), asked of a
// running `vigil serve` of the same config exactly as Grafana would ask it
// (Replay), returns data. It builds vigil (seconds with a warm cache).
package dashboards

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

func TestServeE2E(t *testing.T) {
	dir := t.TempDir()
	bin := filepath.Join(dir, "vigil")
	run := func(name string, args ...string) {
		t.Helper()
		cmd := exec.Command(name, args...)
		cmd.Env = append(os.Environ(), "SLACK_WEBHOOK_URL=http://unset.invalid/", "OPS_WEBHOOK_URL=http://unset.invalid/")
		if out, err := cmd.CombinedOutput(); err != nil {
			t.Fatalf("%s %v: %v\n%s", name, args, err, out)
		}
	}
	run("go", "build", "-o", bin, "../../cmd/vigil")
	at := time.Date(2026, 11, 29, 12, 0, 0, 0, time.UTC)
	db := filepath.Join(dir, "demo.db")
	run(bin, "store", "demo", "--db", db, "--at", at.Format(time.RFC3339))
	out := filepath.Join(dir, "grafana")
	run(bin, "dashboards", "--config", "../../examples/vigil.yaml", "--db", db, "--out", out)

	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := l.Addr().String()
	l.Close()
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	serve := exec.CommandContext(ctx, bin, "serve", "--config", "../../examples/vigil.yaml", "--db", db, "--listen", addr)
	serve.Stderr = os.Stderr
	if err := serve.Start(); err != nil {
		t.Fatal(err)
	}
	defer func() { cancel(); _ = serve.Wait() }()
	base := "http://" + addr
	waitReady(t, base)

	files, _ := filepath.Glob(filepath.Join(out, "*.json"))
	if len(files) < 3 {
		t.Fatalf("dashboards written: %v", files)
	}
	var failed []string
	for _, f := range files {
		data, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		var d Dashboard
		if err := json.Unmarshal(data, &d); err != nil {
			t.Fatal(err)
		}
		from, to := at.Add(-6*time.Hour), at
		values := map[string][]string{}
		vrs, err := VariableRequests(&d, from, to)
		if err != nil {
			t.Fatal(err)
		}
		for _, r := range vrs {
			var vs []string
			if err := send(base, r, &vs); err != nil || len(vs) == 0 {
				failed = append(failed, fmt.Sprintf("%s %s: %v (%d values)", filepath.Base(f), r.Panel, err, len(vs)))
			}
			values[strings.TrimPrefix(r.Panel, "variable ")] = vs
		}
		reqs, err := Replay(&d, Datasource{TimeInterval: timeInterval(t, out), Method: "POST"}, from, to, values)
		if err != nil {
			t.Fatal(err)
		}
		for _, r := range reqs {
			var res struct {
				Result []json.RawMessage `json:"result"`
			}
			if err := send(base, r, &res); err != nil || len(res.Result) == 0 {
				failed = append(failed, fmt.Sprintf("%s panel %q %s: %v (%d series) for %s", filepath.Base(f), r.Panel, r.RefID, err, len(res.Result), r.Form.Get("query")))
			}
		}
	}
	if len(failed) > 0 {
		t.Errorf("%d queries without data:\n%s", len(failed), strings.Join(failed, "\n"))
	}
}

// send asks r of base and decodes the data of a success answer.
func send(base string, r Request, data any) error {
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
		Error  string          `json:"error"`
	}
	if err := json.Unmarshal(body, &env); err != nil || resp.StatusCode != 200 || env.Status != "success" {
		return fmt.Errorf("HTTP %d: %s %s", resp.StatusCode, env.Error, truncate(body))
	}
	return json.Unmarshal(env.Data, data)
}

func truncate(b []byte) string {
	if len(b) > 300 {
		return string(b[:300]) + "..."
	}
	return string(b)
}

func waitReady(t *testing.T, base string) {
	t.Helper()
	for i := 0; i < 100; i++ {
		if resp, err := http.Get(base + "/-/ready"); err == nil {
			resp.Body.Close()
			if resp.StatusCode == 200 {
				return
			}
		}
		time.Sleep(100 * time.Millisecond)
	}
	t.Fatalf("vigil serve at %s not ready after 10s", base)
}

// timeInterval is the provisioned data source's jsonData.timeInterval
// (the demo store's sample interval, as vigil dashboards found it).
func timeInterval(t *testing.T, out string) string {
	data, err := os.ReadFile(filepath.Join(out, "provisioning", "datasources", "vigil.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	for _, l := range strings.Split(string(data), "\n") {
		if v, ok := strings.CutPrefix(strings.TrimSpace(l), "timeInterval: "); ok {
			return strings.Trim(v, `"`)
		}
	}
	t.Fatal("no timeInterval in the data source file")
	return ""
}
