package collect

import (
	"context"
	"testing"
)

// Help text given to a constructor is the family's # HELP line, escaped as
// Prometheus's text format wants (a backslash and a newline), so expfmt
// parses the same text back; a metric without help has none.
func TestHelpExposed(t *testing.T) {
	r, _ := newRecorder(t, Options{Service: "app"})
	const help = "Jobs run.\nBy queue \\ kind."
	r.Counter("jobs_total", map[string]string{"queue": "a"}, Help(help)).Inc()
	r.Counter("jobs_total", map[string]string{"queue": "b"}).Inc() // the name keeps its help
	r.Gauge("depth", nil, Help("Queue depth.")).Set(3)
	r.Histogram("wait_seconds", nil, Help("Time waited.")).Observe(0.2)
	r.Gauge("bare", nil).Set(1)
	fams := scrapeHandler(t, r)
	for name, want := range map[string]string{"jobs_total": help, "depth": "Queue depth.", "wait_seconds": "Time waited.", "bare": ""} {
		f := fams[name]
		if f == nil {
			t.Fatalf("no family %s", name)
		}
		if f.Help == nil && want != "" || f.GetHelp() != want {
			t.Errorf("%s help = %q, want %q", name, f.GetHelp(), want)
		}
	}
	if n := len(fams["jobs_total"].Metric); n != 2 {
		t.Errorf("jobs_total has %d metrics, want 2", n)
	}
}

// The help text is stored with the metric (the store's metric_metadata),
// per name and service, at the flush that writes its series.
func TestHelpStored(t *testing.T) {
	r, _ := newRecorder(t, Options{Service: "app"})
	r.Counter("jobs_total", nil, Help("Jobs run.")).Inc()
	r.Histogram("wait_seconds", nil, Help("Time waited.")).Observe(0.2)
	r.Gauge("bare", nil).Set(1)
	if err := r.Flush(context.Background()); err != nil {
		t.Fatal(err)
	}
	md, err := r.storeNow().Metadata(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	got := map[string]string{}
	for _, m := range md {
		got[m.Name+"/"+m.Service+"/"+m.Unit] = m.Help
	}
	want := map[string]string{"jobs_total/app/": "Jobs run.", "wait_seconds/app/seconds": "Time waited."}
	if len(got) != len(want) {
		t.Errorf("metadata = %v, want %v", got, want)
	}
	for k, v := range want {
		if got[k] != v {
			t.Errorf("metadata[%s] = %q, want %q (all: %v)", k, got[k], v, got)
		}
	}
}
