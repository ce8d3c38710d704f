package collect

import (
	"errors"
	"os"
	"runtime/metrics"
	"sync"
)

// runtimeGauges are the Go runtime and process gauges RuntimeMetrics
// registers: vigil's names, read from runtime/metrics (the supported
// interface, cheaper than runtime.ReadMemStats, which stops the world).
var runtimeGauges = []struct {
	name   string
	sample string // a runtime/metrics name; "" for the process readings
}{
	{"go_goroutines_count", "/sched/goroutines:goroutines"},
	{"go_heap_objects_bytes", "/memory/classes/heap/objects:bytes"},
	{"go_heap_goal_bytes", "/gc/heap/goal:bytes"},
	{"go_memory_total_bytes", "/memory/classes/total:bytes"},
	{"go_gc_cycles_count", "/gc/cycles/total:gc-cycles"},
	{"go_gomaxprocs_count", "/sched/gomaxprocs:threads"},
	{"process_resident_memory_bytes", ""},
	{"process_open_fds_count", ""},
}

// RuntimeMetricNames are the names RegisterRuntimeMetrics registers (vigil
// lint never flags them: they are vigil's own).
func RuntimeMetricNames() []string {
	out := make([]string, len(runtimeGauges))
	for i, g := range runtimeGauges {
		out[i] = g.name
	}
	return out
}

// RegisterRuntimeMetrics adds, on request, gauges of the Go runtime
// (goroutines, heap in use and its goal, memory from the OS, GC cycles so
// far, GOMAXPROCS) and of the process (resident memory, open file
// descriptors), read at each flush and each scrape of Handler. Names end
// in a unit as vigil lint expects (`_count` for counts); GC cycles are a
// running total shown as a gauge, so `.last` reads it and the difference
// of two readings is the cycles between them.
func (r *Recorder) RegisterRuntimeMetrics() error {
	if r == nil {
		return nil
	}
	var errs []error
	for _, g := range runtimeGauges {
		fn := processReading(g.name)
		if g.sample != "" {
			fn = runtimeReading(g.sample)
		}
		if err := r.GaugeFunc(g.name, nil, fn); err != nil {
			errs = append(errs, err)
		}
	}
	return errors.Join(errs...)
}

// runtimeReading reads one runtime/metrics sample; a name this Go does not
// know reads 0 rather than failing the flush.
func runtimeReading(name string) func() float64 {
	var mu sync.Mutex
	s := []metrics.Sample{{Name: name}}
	return func() float64 {
		mu.Lock()
		defer mu.Unlock()
		metrics.Read(s)
		switch s[0].Value.Kind() {
		case metrics.KindUint64:
			return float64(s[0].Value.Uint64())
		case metrics.KindFloat64:
			return s[0].Value.Float64()
		}
		return 0
	}
}

func processReading(name string) func() float64 {
	if name == "process_resident_memory_bytes" {
		return func() float64 { return float64(residentBytes()) }
	}
	return func() float64 {
		ents, err := os.ReadDir("/proc/self/fd")
		if err != nil {
			return 0
		}
		return float64(len(ents))
	}
}
