package ingest

import (
	"context"
	"errors"
	"fmt"
	"os"
	"strings"
	"testing"

	"github.com/vigil-metrics/vigil/internal/cumulative"
	"github.com/vigil-metrics/vigil/internal/scrape"
	"github.com/vigil-metrics/vigil/internal/store"
)

// omRows lists the store's samples as "ts name type value labels".
func omRows(t *testing.T, s *store.Store) []string {
	t.Helper()
	rows, err := s.DBForTest().Query("SELECT timestamp, name, type, value, labels, service_name FROM metrics ORDER BY timestamp, name, labels")
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	var out []string
	for rows.Next() {
		var ts, v float64
		var n, ty, l, sv string
		if err := rows.Scan(&ts, &n, &ty, &v, &l, &sv); err != nil {
			t.Fatal(err)
		}
		if sv != "" {
			t.Errorf("service %q, want none", sv)
		}
		out = append(out, fmt.Sprintf("%.3f %s %s %g %s", ts, n, ty, v, l))
	}
	if err := rows.Err(); err != nil {
		t.Fatal(err)
	}
	return out
}

func importOM(t *testing.T, s *store.Store, name, text string) (int64, error) {
	t.Helper()
	return Import(context.Background(), s, []Source{{Name: name, R: strings.NewReader(text), Format: OpenMetrics}})
}

func sameRows(t *testing.T, what string, got, want []string) {
	t.Helper()
	if strings.Join(got, "\n") != strings.Join(want, "\n") {
		t.Errorf("%s: got\n%s\nwant\n%s", what, strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
}

// What testdata/import/sample.om holds, worked out by hand: counters and
// histogram/summary sums and counts store increments after a baseline
// (15-10=5, reset to 3 stores 3, 7.5-3=4.5; buckets 2-1, 5-3, 7-4; sum
// 4-2.5, count 7-4), gauges
// and quantiles their values, _created lines nothing, le="1.0" is le="1".
var sampleOMRows = []string{
	`1795946400.000 rpc_duration_seconds gauge 0.2 {"quantile":"0.5"}`,
	`1795946400.000 rpc_duration_seconds gauge 0.9 {"quantile":"0.99"}`,
	`1795946400.000 temperature_celsius gauge 21.5 {"room":"a b"}`,
	`1795946405.000 queue_depth gauge 4 {}`,
	`1795946410.000 http_requests_total counter 5 {"method":"GET"}`,
	`1795946410.250 temperature_celsius gauge -2 {"room":"a b"}`,
	`1795946420.000 http_requests_total counter 3 {"method":"GET"}`,
	`1795946430.500 http_requests_total counter 4.5 {"method":"GET"}`,
	`1795946460.000 latency_seconds_bucket counter 3 {"le":"+Inf"}`,
	`1795946460.000 latency_seconds_bucket counter 1 {"le":"0.1"}`,
	`1795946460.000 latency_seconds_bucket counter 2 {"le":"1"}`,
	`1795946460.000 latency_seconds_count counter 3 {}`,
	`1795946460.000 latency_seconds_sum counter 1.5 {}`,
	`1795946460.000 rpc_duration_seconds gauge 0.25 {"quantile":"0.5"}`,
	`1795946460.000 rpc_duration_seconds gauge 1.5 {"quantile":"0.99"}`,
	`1795946460.000 rpc_duration_seconds_count counter 10 {}`,
	`1795946460.000 rpc_duration_seconds_sum counter 2.5 {}`,
}

func TestImportOpenMetricsFixture(t *testing.T) {
	for _, format := range []Format{OpenMetrics, ""} { // given, and detected from .om
		f, err := os.Open("../../testdata/import/sample.om")
		if err != nil {
			t.Fatal(err)
		}
		s := newStore(t)
		n, err := Import(context.Background(), s, []Source{{Name: "sample.om", R: f, Format: format}})
		f.Close()
		if err != nil || n != int64(len(sampleOMRows)) {
			t.Fatalf("format %q: Import = %d, %v; want %d", format, n, err, len(sampleOMRows))
		}
		sameRows(t, "sample.om", omRows(t, s), sampleOMRows)
	}
}

// A counter (with a reset), a histogram and a summary scraped at three
// instants: the scraper's Convert and the OpenMetrics import of the same
// readings store the same series and increments.
func TestOpenMetricsCountersMatchScrape(t *testing.T) {
	type reading struct {
		ts                  int64 // unix seconds
		reqs                float64
		b05, b1, bInf, hsum float64 // histogram buckets le=0.5, 1, +Inf and sum
		q5, ssum, scount    float64
	}
	readings := []reading{
		{1795946400, 3, 1, 2, 2, 0.75, 0.1, 1, 4},
		{1795946415, 8, 2, 4, 5, 2.5, 0.2, 3, 9},
		{1795946430, 20, 2, 6, 8, 4, 0.3, 3.5, 10},
		{1795946445, 2, 0, 1, 1, 0.5, 0.4, 0.25, 1}, // every counter restarts
		{1795946460, 6, 1, 1, 3, 5, 0.5, 1, 2},
	}
	// Hand-computed: 8-3, 20-8, reset 2, 6-2.
	wantReqs := []string{
		`1795946415.000 reqs_total counter 5 {"path":"/"}`,
		`1795946430.000 reqs_total counter 12 {"path":"/"}`,
		`1795946445.000 reqs_total counter 2 {"path":"/"}`,
		`1795946460.000 reqs_total counter 4 {"path":"/"}`,
	}

	scraped := newStore(t)
	tr := cumulative.New()
	for _, r := range readings {
		text := fmt.Sprintf(`# TYPE reqs_total counter
reqs_total{path="/"} %g
# TYPE lat histogram
lat_bucket{le="0.5"} %g
lat_bucket{le="1"} %g
lat_bucket{le="+Inf"} %g
lat_sum %g
lat_count %g
# TYPE rpc summary
rpc{quantile="0.5"} %g
rpc_sum %g
rpc_count %g
`, r.reqs, r.b05, r.b1, r.bInf, r.hsum, r.bInf, r.q5, r.ssum, r.scount)
		fams, err := scrape.Parse(strings.NewReader(text))
		if err != nil {
			t.Fatal(err)
		}
		samples := scrape.Convert(fams, nil, "", r.ts*1000, tr)
		if _, err := scraped.Write(context.Background(), samples); err != nil {
			t.Fatal(err)
		}
		tr.Sweep()
	}

	var om strings.Builder
	om.WriteString("# TYPE reqs counter\n# TYPE lat histogram\n# TYPE rpc summary\n")
	for _, r := range readings {
		fmt.Fprintf(&om, `reqs_total{path="/"} %g %d
reqs_created{path="/"} 1795940000 %d
lat_bucket{le="0.50"} %g %d
lat_bucket{le="1.0"} %g %d
lat_bucket{le="+Inf"} %g %d
lat_sum %g %d
lat_count %g %d
rpc{quantile="0.50"} %g %d
rpc_sum %g %d
rpc_count %g %d
`, r.reqs, r.ts, r.ts, r.b05, r.ts, r.b1, r.ts, r.bInf, r.ts, r.hsum, r.ts, r.bInf, r.ts, r.q5, r.ts, r.ssum, r.ts, r.scount, r.ts)
	}
	om.WriteString("# EOF\n")
	imported := newStore(t)
	if _, err := importOM(t, imported, "scrape.om", om.String()); err != nil {
		t.Fatal(err)
	}

	want := omRows(t, scraped)
	sameRows(t, "import vs scrape", omRows(t, imported), want)
	var reqs []string
	for _, r := range want {
		if strings.Contains(r, "reqs_total") {
			reqs = append(reqs, r)
		}
	}
	sameRows(t, "scraped reqs_total", reqs, wantReqs)
	// 4 increments for each of reqs_total, 3 buckets, 2 sums, 2 counts
	// after the baselines, and 5 quantile values.
	if len(want) != 4*8+5 {
		t.Errorf("%d rows, want %d", len(want), 4*8+5)
	}
}

// Grouped by series, interleaved by time (within and across families, with
// or without repeated metadata): the same samples whatever the layout.
func TestOpenMetricsLayouts(t *testing.T) {
	type pt struct {
		series string
		v      float64
	}
	times := []int64{1795946400, 1795946460, 1795946520}
	vals := map[int64][]pt{
		1795946400: {{`a_total{x="1"}`, 1}, {`a_total{x="2"}`, 10}, {`b`, 0.5}},
		1795946460: {{`a_total{x="1"}`, 4}, {`a_total{x="2"}`, 11}, {`b`, 0.25}},
		1795946520: {{`a_total{x="1"}`, 9}, {`a_total{x="2"}`, 1}, {`b`, 2}},
	}
	var grouped, interleaved, repeated strings.Builder
	grouped.WriteString("# TYPE a counter\n")
	for i := 0; i < 3; i++ {
		if i == 2 {
			grouped.WriteString("# TYPE b gauge\n")
		}
		for _, ts := range times {
			p := vals[ts][i]
			fmt.Fprintf(&grouped, "%s %g %d\n", p.series, p.v, ts)
		}
	}
	interleaved.WriteString("# TYPE a counter\n# TYPE b gauge\n")
	for _, ts := range times {
		repeated.WriteString("# TYPE a counter\n")
		for i, p := range vals[ts] {
			if i == 2 {
				repeated.WriteString("# HELP b A gauge.\n# TYPE b gauge\n")
			}
			fmt.Fprintf(&interleaved, "%s %g %d\n", p.series, p.v, ts)
			fmt.Fprintf(&repeated, "%s %g %d\n", p.series, p.v, ts)
		}
	}
	want := []string{
		`1795946400.000 b gauge 0.5 {}`,
		`1795946460.000 a_total counter 3 {"x":"1"}`,
		`1795946460.000 a_total counter 1 {"x":"2"}`,
		`1795946460.000 b gauge 0.25 {}`,
		`1795946520.000 a_total counter 5 {"x":"1"}`,
		`1795946520.000 a_total counter 1 {"x":"2"}`,
		`1795946520.000 b gauge 2 {}`,
	}
	for name, b := range map[string]*strings.Builder{"grouped": &grouped, "interleaved": &interleaved, "repeated": &repeated} {
		s := newStore(t)
		if _, err := importOM(t, s, name+".om", b.String()+"# EOF\n"); err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		sameRows(t, name, omRows(t, s), want)
	}
}

var badOM = []struct{ name, text, want string }{
	{"nots.om", "# TYPE g gauge\ng 1 1795946400\ng 2\n# EOF\n",
		"nots.om:3: sample has no timestamp (OpenMetrics import needs one per sample)"},
	{"order.om", "# TYPE c counter\nc_total 1 1795946400\nc_total 2 1795946410\nc_total 3 1795946405\n# EOF\n",
		"order.om:4: out-of-order sample: c_total{} at 1795946405 is not after the sample at line 3 (at 1795946410)"},
	{"same.om", "g{a=\"1\"} 1 1795946400\ng{a=\"2\"} 1 1795946400\ng{a=\"1\"} 2 1795946400.0\n# EOF\n",
		`same.om:3: out-of-order sample: g{"a":"1"} at 1795946400 is not after the sample at line 1`},
	{"malformed.om", "g 1 1795946400\ng{a=\"x\" 1 1795946400\n# EOF\n", `malformed.om:2: malformed line: expected comma or brace close, got " " while parsing`},
	{"value.om", "g 1 1795946400\ng one 1795946400\n# EOF\n", `value.om:2: malformed line: "one" is not a number`},
	{"blank.om", "g 1 1795946400\n\ng 2 1795946410\n# EOF\n", "blank.om:2: malformed line: empty line"},
	{"type.om", "# TYPE g gauge\n# TYPE h nonsense\n# EOF\n", `type.om:2: malformed line: invalid metric type "nonsense"`},
	{"noeof.om", "g 1 1795946400\ng 2 1795946410\n", "noeof.om:3: data does not end with # EOF"},
	{"noeof2.om", "g 1 1795946400\n\n\n", "noeof2.om:2: malformed line: empty line"},
	{"empty.om", "", "empty.om:1: data does not end with # EOF"},
	{"after.om", "g 1 1795946400\n# EOF\n\ng 2 1795946410\n", "after.om:4: unexpected data after # EOF"},
	{"after2.om", "g 1 1795946400\n# EOF\n# EOF\n", "after2.om:3: unexpected data after # EOF"},
	{"negts.om", "g 1 1795946400\ng 2 -5\n# EOF\n", "negts.om:2: ts -5 is in the year 1969 (want a time from 2000-01-01 to 2100-01-01)"},
	{"bigts.om", "g 1 1795946400\ng 2 1e12\n# EOF\n", "bigts.om:2: ts 1000000000000 is in the year 33658; looks like milliseconds (want unix seconds)"},
	{"textts.om", "g 1 1795946400\ng 2 yesterday\n# EOF\n", `textts.om:2: malformed line: "yesterday" is not a number`},
	{"nan.om", "g 1 1795946400\ng NaN 1795946410\n# EOF\n", "nan.om:2: value is NaN"},
	{"nanc.om", "# TYPE c counter\nc_total NaN 1795946400\n# EOF\n", "nanc.om:2: value is NaN"},
	{"inf.om", "g +Inf 1795946410\n# EOF\n", "inf.om:1: value is infinite"},
	{"retype.om", "# TYPE g gauge\ng 1 1795946400\n# TYPE g counter\n# EOF\n", "retype.om:3: # TYPE g counter contradicts # TYPE g gauge at line 1"},
	{"clash.om", "c_total 1 1795946400\n# TYPE c counter\nc_total 2 1795946410\nc_total 3 1795946420\n# EOF\n", "clash.om:4: metric c_total is a gauge, not a counter"},
	{"hist.om", "# TYPE h histogram\nh 1 1795946400\n# EOF\n", "hist.om:2: histogram family h has no sample named h"},
	{"utf8.om", "{\"my.metric\"} 1 1795946400\n# EOF\n", `utf8.om:1: invalid metric name "my.metric"`},
}

func TestOpenMetricsRejectsBadInput(t *testing.T) {
	for _, c := range badOM {
		t.Run(c.name, func(t *testing.T) {
			err := omBadImport(t, c.name, c.text)
			if err == nil || !strings.Contains(err.Error(), c.want) {
				t.Fatalf("err = %v, want one containing %q", err, c.want)
			}
			t.Log(err)
		})
	}
}

// omBadImport imports text into a store that already holds samples and
// checks that the refused import left them as they were.
func omBadImport(t *testing.T, name, text string) error {
	t.Helper()
	s := newStore(t)
	good := `{"ts": 1795946300, "name": "before", "type": "gauge", "value": 1}` + "\n"
	if _, err := Import(context.Background(), s, []Source{{Name: "good.jsonl", R: strings.NewReader(good + good)}}); err != nil {
		t.Fatal(err)
	}
	before := omRows(t, s)
	n, err := importOM(t, s, name, text)
	var ie *InputError
	if err != nil && !errors.As(err, &ie) {
		t.Errorf("err = %v (%T), want an InputError", err, err)
	}
	if n != 0 {
		t.Errorf("Import = %d samples, want 0", n)
	}
	sameRows(t, "store after a refused import", omRows(t, s), before)
	if len(before) != 2 {
		t.Errorf("store held %d samples before, want 2", len(before))
	}
	return err
}

func TestOpenMetricsWhitespaceAfterEOF(t *testing.T) {
	bom := "\ufeffg 0 1795946390\n# EOF\n"
	if n, err := importOM(t, newStore(t), "bom.om", bom); err != nil || n != 1 {
		t.Errorf("leading BOM: Import = %d, %v", n, err)
	}
	for _, tail := range []string{"", "\n", "\n\n  \n", " \t"} {
		s := newStore(t)
		text := "g 1 1795946400\ng 2 1795946410\n# EOF" + tail
		if n, err := importOM(t, s, "ws.om", text); err != nil || n != 2 {
			t.Errorf("tail %q: Import = %d, %v", tail, n, err)
		}
	}
}

// Tiny chunks cut lines, the # EOF, metadata and families apart; results
// and error lines must not change.
func TestOpenMetricsChunkBoundaries(t *testing.T) {
	fixture, err := os.ReadFile("../../testdata/import/sample.om")
	if err != nil {
		t.Fatal(err)
	}
	defer func(n int) { chunkSize = n }(chunkSize)
	for _, size := range []int{1, 7, 30, 64, 200} {
		chunkSize = size
		s := newStore(t)
		if _, err := importOM(t, s, "sample.om", string(fixture)+"\n\n"); err != nil {
			t.Fatalf("chunk %d: %v", size, err)
		}
		sameRows(t, fmt.Sprintf("chunk %d", size), omRows(t, s), sampleOMRows)
		for _, c := range badOM {
			err := omBadImport(t, c.name, c.text)
			if err == nil || !strings.Contains(err.Error(), c.want) {
				t.Errorf("chunk %d: err = %v, want one containing %q", size, err, c.want)
			}
		}
	}
}

func TestOpenMetricsLongLine(t *testing.T) {
	defer func(c, m int) { chunkSize, maxLineBytes = c, m }(chunkSize, maxLineBytes)
	chunkSize, maxLineBytes = 16, 100
	long := `g{a="` + strings.Repeat("x", 81) + `"} 1 1795946400` // 101 bytes
	ok := `g{a="` + strings.Repeat("x", 80) + `"} 1 1795946400`   // 100 bytes
	s := newStore(t)
	if n, err := importOM(t, s, "ok.om", "g 1 1795946400\n"+ok+"\n# EOF\n"); err != nil || n != 2 {
		t.Fatalf("100-byte line: Import = %d, %v", n, err)
	}
	for _, text := range []string{"g 1 1795946400\n" + long + "\n# EOF\n", "g 1 1795946400\n" + long} {
		err := omBadImport(t, "long.om", text)
		if want := "long.om:2: line longer than 100 bytes"; err == nil || err.Error() != want {
			t.Errorf("err = %v, want %s", err, want)
		}
	}
	if got := sizeName(16 << 20); got != "16 MiB" {
		t.Errorf("sizeName = %q", got)
	}
}

func TestDetectOpenMetrics(t *testing.T) {
	cases := []struct{ name, head string }{
		{"x.om", ""}, {"X.PROM", "g 1 2"},
		{"-", "# HELP g A gauge.\n"}, {"-", "# TYPE g gauge\n"}, {"-", "# UNIT g_seconds seconds\n"},
		{"-", "# EOF\n"}, {"data", "\n\n# TYPE g gauge\n"},
	}
	for _, c := range cases {
		if got := Detect(c.name, []byte(c.head)); got != OpenMetrics {
			t.Errorf("Detect(%q, %q) = %s, want openmetrics", c.name, c.head, got)
		}
	}
	for _, f := range []string{"openmetrics", "om"} {
		if got, err := ParseFormat(f); err != nil || got != OpenMetrics {
			t.Errorf("ParseFormat(%q) = %s, %v", f, got, err)
		}
	}
	// Sniffed content imports without a --format.
	s := newStore(t)
	n, err := Import(context.Background(), s, []Source{{Name: "-", R: strings.NewReader("# TYPE g gauge\ng 1 1795946400\n# EOF\n")}})
	if err != nil || n != 1 {
		t.Fatalf("Import = %d, %v", n, err)
	}
	sameRows(t, "sniffed", omRows(t, s), []string{`1795946400.000 g gauge 1 {}`})
}
