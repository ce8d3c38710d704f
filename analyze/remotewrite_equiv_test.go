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
	ctx := context.Background()
	base := time.Now().Add(-10*time.Minute).UnixMilli() / 60_000 * 60_000
	smp := func(i int, v float64) store.Sample {
		return store.Sample{Name: "rs_jobs_total", Type: store.Counter, Labels: map[string]string{"q": "a"},
			TS: base + int64(i)*15_000 + 250, Value: v}
	}
	// Two runs of the agent: increments 3, 4 before the restart, 5, 6 after.
	runs := [][]store.Sample{{smp(0, 3), smp(1, 4)}, {smp(4, 5), smp(5, 6)}}
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
		w, err := remotewrite.New(remotewrite.Options{URL: srv.URL + "/api/v1/write", FlushInterval: 10 * time.Millisecond, Protocol: remotewrite.ProtocolV1})
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
	at := base + 2*60_000
	open := func(src string) *analyze.DB {
		db, err := analyze.Open(ctx, []string{src}, analyze.Options{CacheDir: t.TempDir(),
			Sources: map[string]promsrc.Config{src: {}}, Timeout: 30 * time.Second})
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { db.Close() })
		return db
	}
	want, got := open(p), open(srv.URL)
	checked := 0
	for _, path := range []string{"rs_jobs_total.count", "rs_jobs_total.min", "rs_jobs_total.max", "rs_jobs_total.sum",
		"rs_jobs_total.increase", "rs_jobs_total.count_le(0)", "rs_jobs_total.last", "rs_jobs_total.avg", "rs_jobs_total.rate"} {
		e, err := metricpath.Parse(path)
		if err != nil {
			t.Fatal(err)
		}
		// Windows holding the restart, starting on the marker's millisecond
		// and just before it, and ending on it.
		for _, win := range []analyze.Window{
			{At: time.UnixMilli(at), Length: 5 * time.Minute},
			{At: time.UnixMilli(at), Length: time.Duration(at-(base+60_000+249)) * time.Millisecond},
			{At: time.UnixMilli(at), Length: time.Duration(at-(base+60_000+248)) * time.Millisecond},
			{At: time.UnixMilli(base + 60_000 + 249), Length: 5 * time.Minute},
			{At: time.UnixMilli(base + 60_000 + 250), Length: 5 * time.Minute},
		} {
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
