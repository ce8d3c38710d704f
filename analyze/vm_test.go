package analyze_test

import (
	"context"
	"fmt"
	"math"
	"strings"
	"testing"
	"time"

	"github.com/vigil-metrics/vigil/analyze"
	"github.com/vigil-metrics/vigil/analyze/promsrc"
	"github.com/vigil-metrics/vigil/internal/metricpath"
	"github.com/vigil-metrics/vigil/internal/promtest"
)

// VictoriaMetrics drops a NaN answer from its results: stddev_over_time
// over a series holding +Inf gives no series at all, not NaN. The
// pushdown's non-finite guard must trip there too, and the answer be the
// finite samples' (issue 26): count 2 and max 2 of 1, 2, +Inf, as a store
// (which skips non-finite samples) and Prometheus give.
func TestVictoriaMetricsPushdownSkipsInf(t *testing.T) {
	vm := promtest.StartVM(t)
	ctx := context.Background()
	base := time.Now().Add(-time.Hour).UnixMilli() / 60_000 * 60_000
	var b strings.Builder
	for i, v := range []float64{1, 2, math.Inf(1)} {
		fmt.Fprintf(&b, "vm_temp{host=\"a\"} %s %d\n", fmt.Sprint(v), base+int64(i+1)*10_000)
	}
	for i, v := range []float64{5, 7} { // a finite series beside it
		fmt.Fprintf(&b, "vm_temp{host=\"b\"} %g %d\n", v, base+int64(i+1)*10_000)
	}
	promtest.ImportVM(t, vm, b.String())
	db, err := analyze.Open(ctx, []string{vm.URL}, analyze.Options{CacheDir: t.TempDir(),
		Sources: map[string]promsrc.Config{vm.URL: {}}, Timeout: 30 * time.Second})
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	win := analyze.Window{At: time.UnixMilli(base + 60_000), Length: 5 * time.Minute}
	for _, c := range []struct{ path, want string }{
		{`vm_temp{host="a"}.count`, "[{map[] 2 2}]"},
		{`vm_temp{host="a"}.max`, "[{map[] 2 2}]"},
		{`vm_temp{host="a"}.min`, "[{map[] 1 2}]"},
		{"vm_temp.count by (host)", "[{map[host:a] 2 2} {map[host:b] 2 2}]"},
		{"vm_temp.max", "[{map[] 7 4}]"},
	} {
		e, err := metricpath.Parse(c.path)
		if err != nil {
			t.Fatal(err)
		}
		rs, err := db.Eval(ctx, e, win)
		if err != nil {
			t.Fatalf("%s: %v", c.path, err)
		}
		if got := fmt.Sprint(rs); got != c.want {
			t.Errorf("%s = %s, want %s", c.path, got, c.want)
		}
	}
}
