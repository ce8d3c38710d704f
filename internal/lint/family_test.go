package lint

import (
	"slices"
	"strings"
	"testing"

	"github.com/vigil-metrics/vigil/internal/configfile"
)

// ser is an active series with labels given as pairs.
func ser(name, typ string, labels ...string) Series {
	l := map[string]string{}
	for i := 0; i+1 < len(labels); i += 2 {
		l[labels[i]] = labels[i+1]
	}
	return Series{Store: "a.db", Name: name, Type: typ, Labels: l, Active: true}
}

// A scraped summary is stored as a quantile gauge and _sum/_count
// counters, a scraped histogram as _bucket/_sum/_count counters
// (internal/scrape): they are one family each, judged by the base name.
// _count and _sum are not counters to rename, and the unit rule reads the
// base name. A counter named _count with no _sum sibling is still a
// counter (issue 30, "Lint that a team keeps enabled").
func TestFamiliesJudgedByBaseName(t *testing.T) {
	series := []Series{
		// A summary with a unit: nothing to say.
		ser("rpc_duration_seconds", "gauge", "quantile", "0.5"),
		ser("rpc_duration_seconds_sum", "counter"),
		ser("rpc_duration_seconds_count", "counter"),
		// A histogram with a unit: nothing to say.
		ser("http_latency_seconds_bucket", "counter", "le", "0.1"),
		ser("http_latency_seconds_bucket", "counter", "le", "+Inf"),
		ser("http_latency_seconds_sum", "counter"),
		ser("http_latency_seconds_count", "counter"),
		// A histogram without a unit: one unit finding, for the family.
		ser("payload_size_bucket", "counter", "le", "10"),
		ser("payload_size_sum", "counter"),
		ser("payload_size_count", "counter"),
		// A summary without quantiles (_sum and _count only), no unit.
		ser("job_runtime_sum", "counter"),
		ser("job_runtime_count", "counter"),
		// A counter that merely ends in _count: still a counter.
		ser("login_count", "counter"),
		// An OpenMetrics counter's creation time belongs to the counter.
		ser("jobs_total", "counter"),
		ser("jobs_created", "gauge"),
	}
	fs := Run(series, Options{})
	got := keys(fs)
	want := []string{
		"warning unit_suffix job_runtime ",
		"warning counter_suffix login_count ",
		"warning unit_suffix payload_size ",
	}
	if strings.Join(got, "\n") != strings.Join(want, "\n") {
		t.Errorf("findings:\n%s\nwant:\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
	for _, f := range fs {
		switch f.Metric {
		case "payload_size":
			if f.Family != "payload_size" || !strings.Contains(f.Message, "histogram payload_size") {
				t.Errorf("payload_size: family %q, message %q", f.Family, f.Message)
			}
		case "job_runtime":
			if !strings.Contains(f.Message, "summary job_runtime") {
				t.Errorf("job_runtime message %q", f.Message)
			}
		case "login_count":
			if f.Family != "login_count" {
				t.Errorf("login_count family %q", f.Family)
			}
		}
	}
}

// Every finding names its metric family: a histogram's _bucket, _sum and
// _count findings carry the base name.
func TestFindingFamily(t *testing.T) {
	var series []Series
	for _, p := range []string{"/a", "/b", "/c"} {
		series = append(series,
			ser("api_latency_seconds_bucket", "counter", "le", "1", "path", p),
			ser("api_latency_seconds_sum", "counter", "path", p),
			ser("api_latency_seconds_count", "counter", "path", p))
	}
	fs := Run(series, Options{MaxLabelValues: 2})
	if len(fs) != 3 {
		t.Fatalf("findings %q, want label_values on the three members", keys(fs))
	}
	for _, f := range fs {
		if f.Check != CheckLabelValues || f.Family != "api_latency_seconds" {
			t.Errorf("%s: family %q, want api_latency_seconds", key(f), f.Family)
		}
	}
}

// vigil's own host metrics are never flagged, whatever labels other
// metrics use; Prometheus's instance (host:port) is no synonym of host.
func TestOwnMetricsNotFlagged(t *testing.T) {
	series := []Series{
		ser("cpu_usage_percent", "gauge", "host", "h1"),
		ser("load_average_1m", "gauge", "host", "h1"), // no unit suffix, but vigil's name
		ser("vigil_agent_up", "gauge", "host", "h1"),
		ser("app_queue_bytes", "gauge", "instance", "10.0.0.1:9100"),
		ser("app_jobs_bytes", "gauge", "instance", "10.0.0.1:9100"),
	}
	if fs := Run(series, Options{}); len(fs) != 0 {
		t.Errorf("findings %q, want none", keys(fs))
	}
	// Two users' metrics that disagree are still told so, and vigil's
	// own are not counted as users of host.
	series = append(series, ser("app_disk_bytes", "gauge", "hostname", "h1"), ser("app_net_bytes", "gauge", "host", "h1"))
	fs := Run(series, Options{})
	want := []string{"warning inconsistent_labels app_disk_bytes hostname"}
	if got := keys(fs); !slices.Equal(got, want) && !slices.Equal(got, []string{"warning inconsistent_labels app_net_bytes host"}) {
		t.Errorf("findings %q, want one of app_disk_bytes/app_net_bytes", got)
	}
}

// Well-known exporters' conventions are theirs: node_exporter's mixed
// case, unitless gauges and label names are not flagged, and they are
// not counted as users of a label synonym either way.
func TestExporterConventionsNotFlagged(t *testing.T) {
	series := []Series{
		ser("node_memory_MemTotal_bytes", "gauge"),
		ser("node_load1", "gauge"),
		ser("node_netstat_Tcp_InSegs", "gauge"),
		ser("node_disk_info", "gauge", "path", "pci-0000:00:05.0"),
		ser("node_uname_info", "gauge", "release", "6.1.0"),
		ser("go_goroutines", "gauge"),
		ser("go_info", "gauge", "version", "go1.22"),
		ser("process_max_fds", "gauge"),
		ser("promhttp_metric_handler_requests_in_flight", "gauge"),
		ser("prometheus_tsdb_head_series", "gauge"),
		ser("prometheus_http_requests", "counter"),
		ser("app_requests_total", "counter", "endpoint", "/a"),
		ser("app_errors_total", "counter", "endpoint", "/a"),
		ser("app_build_info", "gauge", "version", "1.0"),
	}
	if fs := Run(series, Options{}); len(fs) != 0 {
		t.Errorf("findings %q, want none", keys(fs))
	}
}

// --ignore CHECK[:METRIC_GLOB] drops findings by check, and by metric or
// family glob; every dropped finding is counted, never lost.
func TestIgnore(t *testing.T) {
	series := []Series{
		ser("myapp_queue", "gauge"),
		ser("myapp_jobs", "gauge"),
		ser("other_thing", "gauge"),
		ser("myapp_hits", "counter"),
		ser("payload_size_bucket", "counter", "le", "1"),
		ser("payload_size_count", "counter"),
	}
	fs := Run(series, Options{})
	ign := []Ignore{}
	for _, s := range []string{"unit_suffix:myapp_*", "counter_suffix", "unit_suffix:payload_*"} {
		i, err := ParseIgnore(s)
		if err != nil {
			t.Fatal(err)
		}
		ign = append(ign, i)
	}
	kept, ignored := Apply(fs, ign)
	if got, want := keys(kept), []string{"warning unit_suffix other_thing "}; !slices.Equal(got, want) {
		t.Errorf("kept %q, want %q", got, want)
	}
	// The glob matches the finding's metric or its family.
	if got, want := keys(ignored), []string{"warning counter_suffix myapp_hits ", "warning unit_suffix myapp_jobs ", "warning unit_suffix myapp_queue ", "warning unit_suffix payload_size "}; !slices.Equal(got, want) {
		t.Errorf("ignored %q, want %q", got, want)
	}
	sum := Summarize(kept, ignored)
	var lines []string
	for _, s := range sum {
		lines = append(lines, s.String())
	}
	want := []string{
		"counter_suffix: 0 findings (1 ignored)",
		"unit_suffix: 1 warning in 1 family (3 ignored)",
	}
	if !slices.Equal(lines, want) {
		t.Errorf("summary:\n%s\nwant:\n%s", strings.Join(lines, "\n"), strings.Join(want, "\n"))
	}
	for _, bad := range []string{"no_such_check", "unit_suffix:[", ""} {
		if _, err := ParseIgnore(bad); err == nil {
			t.Errorf("ParseIgnore(%q): no error", bad)
		}
	}
}

// The lint: section of vigil.yaml gives accepted findings as --ignore
// does; mistakes are FILE:LINE:COL problems.
func TestFromConfig(t *testing.T) {
	f, err := configfile.Parse("v.yaml", []byte("lint:\n  ignore:\n    - {check: unit_suffix, metric: \"myapp_*\"}\n    - check: counter_suffix\n"))
	if err != nil {
		t.Fatal(err)
	}
	got, err := FromConfig(f)
	if err != nil {
		t.Fatal(err)
	}
	if want := []Ignore{{Check: "unit_suffix", Metric: "myapp_*"}, {Check: "counter_suffix"}}; !slices.Equal(got, want) {
		t.Errorf("ignores %+v, want %+v", got, want)
	}
	f, err = configfile.Parse("v.yaml", []byte("lint:\n  ignore:\n    - {check: unit_sufix}\n    - {metric: \"a[\"}\n  colour: red\n"))
	if err != nil {
		t.Fatal(err)
	}
	_, err = FromConfig(f)
	for _, want := range []string{
		`v.yaml:3:15: lint: ignore: unknown check "unit_sufix" (want type_mismatch,`,
		`v.yaml:4:7: lint: ignore entry: missing required field "check"`,
		`v.yaml:4:16: lint: ignore: metric glob "a[": syntax error in pattern`,
		`v.yaml:5:3: unknown field "colour" in lint`,
	} {
		if err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("error %v\nwant %q", err, want)
		}
	}
}
