// Package gpu reads per-device GPU metrics through NVIDIA's NVML
// (github.com/NVIDIA/go-nvml) behind a small interface, so the mapping to
// vigil's metric names is tested with a fake device.
//
// A known trap: where the NVIDIA library is missing, nvml.Init returns
// ERROR_LIBRARY_NOT_FOUND, and calling any device function after that
// kills the process with a symbol lookup error that recover cannot catch.
// So Open stops at Init's result and no device function is ever reached.
//
// It is one of the agent's parts: it returns samples for the agent to
// write and must not import analyze, alert or report.
package gpu

import (
	"errors"
	"fmt"
	"strconv"

	"github.com/NVIDIA/go-nvml/pkg/nvml"

	"github.com/vigil-metrics/vigil/internal/store"
)

// Device is what the collector reads from one GPU.
type Device interface {
	Name() (string, error)
	Memory() (used, total uint64, err error)
	Utilization() (percent uint32, err error)
	Temperature() (celsius uint32, err error)
	Power() (milliwatts uint32, err error)
}

// Library is a GPU management library: NVML, or a fake in tests.
type Library interface {
	Init() error
	Shutdown() error
	Devices() ([]Device, error)
}

// ErrUnavailable wraps every reason the library cannot be used.
var ErrUnavailable = errors.New("GPU metrics unavailable")

// MetricNames are the names Collect writes (TestMetricNamesComplete holds
// them to Collect): vigil lint never flags them, as they are vigil's own.
var MetricNames = []string{
	"gpu_memory_allocated_bytes", "gpu_memory_total_bytes", "gpu_memory_usage_percent",
	"gpu_utilization_percent", "gpu_temperature_celsius", "gpu_power_watts",
}

// Collector reads the devices of an initialised library.
type Collector struct {
	lib     Library
	devices []Device
}

// Open initialises lib and lists its devices. On error nothing else of lib
// has been called, and the error wraps ErrUnavailable.
func Open(lib Library) (*Collector, error) {
	if err := lib.Init(); err != nil {
		return nil, fmt.Errorf("%w: %w", ErrUnavailable, err)
	}
	devs, err := lib.Devices()
	if err != nil {
		lib.Shutdown() //nolint:errcheck // already failing
		return nil, fmt.Errorf("%w: %w", ErrUnavailable, err)
	}
	return &Collector{lib: lib, devices: devs}, nil
}

// Close shuts the library down.
func (c *Collector) Close() error { return c.lib.Shutdown() }

// Collect reads every device at tsMS. A reading a device does not support
// is skipped; the others are still reported.
func (c *Collector) Collect(host string, tsMS int64) []store.Sample {
	var out []store.Sample
	for i, d := range c.devices {
		name, err := d.Name()
		if err != nil {
			name = "unknown"
		}
		labels := map[string]string{"host": host, "device": strconv.Itoa(i), "name": name}
		add := func(metric string, v float64) {
			out = append(out, store.Sample{Name: metric, Type: store.Gauge, Labels: labels, TS: tsMS, Value: v})
		}
		if used, total, err := d.Memory(); err == nil {
			add("gpu_memory_allocated_bytes", float64(used))
			add("gpu_memory_total_bytes", float64(total))
			if total > 0 {
				add("gpu_memory_usage_percent", 100*float64(used)/float64(total))
			}
		}
		if u, err := d.Utilization(); err == nil {
			add("gpu_utilization_percent", float64(u))
		}
		if t, err := d.Temperature(); err == nil {
			add("gpu_temperature_celsius", float64(t))
		}
		if p, err := d.Power(); err == nil {
			add("gpu_power_watts", float64(p)/1000)
		}
	}
	return out
}

// NVML is the real library.
type NVML struct{}

func nvmlErr(r nvml.Return) error {
	if r == nvml.SUCCESS {
		return nil
	}
	return errors.New(nvml.ErrorString(r))
}

// Init loads and initialises NVML.
func (NVML) Init() error {
	if r := nvml.Init(); r != nvml.SUCCESS {
		if r == nvml.ERROR_LIBRARY_NOT_FOUND {
			return errors.New("the NVIDIA management library (libnvidia-ml.so.1) was not found")
		}
		return fmt.Errorf("nvml init: %w", nvmlErr(r))
	}
	return nil
}

// Shutdown releases NVML.
func (NVML) Shutdown() error { return nvmlErr(nvml.Shutdown()) }

// Devices lists the GPUs NVML sees.
func (NVML) Devices() ([]Device, error) {
	n, r := nvml.DeviceGetCount()
	if r != nvml.SUCCESS {
		return nil, fmt.Errorf("count devices: %w", nvmlErr(r))
	}
	out := make([]Device, 0, n)
	for i := 0; i < n; i++ {
		d, r := nvml.DeviceGetHandleByIndex(i)
		if r != nvml.SUCCESS {
			return nil, fmt.Errorf("device %d: %w", i, nvmlErr(r))
		}
		out = append(out, nvmlDevice{d})
	}
	return out, nil
}

type nvmlDevice struct{ d nvml.Device }

func (n nvmlDevice) Name() (string, error) {
	s, r := n.d.GetName()
	return s, nvmlErr(r)
}

func (n nvmlDevice) Memory() (uint64, uint64, error) {
	m, r := n.d.GetMemoryInfo()
	return m.Used, m.Total, nvmlErr(r)
}

func (n nvmlDevice) Utilization() (uint32, error) {
	u, r := n.d.GetUtilizationRates()
	return u.Gpu, nvmlErr(r)
}

func (n nvmlDevice) Temperature() (uint32, error) {
	t, r := n.d.GetTemperature(nvml.TEMPERATURE_GPU)
	return t, nvmlErr(r)
}

func (n nvmlDevice) Power() (uint32, error) {
	p, r := n.d.GetPowerUsage()
	return p, nvmlErr(r)
}
