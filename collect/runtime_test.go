package collect_test

import (
	"runtime"
	"testing"

	"github.com/vigil-metrics/vigil/collect/collecttest"
)

// The runtime gauges read what the runtime says at flush time: a test that
// holds 20 extra goroutines sees at least 20 more than before them, and
// GOMAXPROCS is exactly runtime.GOMAXPROCS(0).
func TestRuntimeMetrics(t *testing.T) {
	r := collecttest.New(t)
	if err := r.RegisterRuntimeMetrics(); err != nil {
		t.Fatal(err)
	}
	before := runtime.NumGoroutine()
	stop := make(chan struct{})
	for range 20 {
		go func() { <-stop }()
	}
	defer close(stop)
	if got, _ := collecttest.GaugeValue(t, r, "go_goroutines_count", nil); got < float64(before+20) {
		t.Errorf("go_goroutines_count = %v, want at least %d", got, before+20)
	}
	if got, _ := collecttest.GaugeValue(t, r, "go_gomaxprocs_count", nil); got != float64(runtime.GOMAXPROCS(0)) {
		t.Errorf("go_gomaxprocs_count = %v, want %d", got, runtime.GOMAXPROCS(0))
	}
	for _, name := range []string{"go_heap_objects_bytes", "go_memory_total_bytes", "process_resident_memory_bytes", "process_open_fds_count"} {
		if got, _ := collecttest.GaugeValue(t, r, name, nil); !(got > 0) {
			t.Errorf("%s = %v, want > 0", name, got)
		}
	}
}
