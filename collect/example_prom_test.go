package collect_test

import (
	"context"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promhttp"
	"github.com/prometheus/common/expfmt"
	"github.com/prometheus/common/model"

	"github.com/vigil-metrics/vigil/collect"
)

// Help text is given where the metric is made; /metrics shows it as the
// family's # HELP line (a newline escaped as \n) and the store keeps it.
func ExampleHelp() {
	r, _ := collect.Open(":memory:", collect.Options{Service: "billing", Now: clock, FlushInterval: -1})
	defer r.Close()
	r.Counter("invoices_total", map[string]string{"currency": "EUR"},
		collect.Help("Invoices sent.\nOne per customer and month.")).Inc()

	w := httptest.NewRecorder()
	r.Handler().ServeHTTP(w, httptest.NewRequest("GET", "/metrics", nil))
	fmt.Print(w.Body.String())

	r.Flush(context.Background())
	var help string
	storeDB(r).QueryRow(`SELECT help FROM metric_metadata WHERE name = 'invoices_total'`).Scan(&help)
	fmt.Println("stored:", strings.ReplaceAll(help, "\n", " / "))
	// Output:
	// # HELP invoices_total Invoices sent.\nOne per customer and month.
	// # TYPE invoices_total counter
	// invoices_total{currency="EUR"} 1
	// stored: Invoices sent. / One per customer and month.
}

// The Recorder is a prometheus.Collector: register it in the registry a
// service already has, and promhttp serves both on one /metrics.
func ExampleRecorder_Collect() {
	r, _ := collect.Open(":memory:", collect.Options{Service: "billing", Now: clock, FlushInterval: -1})
	defer r.Close()
	reg := prometheus.NewRegistry()
	legacy := prometheus.NewCounter(prometheus.CounterOpts{Name: "legacy_jobs_total", Help: "Jobs (client_golang)."})
	reg.MustRegister(legacy, r)

	legacy.Add(2)
	r.Counter("invoices_total", nil, collect.Help("Invoices sent.")).Add(3)

	srv := httptest.NewServer(promhttp.HandlerFor(reg, promhttp.HandlerOpts{}))
	defer srv.Close()
	resp, err := http.Get(srv.URL)
	if err != nil {
		panic(err)
	}
	defer resp.Body.Close()
	parser := expfmt.NewTextParser(model.UTF8Validation)
	fams, err := parser.TextToMetricFamilies(resp.Body)
	if err != nil {
		panic(err)
	}
	for _, name := range []string{"invoices_total", "legacy_jobs_total"} {
		f := fams[name]
		fmt.Printf("%s %s %q %v\n", name, f.GetType(), f.GetHelp(), f.Metric[0].GetCounter().GetValue())
	}
	// Output:
	// invoices_total COUNTER "Invoices sent." 3
	// legacy_jobs_total COUNTER "Jobs (client_golang)." 2
}

// The reverse: a Recorder stores what an existing client_golang registry
// gathers, in-process. Counter totals become increments (the first call
// counts from zero), gauges stay values.
func ExampleRecorder_RecordGatherer() {
	r, _ := collect.Open(":memory:", collect.Options{Service: "billing", Now: clock, FlushInterval: -1})
	defer r.Close()
	reg := prometheus.NewRegistry()
	jobs := prometheus.NewCounter(prometheus.CounterOpts{Name: "legacy_jobs_total", Help: "Jobs (client_golang)."})
	depth := prometheus.NewGauge(prometheus.GaugeOpts{Name: "legacy_queue_depth"})
	reg.MustRegister(jobs, depth)

	ctx := context.Background()
	jobs.Add(5)
	depth.Set(7)
	r.RecordGatherer(ctx, reg) // once, or on every flush with Options.Gatherers
	jobs.Add(2)
	r.RecordGatherer(ctx, reg)
	r.Flush(ctx)
	show(r)
	// Output:
	// legacy_jobs_total counter {} 7 2
	// legacy_queue_depth gauge {} 14 2
}

// Declared label names: the vec is made once, a handle per label values.
// The kept handle's Inc is an atomic add; WithLabelValues of an existing
// series allocates nothing either.
func ExampleCounterVec() {
	st, _ := collect.OpenStore(":memory:")
	r := collect.New(st, collect.Options{Service: "mail", Now: clock, FlushInterval: -1})
	defer r.Close()
	sent := r.MustCounterVec(collect.Opts{Name: "mails_total", Help: "Mails sent."}, []string{"provider", "result"})

	ok := sent.WithLabelValues("smtp", "ok") // keep it on a hot path
	ok.Inc()
	ok.Inc()
	sent.WithLabelValues("smtp", "bounced").Inc()

	r.Flush(context.Background())
	show(r)
	// Output:
	// mails_total counter {"provider":"smtp","result":"bounced"} 1 1
	// mails_total counter {"provider":"smtp","result":"ok"} 2 1
}

// NamingPrometheus: the middleware's latency is
// http_request_duration_seconds, in seconds.
func ExampleNaming() {
	r, _ := collect.Open(":memory:", collect.Options{Service: "users", Now: clock, FlushInterval: -1,
		Naming: collect.NamingPrometheus})
	defer r.Close()
	h := r.Middleware(http.HandlerFunc(func(http.ResponseWriter, *http.Request) {}), collect.MiddlewareOptions{})
	h.ServeHTTP(httptest.NewRecorder(), httptest.NewRequest("GET", "/", nil))
	r.Flush(context.Background())
	var name string
	storeDB(r).QueryRow(`SELECT name FROM metrics WHERE type = 'histogram'`).Scan(&name)
	fmt.Println(name)
	// Output:
	// http_request_duration_seconds
}
