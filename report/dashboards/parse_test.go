package dashboards

import (
	"encoding/json"
	"testing"
	"time"

	"github.com/prometheus/prometheus/promql/parser"
)

// Every query Grafana would send for the generated dashboards, after its
// variables are filled in, is PromQL that Prometheus's own parser (the
// one vigil serve runs) accepts: the variables' values, Go's "2h0m10s"
// for $__rate_interval, (?i:true) in a matcher, the or/!= of ratios.
func TestReplayedQueriesParse(t *testing.T) {
	in := testInput(t)
	// Names from the stores are anyone's: quotes, backslashes, a newline,
	// invalid UTF-8 are quoted into the PromQL, never break out of it.
	in.Catalog.add("http_requests_total", Counter, "we\"ird\\svc\n\xff", map[string]string{"status": "500"})
	files, _, err := Build(in)
	if err != nil {
		t.Fatal(err)
	}
	to := time.Date(2026, 11, 29, 12, 0, 0, 0, time.UTC)
	n := 0
	for _, f := range files {
		var d Dashboard
		if err := json.Unmarshal(f.Data, &d); err != nil {
			t.Fatal(err)
		}
		for _, rng := range []time.Duration{time.Hour, 7 * 24 * time.Hour} {
			reqs, err := Replay(&d, Datasource{TimeInterval: "10s"}, to.Add(-rng), to, map[string][]string{"host": {"h1", `web.2\x`}})
			if err != nil {
				t.Fatal(err)
			}
			for _, r := range reqs {
				n++
				if _, err := parser.NewParser(parser.Options{}).ParseExpr(r.Form.Get("query")); err != nil {
					t.Errorf("%s panel %q: %v\n%s", f.Name, r.Panel, err, r.Form.Get("query"))
				}
			}
		}
	}
	if n < 40 {
		t.Errorf("%d queries replayed, want every panel's (40 or more)", n)
	}
}
