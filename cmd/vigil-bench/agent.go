package main

import (
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"time"
)

// procUsage reads a process's CPU time (user+system) and peak RSS.
func procUsage(pid int) (cpu time.Duration, hwmKiB int64, err error) {
	stat, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return 0, 0, err
	}
	// Fields after the command name, which is in parentheses.
	f := strings.Fields(string(stat[strings.LastIndexByte(string(stat), ')')+1:]))
	utime, _ := strconv.ParseInt(f[11], 10, 64)
	stime, _ := strconv.ParseInt(f[12], 10, 64)
	const clkTck = 100 // USER_HZ on Linux
	cpu = time.Duration(utime+stime) * time.Second / clkTck
	status, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		return 0, 0, err
	}
	for _, line := range strings.Split(string(status), "\n") {
		if strings.HasPrefix(line, "VmHWM:") {
			hwmKiB, _ = strconv.ParseInt(strings.Fields(line)[1], 10, 64)
		}
	}
	return cpu, hwmKiB, nil
}

func freePort() (string, error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return "", err
	}
	defer ln.Close()
	return ln.Addr().String(), nil
}

// benchAgent runs vigil-agent at --interval 10s and prometheus-node-exporter
// (scraped every 10s, as Prometheus would) side by side for the same span,
// and prints each one's average CPU and peak RSS; it returns them as rows
// of the final table.
func benchAgent(dir, agentBin, nodeExporter string, span time.Duration) ([]row, error) {
	db := filepath.Join(dir, "agent.db")
	agent := exec.Command(agentBin, "--db", db, "--interval", "10s", "--gpu", "auto", "--log-level", "warn")
	agent.Stderr = os.Stderr
	if err := agent.Start(); err != nil {
		return nil, fmt.Errorf("start agent: %w", err)
	}
	defer agent.Process.Kill()
	var ne *exec.Cmd
	var neURL string
	if path, err := exec.LookPath(nodeExporter); err == nil {
		addr, err := freePort()
		if err != nil {
			return nil, err
		}
		ne = exec.Command(path, "--web.listen-address="+addr)
		if err := ne.Start(); err != nil {
			return nil, fmt.Errorf("start node exporter: %w", err)
		}
		defer ne.Process.Kill()
		neURL = "http://" + addr + "/metrics"
	} else {
		fmt.Printf("(%s not installed: no comparison; apt-get install prometheus-node-exporter)\n", nodeExporter)
	}
	start := time.Now()
	for time.Since(start) < span {
		if neURL != "" {
			if resp, err := http.Get(neURL); err == nil {
				io.Copy(io.Discard, resp.Body) //nolint:errcheck
				resp.Body.Close()
			}
		}
		time.Sleep(min(10*time.Second, span-time.Since(start)))
	}
	wall := time.Since(start)
	aCPU, aRSS, err := procUsage(agent.Process.Pid)
	if err != nil {
		return nil, fmt.Errorf("agent usage: %w", err)
	}
	fmt.Printf("\nagent over %s at --interval 10s:\n", wall.Round(time.Second))
	fmt.Printf("%-34s %12s %12s %10s %s\n", "process", "avg CPU %", "peak RSS MiB", "target", "ok")
	cpuPct := 100 * aCPU.Seconds() / wall.Seconds()
	aMiB := float64(aRSS) / 1024
	fmt.Printf("%-34s %12.3f %12.1f %10s %v\n", "vigil-agent", cpuPct, aMiB, "<=0.5%,30MiB", cpuPct <= 0.5 && aRSS <= 30*1024)
	rows := []row{
		{measure: "agent avg CPU (%)", value: fmt.Sprintf("%.3f", cpuPct), target: "<= 0.5", ok: verdict(cpuPct <= 0.5)},
		{measure: "agent peak RSS (MiB)", value: fmt.Sprintf("%.1f", aMiB), target: "<= 30", ok: verdict(aRSS <= 30*1024)},
	}
	if ne != nil {
		nCPU, nRSS, err := procUsage(ne.Process.Pid)
		if err != nil {
			return nil, fmt.Errorf("node exporter usage: %w", err)
		}
		nPct := 100 * nCPU.Seconds() / wall.Seconds()
		nMiB := float64(nRSS) / 1024
		fmt.Printf("%-34s %12.3f %12.1f %10s\n", "prometheus-node-exporter (scraped)", nPct, nMiB, "reference")
		// Ratios against the node exporter, when its figures are not zero
		// (CPU comes in 10 ms ticks).
		if nPct > 0 {
			rows[0].ratio, rows[0].vs = cpuPct/nPct, "node-exp"
		}
		if nMiB > 0 {
			rows[1].ratio, rows[1].vs = aMiB/nMiB, "node-exp"
		}
	}
	fmt.Println()
	return rows, nil
}
