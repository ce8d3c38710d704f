package lint

import (
	"context"
	"fmt"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/vigil-metrics/vigil/internal/store"
)

var at = time.Date(2026, 11, 29, 12, 0, 0, 0, time.UTC)

func write(t *testing.T, dir, name string, samples ...store.Sample) string {
	t.Helper()
	p := filepath.Join(dir, name)
	s, err := store.Open(context.Background(), p, store.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	if _, err := s.Write(context.Background(), samples); err != nil {
		t.Fatal(err)
	}
	return p
}

func smp(typ store.Type, name string, ago time.Duration, labels ...string) store.Sample {
	l := map[string]string{}
	for i := 0; i+1 < len(labels); i += 2 {
		l[labels[i]] = labels[i+1]
	}
	return store.Sample{Name: name, Type: typ, Labels: l, TS: at.Add(-ago).UnixMilli(), Value: 1}
}

// key is what a test compares: severity, check, metric and label.
func key(f Finding) string { return f.Severity + " " + f.Check + " " + f.Metric + " " + f.Label }

func keys(fs []Finding) []string {
	out := make([]string, len(fs))
	for i, f := range fs {
		out[i] = key(f)
	}
	return out
}

// Every check on two fixture stores, with the findings written out by hand.
func TestRunFixtureStores(t *testing.T) {
	dir := t.TempDir()
	a := write(t, dir, "a.db",
		smp(store.Counter, "http_requests", time.Hour, "status", "200"), // no _total
		smp(store.Counter, "errors_total", time.Hour, "status", "500"),
		smp(store.Counter, "errors_total", time.Hour, "status", "503"),
		smp(store.Gauge, "memory_usage", time.Hour),                         // no unit
		smp(store.Gauge, "queueDepth_count", time.Hour),                     // not snake_case
		smp(store.Gauge, "inflight_total", time.Hour),                       // a gauge named like a counter
		smp(store.Histogram, "latency_ms", time.Hour, "status_code", "500"), // status vs status_code
		smp(store.Counter, "logins_total", time.Hour, "user_id", "u1"),      // high-cardinality name...
		smp(store.Counter, "logins_total", time.Hour, "user_id", "u2"),      // ...and over the limit of 2
		smp(store.Counter, "logins_total", time.Hour, "user_id", "u3"),      //
		smp(store.Gauge, "cpu_usage_percent", time.Hour, "host", "h1"),      // fine
		smp(store.Gauge, "old_thing", 48*time.Hour),                         // outside the window: not named
		smp(store.Gauge, "page_views", 48*time.Hour, "endpoint", "/"),       // outside: its label does not count
	)
	b := write(t, dir, "b.db",
		smp(store.Gauge, "http_requests", time.Hour, "status", "200"), // counter in a.db
	)
	var series []Series
	start, end := Window(at, 24*time.Hour)
	for _, p := range []string{a, b} {
		ss, err := Read(context.Background(), p, start, end)
		if err != nil {
			t.Fatal(err)
		}
		series = append(series, ss...)
	}
	fs := Run(series, Options{
		MaxLabelValues: 2,
		Refs: []Ref{
			{Source: "rule cpu", Path: "cpu_usage_percnt.avg"},                     // typo
			{Source: "rule errs", Path: `errors_total{stat="500"}.rate`},           // unknown label
			{Source: "rule ok", Path: `errors_total{status="500"}.rate by (host)`}, // unknown group label
			{Source: "rule neg", Path: `errors_total{zone!="x"}.rate`},             // a negative matcher: fine
			{Source: "rule gone", Path: "backup_runs_total", Absent: true},         // absent rule
			{Source: "rule ratio", Path: "errors_total.increase / requests_total.increase"},
			{Source: "rule rec", Path: "errors_per_min"}, // a recording rule's output
			{Source: "slo api/availability", Path: "sli_requests_total", Service: "api"},
			{Source: "rule svc", Path: `cpu_usage_percent{service="api"}.max`}, // service is always known
		},
		Produced: []string{"errors_per_min"},
	})
	want := []string{
		"error type_mismatch http_requests ",
		"error unknown_metric cpu_usage_percnt ",
		"error unknown_label errors_total stat",
		"error unknown_metric requests_total ",
		"error unknown_metric sli_requests_total ",
		"warning counter_suffix http_requests ",
		"warning unit_suffix inflight_total ",
		"warning unit_suffix memory_usage ",
		"warning snake_case queueDepth_count ",
		"warning high_cardinality_label logins_total user_id",
		"warning label_values logins_total user_id",
		"warning inconsistent_labels latency_ms status_code",
		"warning unknown_label errors_total host",
		"info unknown_metric backup_runs_total ",
	}
	got := keys(fs)
	if strings.Join(got, "\n") != strings.Join(want, "\n") {
		t.Errorf("findings:\n%s\nwant:\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
	for _, f := range fs {
		if f.Message == "" || f.Hint == "" {
			t.Errorf("%s: empty message or hint: %+v", key(f), f)
		}
		switch key(f) {
		case "error unknown_metric cpu_usage_percnt ":
			if f.Hint != "did you mean cpu_usage_percent?" {
				t.Errorf("typo hint = %q", f.Hint)
			}
		case "error type_mismatch http_requests ":
			if !strings.Contains(f.Message, "counter in "+a) || !strings.Contains(f.Message, "gauge in "+b) {
				t.Errorf("type mismatch message = %q", f.Message)
			}
		case "warning label_values logins_total user_id":
			if !strings.Contains(f.Message, "3 distinct values") || !strings.Contains(f.Message, "u1, u2, u3") {
				t.Errorf("label values message = %q", f.Message)
			}
		case "warning counter_suffix http_requests ":
			if !strings.Contains(f.Hint, "http_requests_total") {
				t.Errorf("counter hint = %q", f.Hint)
			}
		}
	}
	if n := Errors(fs); n != 5 {
		t.Errorf("Errors = %d, want 5", n)
	}
}

// The label limit counts values over the window only, and the worst
// offender comes first.
func TestLabelValuesTopOffenders(t *testing.T) {
	var ss []Series
	for i := 0; i < 5; i++ {
		ss = append(ss, Series{Name: "a_total", Type: "counter", Labels: map[string]string{"path": fmt.Sprint(i)}, Active: true})
	}
	for i := 0; i < 8; i++ {
		ss = append(ss, Series{Name: "b_total", Type: "counter", Labels: map[string]string{"path": fmt.Sprint(i)}, Active: true})
	}
	for i := 0; i < 50; i++ {
		ss = append(ss, Series{Name: "c_total", Type: "counter", Labels: map[string]string{"path": fmt.Sprint(i)}})
	}
	got := keys(Run(ss, Options{MaxLabelValues: 4}))
	want := []string{"warning label_values b_total path", "warning label_values a_total path"}
	if strings.Join(got, "\n") != strings.Join(want, "\n") {
		t.Errorf("got %q, want %q", got, want)
	}
	if fs := Run(ss, Options{}); len(fs) != 0 {
		t.Errorf("default limit 100: got %v", keys(fs))
	}
}

func TestToSnake(t *testing.T) {
	for in, want := range map[string]string{"queueDepth_count": "queue_depth_count", "HTTP-requests": "h_t_t_p_requests", "a.b": "a_b"} {
		if got := toSnake(in); got != want {
			t.Errorf("toSnake(%q) = %q, want %q", in, got, want)
		}
	}
}
