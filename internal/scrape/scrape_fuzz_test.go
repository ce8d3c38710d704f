package scrape

import (
	"bytes"
	"testing"

	"github.com/vigil-metrics/vigil/internal/cumulative"
	"github.com/vigil-metrics/vigil/internal/fuzzseed"
)

// FuzzParse: any scraped (or pushed) exposition parses or is refused,
// and what parses converts to samples twice over (the second reading
// takes the counters' increments) without a panic, each with a name (the
// store judges the rest).
func FuzzParse(f *testing.F) {
	for _, b := range fuzzseed.Files(f, "testdata/import/sample.om") {
		f.Add(b)
	}
	for _, s := range []string{
		"# HELP up Up.\n# TYPE up gauge\nup 1\n",
		"# TYPE req_total counter\nreq_total{path=\"/a\",code=\"200\"} 10\nreq_total{path=\"/a\",code=\"500\"} 1 1795946400000\n",
		"# TYPE lat histogram\nlat_bucket{le=\"0.1\"} 1\nlat_bucket{le=\"+Inf\"} 2\nlat_sum 0.3\nlat_count 2\n",
		"# TYPE s summary\ns{quantile=\"0.5\"} 1\ns_sum 2\ns_count 3\n",
		"m{job=\"x\",instance=\"y\"} NaN\nm2 +Inf\nm3 -1e400\n",
		"untyped_metric{a=\"\\\"q\\\"\\n\\\\\"} 3\n",
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		fams, err := Parse(bytes.NewReader(data))
		if err != nil {
			return
		}
		tr := cumulative.New()
		target := map[string]string{"job": "j", "instance": "h:80"}
		for _, ts := range []int64{1795946400000, 1795946415000} {
			for _, s := range Convert(fams, target, "svc", ts, tr) {
				if s.Name == "" {
					t.Fatalf("sample without a name: %+v", s)
				}
			}
		}
	})
}

// FuzzParseTarget: any --scrape value is a target with an http(s) URL
// that has a host, or is refused.
func FuzzParseTarget(f *testing.F) {
	for _, s := range []string{"http://127.0.0.1:9100/metrics", "node=http://h:9100/metrics", "https://h", "ftp://h", "a/b=http://h", "=http://h", "job=", "http://[::1"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		tg, err := ParseTarget(s)
		if err != nil {
			return
		}
		if tg.Job == "" || tg.URL == "" || tg.Instance() == "" {
			t.Fatalf("%q: %+v (instance %q)", s, tg, tg.Instance())
		}
	})
}
