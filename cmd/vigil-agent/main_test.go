package main

import (
	"database/sql"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	_ "modernc.org/sqlite"

	"github.com/vigil-metrics/vigil/internal/promtest"
	"github.com/vigil-metrics/vigil/internal/scrape"
)

var (
	agentBin   string
	buildFlags []string
)

func TestMain(m *testing.M) {
	dir, err := os.MkdirTemp("", "vigil-agent-test")
	if err != nil {
		panic(err)
	}
	agentBin = filepath.Join(dir, "vigil-agent")
	args := append([]string{"build", "-o", agentBin}, buildFlags...)
	out, err := exec.Command("go", append(args, ".")...).CombinedOutput()
	if err != nil {
		fmt.Fprintf(os.Stderr, "build vigil-agent: %v\n%s", err, out)
		os.Exit(1)
	}
	code := m.Run()
	os.RemoveAll(dir)
	os.Exit(code)
}

// The agent binary must not link DuckDB (nor anything from analyze).
func TestNoDuckDBInDependencies(t *testing.T) {
	out, err := exec.Command("go", "list", "-deps", ".").Output()
	if err != nil {
		t.Fatal(err)
	}
	deps := strings.Fields(string(out))
	if len(deps) < 50 {
		t.Fatalf("go list -deps printed %d packages; the check would prove nothing", len(deps))
	}
	for _, d := range deps {
		if strings.Contains(d, "duckdb") || strings.HasPrefix(d, "github.com/vigil-metrics/vigil/analyze") {
			t.Errorf("vigil-agent depends on %s", d)
		}
	}
}

func freeAddr(t *testing.T) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	return ln.Addr().String()
}

type running struct {
	cmd    *exec.Cmd
	addr   string
	stderr *strings.Builder
	done   chan error
}

func start(t *testing.T, args ...string) *running {
	t.Helper()
	r := &running{stderr: &strings.Builder{}, done: make(chan error, 1)}
	for i, a := range args {
		if a == "--listen" {
			r.addr = args[i+1]
		}
	}
	r.cmd = exec.Command(agentBin, args...)
	r.cmd.Stderr = r.stderr
	if err := r.cmd.Start(); err != nil {
		t.Fatal(err)
	}
	go func() { r.done <- r.cmd.Wait() }()
	t.Cleanup(func() {
		r.cmd.Process.Kill()
		<-r.done
	})
	if r.addr != "" {
		deadline := time.Now().Add(15 * time.Second)
		for {
			resp, err := http.Get("http://" + r.addr + "/healthz")
			if err == nil {
				resp.Body.Close()
				break
			}
			if time.Now().After(deadline) {
				t.Fatalf("agent did not come up: %v\n%s", err, r.stderr)
			}
			time.Sleep(20 * time.Millisecond)
		}
	}
	return r
}

func (r *running) term(t *testing.T) {
	t.Helper()
	r.cmd.Process.Signal(syscall.SIGTERM)
	select {
	case err := <-r.done:
		r.done <- err
		if err != nil {
			t.Fatalf("agent exited with %v after SIGTERM, want 0\n%s", err, r.stderr)
		}
	case <-time.After(20 * time.Second):
		t.Fatalf("agent did not stop on SIGTERM\n%s", r.stderr)
	}
}

func count(t *testing.T, db, where string) int {
	t.Helper()
	h, err := sql.Open("sqlite", db)
	if err != nil {
		t.Fatal(err)
	}
	defer h.Close()
	var n int
	if err := h.QueryRow("SELECT count(*) FROM metrics WHERE " + where).Scan(&n); err != nil {
		t.Fatal(err)
	}
	return n
}

func metricValue(t *testing.T, addr, name string) float64 {
	t.Helper()
	resp, err := http.Get("http://" + addr + "/metrics")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	fams, err := scrape.Parse(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	f, ok := fams[name]
	if !ok {
		t.Fatalf("no %s in /metrics", name)
	}
	m := f.Metric[0]
	return m.GetCounter().GetValue() + m.GetGauge().GetValue()
}

func pushLines(t *testing.T, addr string, n int, name string) {
	t.Helper()
	if code, body := tryPush(t, addr, n, name); code != http.StatusAccepted {
		t.Fatalf("push: %d %s", code, body)
	}
}

func tryPush(t *testing.T, addr string, n int, name string) (int, string) {
	t.Helper()
	var b strings.Builder
	for i := 0; i < n; i++ {
		fmt.Fprintf(&b, `{"ts": %d, "name": %q, "type": "counter", "value": 1}`+"\n", 1795946400+i, name)
	}
	resp, err := http.Post("http://"+addr+"/v1/metrics", "application/x-ndjson", strings.NewReader(b.String()))
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	return resp.StatusCode, string(body)
}

// SIGTERM flushes what is buffered: with a buffer larger than the pushes and
// an interval that never fires, the rows reach the store only through the
// shutdown flush.
func TestSIGTERMFlushesTheBuffer(t *testing.T) {
	db := filepath.Join(t.TempDir(), "v.db")
	r := start(t, "--db", db, "--listen", freeAddr(t), "--interval", "1h", "--buffer-size", "100000", "--gpu", "off")
	pushLines(t, r.addr, 500, "pushed_total")
	pushLines(t, r.addr, 250, "pushed_total")
	if got := metricValue(t, r.addr, "vigil_samples_written_total"); got != 0 {
		t.Fatalf("written before SIGTERM = %v, want 0 (the test needs the buffer unflushed)", got)
	}
	r.term(t)
	if n := count(t, db, "name = 'pushed_total'"); n != 750 {
		t.Errorf("rows after SIGTERM = %d, want 750", n)
	}
	if n := count(t, db, "name = 'memory_total_bytes'"); n != 1 {
		t.Errorf("memory_total_bytes rows = %d, want 1 (one round of host metrics)", n)
	}
}

// While the store cannot be written, memory stays bounded by --max-buffer,
// drops are counted, and the agent keeps serving; once the store recovers,
// what was kept is written.
func TestUnwritableStore(t *testing.T) {
	db := filepath.Join(t.TempDir(), "v.db")
	r := start(t, "--db", db, "--listen", freeAddr(t), "--interval", "200ms", "--buffer-size", "100", "--max-buffer", "1000", "--gpu", "off")
	h, err := sql.Open("sqlite", db+"?_pragma=busy_timeout(5000)")
	if err != nil {
		t.Fatal(err)
	}
	defer h.Close()
	if _, err := h.Exec(`CREATE TRIGGER disk_full BEFORE INSERT ON samples BEGIN SELECT RAISE(ABORT, 'database or disk is full'); END`); err != nil {
		t.Fatal(err)
	}
	before := count(t, db, "1")
	// Pushes are taken whole or refused with 503 once the buffer is full.
	accepted, refused := 0, 0
	for i := 0; i < 30 && refused == 0; i++ {
		code, body := tryPush(t, r.addr, 100, "burst_total")
		switch code {
		case http.StatusAccepted:
			accepted += 100
		case http.StatusServiceUnavailable:
			refused++
		default:
			t.Fatalf("push: %d %s", code, body)
		}
	}
	if refused == 0 {
		t.Fatal("3000 samples were accepted into a 1000-sample buffer")
	}
	// Host metrics keep coming every 200 ms: with the buffer full they are
	// dropped and counted, and the agent keeps running.
	time.Sleep(1 * time.Second)
	dropped := metricValue(t, r.addr, "vigil_samples_dropped_total")
	buffered := metricValue(t, r.addr, "vigil_buffer_length")
	if buffered > 1000+100 {
		t.Errorf("buffer length %v, want at most --max-buffer + --buffer-size", buffered)
	}
	if dropped == 0 {
		t.Error("no drops counted while the buffer was full")
	}
	if metricValue(t, r.addr, "vigil_flush_errors_total") == 0 {
		t.Error("no flush errors counted")
	}
	if n := count(t, db, "1"); n != before {
		t.Errorf("rows changed from %d to %d while the store refused writes", before, n)
	}
	if _, err := h.Exec(`DROP TRIGGER disk_full`); err != nil {
		t.Fatal(err)
	}
	r.term(t)
	// Every accepted push was kept and written once the store recovered.
	if n := count(t, db, "name = 'burst_total'"); n != accepted {
		t.Errorf("burst rows after recovery = %d, want the %d accepted", n, accepted)
	}
	if !strings.Contains(r.stderr.String(), "flush failed") {
		t.Errorf("no flush failure logged:\n%s", r.stderr)
	}
}

func TestOnceAndGPUFlags(t *testing.T) {
	db := filepath.Join(t.TempDir(), "v.db")
	out, err := exec.Command(agentBin, "--db", db, "--once", "--gpu", "auto").CombinedOutput()
	if err != nil {
		t.Fatalf("--once: %v\n%s", err, out)
	}
	// Two readings a moment apart: CPU percent exists after one run.
	if n := count(t, db, "name = 'cpu_usage_percent'"); n != 1 {
		t.Errorf("cpu_usage_percent rows = %d, want 1", n)
	}
	if n := count(t, db, "name = 'memory_used_bytes'"); n != 1 {
		t.Errorf("memory_used_bytes rows = %d, want 1 (only the second reading is stored)", n)
	}
	if _, err := os.Stat("/usr/lib/x86_64-linux-gnu/libnvidia-ml.so.1"); err == nil {
		t.Skip("NVML present: --gpu on would succeed here")
	}
	cmd := exec.Command(agentBin, "--db", db, "--once", "--gpu", "on")
	out, err = cmd.CombinedOutput()
	if cmd.ProcessState.ExitCode() != 1 || !strings.Contains(string(out), "--gpu on: no GPU metrics: the NVIDIA management library (libnvidia-ml.so.1) was not found") {
		t.Errorf("--gpu on without NVML: %v\n%s", err, out)
	}
	cmd = exec.Command(agentBin, "--db", db, "--gpu", "maybe")
	out, _ = cmd.CombinedOutput()
	if cmd.ProcessState.ExitCode() != 2 || !strings.Contains(string(out), `--gpu "maybe": want auto, on or off`) {
		t.Errorf("--gpu maybe: exit %d\n%s", cmd.ProcessState.ExitCode(), out)
	}
}

// Scrape a real prometheus-node-exporter on loopback: its series are
// stored with job and instance labels, and its counters as increments.
func TestScrapeRealNodeExporter(t *testing.T) {
	url := promtest.StartNodeExporter(t, "--collector.disable-defaults",
		"--collector.cpu", "--collector.meminfo", "--collector.loadavg", "--collector.netdev", "--collector.stat")
	addr := strings.TrimSuffix(strings.TrimPrefix(url, "http://"), "/metrics")
	db := filepath.Join(t.TempDir(), "v.db")
	r := start(t, "--db", db, "--scrape", "node="+url, "--interval", "500ms", "--gpu", "off", "--listen", freeAddr(t))
	time.Sleep(2200 * time.Millisecond) // four or five scrapes
	r.term(t)

	h, _ := sql.Open("sqlite", db)
	defer h.Close()
	var series, cpuRows int
	var maxInc, minInc float64
	h.QueryRow(`SELECT count(*) FROM series WHERE name LIKE 'node_%' AND labels LIKE '%"job":"node"%' AND labels LIKE ?`, `%"instance":"`+addr+`"%`).Scan(&series)
	if series < 10 {
		t.Errorf("%d node_* series with job and instance labels, want many", series)
	}
	h.QueryRow(`SELECT count(*), coalesce(max(value), -1), coalesce(min(value), -1) FROM metrics WHERE name = 'node_cpu_seconds_total'`).Scan(&cpuRows, &maxInc, &minInc)
	if cpuRows == 0 {
		t.Fatal("no node_cpu_seconds_total increments stored")
	}
	// Cumulative values are seconds since boot; an increment over a
	// half-second scrape interval is at most a few seconds.
	if minInc < 0 || maxInc > 5 {
		t.Errorf("node_cpu_seconds_total increments in [%v, %v], want small non-negative increments", minInc, maxInc)
	}
	var gauges int
	h.QueryRow(`SELECT count(*) FROM metrics WHERE name = 'node_memory_MemTotal_bytes' AND type = 'gauge'`).Scan(&gauges)
	if gauges < 2 {
		t.Errorf("node_memory_MemTotal_bytes gauge rows = %d, want one per scrape", gauges)
	}
}

// Mistakes on the command line are usage errors: exit 2 and one
// "vigil-agent: error:" line, before anything is opened or collected.
func TestUsageErrorsExit2(t *testing.T) {
	db := filepath.Join(t.TempDir(), "a.db")
	cases := []struct {
		args []string
		want string
	}{
		{[]string{"--no-such-flag"}, "vigil-agent: error: unknown flag: --no-such-flag"},
		{[]string{"--db", db, "--interval"}, "vigil-agent: error: flag needs an argument: --interval"},
		{[]string{"--db", db, "--buffer-size", "many"}, `vigil-agent: error: invalid argument "many" for "--buffer-size" flag`},
		{[]string{"--db", db, "--once=maybe"}, `vigil-agent: error: invalid argument "maybe" for "--once" flag`},
		{[]string{"--db", db, "--interval", "soon"}, `vigil-agent: error: --interval "soon"`},
		{[]string{"--db", db, "--log-level", "loud"}, `vigil-agent: error: --log-level "loud"`},
		// Flags that become labels: invalid UTF-8 is refused up front.
		{[]string{"--db", db, "--once", "--host", "web\xff01"}, `vigil-agent: error: --host "web\xff01": not valid UTF-8`},
		{[]string{"--db", db, "--once", "--service", "\xc3("}, `vigil-agent: error: --service "\xc3(": not valid UTF-8`},
	}
	for _, c := range cases {
		cmd := exec.Command(agentBin, c.args...)
		out, _ := cmd.CombinedOutput()
		if code := cmd.ProcessState.ExitCode(); code != 2 || !strings.Contains(string(out), c.want) {
			t.Errorf("vigil-agent %s: exit %d, want 2 and %q\n%s", strings.Join(c.args, " "), code, c.want, out)
		}
	}
	if _, err := os.Stat(db); err == nil {
		t.Errorf("a usage error created the store %s", db)
	}
}

// `--retention 7` is not seven seconds: without a unit it is a usage error.
func TestRetentionWithoutUnit(t *testing.T) {
	db := filepath.Join(t.TempDir(), "v.db")
	cmd := exec.Command(agentBin, "--db", db, "--once", "--gpu", "off", "--retention", "7")
	out, _ := cmd.CombinedOutput()
	if cmd.ProcessState.ExitCode() != 2 || !strings.Contains(string(out), "--retention 7: a duration needs a unit, e.g. 7d") {
		t.Errorf("--retention 7: exit %d\n%s", cmd.ProcessState.ExitCode(), out)
	}
}

// A store the agent cannot write is refused at start with exit 1 (as root
// the file mode stops nothing, so this skips there; internal/agent tests
// the refusal with an injected failure).
func TestReadOnlyStoreRefused(t *testing.T) {
	if os.Geteuid() == 0 {
		t.Skip("running as root: file modes do not stop writes")
	}
	db := filepath.Join(t.TempDir(), "v.db")
	if out, err := exec.Command(agentBin, "--db", db, "--once", "--gpu", "off").CombinedOutput(); err != nil {
		t.Fatalf("%v\n%s", err, out)
	}
	os.Chmod(db, 0o444)
	cmd := exec.Command(agentBin, "--db", db, "--gpu", "off", "--listen", freeAddr(t))
	out, _ := cmd.CombinedOutput()
	if cmd.ProcessState.ExitCode() != 1 || !strings.Contains(string(out), "store cannot be written") {
		t.Errorf("read-only store: exit %d\n%s", cmd.ProcessState.ExitCode(), out)
	}
}
