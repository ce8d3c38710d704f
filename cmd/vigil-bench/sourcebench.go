package main

import (
	"bufio"
	"bytes"
	"fmt"
	"net"
	"net/http"
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
	prom, err := exec.LookPath(cfg.prometheus)
	if err != nil {
		fmt.Println("source: skipped, no prometheus binary (apt-get install prometheus)")
		return nil, nil
	}
	promtool, err := exec.LookPath(cfg.promtool)
	if err != nil {
		fmt.Println("source: skipped, no promtool")
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
	url, stop, err := startPrometheus(prom, cfg.dir, data)
	if err != nil {
		return nil, err
	}
	defer stop()

	at := end.Format(time.RFC3339)
	window := strconv.FormatInt(int64(span/time.Second), 10) + "s"
	query := func(src, path string) (runs, error) {
		args := []string{"query", "--db", src, "--at", at, "--window", window, "-o", "json", path}
		if _, err := measure(cfg.vigil, args...); err != nil { // builds the store's cache
			return nil, err
		}
		return repeat(sourceRuns, func() (run, error) { return measure(cfg.vigil, args...) })
	}
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
			mibRow("source "+q.name+" prometheus RSS (MiB)", sr.peakRSS()))
	}
	return rows, nil
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

// startPrometheus runs Prometheus over data on loopback until stop.
func startPrometheus(bin, dir, data string) (string, func(), error) {
	cfg := filepath.Join(dir, "source-prometheus.yml")
	if err := os.WriteFile(cfg, []byte("scrape_configs: []\n"), 0o644); err != nil {
		return "", nil, err
	}
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return "", nil, err
	}
	addr := l.Addr().String()
	l.Close()
	p := exec.Command(bin, "--config.file="+cfg, "--storage.tsdb.path="+data, "--web.listen-address="+addr,
		"--storage.tsdb.retention.time=100y")
	var logs bytes.Buffer
	p.Stdout, p.Stderr = &logs, &logs
	if err := p.Start(); err != nil {
		return "", nil, err
	}
	stop := func() { p.Process.Kill(); _ = p.Wait() } // killed: its status says nothing
	url := "http://" + addr
	for deadline := time.Now().Add(60 * time.Second); time.Now().Before(deadline); time.Sleep(100 * time.Millisecond) {
		if resp, err := http.Get(url + "/-/ready"); err == nil {
			resp.Body.Close()
			if resp.StatusCode == 200 {
				return url, stop, nil
			}
		}
	}
	stop()
	return "", nil, fmt.Errorf("prometheus not ready after 60s: %s", lastLine(logs.String()))
}
