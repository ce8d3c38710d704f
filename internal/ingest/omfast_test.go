package ingest

import (
	"fmt"
	"runtime"
	"slices"
	"strings"
	"testing"

	"github.com/vigil-metrics/vigil/internal/fuzzseed"
)

// omMixed is an OpenMetrics file with several families: counters with a
// reset, a histogram (le spelled two ways), a summary, a gauge histogram,
// an info and an untyped series, labels in two orders and with escapes,
// _created lines; steps samples per series.
func omMixed(steps int) string {
	var b strings.Builder
	b.WriteString("# HELP req Requests.\n# TYPE req counter\n")
	totals := []float64{10, 15, 3, 7.5} // a reset at the third step
	for i := 0; i < steps; i++ {
		ts := 1795946400 + 10*int64(i)
		tot := totals[i%4] + float64(i/4)*100
		fmt.Fprintf(&b, "req_total{code=\"200\",path=\"/a\\\"b\\\\c\\n\"} %g %d\n", tot, ts)
		if i%2 == 0 { // one series, its labels in either order
			fmt.Fprintf(&b, "req_total{method=\"GET\",code=\"500\"} %g %d\n", tot*2, ts)
		} else {
			fmt.Fprintf(&b, "req_total{code=\"500\",method=\"GET\"} %g %d\n", tot*2, ts)
		}
		fmt.Fprintf(&b, "req_created{code=\"200\",path=\"x\"} 1795940000 %d\n", ts)
	}
	b.WriteString("# TYPE lat histogram\n")
	for i := 0; i < steps; i++ {
		ts := 1795946400 + 10*int64(i)
		le1 := "1.0"
		if i%2 == 1 {
			le1 = "1"
		}
		fmt.Fprintf(&b, "lat_bucket{le=\"0.1\"} %d %d\nlat_bucket{le=\"%s\"} %d %d\nlat_bucket{le=\"+Inf\"} %d %d\n", i, ts, le1, 2*i, ts, 3*i, ts)
		fmt.Fprintf(&b, "lat_sum %g %d\nlat_count %d %d\n", 0.5*float64(i), ts, 3*i, ts)
	}
	b.WriteString("# TYPE rpc summary\n")
	for i := 0; i < steps; i++ {
		ts := 1795946400 + 10*int64(i)
		fmt.Fprintf(&b, "rpc{quantile=\"0.5\"} %g %d\nrpc{quantile=\"0.99\"} %g %d\n", 0.1*float64(i), ts, 0.9+float64(i), ts)
		fmt.Fprintf(&b, "rpc_sum %d %d\nrpc_count %d %d\n", 10+i, ts, 40+4*i, ts)
	}
	b.WriteString("# TYPE gh gaugehistogram\n# TYPE up gauge\n# TYPE build info\n")
	for i := 0; i < steps; i++ {
		ts := 1795946400 + 10*int64(i)
		fmt.Fprintf(&b, "gh_bucket{le=\"+Inf\"} %d %d\ngh_gcount %d %d\ngh_gsum %d %d\n", i%3, ts, i%3, ts, i%5, ts)
		fmt.Fprintf(&b, "up{job=\"a\"} %d %d\nbuild_info{version=\"1.0\"} 1 %d\nloose %d %d\n", i%2, ts, ts, -i, ts)
	}
	return b.String()
}

// The spelling cache (fastPath) must store exactly what resolving every
// line does, whatever the chunking, and refuse a bad line late in the
// file at its line with nothing written.
func TestOpenMetricsFastPathMatchesReference(t *testing.T) {
	defer func(n int) { chunkSize = n }(chunkSize)
	text := omMixed(12)
	run := func(useFast bool, text string) ([]string, error) {
		defer func(old bool) { fastPath = old }(fastPath)
		fastPath = useFast
		s := newStore(t)
		_, err := importOM(t, s, "mixed.om", text)
		return omRows(t, s), err
	}
	lines := strings.Count(text, "\n")
	for _, size := range []int{4 << 20, 100} {
		chunkSize = size
		fast, err := run(true, text+"# EOF\n")
		if err != nil {
			t.Fatalf("chunk %d: %v", size, err)
		}
		ref, err := run(false, text+"# EOF\n")
		if err != nil {
			t.Fatalf("chunk %d: reference: %v", size, err)
		}
		sameRows(t, fmt.Sprintf("chunk %d: fast vs reference", size), fast, ref)
		// 12 steps, a baseline each: 11 rows for each of req_total (2),
		// lat (5) and rpc _sum/_count (2); 12 for rpc's 2 quantiles and
		// gh (3), up, build_info and loose: 9*11 + 8*12 rows.
		if want := 9*11 + 8*12; len(fast) != want {
			t.Errorf("chunk %d: %d rows, want %d", size, len(fast), want)
		}
		// Worked out by hand: totals 10, 15, 3 (a reset), 7.5 store 5, 3, 4.5;
		// the escaped label value reads back as a"b\c and a newline.
		for _, row := range []string{
			`1795946410.000 req_total counter 5 {"code":"200","path":"/a\"b\\c\n"}`,
			`1795946420.000 req_total counter 3 {"code":"200","path":"/a\"b\\c\n"}`,
			`1795946430.000 req_total counter 4.5 {"code":"200","path":"/a\"b\\c\n"}`,
			`1795946420.000 req_total counter 6 {"code":"500","method":"GET"}`,
			`1795946420.000 lat_bucket counter 2 {"le":"1"}`,
			`1795946430.000 rpc gauge 3.9 {"quantile":"0.99"}`,
			`1795946430.000 gh_bucket gauge 0 {"le":"+Inf"}`,
		} {
			if !strings.Contains(strings.Join(fast, "\n")+"\n", row+"\n") {
				t.Errorf("chunk %d: no row %s", size, row)
			}
		}
		late := []struct{ line, want string }{
			{`req_total{code="200",path="/a\"b\\c\n"} 1 1795946400`, "out-of-order sample"},
			{`req_total{method="GET",code="500"} NaN 1795946900`, "value is NaN"},
			{`lat_bucket{le="0.1"} 1`, "sample has no timestamp"},
			{`up{job="a",job="b"} 1 1795946900`, "label job given twice"},
			{`up{job="a"} 1 1795946900 x`, "malformed line"},
			{`gh_gsum +Inf 1795946900`, "value is infinite"},
		}
		for _, c := range late {
			bad := text + c.line + "\nup{job=\"a\"} 1 1795947000\n# EOF\n"
			for _, useFast := range []bool{true, false} {
				defer func(old bool) { fastPath = old }(fastPath)
				fastPath = useFast
				err := omBadImport(t, "mixed.om", bad)
				at := fmt.Sprintf("mixed.om:%d: ", lines+1)
				if err == nil || !strings.HasPrefix(err.Error(), at) || !strings.Contains(err.Error(), c.want) {
					t.Errorf("chunk %d, fast %v: %s: err = %v, want %s...%s", size, useFast, c.line, err, at, c.want)
				}
			}
		}
	}
}

// A known series costs no per-line decoding: the labels are spelled, and
// the series looked up, once per spelling. Before the spelling cache every
// line built a label map, a canonical JSON spelling and a store lookup
// (about 30 allocations a line); what remains (3 a line) is the
// parser's timestamp and the store's insert.
func TestOpenMetricsKnownSeriesAllocs(t *testing.T) {
	file := func(steps int) string {
		var b strings.Builder
		b.WriteString("# TYPE req counter\n")
		for i := 0; i <= steps; i++ {
			fmt.Fprintf(&b, "req_total{code=\"200\",path=\"/api/v1/items\",method=\"GET\"} %d %d\n", 3*i, 1795946400+10*i)
		}
		b.WriteString("# EOF\n")
		return b.String()
	}
	mallocs := func(text string) uint64 {
		s := newStore(t)
		var before, after runtime.MemStats
		runtime.ReadMemStats(&before)
		if _, err := importOM(t, s, "req.om", text); err != nil {
			t.Fatal(err)
		}
		runtime.ReadMemStats(&after)
		return after.Mallocs - before.Mallocs
	}
	const n = 20000
	small, big := mallocs(file(n)), mallocs(file(2*n))
	perLine := (float64(big) - float64(small)) / n
	t.Logf("%.2f allocations a line", perLine)
	if perLine > 4 {
		t.Errorf("%.2f allocations per line of a known series, want at most 4", perLine)
	}
}

// FuzzOpenMetricsFastPath: whatever the file, the spelling cache and
// resolving every line agree on what is stored and on the error.
// `go test -fuzz FuzzOpenMetricsFastPath ./internal/ingest/` explores;
// plain `go test` runs the seeds.
func FuzzOpenMetricsFastPath(f *testing.F) {
	for _, b := range fuzzseed.Files(f, "testdata/import/sample.om") {
		f.Add(b)
	}
	f.Add([]byte(omMixed(3) + "# EOF\n"))
	for _, c := range badOM {
		f.Add([]byte(c.text))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		fast, full, fe, se := importBoth(t, "f.om", string(data))
		slices.Sort(fast)
		slices.Sort(full)
		if fe != se || !slices.Equal(fast, full) {
			t.Fatalf("%q:\n fast %q %q\n full %q %q", data, fast, fe, full, se)
		}
	})
}
