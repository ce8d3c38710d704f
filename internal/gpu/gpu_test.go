package gpu

import (
	"errors"
	"fmt"
	"slices"
	"sort"
	"strings"
	"testing"

	"github.com/vigil-metrics/vigil/internal/store"
)

type fakeDevice struct {
	name        string
	used, total uint64
	util, temp  uint32
	milliwatts  uint32
	noPower     bool
}

func (f fakeDevice) Name() (string, error)           { return f.name, nil }
func (f fakeDevice) Memory() (uint64, uint64, error) { return f.used, f.total, nil }
func (f fakeDevice) Utilization() (uint32, error)    { return f.util, nil }
func (f fakeDevice) Temperature() (uint32, error)    { return f.temp, nil }
func (f fakeDevice) Power() (uint32, error) {
	if f.noPower {
		return 0, errors.New("Not Supported")
	}
	return f.milliwatts, nil
}

type fakeLib struct {
	initErr error
	devices []Device
	calls   []string
}

func (f *fakeLib) Init() error { f.calls = append(f.calls, "Init"); return f.initErr }
func (f *fakeLib) Shutdown() error {
	f.calls = append(f.calls, "Shutdown")
	return nil
}
func (f *fakeLib) Devices() ([]Device, error) {
	f.calls = append(f.calls, "Devices")
	return f.devices, nil
}

func TestMapping(t *testing.T) {
	lib := &fakeLib{devices: []Device{
		fakeDevice{name: "NVIDIA H200", used: 34 << 30, total: 136 << 30, util: 87, temp: 61, milliwatts: 512345},
		fakeDevice{name: "NVIDIA T4", used: 0, total: 16 << 30, util: 0, temp: 30, noPower: true},
	}}
	c, err := Open(lib)
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, s := range c.Collect("gpu-01", 1000) {
		got = append(got, fmt.Sprintf("%s%s %g", s.Name, store.CanonicalLabels(s.Labels), s.Value))
		if s.Type != store.Gauge || s.TS != 1000 {
			t.Errorf("%s: type %s ts %d", s.Name, s.Type, s.TS)
		}
	}
	sort.Strings(got)
	h := `{"device":"0","host":"gpu-01","name":"NVIDIA H200"}`
	t4 := `{"device":"1","host":"gpu-01","name":"NVIDIA T4"}`
	want := []string{
		"gpu_memory_allocated_bytes" + h + " 3.6507222016e+10",
		"gpu_memory_allocated_bytes" + t4 + " 0",
		"gpu_memory_total_bytes" + h + " 1.46028888064e+11",
		"gpu_memory_total_bytes" + t4 + " 1.7179869184e+10",
		"gpu_memory_usage_percent" + h + " 25",
		"gpu_memory_usage_percent" + t4 + " 0",
		"gpu_power_watts" + h + " 512.345",
		"gpu_temperature_celsius" + h + " 61",
		"gpu_temperature_celsius" + t4 + " 30",
		"gpu_utilization_percent" + h + " 87",
		"gpu_utilization_percent" + t4 + " 0",
	}
	if strings.Join(got, "\n") != strings.Join(want, "\n") {
		t.Errorf("got\n%s\nwant\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
}

// When Init fails, nothing else of the library is touched: with NVML,
// any call after a failed Init can kill the process.
func TestInitFailureStopsThere(t *testing.T) {
	lib := &fakeLib{initErr: errors.New("ERROR_LIBRARY_NOT_FOUND"), devices: []Device{fakeDevice{}}}
	_, err := Open(lib)
	if !errors.Is(err, ErrUnavailable) {
		t.Fatalf("Open = %v, want ErrUnavailable", err)
	}
	if strings.Join(lib.calls, ",") != "Init" {
		t.Errorf("calls = %v, want only Init", lib.calls)
	}
}

// On this machine NVML is absent unless a GPU driver is installed; either
// way Open must return (never crash the test binary).
func TestRealNVMLOpenReturns(t *testing.T) {
	c, err := Open(NVML{})
	if err != nil {
		if !errors.Is(err, ErrUnavailable) {
			t.Fatalf("Open(NVML) = %v, want ErrUnavailable", err)
		}
		t.Logf("no NVML here: %v", err)
		return
	}
	defer c.Close()
	t.Logf("NVML: %d samples", len(c.Collect("h", 0)))
}

// Every name Collect writes is in MetricNames, which vigil lint reads as
// vigil's own (issue 30).
func TestMetricNamesComplete(t *testing.T) {
	c, err := Open(&fakeLib{devices: []Device{fakeDevice{name: "x", used: 1, total: 2, util: 3, temp: 4, milliwatts: 5}}})
	if err != nil {
		t.Fatal(err)
	}
	got := c.Collect("h", 1)
	if len(got) != len(MetricNames) {
		t.Errorf("Collect wrote %d samples, MetricNames has %d", len(got), len(MetricNames))
	}
	for _, s := range got {
		if !slices.Contains(MetricNames, s.Name) {
			t.Errorf("Collect writes %s, which MetricNames lacks", s.Name)
		}
	}
}
