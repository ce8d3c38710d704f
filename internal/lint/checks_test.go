package lint

import (
	"slices"
	"sort"
	"strings"
	"testing"
)

// Every finding kind is reported by exactly one check, and every check has
// its own name: a check can be found, run and filtered by name.
func TestChecksNamed(t *testing.T) {
	all := []string{CheckTypeMismatch, CheckCounterSuffix, CheckUnitSuffix, CheckSnakeCase, CheckHighCardLabel,
		CheckLabelValues, CheckInconsistentName, CheckUnknownMetric, CheckUnknownLabel}
	names := map[string]bool{}
	var reported []string
	for _, c := range checks {
		if c.name == "" || names[c.name] {
			t.Errorf("check name %q empty or repeated", c.name)
		}
		names[c.name] = true
		reported = append(reported, c.reports...)
	}
	slices.Sort(all)
	slices.Sort(reported)
	if !slices.Equal(all, reported) {
		t.Errorf("checks report %q, want each of %q once", reported, all)
	}
}

// Each check runs alone on what Run gathers and reports only its own kinds;
// run one after another they give what Run gives.
func TestChecksRunAlone(t *testing.T) {
	series := []Series{
		{Store: "a.db", Name: "http_requests", Type: "counter", Labels: map[string]string{"status": "200"}, Active: true},
		{Store: "b.db", Name: "http_requests", Type: "gauge", Labels: map[string]string{"code": "200"}, Active: true},
		{Store: "a.db", Name: "queueDepth", Type: "gauge", Labels: map[string]string{"user_id": "1"}, Active: true},
		{Store: "a.db", Name: "queueDepth", Type: "gauge", Labels: map[string]string{"user_id": "2"}, Active: true},
	}
	opt := Options{MaxLabelValues: 1, Refs: []Ref{
		{Source: "rule a", Path: `http_requests{zone="x"}.rate by (dc)`},
		{Source: "rule b", Path: "http_request.rate"},
	}}
	in := gather(series)
	var all []Finding
	got := map[string][]string{}
	for _, c := range checks {
		fs := c.run(in, opt)
		for _, f := range fs {
			if !slices.Contains(c.reports, f.Check) {
				t.Errorf("check %s reported %s", c.name, key(f))
			}
			got[c.name] = append(got[c.name], key(f))
		}
		all = append(all, fs...)
	}
	want := map[string][]string{
		CheckTypeMismatch:     {"error type_mismatch http_requests "},
		"metric_names":        {"warning counter_suffix http_requests ", "warning snake_case queueDepth ", "warning unit_suffix queueDepth "},
		CheckHighCardLabel:    {"warning high_cardinality_label queueDepth user_id"},
		CheckLabelValues:      {"warning label_values queueDepth user_id"},
		CheckInconsistentName: {"warning inconsistent_labels http_requests status"},
		"references":          {"error unknown_label http_requests zone", "warning unknown_label http_requests dc", "error unknown_metric http_request "},
	}
	for name, w := range want {
		if strings.Join(got[name], "\n") != strings.Join(w, "\n") {
			t.Errorf("check %s alone:\n%s\nwant:\n%s", name, strings.Join(got[name], "\n"), strings.Join(w, "\n"))
		}
	}
	rank := map[string]int{Error: 0, Warning: 1, Info: 2}
	sort.SliceStable(all, func(i, j int) bool { return rank[all[i].Severity] < rank[all[j].Severity] })
	if r := Run(series, opt); !slices.Equal(keys(r), keys(all)) {
		t.Errorf("Run = %q, checks in order = %q", keys(r), keys(all))
	}
}

// The unit_suffix finding names the unit rule it applies (issue 29): the
// last name segment is a unit, the reference design's _ms and
// Prometheus's base unit _seconds both accepted.
func TestUnitSuffixNamesRule(t *testing.T) {
	const rule = "unit rule: a gauge or histogram name ends in its unit (_bytes, _percent, ...); durations in _ms (the reference design's default) or _seconds (Prometheus's base unit) both pass"
	for _, c := range []struct{ name, want string }{
		{"memory_usage", "gauge memory_usage has no unit suffix; " + rule},
		{"inflight_total", "gauge inflight_total ends in _total, which names a counter; " + rule},
	} {
		fs := unitSuffix(c.name, []string{"gauge"})
		if len(fs) != 1 || fs[0].Message != c.want {
			t.Errorf("unitSuffix(%s) = %+v, want message %q", c.name, fs, c.want)
		}
	}
	for _, ok := range []string{"latency_ms", "latency_seconds"} {
		if fs := unitSuffix(ok, []string{"histogram"}); len(fs) != 0 {
			t.Errorf("unitSuffix(%s) = %+v, want none", ok, fs)
		}
	}
}

// h30 D22: Prometheus's recording-rule names, level:metric:operations, are
// judged as such: snake_case part by part (the colons are no fault), the
// unit rule on the metric part (the unit goes before the operations, not
// after them), and a rate of a _total counter loses _total (Prometheus's
// naming conventions).
func TestRecordingRuleNames(t *testing.T) {
	for _, c := range []struct {
		name string
		want []string // check: hint
	}{
		{"job:request_latency_seconds:p99", nil},
		{"instance:node_memory_bytes:avg5m", nil},
		{"job:myapp_jobs:avg5m", []string{"unit_suffix: end the metric part with its unit: job:myapp_jobs_bytes:avg5m, job:myapp_jobs_seconds:avg5m, job:myapp_jobs_ms:avg5m, job:myapp_jobs_percent:avg5m or job:myapp_jobs_count:avg5m"}},
		{"job:http_requests_total:rate5m", []string{"unit_suffix: a rate or aggregate of a counter drops _total: job:http_requests:rate5m"}},
		{"Job:fooBar_ms:avg5m", []string{"snake_case: use lower snake_case in each part: job:foo_bar_ms:avg5m"}},
	} {
		in := gather([]Series{{Store: "a.db", Name: c.name, Type: "gauge", Active: true}})
		var got []string
		for _, f := range metricNames(in, Options{}) {
			got = append(got, f.Check+": "+f.Hint)
		}
		if strings.Join(got, "\n") != strings.Join(c.want, "\n") {
			t.Errorf("%s:\n%s\nwant\n%s", c.name, strings.Join(got, "\n"), strings.Join(c.want, "\n"))
		}
	}
}
