package dashboards

import (
	"fmt"
	"slices"
	"strings"

	"github.com/vigil-metrics/vigil/internal/metricpath"
)

// maxPanelsPerRow bounds the counters and histograms one service's
// dashboard graphs: a service with hundreds of metrics gets its first
// ones by name, and a warning.
const maxPanelsPerRow = 12

// Percentiles are the quantiles each key histogram's panel draws.
var Percentiles = []float64{0.5, 0.9, 0.95, 0.99}

// truthy is the SLI's success label test (analyze/slo.Truthy: "true" in
// any case, or "1") as a PromQL regular expression.
const truthy = `(?i:true)|1`

func service(in Input, svc string, ds *DatasourceRef, types map[string]string, own, every []Rule, warn func(string, ...any)) *Dashboard {
	b := newBoard(serviceUID(svc), "vigil: "+svc,
		fmt.Sprintf("Service %s: request and error rates, key histograms' percentiles, and the alert rules that watch it, from vigil serve.", svc),
		ds, "service")
	requests(b, in, svc, warn)
	latency(b, in, svc, warn)
	serviceHosts(b, in, svc)
	rules := append(append([]Rule{}, own...), every...)
	if len(rules) > 0 {
		b.row("Alert rules")
		for _, r := range rules {
			e, err := metricpath.Parse(r.Path)
			if err == nil && !in.Catalog.has(svc, e.Num.Name) && ruleService(r.Path) == "" {
				continue // grouped by service, but this service has no such metric
			}
			p, err := rulePanel(r, types, svc, in.Buckets)
			if err != nil {
				warn("service %s: %v", svc, err)
				continue
			}
			b.add(p, 12, 8)
		}
	}
	return b.d
}

// requests graphs the service's counters: each one's rate by status (or
// success), and, for a counter with a status or success label, the
// share of errors (5xx, or success not true).
func requests(b *board, in Input, svc string, warn func(string, ...any)) {
	counters := in.Catalog.metricsOf(svc, Counter)
	if in.Catalog == nil {
		for _, ob := range in.Objectives {
			if ob.Service == svc && ob.SLI == "availability" && !slices.Contains(counters, "sli_requests_total") {
				counters = append(counters, "sli_requests_total")
			}
		}
	}
	if len(counters) == 0 {
		return
	}
	if len(counters) > maxPanelsPerRow {
		warn("service %s: %d counters: graphing the first %d by name", svc, len(counters), maxPanelsPerRow)
		counters = counters[:maxPanelsPerRow]
	}
	b.row("Requests and errors")
	sel := func(name, extra string) string {
		m := "service=" + promString(svc)
		if extra != "" {
			m += ", " + extra
		}
		return name + "{" + m + "}"
	}
	for _, c := range counters {
		by, legend := "", "{{service}}"
		for _, l := range []string{"status", "code", "success", "fast"} {
			if in.Catalog.hasLabel(c, l) || (in.Catalog == nil && l == "success") {
				by, legend = " by ("+l+")", "{{"+l+"}}"
				break
			}
		}
		rate := fmt.Sprintf("sum%s (rate(%s[%s]))", by, sel(c, ""), RateWindow)
		if by == "" {
			rate = fmt.Sprintf("sum by (service) (rate(%s[%s]))", sel(c, ""), RateWindow)
		}
		b.add(timeseries(c+" rate", "Per second, by "+strings.Trim(legend, "{}")+".", "reqps", nil, Target{Expr: rate, LegendFormat: legend}), 12, 8)
		bad := ""
		switch {
		case in.Catalog.hasLabel(c, "status"):
			bad = `status=~"5.."`
		case in.Catalog.hasLabel(c, "code"):
			bad = `code=~"5.."`
		case in.Catalog.hasLabel(c, "success") || (in.Catalog == nil && c == "sli_requests_total"):
			bad = `success!~"` + truthy + `"`
		}
		if bad == "" {
			continue
		}
		total := fmt.Sprintf("sum(rate(%s[%s]))", sel(c, ""), RateWindow)
		// No errors is 0, not "no data": the or gives the total's label
		// set (none) a zero where no error series exists.
		expr := fmt.Sprintf("(sum(rate(%s[%s])) or %s * 0) / (%s != 0)", sel(c, bad), RateWindow, total, total)
		b.add(timeseries(c+" error share", "Share of "+c+" with "+bad+".", "percentunit", nil,
			Target{Expr: expr, LegendFormat: "errors"}), 12, 8)
	}
}

// latency graphs each key histogram of the service: percentiles from
// the configured buckets and the mean from _sum and _count (which need
// no buckets).
func latency(b *board, in Input, svc string, warn func(string, ...any)) {
	var hs []string
	for _, h := range in.Histograms {
		e, err := metricpath.Parse(h)
		if err != nil {
			continue
		}
		if in.Catalog.has(svc, e.Num.Name) && !slices.Contains(hs, e.Num.Name) {
			hs = append(hs, e.Num.Name)
		}
	}
	if len(hs) == 0 {
		hs = in.Catalog.metricsOf(svc, Histogram)
	}
	if len(hs) == 0 {
		return
	}
	if len(hs) > maxPanelsPerRow {
		warn("service %s: %d histograms: graphing the first %d", svc, len(hs), maxPanelsPerRow)
		hs = hs[:maxPanelsPerRow]
	}
	b.row("Latency")
	for _, h := range hs {
		sel := h + "_bucket{service=" + promString(svc) + "}"
		var ts []Target
		desc := "Percentiles from the buckets vigil serve is configured with for " + h +
			" (histogram_quantile interpolates inside a bucket; vigil's own pNN is exact), and the mean from _sum and _count."
		qs := Percentiles
		if in.Buckets != nil && len(in.Buckets[h]) == 0 {
			// No NAME_bucket series: only the mean. serve: buckets: in
			// vigil.yaml adds the percentiles.
			qs = nil
			desc = "The mean from _sum and _count. For percentiles, give vigil serve buckets for " + h +
				" (serve: buckets: in vigil.yaml, docs/serve.md) and write the dashboards again."
		}
		for _, q := range qs {
			ts = append(ts, Target{
				Expr:         fmt.Sprintf("histogram_quantile(%s, sum by (le) (rate(%s[%s])))", fmtFloat(q), sel, RateWindow),
				LegendFormat: "p" + fmtFloat(q*100),
			})
		}
		s := "{service=" + promString(svc) + "}"
		ts = append(ts, Target{
			Expr:         fmt.Sprintf("sum(rate(%s_sum%s[%s])) / (sum(rate(%s_count%s[%s])) != 0)", h, s, RateWindow, h, s, RateWindow),
			LegendFormat: "mean",
		})
		b.add(timeseries(h, desc, unitOf(h), nil, ts...), 12, 8)
	}
}

// unitOf reads a Grafana unit from a metric name's last segment.
func unitOf(name string) string {
	switch {
	case strings.HasSuffix(name, "_ms") || strings.HasSuffix(name, "_milliseconds"):
		return "ms"
	case strings.HasSuffix(name, "_seconds"):
		return "s"
	case strings.HasSuffix(name, "_bytes"):
		return "bytes"
	case strings.HasSuffix(name, "_percent"):
		return "percent"
	}
	return ""
}

// serviceHosts graphs the host resources of the agents that run with
// --service svc (their host metrics carry the service): the hosts
// dashboard's graphs, for this service's hosts.
func serviceHosts(b *board, in Input, svc string) {
	first := true
	for _, g := range hostGraphs {
		if in.Catalog == nil || !in.Catalog.has(svc, g.metric) {
			continue
		}
		if first {
			b.row("Hosts")
			first = false
		}
		expr := strings.Replace(g.expr, `host=~"$host"`, "service="+promString(svc), 1)
		p := timeseries(g.title, g.metric+" of the hosts whose agent runs with --service "+svc+", by host.", g.unit, nil,
			Target{Expr: expr, LegendFormat: g.legend})
		if g.unit == "percent" {
			p.FieldConfig.Defaults.Min, p.FieldConfig.Defaults.Max = ptr(0.0), ptr(100.0)
		}
		b.add(p, 12, 8)
	}
}
