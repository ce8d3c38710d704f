package main

import (
	"bufio"
	"bytes"
	"fmt"
	"io"
	"math"
	"net"
	"net/http"
	neturl "net/url"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"time"
)

// The source section: the same samples in a store and in a real
// Prometheus (promtool's blocks), and `vigil query` over each, warm: a
// percentile (the raw samples cross the HTTP API as JSON) and a max of a
// gauge (pushed down: one value per series crosses). The answers must
// be the same; the figures are what moving to a Prometheus-compatible
// engine costs a query (docs/scale.md).

const (
	sourceSeries = 100
	sourceStep   = 10 * time.Second
	sourceRuns   = 3
)

func benchSource(cfg *config) ([]row, error) {
	prom, promtool, ok := prometheusTools(cfg, "source")
	if !ok {
		return nil, nil
	}
	n := cfg.sourceSamples / sourceSeries * sourceSeries
	steps := n / sourceSeries
	span := time.Duration(steps) * sourceStep
	fmt.Printf("\nsource: %s samples (%d gauge series at 10 s over %s) in a store and in Prometheus\n", humanCount(n), sourceSeries, span)
	om := filepath.Join(cfg.dir, "source.om")
	jl := filepath.Join(cfg.dir, "source.jsonl")
	if err := writeSourceFiles(om, jl, steps); err != nil {
		return nil, err
	}
	db := filepath.Join(cfg.dir, "source.db")
	if _, err := measure(cfg.vigil, "import", "--db", db, jl); err != nil {
		return nil, fmt.Errorf("import: %w", err)
	}
	data := filepath.Join(cfg.dir, "source-tsdb")
	os.RemoveAll(data)
	if _, err := measure(promtool, "tsdb", "create-blocks-from", "openmetrics", "--max-block-duration=24h", om, data); err != nil {
		return nil, fmt.Errorf("promtool: %w", err)
	}
	os.Remove(om)
	os.Remove(jl)
	ps, err := startPrometheus(prom, cfg.dir, data)
	if err != nil {
		return nil, err
	}
	defer ps.stop()
	url := ps.url

	at := end.Format(time.RFC3339)
	window := strconv.FormatInt(int64(span/time.Second), 10) + "s"
	// The query API forced (read_api: query), beside the default (remote
	// read, which Prometheus serves).
	jsonCfg := filepath.Join(cfg.dir, "source-query-api.yaml")
	if err := os.WriteFile(jsonCfg, []byte("sources:\n  "+url+":\n    read_api: query\n"), 0o644); err != nil {
		return nil, err
	}
	queryWith := func(bin, src, path string, more ...string) (runs, error) {
		args := append([]string{"query", "--db", src, "--at", at, "--window", window, "-o", "json", path}, more...)
		if _, err := measure(bin, args...); err != nil { // builds the store's cache
			return nil, err
		}
		return repeat(sourceRuns, func() (run, error) { return measure(bin, args...) })
	}
	query := func(src, path string, more ...string) (runs, error) { return queryWith(cfg.vigil, src, path, more...) }
	var rows []row
	t := newStepTable(58)
	for _, q := range []struct{ name, path string }{
		{"p99 (raw)", "bench_value.p99 by (series)"},
		{"max (pushed down)", "bench_value.max by (series)"},
	} {
		st, err := query(db, q.path)
		if err != nil {
			return rows, fmt.Errorf("%s over the store: %w", q.name, err)
		}
		sr, err := query(url, q.path)
		if err != nil {
			return rows, fmt.Errorf("%s over Prometheus: %w", q.name, err)
		}
		same := bytes.Equal(st[0].out, sr[0].out)
		t.warm("store: "+q.name, st, "")
		t.warm("prometheus: "+q.name, sr, "")
		fmt.Printf("  same answers: %v\n", same)
		ratio := sr.best().Seconds() / st.best().Seconds()
		rows = append(rows,
			row{measure: "source " + q.name + " store (s)", value: fmt.Sprintf("%.3f", st.best().Seconds()), target: "ref", ok: noTarget},
			row{measure: "source " + q.name + " prometheus (s)", value: fmt.Sprintf("%.3f", sr.best().Seconds()),
				ratio: ratio, vs: "store", target: "same answer", ok: verdict(same)},
			mibRow("source "+q.name+" store RSS (MiB)", st.peakRSS()),
			mibRow("source "+q.name+" prometheus RSS (MiB)", sr.peakRSS()))
		if q.name != "p99 (raw)" {
			continue
		}
		sj, err := query(url, q.path, "--config", jsonCfg)
		if err != nil {
			return rows, fmt.Errorf("%s over Prometheus's query API: %w", q.name, err)
		}
		t.warm("prometheus, query API: "+q.name, sj, "")
		same = bytes.Equal(st[0].out, sj[0].out)
		fmt.Printf("  same answers: %v\n", same)
		if cfg.sourceBase != "" {
			sb, err := queryWith(cfg.sourceBase, url, q.path)
			if err != nil {
				return rows, fmt.Errorf("%s over Prometheus by %s: %w", q.name, cfg.sourceBase, err)
			}
			t.warm("prometheus, "+cfg.sourceBase+": "+q.name, sb, "")
			rows = append(rows, row{measure: "source " + q.name + " prometheus by -source-base (s)", value: fmt.Sprintf("%.3f", sb.best().Seconds()),
				ratio: sb.best().Seconds() / st.best().Seconds(), vs: "store", target: "ref", ok: noTarget},
				mibRow("source "+q.name+" prometheus by -source-base RSS (MiB)", sb.peakRSS()))
		}
		own, err := promQuantile(url, "quantile_over_time(0.99, bench_value["+window+"])", end)
		if err != nil {
			return rows, err
		}
		fmt.Printf("  prometheus's own quantile_over_time (best of %d): %.3f s\n", sourceRuns, own.Seconds())
		rows = append(rows,
			row{measure: "source " + q.name + " prometheus query API (s)", value: fmt.Sprintf("%.3f", sj.best().Seconds()),
				ratio: sj.best().Seconds() / st.best().Seconds(), vs: "store", target: "same answer", ok: verdict(same)},
			mibRow("source "+q.name+" prometheus query API RSS (MiB)", sj.peakRSS()),
			row{measure: "source prometheus's own quantile_over_time (s)", value: fmt.Sprintf("%.3f", own.Seconds()),
				ratio: own.Seconds() / st.best().Seconds(), vs: "store", target: "ref", ok: noTarget})
	}
	return rows, nil
}

// promQuantile times Prometheus answering q at at itself (the HTTP query,
// its JSON answer read), best of sourceRuns.
func promQuantile(base, q string, at time.Time) (time.Duration, error) {
	u := base + "/api/v1/query?query=" + neturl.QueryEscape(q) + "&time=" + strconv.FormatInt(at.Unix(), 10)
	best := time.Duration(math.MaxInt64)
	for range sourceRuns {
		t0 := time.Now()
		resp, err := http.Get(u)
		if err != nil {
			return 0, err
		}
		_, err = io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
		if err != nil || resp.StatusCode != 200 {
			return 0, fmt.Errorf("prometheus %s: %v %s", q, err, resp.Status)
		}
		best = min(best, time.Since(t0))
	}
	return best, nil
}

// writeSourceFiles writes the section's samples as OpenMetrics (for
// promtool) and JSON Lines (for vigil import).
func writeSourceFiles(omPath, jlPath string, steps int) error {
	om, err := os.Create(omPath)
	if err != nil {
		return err
	}
	defer om.Close()
	jl, err := os.Create(jlPath)
	if err != nil {
		return err
	}
	defer jl.Close()
	ow, jw := bufio.NewWriterSize(om, 1<<20), bufio.NewWriterSize(jl, 1<<20)
	fmt.Fprint(ow, "# TYPE bench_value gauge\n")
	first := end.Add(-time.Duration(steps-1) * sourceStep).Unix()
	// OpenMetrics wants each series' samples together; JSON Lines go in
	// time order, as scrapes append them.
	for s := range sourceSeries {
		for i := range steps {
			fmt.Fprintf(ow, "bench_value{series=\"%d\"} %s %d\n", s, sourceValue(s, i), first+int64(i)*10)
		}
	}
	for i := range steps {
		for s := range sourceSeries {
			fmt.Fprintf(jw, `{"ts":%d,"name":"bench_value","type":"gauge","value":%s,"labels":{"series":"%d"}}`+"\n", first+int64(i)*10, sourceValue(s, i), s)
		}
	}
	fmt.Fprint(ow, "# EOF\n")
	if err := ow.Flush(); err != nil {
		return err
	}
	return jw.Flush()
}

func sourceValue(s, i int) string {
	return strconv.FormatFloat(float64(splitmix(uint64(s*1_000_003+i))%100_000)/100, 'f', -1, 64)
}

// prometheusTools finds Prometheus and promtool for a section, which is
// skipped (with a line saying why) without them.
func prometheusTools(cfg *config, section string) (prom, promtool string, ok bool) {
	prom, err := exec.LookPath(cfg.prometheus)
	if err != nil {
		fmt.Println(section + ": skipped, no prometheus binary (apt-get install prometheus)")
		return "", "", false
	}
	if promtool, err = exec.LookPath(cfg.promtool); err != nil {
		fmt.Println(section + ": skipped, no promtool")
		return "", "", false
	}
	return prom, promtool, true
}

// startPrometheus runs Prometheus over data on loopback until stop.
func startPrometheus(bin, dir, data string) (*server, error) {
	cfg := filepath.Join(dir, "source-prometheus.yml")
	if err := os.WriteFile(cfg, []byte("scrape_configs: []\n"), 0o644); err != nil {
		return nil, err
	}
	return startServer(60*time.Second, func(addr string) *exec.Cmd {
		return exec.Command(bin, "--config.file="+cfg, "--storage.tsdb.path="+data, "--web.listen-address="+addr,
			"--storage.tsdb.retention.time=100y")
	})
}

// server is a server the bench started on loopback: Prometheus or
// `vigil serve`.
type server struct {
	url  string
	proc *os.Process
	wait func() error
}

// stop kills the server: its exit status says nothing.
func (s *server) stop() { s.proc.Kill(); _ = s.wait() }

// startServer starts the command cmd makes for a free loopback address
// and waits up to timeout for its /-/ready (both Prometheus and `vigil
// serve` answer it).
func startServer(timeout time.Duration, cmd func(addr string) *exec.Cmd) (*server, error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, err
	}
	addr := l.Addr().String()
	l.Close()
	p := cmd(addr)
	var logs bytes.Buffer
	p.Stdout, p.Stderr = &logs, &logs
	if err := p.Start(); err != nil {
		return nil, err
	}
	s := &server{url: "http://" + addr, proc: p.Process, wait: p.Wait}
	for deadline := time.Now().Add(timeout); time.Now().Before(deadline); time.Sleep(100 * time.Millisecond) {
		if resp, err := http.Get(s.url + "/-/ready"); err == nil {
			resp.Body.Close()
			if resp.StatusCode == 200 {
				return s, nil
			}
		}
	}
	s.stop()
	return nil, fmt.Errorf("%s not ready after %s: %s", filepath.Base(p.Path), timeout, lastLine(logs.String()))
}
