package dashboards

import (
	"errors"
	"strings"
	"testing"

	"github.com/prometheus/prometheus/promql/parser"

	"github.com/vigil-metrics/vigil/internal/metricpath"
)

// FuzzTranslate: every path vigil parses either has no PromQL equal
// (ErrNoEqual) or translates to PromQL that Prometheus's parser accepts,
// whatever the metrics' types, the window and the service (a name from
// the stores: anyone's).
func FuzzTranslate(f *testing.F) {
	for _, p := range []string{
		"http_requests_total.rate by (service)", "response_time_ms.p95 by (service, endpoint)",
		`http_requests_total{status=~"5.."}.increase by (service) / http_requests_total.increase by (service)`,
		`cpu_usage_percent{host!~"db-\\d+",dc="x"}.p99.9`, "q.count_le(300) / q.count", "x.last by (a)", "x.stddev",
		`m{a="quote\"and\\back"}.max`, "a:b_c.min by (le)",
	} {
		f.Add(p, byte(0), "1h", "api")
		f.Add(p, byte(5), "", `we"ird\svc`)
	}
	f.Fuzz(func(t *testing.T, path string, kinds byte, window, service string) {
		e, err := metricpath.Parse(path)
		if err != nil {
			return
		}
		all := []string{Counter, Gauge, Histogram}
		types := map[string]string{e.Num.Name: all[int(kinds)%3]}
		if e.Den != nil && e.Den.Name != e.Num.Name {
			types[e.Den.Name] = all[int(kinds/3)%3]
		}
		// The windows vigil writes: a duration (a rule's, an SLO's) or a
		// Grafana variable.
		switch {
		case window == "" || strings.HasPrefix(window, "$__"):
			window = ""
		case !validWindow(window):
			window = "5m"
		}
		q, err := Translate(e, types, TranslateOptions{Window: window, Service: service})
		if err != nil {
			if !errors.Is(err, ErrNoEqual) {
				t.Fatalf("%s: %v", path, err)
			}
			return
		}
		expr := strings.NewReplacer("$__rate_interval", "1m", "$__interval", "30s").Replace(q.Expr)
		if _, err := parser.NewParser(parser.Options{}).ParseExpr(expr); err != nil {
			t.Fatalf("%s (service %q): %v\n%s", path, service, err, expr)
		}
	})
}

// validWindow accepts the windows vtime writes for rules and SLOs.
func validWindow(w string) bool {
	for _, ok := range []string{"1h", "5m", "30d", "1w", "84m", "1d", "90s", "1h30m"} {
		if w == ok {
			return true
		}
	}
	return false
}
