package analyze_test

import (
	"context"
	"path/filepath"
	"testing"
	"time"

	"github.com/vigil-metrics/vigil/analyze"
	"github.com/vigil-metrics/vigil/analyze/promsrc"
	"github.com/vigil-metrics/vigil/internal/metricpath"
	"github.com/vigil-metrics/vigil/internal/promtest"
	"github.com/vigil-metrics/vigil/internal/remotewrite"
	"github.com/vigil-metrics/vigil/internal/store"
)

// What the agent writes to a store and what it remote-writes to a real
// Prometheus read back the same, through an agent restart: the restarted
// writer's 0 a millisecond before the counter's first total (the reset
// marker Prometheus needs) is no increment of vigil's (issue 26). The
// marker also keeps Prometheus's own increase() right.
func TestRemoteWriteAfterRestartReadsAsStore(t *testing.T) {
	srv := promtest.Start(t, "", "--web.enable-remote-write-receiver")
	base := time.Now().Add(-10*time.Minute).UnixMilli() / 60_000 * 60_000
	smp := func(i int, v float64) store.Sample {
		return store.Sample{Name: "rs_jobs_total", Type: store.Counter, Labels: map[string]string{"q": "a"},
			TS: base + int64(i)*15_000 + 250, Value: v}
	}
	// Two runs of the agent: increments 3, 4 before the restart, 5, 6 after.
	runs := [][]store.Sample{{smp(0, 3), smp(1, 4)}, {smp(4, 5), smp(5, 6)}}
	at := base + 2*60_000
	// Windows holding the restart, starting on the marker's millisecond
	// and just before it, and ending on it.
	compareWritten(t, srv.URL, runs, "rs_jobs_total", []analyze.Window{
		{At: time.UnixMilli(at), Length: 5 * time.Minute},
		{At: time.UnixMilli(at), Length: time.Duration(at-(base+60_000+249)) * time.Millisecond},
		{At: time.UnixMilli(at), Length: time.Duration(at-(base+60_000+248)) * time.Millisecond},
		{At: time.UnixMilli(base + 60_000 + 249), Length: 5 * time.Minute},
		{At: time.UnixMilli(base + 60_000 + 250), Length: 5 * time.Minute},
	})
}

// A counter that stays at 0, with two samples a millisecond apart (as
// another writer or an OpenMetrics file with milliseconds may give),
// keeps every increment of 0: its 0 a millisecond before a 0 is no reset
// marker (issue 26, hb26 D3).
func TestRemoteWriteFlatZeroReadsAsStore(t *testing.T) {
	srv := promtest.Start(t, "", "--web.enable-remote-write-receiver")
	base := time.Now().Add(-10*time.Minute).UnixMilli() / 60_000 * 60_000
	smp := func(ts int64) store.Sample {
		return store.Sample{Name: "cz_total", Type: store.Counter, Labels: map[string]string{"q": "a"}, TS: base + ts, Value: 0}
	}
	runs := [][]store.Sample{{smp(0), smp(10_000), smp(10_001), smp(20_000)}}
	compareWritten(t, srv.URL, runs, "cz_total", []analyze.Window{
		{At: time.UnixMilli(base + 60_000), Length: 5 * time.Minute},
		{At: time.UnixMilli(base + 10_000), Length: 5 * time.Minute},
		{At: time.UnixMilli(base + 60_000), Length: 50_001 * time.Millisecond},
	})
}

// compareWritten writes runs of the agent (each a start, its samples'
// increments) to a store and by remote write to the Prometheus at srvURL,
// and compares name's answers from both over the windows.
func compareWritten(t *testing.T, srvURL string, runs [][]store.Sample, name string, wins []analyze.Window) {
	t.Helper()
	ctx := context.Background()
	p := filepath.Join(t.TempDir(), "rw.db")
	st, err := store.Open(ctx, p, store.Options{})
	if err != nil {
		t.Fatal(err)
	}
	for _, run := range runs {
		tx, err := st.Begin(ctx)
		if err != nil {
			t.Fatal(err)
		}
		for _, s := range run {
			if err := tx.Add(ctx, s); err != nil {
				t.Fatal(err)
			}
		}
		if _, err := tx.Commit(ctx); err != nil {
			t.Fatal(err)
		}
		w, err := remotewrite.New(remotewrite.Options{URL: srvURL + "/api/v1/write", FlushInterval: 10 * time.Millisecond, Protocol: remotewrite.ProtocolV1})
		if err != nil {
			t.Fatal(err)
		}
		w.Enqueue(run)
		w.Close(ctx)
		if s := w.Stats(); s.Sent != int64(len(run))+1 {
			t.Fatalf("sent %d samples, want %d (the totals and the marker)", s.Sent, len(run)+1)
		}
	}
	st.Close()
	open := func(src string) *analyze.DB {
		db, err := analyze.Open(ctx, []string{src}, analyze.Options{CacheDir: t.TempDir(),
			Sources: map[string]promsrc.Config{src: {}}, Timeout: 30 * time.Second})
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { db.Close() })
		return db
	}
	want, got := open(p), open(srvURL)
	checked := 0
	for _, fn := range []string{"count", "min", "max", "sum", "increase", "count_le(0)", "last", "avg", "rate"} {
		path := name + "." + fn
		e, err := metricpath.Parse(path)
		if err != nil {
			t.Fatal(err)
		}
		for _, win := range wins {
			ws, err := want.Eval(ctx, e, win)
			if err != nil {
				t.Fatal(err)
			}
			gs, err := got.Eval(ctx, e, win)
			if err != nil {
				t.Fatalf("%s at %v (source): %v", path, win, err)
			}
			if !sameResults(ws, gs) {
				t.Errorf("%s over %s at %d: the source gives %v, the store %v", path, win.Length, win.At.UnixMilli(), gs, ws)
			}
			checked++
		}
	}
	if checked == 0 {
		t.Fatal("nothing compared")
	}
}
