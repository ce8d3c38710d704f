package dashboards

import (
	"errors"
	"testing"

	"github.com/vigil-metrics/vigil/internal/metricpath"
)

// The expected PromQL is written by hand from docs/dashboards.md's table,
// not copied from Translate's output.
func TestTranslate(t *testing.T) {
	types := map[string]string{
		"http_requests_total": Counter, "response_time_ms": Histogram, "cpu_usage_percent": Gauge,
		"queue_depth": Gauge, "jobs": Counter,
	}
	cases := []struct {
		path, window, service string
		want                  string
		exact                 bool
	}{
		{"http_requests_total.rate by (service)", "", "",
			`sum by (service) (rate(http_requests_total[$__rate_interval]))`, false},
		// A bare counter is its rate; jobs has no _total but the store says counter.
		{"jobs", "", "", `sum (rate(jobs[$__rate_interval]))`, false},
		{"http_requests_total.increase", "1h", "api", `sum (increase(http_requests_total{service="api"}[1h]))`, false},
		{`http_requests_total{service="web"}.sum`, "", "api", `sum (increase(http_requests_total{service="web"}[$__rate_interval]))`, false},
		{"response_time_ms.p95 by (service, endpoint)", "", "",
			`histogram_quantile(0.95, sum by (service, endpoint, le) (rate(response_time_ms_bucket[$__rate_interval])))`, false},
		{"response_time_ms.p99.9", "5m", "api",
			`histogram_quantile(0.999, sum by (le) (rate(response_time_ms_bucket{service="api"}[5m])))`, false},
		{"response_time_ms", "", "", `sum (increase(response_time_ms_sum[$__rate_interval])) / sum (increase(response_time_ms_count[$__rate_interval]))`, false},
		{"response_time_ms.count by (service)", "", "", `sum by (service) (increase(response_time_ms_count[$__rate_interval]))`, false},
		{"response_time_ms.count_le(300)", "", "", `sum (increase(response_time_ms_bucket{le="300"}[$__rate_interval]))`, false},
		{"cpu_usage_percent", "", "", `sum (sum_over_time(cpu_usage_percent[$__interval])) / sum (count_over_time(cpu_usage_percent[$__interval]))`, true},
		{`cpu_usage_percent{host=~"web-.*"}.max by (host)`, "", "", `max by (host) (max_over_time(cpu_usage_percent{host=~"web-.*"}[$__interval]))`, true},
		{"cpu_usage_percent.min", "", "", `min (min_over_time(cpu_usage_percent[$__interval]))`, true},
		{"queue_depth.count", "", "", `sum (count_over_time(queue_depth[$__interval]))`, true},
		{"queue_depth.sum by (service)", "", "", `sum by (service) (sum_over_time(queue_depth[$__interval]))`, true},
		{"queue_depth.last", "", "", `max (last_over_time(queue_depth[$__interval]))`, false},
		{"queue_depth.stddev", "", "", `max (stddev_over_time(queue_depth[$__interval]))`, false},
		{"cpu_usage_percent.p90 by (host)", "10m", "", `max by (host) (quantile_over_time(0.9, cpu_usage_percent[10m]))`, false},
		// A name the stores do not know: _total reads as a counter.
		{"orders_total.rate", "", "", `sum (rate(orders_total[$__rate_interval]))`, false},
		// The silent-counter rule and the zero denominator.
		{`http_requests_total{status=~"5.."}.increase by (service) / http_requests_total.increase by (service)`, "1h", "",
			`(sum by (service) (increase(http_requests_total{status=~"5.."}[1h])) or (sum by (service) (increase(http_requests_total[1h]))) * 0) / (sum by (service) (increase(http_requests_total[1h])) != 0)`, false},
		{"response_time_ms.count_le(300) by (service) / response_time_ms.count by (service)", "", "api",
			`(sum by (service) (increase(response_time_ms_bucket{service="api", le="300"}[$__rate_interval])) or (sum by (service) (increase(response_time_ms_count{service="api"}[$__rate_interval]))) * 0) / (sum by (service) (increase(response_time_ms_count{service="api"}[$__rate_interval])) != 0)`, false},
		{"cpu_usage_percent.max / cpu_usage_percent.avg", "", "",
			`(max (max_over_time(cpu_usage_percent[$__interval]))) / (sum (sum_over_time(cpu_usage_percent[$__interval])) / sum (count_over_time(cpu_usage_percent[$__interval])) != 0)`, true},
	}
	for _, c := range cases {
		e, err := metricpath.Parse(c.path)
		if err != nil {
			t.Fatalf("%s: %v", c.path, err)
		}
		q, err := Translate(e, types, TranslateOptions{Window: c.window, Service: c.service})
		if err != nil {
			t.Errorf("%s: %v", c.path, err)
			continue
		}
		if q.Expr != c.want {
			t.Errorf("%s:\n got %s\nwant %s", c.path, q.Expr, c.want)
		}
		if q.Exact != c.exact || (!q.Exact && q.Note == "") {
			t.Errorf("%s: exact %v (note %q), want %v", c.path, q.Exact, q.Note, c.exact)
		}
	}
}

// Paths whose numbers PromQL over running totals and buckets cannot
// give: a counter's increments, a histogram's extremes, a gauge's
// count_le, a gauge's rate (which vigil refuses too).
func TestTranslateNoEqual(t *testing.T) {
	types := map[string]string{"http_requests_total": Counter, "response_time_ms": Histogram, "cpu_usage_percent": Gauge}
	for _, p := range []string{
		"http_requests_total.p95", "http_requests_total.max", "http_requests_total.count", "http_requests_total.count_le(3)",
		"response_time_ms.max", "response_time_ms.last", "response_time_ms.stddev", "response_time_ms.rate",
		"cpu_usage_percent.count_le(90)", "cpu_usage_percent.rate",
		"cpu_usage_percent.avg / http_requests_total.p50",
	} {
		e, err := metricpath.Parse(p)
		if err != nil {
			t.Fatal(err)
		}
		if q, err := Translate(e, types, TranslateOptions{}); !errors.Is(err, ErrNoEqual) {
			t.Errorf("%s: %q, %v; want ErrNoEqual", p, q.Expr, err)
		}
	}
}
