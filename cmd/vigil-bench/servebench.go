package main

import (
	"bufio"
	"fmt"
	"io"
	"net/http"
	neturl "net/url"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"time"
)

// The serve section (issue 28's speed item): the same samples in a store
// and in a real Prometheus (promtool's blocks), `vigil serve` on the
// store and Prometheus on the blocks, both on loopback, and the issue's
// two range queries over a day at a 1-minute step sent to each by HTTP
// (the whole answer read), warm, best of serveRuns, interleaved so that
// both see the same load. The answers must agree (docs/serve.md's
// tolerance for counters, bit for bit for gauges); the figures are the
// ratio to Prometheus (target <= 2x) and both servers' peak RSS.

const (
	serveCounters = 1000 // x_total series
	serveServices = 10   // their `service` values
	serveGauges   = 100  // g series
	serveSpan     = 24 * time.Hour
	// serveLead is history before the queried day: rate over a window
	// reaching back before a counter's first sample is where Prometheus
	// 2.42 and the 3.x engine of vigil serve differ by design (3.x caps
	// the extrapolation towards the start before clamping it at the
	// counter's zero, 2.42 after), whatever the storage.
	serveLead = 10 * time.Minute
	serveRuns = 5
	// serveOffset puts every sample 7 s past a multiple of the interval,
	// so that no query instant (whole minutes) nor window start (5m
	// before) falls on a sample: Prometheus 2.42 selects [t-5m, t] and
	// the engine of vigil serve (3.x) (t-5m, t], which differ there only
	// (docs/serve.md, Exactness).
	serveOffset = 7 * time.Second
	// serveCounterTol is docs/serve.md's tolerance for counters (absolute).
	serveCounterTol = 1e-8
	serveTarget     = 2.0 // x Prometheus
)

// serveQuery is one of the range queries; tol is the absolute
// difference the answers may show (0: the same bits).
type serveQuery struct {
	name, expr string
	tol        float64
}

var serveQueries = []serveQuery{
	{"sum by rate", "sum by (service) (rate(x_total[5m]))", serveCounterTol},
	{"quantile_over_time", "quantile_over_time(0.99, g[5m])", 0},
}

func benchServe(cfg *config) ([]row, error) {
	prom, promtool, ok := prometheusTools(cfg, "serve")
	if !ok {
		return nil, nil
	}
	steps := int((serveSpan + serveLead) / cfg.serveInterval)
	st := &stored{samples: (serveCounters + serveGauges) * steps}
	fmt.Printf("\nserve: %s samples (%d counter series x_total over %d services, %d gauge series g, one sample each every %s over %s and %s before) in a store and in Prometheus\n",
		humanCount(st.samples), serveCounters, serveServices, serveGauges, cfg.serveInterval, serveSpan, serveLead)
	first := end.Add(-time.Duration(steps)*cfg.serveInterval + serveOffset)
	t := newStepTable(58)
	db, err := st.importJSONL(cfg, "serve", func(path string) error { return writeServeJSONL(path, first, cfg.serveInterval, steps) })
	t.stored(st, "")
	if err != nil {
		return []row{st.importFailed("serve")}, err
	}
	rows := []row{st.importRow("serve")}
	om := filepath.Join(cfg.dir, "serve.om")
	if err := writeServeOM(om, first, cfg.serveInterval, steps); err != nil {
		return rows, err
	}
	data := filepath.Join(cfg.dir, "serve-tsdb")
	os.RemoveAll(data)
	blocks, err := measure(promtool, "tsdb", "create-blocks-from", "openmetrics", "--max-block-duration=24h", om, data)
	os.Remove(om)
	if err != nil {
		return rows, fmt.Errorf("promtool: %w", err)
	}
	t.line("promtool tsdb create-blocks-from openmetrics", blocks.wall, blocks.rssKiB)

	ps, err := startPrometheus(prom, cfg.dir, data)
	if err != nil {
		return rows, err
	}
	defer ps.stop()
	t0 := time.Now()
	vs, err := startServer(5*time.Minute, func(addr string) *exec.Cmd {
		c := exec.Command(cfg.vigil, "serve", "--db", db, "--listen", addr, "--cache-dir", filepath.Join(cfg.dir, "serve-cache"))
		if cfg.serveProfile != "" {
			c.Env = append(os.Environ(), "VIGIL_CPUPROFILE="+cfg.serveProfile)
		}
		return c
	})
	if err != nil {
		return rows, err
	}
	defer vs.term()
	ready := time.Since(t0)
	t.line("vigil serve start (its caches' first sync)", ready, 0)
	rows = append(rows, secsRow("serve vigil serve start, first sync (s)", ready))

	start, stop := end.Add(-serveSpan), end
	for _, q := range serveQueries {
		r, err := serveCompare(vs, ps, q, start, stop, t)
		rows = append(rows, r...)
		if err != nil {
			return rows, err
		}
	}
	vk, pk := hwmKiB(vs.proc.Pid), hwmKiB(ps.proc.Pid)
	t.line("vigil serve peak RSS (VmHWM)", 0, vk)
	t.line("prometheus peak RSS (VmHWM)", 0, pk)
	rows = append(rows,
		row{measure: "serve vigil serve peak RSS (MiB)", value: fmt.Sprintf("%.0f", mib(vk)), ratio: float64(vk) / float64(pk), vs: "prom", target: "ref", ok: noTarget},
		mibRow("serve prometheus peak RSS (MiB)", pk))
	return rows, nil
}

// serveCompare warms both servers with q, times it on both, interleaved,
// and compares their answers.
func serveCompare(vs, ps *server, q serveQuery, start, stop time.Time, t stepTable) ([]row, error) {
	ask := func(s *server) func() (run, error) {
		return func() (run, error) { return queryRange(s, q.expr, start, stop, time.Minute) }
	}
	// The first query warms each server (vigil serve reads the stores and
	// keeps the points it built until they change): its time is shown,
	// the figures are the warm ones.
	for _, s := range []struct {
		name string
		srv  *server
	}{{"vigil serve", vs}, {"prometheus", ps}} {
		r, err := ask(s.srv)()
		if err != nil {
			return nil, err
		}
		t.line(s.name+": "+q.name+" first query", r.wall, 0)
	}
	vr, pr, err := interleave(serveRuns, ask(vs), ask(ps))
	if err != nil {
		return nil, err
	}
	t.warm("vigil serve: "+q.name, vr, "")
	t.warm("prometheus: "+q.name, pr, "")
	diff := compareMatrices(vr[0].out, pr[0].out, q.tol)
	same := diff == nil
	if same {
		fmt.Printf("  %s: same answers (%d bytes from vigil serve, %d from prometheus)\n", q.name, len(vr[0].out), len(pr[0].out))
	} else {
		fmt.Printf("  %s: answers differ: %v\n", q.name, diff)
	}
	ratio := vr.best().Seconds() / pr.best().Seconds()
	name := "serve " + q.name
	return []row{
		secsRow(name+" prometheus (s)", pr.best()),
		{measure: name + " vigil serve (s)", value: fmt.Sprintf("%.3f", vr.best().Seconds()), ratio: ratio, vs: "prom",
			target: fmt.Sprintf("<= %gx, same", serveTarget), ok: verdict(same && ratio <= serveTarget)},
		{measure: name + " vigil serve CPU (s)", value: fmt.Sprintf("%.3f", vr.bestCPU().Seconds()),
			ratio: vr.bestCPU().Seconds() / pr.bestCPU().Seconds(), vs: "prom CPU", target: "ref", ok: noTarget},
	}, nil
}

// queryRange posts a range query to a server as Grafana does (a form)
// and reads the whole answer: the run's wall time is the client's, its
// CPU time the server process's over the request.
func queryRange(s *server, expr string, start, stop time.Time, step time.Duration) (run, error) {
	form := neturl.Values{
		"query": {expr},
		"start": {strconv.FormatInt(start.Unix(), 10)},
		"end":   {strconv.FormatInt(stop.Unix(), 10)},
		"step":  {strconv.FormatInt(int64(step/time.Second), 10)},
	}
	cpu0 := procCPU(s.proc.Pid)
	t0 := time.Now()
	resp, err := http.PostForm(s.url+"/api/v1/query_range", form)
	if err != nil {
		return run{}, err
	}
	body, err := io.ReadAll(resp.Body)
	resp.Body.Close()
	r := run{wall: time.Since(t0), cpu: procCPU(s.proc.Pid) - cpu0, out: body}
	if err != nil {
		return r, err
	}
	if resp.StatusCode != http.StatusOK {
		return r, fmt.Errorf("%s %s: %s %s", s.url, expr, resp.Status, strings.TrimSpace(string(body)))
	}
	return r, nil
}

// term stops a server with SIGTERM, as a user's service manager does:
// `vigil serve` then writes its CPU profile (VIGIL_CPUPROFILE) out.
func (s *server) term() {
	if s.proc.Signal(syscall.SIGTERM) != nil {
		s.stop()
		return
	}
	done := make(chan struct{})
	go func() { _ = s.wait(); close(done) }()
	select {
	case <-done:
	case <-time.After(15 * time.Second): // past serve's 10 s grace
		s.proc.Kill()
		<-done
	}
}

// procCPU is a process's user + system time so far, from /proc (in clock
// ticks of 10 ms); 0 where it cannot be read.
func procCPU(pid int) time.Duration {
	b, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/stat")
	if err != nil {
		return 0
	}
	// Fields after the command name (which may hold spaces), from the
	// state (field 3): utime and stime are fields 14 and 15.
	f := strings.Fields(string(b[strings.LastIndexByte(string(b), ')')+1:]))
	if len(f) < 13 {
		return 0
	}
	u, _ := strconv.ParseInt(f[11], 10, 64)
	s, _ := strconv.ParseInt(f[12], 10, 64)
	return time.Duration(u+s) * 10 * time.Millisecond
}

// hwmKiB is a running process's peak RSS so far (VmHWM), in KiB; 0 where
// it cannot be read.
func hwmKiB(pid int) int64 {
	f, err := os.Open("/proc/" + strconv.Itoa(pid) + "/status")
	if err != nil {
		return 0
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		if v, ok := strings.CutPrefix(sc.Text(), "VmHWM:"); ok {
			n, _ := strconv.ParseInt(strings.TrimSuffix(strings.TrimSpace(v), " kB"), 10, 64)
			return n
		}
	}
	return 0
}
