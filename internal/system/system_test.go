package system

import (
	"context"
	"os"
	"runtime"
	"slices"
	"testing"
	"time"

	"github.com/shirou/gopsutil/v4/cpu"

	"github.com/vigil-metrics/vigil/internal/store"
)

func TestBusyPercent(t *testing.T) {
	a := cpu.TimesStat{User: 10, System: 5, Idle: 80, Iowait: 5}
	b := cpu.TimesStat{User: 40, System: 15, Idle: 130, Iowait: 15} // +40 busy, +60 idle
	if got := busyPercent(a, b); got != 40 {
		t.Errorf("busyPercent = %v, want 40", got)
	}
	if got := busyPercent(a, a); got != 0 {
		t.Errorf("no time passed: %v, want 0", got)
	}
}

// Two real readings of this machine give every metric name the contract
// lists, with sane values.
func TestCollectThisHost(t *testing.T) {
	c := New("test-host")
	ctx := context.Background()
	if _, err := c.Collect(ctx, 1000); err != nil {
		t.Logf("first reading: %v", err)
	}
	// Burn a little CPU so the second reading has something to measure.
	end := time.Now().Add(150 * time.Millisecond)
	for x := 0; time.Now().Before(end); x++ {
		_ = x * x
	}
	got, err := c.Collect(ctx, 2000)
	if err != nil {
		t.Logf("second reading: %v", err)
	}
	byName := map[string][]store.Sample{}
	for _, s := range got {
		if s.Labels["host"] != "test-host" || s.TS != 2000 {
			t.Errorf("%s: labels %v ts %d", s.Name, s.Labels, s.TS)
		}
		if err := s.Validate(); err != nil {
			t.Errorf("%s: %v", s.Name, err)
		}
		byName[s.Name] = append(byName[s.Name], s)
	}
	for _, name := range []string{
		"cpu_usage_percent", "cpu_count", "cpu_core_usage_percent",
		"memory_total_bytes", "memory_used_bytes", "memory_available_bytes", "memory_usage_percent",
		"swap_total_bytes", "swap_used_bytes", "swap_usage_percent",
		"load_average_1m", "load_average_5m", "load_average_15m",
		"network_receive_bytes_total", "network_transmit_bytes_total",
		"network_receive_packets_total", "network_transmit_packets_total",
		"network_receive_errors_total", "network_transmit_errors_total",
	} {
		if len(byName[name]) == 0 {
			t.Errorf("no %s", name)
		}
	}
	if _, err := os.Stat("/proc/diskstats"); err == nil && len(byName["disk_usage_percent"]) == 0 {
		t.Error("no disk_usage_percent")
	}
	if n := byName["cpu_count"]; len(n) == 1 && n[0].Value != float64(runtime.NumCPU()) {
		t.Errorf("cpu_count = %v, want %d", n[0].Value, runtime.NumCPU())
	}
	if n := len(byName["cpu_core_usage_percent"]); n != runtime.NumCPU() {
		t.Errorf("%d per-core readings, want %d", n, runtime.NumCPU())
	}
	for _, name := range []string{"cpu_usage_percent", "cpu_core_usage_percent", "memory_usage_percent", "disk_usage_percent"} {
		for _, s := range byName[name] {
			if s.Value < 0 || s.Value > 100 {
				t.Errorf("%s = %v, want a percentage", name, s.Value)
			}
		}
	}
	for _, s := range byName["memory_used_bytes"] {
		total := byName["memory_total_bytes"][0].Value
		if s.Value <= 0 || s.Value > total {
			t.Errorf("memory_used_bytes = %v of %v", s.Value, total)
		}
	}
	for _, s := range byName["network_receive_bytes_total"] {
		if s.Type != store.Counter || s.Value < 0 {
			t.Errorf("network_receive_bytes_total: %s %v", s.Type, s.Value)
		}
	}
}

// Every name two real readings of this host write is in MetricNames,
// which vigil lint reads as vigil's own (issue 30).
func TestMetricNamesComplete(t *testing.T) {
	c := New("h")
	ctx := context.Background()
	c.Collect(ctx, 1000) //nolint:errcheck // some readings may be missing here
	time.Sleep(50 * time.Millisecond)
	got, _ := c.Collect(ctx, 2000)
	if len(got) == 0 {
		t.Fatal("no samples")
	}
	for _, s := range got {
		if !slices.Contains(MetricNames, s.Name) {
			t.Errorf("Collect writes %s, which MetricNames lacks", s.Name)
		}
	}
}
