// Package system reads host metrics with gopsutil under the reference
// design's names: CPU (total and per core), memory, swap, per-mount disk
// usage, disk I/O and network counters (as increments between readings)
// and load averages, each labelled with the host. CPU percentages come
// from successive readings, never from a blocking one-second sample.
//
// It is one of the agent's parts: it returns samples for the agent to
// write and must not import analyze, alert or report.
package system

import (
	"context"
	"strconv"

	"github.com/shirou/gopsutil/v4/cpu"
	"github.com/shirou/gopsutil/v4/disk"
	"github.com/shirou/gopsutil/v4/load"
	"github.com/shirou/gopsutil/v4/mem"
	"github.com/shirou/gopsutil/v4/net"

	"github.com/vigil-metrics/vigil/internal/cumulative"
	"github.com/vigil-metrics/vigil/internal/store"
)

// MetricNames are the names Collect writes, whichever readings this host
// allows (TestMetricNamesComplete holds them to Collect): vigil lint never
// flags them, as they are vigil's own.
var MetricNames = []string{
	"cpu_usage_percent", "cpu_core_usage_percent", "cpu_count",
	"memory_total_bytes", "memory_used_bytes", "memory_available_bytes", "memory_usage_percent",
	"swap_total_bytes", "swap_used_bytes", "swap_usage_percent",
	"disk_usage_percent", "disk_total_bytes", "disk_used_bytes", "disk_free_bytes",
	"disk_read_bytes_total", "disk_written_bytes_total", "disk_reads_total", "disk_writes_total",
	"network_receive_bytes_total", "network_transmit_bytes_total",
	"network_receive_packets_total", "network_transmit_packets_total",
	"network_receive_errors_total", "network_transmit_errors_total",
	"load_average_1m", "load_average_5m", "load_average_15m",
}

// Collector keeps what percentages and increments need from the previous
// reading. Not safe for concurrent use.
type Collector struct {
	Host    string
	prevAll *cpu.TimesStat
	prevPer []cpu.TimesStat
	io      *cumulative.Tracker
}

// New returns a Collector for host.
func New(host string) *Collector { return &Collector{Host: host, io: cumulative.New()} }

// Collect reads the host once at tsMS. The first call cannot report CPU
// percentages or I/O increments (they need a previous reading); it reports
// everything else. Readings that fail are skipped, and the first error is
// returned beside what was read.
func (c *Collector) Collect(ctx context.Context, tsMS int64) ([]store.Sample, error) {
	r := &reading{c: c, ts: tsMS, host: map[string]string{"host": c.Host}}
	// The steps run in this order: it is the order of the samples.
	for _, step := range []func(context.Context, *reading){
		c.cpuTotal, c.cpuCores, c.cpuCount, c.memory, c.swap, c.diskUsage, c.diskIO, c.network, c.loadAverage,
	} {
		step(ctx, r)
	}
	c.io.Sweep()
	return r.out, r.err
}

// reading is one Collect under way: the samples read so far and the first
// error.
type reading struct {
	c    *Collector
	ts   int64
	host map[string]string // {host}, shared by the samples labelled with the host alone
	out  []store.Sample
	err  error
}

func (r *reading) keep(err error) {
	if err != nil && r.err == nil {
		r.err = err
	}
}

func (r *reading) gauge(name string, labels map[string]string, v float64) {
	r.out = append(r.out, store.Sample{Name: name, Type: store.Gauge, Labels: labels, TS: r.ts, Value: v})
}

// counter records the increment since the previous reading of a
// cumulative counter (none at the first).
func (r *reading) counter(name string, labels map[string]string, v float64) {
	if inc, ok := r.c.io.Delta(name+store.CanonicalLabels(labels), v); ok {
		r.out = append(r.out, store.Sample{Name: name, Type: store.Counter, Labels: labels, TS: r.ts, Value: inc})
	}
}

// with is the host's labels and one more.
func (r *reading) with(k, v string) map[string]string {
	return map[string]string{"host": r.c.Host, k: v}
}

func (c *Collector) cpuTotal(ctx context.Context, r *reading) {
	all, err := cpu.TimesWithContext(ctx, false)
	if err != nil || len(all) != 1 {
		r.keep(err)
		return
	}
	if c.prevAll != nil {
		r.gauge("cpu_usage_percent", r.host, busyPercent(*c.prevAll, all[0]))
	}
	c.prevAll = &all[0]
}

func (c *Collector) cpuCores(ctx context.Context, r *reading) {
	per, err := cpu.TimesWithContext(ctx, true)
	if err != nil {
		r.keep(err)
		return
	}
	if len(c.prevPer) == len(per) {
		for i := range per {
			r.gauge("cpu_core_usage_percent", r.with("core", strconv.Itoa(i)), busyPercent(c.prevPer[i], per[i]))
		}
	}
	c.prevPer = per
}

func (c *Collector) cpuCount(ctx context.Context, r *reading) {
	n, err := cpu.CountsWithContext(ctx, true)
	if err != nil {
		r.keep(err)
		return
	}
	r.gauge("cpu_count", r.host, float64(n))
}

func (c *Collector) memory(ctx context.Context, r *reading) {
	vm, err := mem.VirtualMemoryWithContext(ctx)
	if err != nil {
		r.keep(err)
		return
	}
	r.gauge("memory_total_bytes", r.host, float64(vm.Total))
	r.gauge("memory_used_bytes", r.host, float64(vm.Used))
	r.gauge("memory_available_bytes", r.host, float64(vm.Available))
	r.gauge("memory_usage_percent", r.host, vm.UsedPercent)
}

func (c *Collector) swap(ctx context.Context, r *reading) {
	sw, err := mem.SwapMemoryWithContext(ctx)
	if err != nil {
		r.keep(err)
		return
	}
	r.gauge("swap_total_bytes", r.host, float64(sw.Total))
	r.gauge("swap_used_bytes", r.host, float64(sw.Used))
	r.gauge("swap_usage_percent", r.host, sw.UsedPercent)
}

// diskUsage reads each mount once (a mount point can be listed twice), skipping
// those that cannot be read or hold nothing (pseudo file systems).
func (c *Collector) diskUsage(ctx context.Context, r *reading) {
	parts, err := disk.PartitionsWithContext(ctx, false)
	if err != nil {
		r.keep(err)
		return
	}
	seen := map[string]bool{}
	for _, p := range parts {
		if seen[p.Mountpoint] {
			continue
		}
		seen[p.Mountpoint] = true
		u, err := disk.UsageWithContext(ctx, p.Mountpoint)
		if err != nil || u.Total == 0 {
			continue
		}
		l := map[string]string{"host": c.Host, "mount": p.Mountpoint, "device": p.Device, "fstype": p.Fstype}
		r.gauge("disk_usage_percent", l, u.UsedPercent)
		r.gauge("disk_total_bytes", l, float64(u.Total))
		r.gauge("disk_used_bytes", l, float64(u.Used))
		r.gauge("disk_free_bytes", l, float64(u.Free))
	}
}

func (c *Collector) diskIO(ctx context.Context, r *reading) {
	ios, err := disk.IOCountersWithContext(ctx)
	if err != nil {
		r.keep(err)
		return
	}
	for dev, s := range ios {
		l := r.with("device", dev)
		r.counter("disk_read_bytes_total", l, float64(s.ReadBytes))
		r.counter("disk_written_bytes_total", l, float64(s.WriteBytes))
		r.counter("disk_reads_total", l, float64(s.ReadCount))
		r.counter("disk_writes_total", l, float64(s.WriteCount))
	}
}

func (c *Collector) network(ctx context.Context, r *reading) {
	nics, err := net.IOCountersWithContext(ctx, true)
	if err != nil {
		r.keep(err)
		return
	}
	for _, s := range nics {
		l := r.with("interface", s.Name)
		r.counter("network_receive_bytes_total", l, float64(s.BytesRecv))
		r.counter("network_transmit_bytes_total", l, float64(s.BytesSent))
		r.counter("network_receive_packets_total", l, float64(s.PacketsRecv))
		r.counter("network_transmit_packets_total", l, float64(s.PacketsSent))
		r.counter("network_receive_errors_total", l, float64(s.Errin))
		r.counter("network_transmit_errors_total", l, float64(s.Errout))
	}
}

func (c *Collector) loadAverage(ctx context.Context, r *reading) {
	avg, err := load.AvgWithContext(ctx)
	if err != nil {
		r.keep(err)
		return
	}
	r.gauge("load_average_1m", r.host, avg.Load1)
	r.gauge("load_average_5m", r.host, avg.Load5)
	r.gauge("load_average_15m", r.host, avg.Load15)
}

// busyPercent is the share of non-idle time between two readings, as
// psutil.cpu_percent computes it.
func busyPercent(a, b cpu.TimesStat) float64 {
	total := func(t cpu.TimesStat) float64 {
		return t.User + t.System + t.Idle + t.Nice + t.Iowait + t.Irq + t.Softirq + t.Steal
	}
	idle := func(t cpu.TimesStat) float64 { return t.Idle + t.Iowait }
	dt := total(b) - total(a)
	if dt <= 0 {
		return 0
	}
	p := 100 * (dt - (idle(b) - idle(a))) / dt
	return min(max(p, 0), 100)
}
