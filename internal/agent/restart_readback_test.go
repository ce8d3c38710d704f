package agent

import (
	"context"
	"fmt"
	"math"
	"net/http"
	"path/filepath"
	"reflect"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/vigil-metrics/vigil/analyze"
	"github.com/vigil-metrics/vigil/internal/metricpath"
	"github.com/vigil-metrics/vigil/internal/remotewrite"
)

// What the agent writes to its store and what it remote-writes to a real
// Prometheus read back identically through vigil, across an agent
// restart: the restarted agent's 0 a millisecond before the counter's
// first total (the reset marker Prometheus needs, still sent) adds no
// increment (issue 26: count 5 vs the store's 4, min 0 vs 3, count_le(0)
// 1 vs 0).
func TestRemoteWriteRestartReadsBackAsStore(t *testing.T) {
	prom := startPrometheus(t)
	db := filepath.Join(t.TempDir(), "v.db")
	t0 := time.Now().Add(-5*time.Minute).UnixMilli() / 1000 * 1000
	sec := func(ms int64) string { return strconv.FormatFloat(float64(ms)/1000, 'f', 3, 64) }
	for run, incs := range [][]float64{{3, 4}, {5, 6}} {
		addr, log, stop := runAgent(t, Config{DB: db, Interval: time.Hour,
			RemoteWrite: []string{"http://" + prom + "/api/v1/write"},
			remoteWrite: func(o *remotewrite.Options) { o.FlushInterval = 20 * time.Millisecond }})
		var body strings.Builder
		for i, inc := range incs {
			ts := t0 + int64(run)*60_000 + int64(i)*15_000 + 250
			fmt.Fprintf(&body, `{"ts":%s,"name":"rb_jobs_total","type":"counter","value":%g,"labels":{"q":"a"}}`+"\n", sec(ts), inc)
		}
		if code, msg := post(t, "http://"+addr+"/v1/metrics", body.String()); code != http.StatusAccepted {
			t.Fatalf("push: %d %s", code, msg)
		}
		if err := stop(); err != nil {
			t.Fatal(err)
		}
		if !strings.Contains(log.String(), "remote write: queue flushed") {
			t.Fatalf("run %d: queue not flushed:\n%s", run, log)
		}
	}
	// Prometheus holds the marker: its own resets() sees the restart.
	got, err := promQuery(prom, "resets(rb_jobs_total[10m])", t0+2*60_000)
	if err != nil || fmt.Sprint(got) != "map[map[q:a]:1]" {
		t.Fatalf("resets = %v (%v), want 1", got, err)
	}
	ctx := context.Background()
	open := func(src string) *analyze.DB {
		d, err := analyze.Open(ctx, []string{src}, analyze.Options{CacheDir: t.TempDir(), Timeout: 30 * time.Second})
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { d.Close() })
		return d
	}
	want, src := open(db), open("http://"+prom)
	marker := t0 + 60_000 + 249
	for _, p := range []string{"rb_jobs_total.count", "rb_jobs_total.min", "rb_jobs_total.max", "rb_jobs_total.sum",
		"rb_jobs_total.increase", "rb_jobs_total.count_le(0)", "rb_jobs_total.last"} {
		e, err := metricpath.Parse(p)
		if err != nil {
			t.Fatal(err)
		}
		for _, w := range []analyze.Window{
			{At: time.UnixMilli(t0 + 2*60_000), Length: 5 * time.Minute},
			{At: time.UnixMilli(t0 + 2*60_000), Length: time.Duration(t0+2*60_000-marker+1) * time.Millisecond},
			{At: time.UnixMilli(marker), Length: 5 * time.Minute},
		} {
			ws, err := want.Eval(ctx, e, w)
			if err != nil {
				t.Fatal(err)
			}
			gs, err := src.Eval(ctx, e, w)
			if err != nil {
				t.Fatalf("%s (source): %v", p, err)
			}
			if !same(ws, gs) || len(ws) == 0 {
				t.Errorf("%s over %s at %d: Prometheus reads %v, the store %v", p, w.Length, w.At.UnixMilli(), gs, ws)
			}
		}
	}
}

func same(a, b []analyze.Result) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if !reflect.DeepEqual(a[i].Labels, b[i].Labels) || a[i].Samples != b[i].Samples ||
			math.Float64bits(a[i].Value) != math.Float64bits(b[i].Value) {
			return false
		}
	}
	return true
}
