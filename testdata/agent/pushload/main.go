// Command pushload measures the agent's peak memory under push load. It
// starts a vigil-agent on loopback with a fresh store, pushes, and prints
// the agent's peak RSS (VmHWM from /proc/PID/status) for each scenario:
//
//	series: -series distinct label sets (default 1,000,000) pushed as JSON
//	        Lines in batches spread over -duration (target: <= 150 MiB)
//	big:    -big concurrent pushes of -size bytes each (default 20 x
//	        16 MiB; target: <= 300 MiB)
//
// Every request loop is bounded and stops by itself; nothing leaves
// loopback. Linux only (VmHWM).
//
//	go build -o bin/vigil-agent ./cmd/vigil-agent
//	go run ./testdata/agent/pushload -agent bin/vigil-agent -duration 20s
package main

import (
	"bytes"
	"flag"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"time"
)

func main() {
	agent := flag.String("agent", "bin/vigil-agent", "vigil-agent binary")
	scenario := flag.String("scenario", "both", "series, big or both")
	series := flag.Int("series", 1000000, "distinct label sets to push (series scenario)")
	batch := flag.Int("batch", 5000, "samples per push (series scenario)")
	duration := flag.Duration("duration", 60*time.Second, "time to spread the series pushes over")
	big := flag.Int("big", 20, "concurrent big pushes (big scenario)")
	size := flag.Int("size", 16<<20, "bytes per big push")
	extra := flag.String("agent-args", "", "more agent flags, space-separated")
	flag.Parse()
	if *scenario == "series" || *scenario == "both" {
		run("series", *agent, *extra, func(addr string) string { return pushSeries(addr, *series, *batch, *duration) })
	}
	if *scenario == "big" || *scenario == "both" {
		run("big", *agent, *extra, func(addr string) string { return pushBig(addr, *big, *size) })
	}
}

func run(name, bin, extra string, load func(addr string) string) {
	dir, err := os.MkdirTemp("", "pushload")
	check(err)
	defer os.RemoveAll(dir)
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	check(err)
	addr := ln.Addr().String()
	ln.Close()
	args := []string{"--db", filepath.Join(dir, "v.db"), "--listen", addr, "--gpu", "off", "--log-level", "error"}
	if extra != "" {
		args = append(args, strings.Fields(extra)...)
	}
	cmd := exec.Command(bin, args...)
	cmd.Stderr = os.Stderr
	check(cmd.Start())
	defer cmd.Process.Kill()
	for i := 0; ; i++ {
		if resp, err := http.Get("http://" + addr + "/healthz"); err == nil {
			resp.Body.Close()
			break
		}
		if i > 300 {
			fmt.Fprintln(os.Stderr, "pushload: the agent did not come up")
			os.Exit(1)
		}
		time.Sleep(20 * time.Millisecond)
	}
	start := time.Now()
	summary := load(addr)
	elapsed := time.Since(start)
	hwm := vmHWM(cmd.Process.Pid)
	health := get("http://" + addr + "/metrics")
	cmd.Process.Signal(syscall.SIGTERM)
	cmd.Wait()
	fmt.Printf("%s: peak RSS %.1f MiB over %v; %s; %s\n", name, float64(hwm)/(1<<20), elapsed.Round(time.Millisecond), summary, pick(health,
		"vigil_agent_series ", "vigil_agent_series_refused_total ", "vigil_samples_written_total ", "vigil_push_busy_total "))
}

// pushSeries pushes n distinct label sets in batches, paced over d.
func pushSeries(addr string, n, batch int, d time.Duration) string {
	pushes := (n + batch - 1) / batch
	gap := d / time.Duration(pushes)
	codes := map[int]int{}
	var b bytes.Buffer
	next := time.Now()
	ts := time.Now().Unix()
	for p := 0; p < pushes; p++ {
		b.Reset()
		for i := p * batch; i < min(n, (p+1)*batch); i++ {
			fmt.Fprintf(&b, `{"ts": %d, "name": "load_requests_total", "type": "counter", "value": 1, "labels": {"pod": "pod-%d", "path": "/api/v1/items/%d"}}`+"\n", ts, i/100, i)
		}
		codes[post(addr, b.Bytes(), false)]++
		next = next.Add(gap)
		time.Sleep(time.Until(next))
	}
	return fmt.Sprintf("%d pushes of %d: HTTP %v", pushes, batch, codes)
}

// pushBig sends k concurrent bodies of size bytes (JSON Lines, few series).
func pushBig(addr string, k, size int) string {
	var b bytes.Buffer
	pad := strings.Repeat("x", 120)
	ts := time.Now().Unix()
	for i := 0; b.Len() < size-300; i++ {
		fmt.Fprintf(&b, `{"ts": %d, "name": "big_push", "type": "gauge", "value": %d, "labels": {"i": "%d", "pad": "%s"}}`+"\n", ts+int64(i/100), i, i%100, pad)
	}
	body := b.Bytes()
	var mu sync.Mutex
	codes := map[int]int{}
	var wg sync.WaitGroup
	for range k {
		wg.Add(1)
		go func() {
			defer wg.Done()
			c := post(addr, body, false)
			mu.Lock()
			codes[c]++
			mu.Unlock()
		}()
	}
	wg.Wait()
	return fmt.Sprintf("%d concurrent pushes of %.1f MiB: HTTP %v", k, float64(len(body))/(1<<20), codes)
}

func post(addr string, body []byte, _ bool) int {
	resp, err := http.Post("http://"+addr+"/v1/metrics", "application/x-ndjson", bytes.NewReader(body))
	if err != nil {
		return -1
	}
	io.Copy(io.Discard, resp.Body)
	resp.Body.Close()
	return resp.StatusCode
}

func get(url string) string {
	resp, err := http.Get(url)
	if err != nil {
		return ""
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return string(b)
}

func pick(text string, prefixes ...string) string {
	var out []string
	for _, l := range strings.Split(text, "\n") {
		for _, p := range prefixes {
			if strings.HasPrefix(l, p) {
				out = append(out, strings.Replace(l, " ", "=", 1))
			}
		}
	}
	return strings.Join(out, " ")
}

func vmHWM(pid int) int64 {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", pid))
	check(err)
	for _, l := range strings.Split(string(b), "\n") {
		if v, ok := strings.CutPrefix(l, "VmHWM:"); ok {
			var kb int64
			fmt.Sscanf(strings.TrimSpace(v), "%d", &kb)
			return kb << 10
		}
	}
	return 0
}

func check(err error) {
	if err != nil {
		fmt.Fprintln(os.Stderr, "pushload:", err)
		os.Exit(1)
	}
}
