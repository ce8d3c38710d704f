package promstore_test

import (
	"context"
	"fmt"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"github.com/vigil-metrics/vigil/internal/ingest"
	"github.com/vigil-metrics/vigil/internal/store"
)

// fixtureEnd is the fixture's last instant (2026-11-29T10:00:00Z, ms).
const fixtureEnd = int64(1795946400_000)

// fixtureBuckets are the bounds served for response_time_ms.
var fixtureBuckets = map[string][]float64{"response_time_ms": {50, 100, 250, 400}}

// fixture is the same samples written twice: as OpenMetrics for
// promtool (counters and histograms as the cumulative series a scrape
// of them gives) and as the JSON Lines of two stores (counters as their
// increments, histograms as raw observations). Six hours at uneven
// offsets, so no query instant of the tests falls on a sample (a range
// selector is closed at its start in Prometheus 2.42, open in 3.x).
//
// Counters count tenths: the store adds fl(k/10) increments one by one,
// Prometheus holds each exact total rounded once, so the two differ by
// the rounding of a running sum (the tolerance of the tests).
func fixture() (om string, jsonl [2]string) {
	const span = 6 * 3600_000
	start := fixtureEnd - span
	var o strings.Builder
	var j [2]strings.Builder
	line := func(st int, ms int64, name, typ, svc string, v string, labels string) {
		fmt.Fprintf(&j[st], `{"ts": %s, "name": %q, "type": %q, "value": %s, "labels": {%s}, "service": %q}`+"\n",
			secs(ms), name, typ, v, labels, svc)
	}
	// Gauges: tenths and quarters (sums not exact in binary); host c in
	// the second store.
	o.WriteString("# TYPE cpu gauge\n")
	for h, host := range []string{"a", "b", "c"} {
		dc := []string{"x", "y", "x"}[h]
		off := []int64{500, 3250, 7000}[h]
		for i := 0; start+off+int64(i)*15_000 <= fixtureEnd; i++ {
			ms := start + off + int64(i)*15_000
			v := float64((i*7+h*13)%20)*0.25 + float64(h) + float64(i%3)*0.1
			s := strconv.FormatFloat(v, 'g', -1, 64)
			fmt.Fprintf(&o, "cpu{dc=%q,host=%q} %s %s\n", dc, host, s, secs(ms))
			line(h/2, ms, "cpu", "gauge", "", s, fmt.Sprintf(`"dc": %q, "host": %q`, dc, host))
		}
	}
	// Counters, with service: api's requests every 30 s, web's every 45 s.
	o.WriteString("# TYPE req counter\n")
	for si, svc := range []string{"api", "web"} {
		tenths := int64(0)
		period := []int64{30_000, 45_000}[si]
		for i := 0; start+1000+int64(i)*period <= fixtureEnd; i++ {
			ms := start + 1000 + int64(i)*period
			k := int64((i*7+si*3)%23 + 1)
			tenths += k
			fmt.Fprintf(&o, "req_total{code=\"200\",service=%q} %d.%d %s\n", svc, tenths/10, tenths%10, secs(ms))
			line(0, ms, "req_total", "counter", svc, strconv.FormatFloat(float64(k)/10, 'g', -1, 64), `"code": "200"`)
		}
	}
	// Raw observations every 10 s (two at some instants), whole
	// milliseconds: the served _sum is exact.
	o.WriteString("# TYPE response_time_ms histogram\n")
	bounds := []float64{50, 100, 250, 400}
	var count, sum int64
	le := make([]int64, len(bounds))
	for i := 0; start+250+int64(i)*10_000 <= fixtureEnd; i++ {
		ms := start + 250 + int64(i)*10_000
		obs := []int64{int64(20 + (i*37)%500)}
		if i%9 == 4 {
			obs = append(obs, int64(5+(i*13)%300))
		}
		for _, x := range obs {
			count++
			sum += x
			for b, ub := range bounds {
				if float64(x) <= ub {
					le[b]++
				}
			}
			line(1, ms, "response_time_ms", "histogram", "api", strconv.FormatInt(x, 10), "")
		}
		for b, ub := range bounds {
			fmt.Fprintf(&o, "response_time_ms_bucket{le=%q,service=\"api\"} %d %s\n", strconv.FormatFloat(ub, 'g', -1, 64), le[b], secs(ms))
		}
		fmt.Fprintf(&o, "response_time_ms_bucket{le=\"+Inf\",service=\"api\"} %d %s\n", count, secs(ms))
		fmt.Fprintf(&o, "response_time_ms_count{service=\"api\"} %d %s\n", count, secs(ms))
		fmt.Fprintf(&o, "response_time_ms_sum{service=\"api\"} %d %s\n", sum, secs(ms))
	}
	o.WriteString("# EOF\n")
	return o.String(), [2]string{j[0].String(), j[1].String()}
}

// secs writes unix ms as exact decimal seconds.
func secs(ms int64) string {
	s := fmt.Sprintf("%d.%03d", ms/1000, ms%1000)
	return strings.TrimSuffix(strings.TrimRight(s, "0"), ".")
}

// fixtureStores imports the fixture's JSON Lines into two new stores.
func fixtureStores(t *testing.T, jsonl ...string) []string {
	t.Helper()
	dir := t.TempDir()
	var paths []string
	for i, text := range jsonl {
		p := filepath.Join(dir, fmt.Sprintf("host%d.db", i))
		st, err := store.Open(context.Background(), p, store.Options{})
		if err != nil {
			t.Fatal(err)
		}
		if _, err := ingest.Import(context.Background(), st, []ingest.Source{{Name: "f.jsonl", R: strings.NewReader(text), Format: ingest.JSONL}}); err != nil {
			t.Fatal(err)
		}
		st.Close()
		paths = append(paths, p)
	}
	return paths
}
