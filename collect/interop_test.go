package collect

import (
	"context"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promhttp"
	"github.com/prometheus/client_golang/prometheus/testutil"
	"github.com/prometheus/common/expfmt"
	"github.com/prometheus/common/model"
)

// The Recorder is a prometheus.Collector: registered beside a
// client_golang counter, one promhttp page serves both, with the help.
func TestCollectorInRegistry(t *testing.T) {
	r, _ := newRecorder(t, Options{Service: "app"})
	reg := prometheus.NewRegistry()
	legacy := prometheus.NewCounter(prometheus.CounterOpts{Name: "legacy_total", Help: "Old counter."})
	reg.MustRegister(legacy, r)
	legacy.Add(2)
	r.Counter("jobs_total", map[string]string{"queue": "a"}, Help("Jobs run.")).Add(3)
	r.Gauge("depth", nil).Set(4)
	r.Histogram("wait_seconds", nil).Observe(0.3)

	srv := httptest.NewServer(promhttp.HandlerFor(reg, promhttp.HandlerOpts{}))
	defer srv.Close()
	resp, err := srv.Client().Get(srv.URL)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	parser := expfmt.NewTextParser(model.UTF8Validation)
	fams, err := parser.TextToMetricFamilies(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	if got := findMetric(t, fams, "jobs_total", map[string]string{"queue": "a"}).GetCounter().GetValue(); got != 3 {
		t.Errorf("jobs_total = %v, want 3", got)
	}
	if got := fams["jobs_total"].GetHelp(); got != "Jobs run." {
		t.Errorf("jobs_total help %q", got)
	}
	if got := findMetric(t, fams, "legacy_total", nil).GetCounter().GetValue(); got != 2 {
		t.Errorf("legacy_total = %v, want 2", got)
	}
	if got := findMetric(t, fams, "depth", nil).GetGauge().GetValue(); got != 4 {
		t.Errorf("depth = %v, want 4", got)
	}
	h := findMetric(t, fams, "wait_seconds", nil).GetHistogram()
	if h.GetSampleCount() != 1 || h.GetSampleSum() != 0.3 {
		t.Errorf("wait_seconds count %d sum %v, want 1 and 0.3", h.GetSampleCount(), h.GetSampleSum())
	}
	for _, b := range h.Bucket {
		want := uint64(0)
		if b.GetUpperBound() >= 0.5 {
			want = 1
		}
		if b.GetCumulativeCount() != want {
			t.Errorf("wait_seconds le=%v: %d, want %d", b.GetUpperBound(), b.GetCumulativeCount(), want)
		}
	}
}

// Gather has prometheus.Gatherer's signature, so client_golang's testutil
// and promhttp.HandlerFor take the Recorder itself.
func TestGathererTestutil(t *testing.T) {
	r, _ := newRecorder(t, Options{Service: "app"})
	var g prometheus.Gatherer = r
	r.Counter("jobs_total", nil, Help("Jobs run.")).Add(5)
	if got := testutil.ToFloat64(r); got != 5 {
		t.Errorf("ToFloat64 = %v, want 5", got)
	}
	want := "# HELP jobs_total Jobs run.\n# TYPE jobs_total counter\njobs_total 5\n"
	if err := testutil.GatherAndCompare(g, strings.NewReader(want), "jobs_total"); err != nil {
		t.Error(err)
	}
	if n, err := testutil.GatherAndCount(g); err != nil || n != 1 {
		t.Errorf("GatherAndCount = %d, %v; want 1", n, err)
	}
}

// RecordGatherer stores what a client_golang registry gathers, as the
// agent's scrape path would: counter totals as increments (the first
// reading counts from zero: the registry is this process's), gauges as
// values, histogram buckets, _sum and _count as increments.
func TestRecordGatherer(t *testing.T) {
	r, clk := newRecorder(t, Options{Service: "app", ConstLabels: map[string]string{"region": "eu"}})
	reg := prometheus.NewRegistry()
	c := prometheus.NewCounterVec(prometheus.CounterOpts{Name: "legacy_total", Help: "Old counter."}, []string{"code"})
	g := prometheus.NewGauge(prometheus.GaugeOpts{Name: "legacy_depth"})
	h := prometheus.NewHistogram(prometheus.HistogramOpts{Name: "legacy_seconds", Buckets: []float64{0.1, 0.5}})
	reg.MustRegister(c, g, h)
	c.WithLabelValues("200").Add(5)
	g.Set(7)
	h.Observe(0.3)
	ctx := context.Background()
	if err := r.RecordGatherer(ctx, reg); err != nil {
		t.Fatal(err)
	}
	clk.Advance(10e9)
	c.WithLabelValues("200").Add(2)
	g.Set(6)
	if err := r.RecordGatherer(ctx, reg); err != nil {
		t.Fatal(err)
	}
	if err := r.Flush(ctx); err != nil {
		t.Fatal(err)
	}
	got := rows(t, r, `SELECT name || labels || ' ' || type || ' ' || service_name || ' ' || group_concat(value, ',') FROM
		(SELECT * FROM metrics ORDER BY timestamp) GROUP BY name, labels ORDER BY name, labels`)
	want := []string{
		`legacy_depth{"region":"eu"} gauge app 7.0,6.0`,
		`legacy_seconds_bucket{"le":"+Inf","region":"eu"} counter app 1.0,0.0`,
		`legacy_seconds_bucket{"le":"0.1","region":"eu"} counter app 0.0,0.0`,
		`legacy_seconds_bucket{"le":"0.5","region":"eu"} counter app 1.0,0.0`,
		`legacy_seconds_count{"region":"eu"} counter app 1.0,0.0`,
		`legacy_seconds_sum{"region":"eu"} counter app 0.3,0.0`,
		`legacy_total{"code":"200","region":"eu"} counter app 5.0,2.0`,
	}
	if strings.Join(got, "\n") != strings.Join(want, "\n") {
		t.Errorf("stored:\n%s\nwant:\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
	md, _ := r.storeNow().Metadata(ctx)
	if len(md) != 1 || md[0].Name != "legacy_total" || md[0].Help != "Old counter." {
		t.Errorf("metadata %+v, want legacy_total's help", md)
	}
	// What was recorded from the registry is not served again by the
	// Recorder's own page (the registry serves it).
	if fams, _ := r.Gather(); len(fams) != 0 {
		t.Errorf("Gather after RecordGatherer: %d families, want none", len(fams))
	}
}

// A registry that holds the Recorder itself does not feed the Recorder's
// own series back into it.
func TestRecordGathererSkipsItself(t *testing.T) {
	r, _ := newRecorder(t, Options{Service: "app"})
	reg := prometheus.NewRegistry()
	reg.MustRegister(r)
	r.Counter("jobs_total", nil).Add(3)
	if err := r.RecordGatherer(context.Background(), reg); err != nil {
		t.Fatal(err)
	}
	r.Flush(context.Background())
	if got := rows(t, r, `SELECT name || ' ' || sum(value) FROM metrics GROUP BY name`); strings.Join(got, ";") != "jobs_total 3.0" {
		t.Errorf("stored %v, want jobs_total 3.0 once", got)
	}
}

// Options.Gatherers are recorded at every Flush.
func TestOptionsGatherers(t *testing.T) {
	reg := prometheus.NewRegistry()
	c := prometheus.NewCounter(prometheus.CounterOpts{Name: "legacy_total"})
	reg.MustRegister(c)
	r, _ := newRecorder(t, Options{Service: "app", Gatherers: []prometheus.Gatherer{reg}})
	c.Add(4)
	ctx := context.Background()
	r.Flush(ctx)
	c.Add(1)
	r.Flush(ctx)
	if got := rows(t, r, `SELECT group_concat(value, ',') FROM (SELECT s.value FROM samples s JOIN series se ON se.id = s.series_id WHERE se.name = 'legacy_total' ORDER BY s.id)`); strings.Join(got, "") != "4.0,1.0" {
		t.Errorf("legacy_total rows %v, want 4.0,1.0", got)
	}
}
