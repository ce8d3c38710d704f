package dashboards

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/vigil-metrics/vigil/analyze/slo"
)

// schemaDir is the node project pinning @grafana/schema (and typescript)
// and its check script.
var schemaDir = filepath.Join("..", "..", ".ci", "grafana-schema")

// schemaChecker installs the pinned packages once into a cache folder
// keyed by the lock file (npm ci: exactly the locked versions, their
// integrity hashes checked, no install scripts) and returns it. Without
// node or npm the test skips, loudly, except in CI (.ci/run installs them).
func schemaChecker(t *testing.T) string {
	t.Helper()
	for _, tool := range []string{"node", "npm"} {
		if _, err := exec.LookPath(tool); err != nil {
			if os.Getenv("CI") != "" {
				t.Fatalf("%s not found: CI must validate dashboards against @grafana/schema (.ci/run installs nodejs and npm)", tool)
			}
			t.Skipf("SKIPPED: %s not found: the dashboards are not validated against @grafana/schema (install nodejs and npm)", tool)
		}
	}
	lock, err := os.ReadFile(filepath.Join(schemaDir, "package-lock.json"))
	if err != nil {
		t.Fatal(err)
	}
	sum := sha256.Sum256(lock)
	cache, err := os.UserCacheDir()
	if err != nil {
		cache = os.TempDir()
	}
	dir := filepath.Join(cache, "vigil", "grafana-schema-"+hex.EncodeToString(sum[:6]))
	if _, err := os.Stat(filepath.Join(dir, "node_modules", "@grafana", "schema", "package.json")); err == nil {
		return dir
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	for _, f := range []string{"package.json", "package-lock.json"} {
		data, err := os.ReadFile(filepath.Join(schemaDir, f))
		if err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(dir, f), data, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	cmd := exec.Command("npm", "ci", "--ignore-scripts", "--no-audit", "--no-fund")
	cmd.Dir = dir
	if out, err := cmd.CombinedOutput(); err != nil {
		if os.Getenv("CI") != "" {
			t.Fatalf("npm ci in %s: %v\n%s", dir, err, out)
		}
		t.Skipf("SKIPPED: npm ci in %s failed (offline?): %v\n%s", dir, err, out)
	}
	return dir
}

// runCheck runs check.mjs over files; ok is its exit status 0.
func runCheck(t *testing.T, dir string, files ...string) (string, bool) {
	t.Helper()
	script, err := filepath.Abs(filepath.Join(schemaDir, "check.mjs"))
	if err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command("node", append([]string{script}, files...)...)
	cmd.Dir = dir
	out, err := cmd.CombinedOutput()
	if _, exit := err.(*exec.ExitError); err != nil && !exit {
		t.Fatal(err)
	}
	return string(out), err == nil
}

// testInput has every kind of panel: SLOs of each SLI, rules on a
// service, on every service, on hosts and on nothing, and a catalogue.
func testInput(t *testing.T) Input {
	t.Helper()
	objs, _, err := slo.Parse("slos.yaml", []byte(`slos:
  - service: api
    target: 99.9
    window: 30d
    latency_target: 98
  - service: checkout
    sli: payments
    target: 99.5
    good: 'payments_total{status="ok"}.increase'
    total: 'payments_total.increase'
  - service: search
    target: 99
    latency_target: 95
    histogram: 'response_time_ms{service="search"}'
    threshold_ms: 300
`))
	if err != nil {
		t.Fatal(err)
	}
	c := &Catalog{Types: map[string]string{}, Labels: map[string]map[string]bool{}, Services: map[string]map[string]bool{}}
	c.add("http_requests_total", Counter, "api", map[string]string{"status": "200", "endpoint": "/"})
	c.add("sli_requests_total", Counter, "api", map[string]string{"success": "true"})
	c.add("sli_requests_total", Counter, "search", map[string]string{"success": "true"})
	c.add("sli_latency_requests_total", Counter, "api", map[string]string{"fast": "true"})
	c.add("response_time_ms", Histogram, "api", map[string]string{"endpoint": "/"})
	c.add("response_time_ms", Histogram, "search", nil)
	c.add("payments_total", Counter, "checkout", map[string]string{"status": "ok"})
	c.add("cpu_usage_percent", Gauge, "", map[string]string{"host": "h1"})
	c.add("cpu_usage_percent", Gauge, "api", map[string]string{"host": "api-1"})
	c.add("network_receive_bytes_total", Counter, "", map[string]string{"host": "h1", "interface": "eth0"})
	return Input{
		DatasourceUID: "vigil", Objectives: objs, Catalog: c, At: time.Date(2026, 11, 29, 12, 0, 0, 0, time.UTC),
		Histograms: []string{"response_time_ms"},
		Rules: []Rule{
			{Name: "slow", Path: "response_time_ms.p95 by (service, endpoint)", Condition: "greater_than", Threshold: 400, Window: time.Hour, Severity: "high"},
			{Name: "errors", Path: `http_requests_total{service="api",status=~"5.."}.increase / http_requests_total{service="api"}.increase`, Condition: "greater_than", Threshold: 0.02, Window: time.Hour},
			{Name: "cpu", Path: "cpu_usage_percent by (host)", Condition: "greater_than", Threshold: 90, Window: 5 * time.Minute},
			{Name: "queue", Path: "queue_depth.max", Condition: "less_than", Threshold: 1},
		},
	}
}

func writeBoards(t *testing.T, in Input) []string {
	t.Helper()
	files, _, err := Build(in)
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	var paths []string
	for _, f := range files {
		p := filepath.Join(dir, f.Name)
		if err := os.WriteFile(p, f.Data, 0o644); err != nil {
			t.Fatal(err)
		}
		paths = append(paths, p)
	}
	return paths
}

// TestGrafanaSchema: every generated dashboard satisfies @grafana/schema
// (13.2.3, pinned), and the check catches a broken one: each of four
// breaks, in its own file, is reported by that file's name.
func TestGrafanaSchema(t *testing.T) {
	dir := schemaChecker(t)
	paths := writeBoards(t, testInput(t))
	if out, ok := runCheck(t, dir, paths...); !ok {
		t.Fatalf("generated dashboards do not match @grafana/schema:\n%s", out)
	}

	var good map[string]any
	data, err := os.ReadFile(paths[0])
	if err != nil {
		t.Fatal(err)
	}
	breaks := map[string]func(d map[string]any){
		"unknown-key":  func(d map[string]any) { d["panelz"] = []any{} },
		"schema-type":  func(d map[string]any) { d["schemaVersion"] = "42" },
		"stat-options": func(d map[string]any) { delete(firstPanel(d, "stat")["options"].(map[string]any), "reduceOptions") },
		"threshold-style": func(d map[string]any) {
			custom(firstPanel(d, "timeseries"))["thresholdsStyle"] = map[string]any{"mode": "bogus"}
		},
	}
	bdir := t.TempDir()
	var broken []string
	for name, brk := range breaks {
		if err := json.Unmarshal(data, &good); err != nil {
			t.Fatal(err)
		}
		brk(good)
		b, _ := json.Marshal(good)
		p := filepath.Join(bdir, name+".json")
		if err := os.WriteFile(p, b, 0o644); err != nil {
			t.Fatal(err)
		}
		broken = append(broken, p)
	}
	out, ok := runCheck(t, dir, broken...)
	if ok {
		t.Fatalf("broken dashboards passed:\n%s", out)
	}
	for _, p := range broken {
		if !strings.Contains(out, p+":") {
			t.Errorf("%s: break not reported:\n%s", filepath.Base(p), out)
		}
	}
}

func firstPanel(d map[string]any, typ string) map[string]any {
	for _, p := range d["panels"].([]any) {
		if m := p.(map[string]any); m["type"] == typ {
			return m
		}
	}
	panic("no " + typ + " panel")
}

func custom(p map[string]any) map[string]any {
	return p["fieldConfig"].(map[string]any)["defaults"].(map[string]any)["custom"].(map[string]any)
}
