package promstore_test

import (
	"fmt"
	"net/url"
	"strconv"
	"strings"
	"testing"

	"github.com/vigil-metrics/vigil/internal/promtest"
)

// The one place rebuilt totals cannot match a scraped counter: a window
// whose first sample comes just after a reset. Prometheus sees the
// scraped value restart near zero and stops its extrapolation towards
// the window's start where the counter would have been zero; the
// rebuilt total never drops, so vigil extrapolates the whole way. Every
// other window answers the same; those answer more, by at most the
// extrapolation (1.1 sample intervals' worth of the rate over the
// sampled interval), as docs/serve.md says.
func TestServeResetMismatch(t *testing.T) {
	const interval = 30_000
	const resetAt = 240 // the 240th reading restarts from 1
	start := fixtureEnd - 4*3600_000
	var om, jl strings.Builder
	om.WriteString("# TYPE restarts counter\n")
	raw := int64(0)
	var resetMS int64
	for i := 0; start+int64(i)*interval+1000 <= fixtureEnd; i++ {
		ms := start + int64(i)*interval + 1000
		inc := int64((i*7)%5 + 1)
		if i == resetAt {
			raw, inc, resetMS = 1, 1, ms
		} else {
			raw += inc
		}
		fmt.Fprintf(&om, "restarts_total %d %s\n", raw, secs(ms))
		fmt.Fprintf(&jl, `{"ts": %s, "name": "restarts_total", "type": "counter", "value": %d, "labels": {}}`+"\n", secs(ms), inc)
	}
	om.WriteString("# EOF\n")
	prom := promtest.Start(t, promtest.Blocks(t, om.String()))
	srv, _ := newServer(t, fixtureStores(t, jl.String()))
	const window = 5 * 60_000
	at := fixtureEnd - 7_123
	q := url.Values{"query": {"rate(restarts_total[5m])"}, "start": {secs(at - 3*3600_000)}, "end": {secs(at)}, "step": {"13"}}
	_, wb := get(t, prom.URL, "/api/v1/query_range", q)
	_, gb := get(t, srv.URL, "/api/v1/query_range", q)
	_, want := results(t, "prometheus", wb)
	_, got := results(t, "vigil", gb)
	w, g := want[""], got[""]
	if len(w) == 0 || len(w) != len(g) {
		t.Fatalf("%d points, prometheus %d", len(g), len(w))
	}
	differ := 0
	for i := range w {
		wv, _ := strconv.ParseFloat(w[i].V, 64)
		gv, _ := strconv.ParseFloat(g[i].V, 64)
		if g[i].T != w[i].T {
			t.Fatalf("point %d at %v, prometheus %v", i, g[i].T, w[i].T)
		}
		if gv == wv {
			continue
		}
		differ++
		ms := int64(w[i].T * 1000)
		// Only windows whose first sample is at most two samples after
		// the reset, and by at most the extrapolation's bound.
		if ms < resetMS || ms > resetMS+window+2*interval {
			t.Errorf("at %v (reset at %d ms): %v, prometheus %v: a window not just after the reset", w[i].T, resetMS, gv, wv)
		}
		t.Logf("at %v: %v, prometheus %v (+%.2f%%)", w[i].T, gv, wv, 100*(gv-wv)/wv)
		if bound := gv * 1.1 * interval / (window - 2*interval); gv < wv || gv-wv > bound {
			t.Errorf("at %v: %v, prometheus %v: more than the bound %v", w[i].T, gv, wv, bound)
		}
	}
	if differ == 0 {
		t.Error("no window differs: the documented mismatch is gone (update docs/serve.md)")
	}
	t.Logf("%d of %d points differ, all just after the reset", differ, len(w))
}
