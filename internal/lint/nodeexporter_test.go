package lint_test

import (
	"context"
	"database/sql"
	"path/filepath"
	"strings"
	"testing"
	"time"

	_ "modernc.org/sqlite"

	"github.com/vigil-metrics/vigil/internal/agent"
	"github.com/vigil-metrics/vigil/internal/lint"
	"github.com/vigil-metrics/vigil/internal/promtest"
	"github.com/vigil-metrics/vigil/internal/scrape"
)

// The store a new user has first: a real node_exporter (its default
// collectors) scraped by the agent, beside the agent's own host metrics.
// Before issue 30, lint gave 264 warnings on such a store: node_exporter's
// mixed-case and unitless names, counter advice for the summary
// go_gc_duration_seconds's _count and _sum, and "rename host to instance"
// on every one of vigil's host metrics. Now it gives no error and at
// most a handful of warnings, each of one kind a person would agree with.
func TestNodeExporterStore(t *testing.T) {
	url := promtest.StartNodeExporter(t)
	db := filepath.Join(t.TempDir(), "node.db")
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() {
		done <- agent.Run(ctx, agent.Config{DB: db, Interval: 300 * time.Millisecond, GPU: "off", Host: "h1",
			Targets: []scrape.Target{{Job: "node", URL: url}}, StatusInterval: -1})
	}()
	// Two scrapes, so counters (stored as increments) are stored too, and
	// a host round, so CPU percentages are.
	time.Sleep(900 * time.Millisecond)
	cancel()
	if err := <-done; err != nil {
		t.Fatal(err)
	}
	// The store holds what the old advice was wrong about.
	h, err := sql.Open("sqlite", db)
	if err != nil {
		t.Fatal(err)
	}
	defer h.Close()
	for name, typ := range map[string]string{
		"go_gc_duration_seconds_count": "counter", // a summary's count
		"node_memory_MemTotal_bytes":   "gauge",   // node_exporter's /proc spelling
		"node_load1":                   "gauge",   // no unit, by upstream's choice
		"cpu_usage_percent":            "gauge",   // vigil's own, labelled host
		"vigil_agent_up":               "gauge",
	} {
		var n int
		h.QueryRow(`SELECT count(*) FROM series WHERE name = ? AND type = ?`, name, typ).Scan(&n)
		if n == 0 {
			t.Errorf("the store has no %s %s", typ, name)
		}
	}

	start, end := lint.Window(time.Now().Add(time.Minute), 24*time.Hour)
	series, err := lint.Read(context.Background(), db, start, end)
	if err != nil {
		t.Fatal(err)
	}
	fs := lint.Run(series, lint.Options{})
	if n := lint.Errors(fs); n != 0 {
		t.Errorf("%d errors", n)
	}
	// The warnings a person would agree with on such a store, by check
	// and the family they may be about. None is expected on a small host;
	// a host with more than 100 mounts or network devices (containers)
	// gets label_values on node_exporter's per-device families, and
	// rightly: each value is a series in every one of them, whoever named
	// the label.
	agreed := map[string]func(lint.Finding) bool{
		lint.CheckLabelValues: func(f lint.Finding) bool {
			return strings.HasPrefix(f.Family, "node_") && (f.Label == "device" || f.Label == "mountpoint" || f.Label == "fstype")
		},
	}
	for _, f := range fs {
		if ok := agreed[f.Check]; ok == nil || !ok(f) {
			t.Errorf("unexpected %s %s %s %s: %s", f.Severity, f.Check, f.Metric, f.Label, f.Message)
		}
	}
	if len(fs) > 5 {
		t.Errorf("%d findings, want at most a handful", len(fs))
	}
}
