// Package system reads host metrics with gopsutil under the reference
// design's names: CPU (total and per core), memory, swap, per-mount disk
// usage, disk I/O and network counters (as increments between readings)
// and load averages, each labelled with the host. CPU percentages come
// from successive readings, never from a blocking one-second sample.
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
	var out []store.Sample
	var firstErr error
	keep := func(err error) {
		if err != nil && firstErr == nil {
			firstErr = err
		}
	}
	host := map[string]string{"host": c.Host}
	gauge := func(name string, labels map[string]string, v float64) {
		out = append(out, store.Sample{Name: name, Type: store.Gauge, Labels: labels, TS: tsMS, Value: v})
	}
	counter := func(name string, labels map[string]string, v float64) {
		if inc, ok := c.io.Delta(name+store.CanonicalLabels(labels), v); ok {
			out = append(out, store.Sample{Name: name, Type: store.Counter, Labels: labels, TS: tsMS, Value: inc})
		}
	}
	with := func(k, v string) map[string]string { return map[string]string{"host": c.Host, k: v} }

	if all, err := cpu.TimesWithContext(ctx, false); err == nil && len(all) == 1 {
		if c.prevAll != nil {
			gauge("cpu_usage_percent", host, busyPercent(*c.prevAll, all[0]))
		}
		c.prevAll = &all[0]
	} else {
		keep(err)
	}
	if per, err := cpu.TimesWithContext(ctx, true); err == nil {
		if len(c.prevPer) == len(per) {
			for i := range per {
				gauge("cpu_core_usage_percent", with("core", strconv.Itoa(i)), busyPercent(c.prevPer[i], per[i]))
			}
		}
		c.prevPer = per
	} else {
		keep(err)
	}
	if n, err := cpu.CountsWithContext(ctx, true); err == nil {
		gauge("cpu_count", host, float64(n))
	} else {
		keep(err)
	}
	if vm, err := mem.VirtualMemoryWithContext(ctx); err == nil {
		gauge("memory_total_bytes", host, float64(vm.Total))
		gauge("memory_used_bytes", host, float64(vm.Used))
		gauge("memory_available_bytes", host, float64(vm.Available))
		gauge("memory_usage_percent", host, vm.UsedPercent)
	} else {
		keep(err)
	}
	if sw, err := mem.SwapMemoryWithContext(ctx); err == nil {
		gauge("swap_total_bytes", host, float64(sw.Total))
		gauge("swap_used_bytes", host, float64(sw.Used))
		gauge("swap_usage_percent", host, sw.UsedPercent)
	} else {
		keep(err)
	}
	if parts, err := disk.PartitionsWithContext(ctx, false); err == nil {
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
			gauge("disk_usage_percent", l, u.UsedPercent)
			gauge("disk_total_bytes", l, float64(u.Total))
			gauge("disk_used_bytes", l, float64(u.Used))
			gauge("disk_free_bytes", l, float64(u.Free))
		}
	} else {
		keep(err)
	}
	if ios, err := disk.IOCountersWithContext(ctx); err == nil {
		for dev, s := range ios {
			l := with("device", dev)
			counter("disk_read_bytes_total", l, float64(s.ReadBytes))
			counter("disk_written_bytes_total", l, float64(s.WriteBytes))
			counter("disk_reads_total", l, float64(s.ReadCount))
			counter("disk_writes_total", l, float64(s.WriteCount))
		}
	} else {
		keep(err)
	}
	if nics, err := net.IOCountersWithContext(ctx, true); err == nil {
		for _, s := range nics {
			l := with("interface", s.Name)
			counter("network_receive_bytes_total", l, float64(s.BytesRecv))
			counter("network_transmit_bytes_total", l, float64(s.BytesSent))
			counter("network_receive_packets_total", l, float64(s.PacketsRecv))
			counter("network_transmit_packets_total", l, float64(s.PacketsSent))
			counter("network_receive_errors_total", l, float64(s.Errin))
			counter("network_transmit_errors_total", l, float64(s.Errout))
		}
	} else {
		keep(err)
	}
	if avg, err := load.AvgWithContext(ctx); err == nil {
		gauge("load_average_1m", host, avg.Load1)
		gauge("load_average_5m", host, avg.Load5)
		gauge("load_average_15m", host, avg.Load15)
	} else {
		keep(err)
	}
	c.io.Sweep()
	return out, firstErr
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
