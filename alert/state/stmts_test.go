package state

import (
	"context"
	"path/filepath"
	"testing"
	"time"
)

// A memory DB (replay's: tens of thousands of runs back to back) prepares
// each statement once, after the first run that asked for it, and its
// later runs reuse it with the same results; a file DB keeps none. The
// tables a run steps (alerts, outbox, incidents, runs) are Go maps on a
// memory DB (memoutbox.go): the thresholds are what is still SQL there.
func TestMemoryStatementsPrepared(t *testing.T) {
	ctx := context.Background()
	d, err := OpenMemory(ctx)
	if err != nil {
		t.Fatal(err)
	}
	defer d.Close()
	at := time.Date(2026, 11, 29, 10, 0, 0, 0, time.UTC)
	for i := range 3 {
		r, err := d.Begin(ctx, "test", 0)
		if err != nil {
			t.Fatal(err)
		}
		a := NewAlert("r", map[string]string{"i": string(rune('a' + i))})
		a.State, a.FiredAt, a.LastEval = Firing, at, at
		if err := r.Put(a); err != nil {
			t.Fatal(err)
		}
		if err := r.SetLastRun("evaluate", at.Add(time.Duration(i)*time.Minute)); err != nil {
			t.Fatal(err)
		}
		if err := r.PutThreshold(ThresholdChange{Rule: "r", TunedAt: at, New: float64(i), Method: "m"}); err != nil {
			t.Fatal(err)
		}
		if err := r.Commit(); err != nil {
			t.Fatal(err)
		}
		if i == 0 && len(d.stmts) == 0 {
			t.Fatal("no statement prepared after the first run")
		}
	}
	r, err := d.Begin(ctx, "test", 0)
	if err != nil {
		t.Fatal(err)
	}
	alerts, err := r.Alerts()
	if err != nil {
		t.Fatal(err)
	}
	last, err := r.LastRun("evaluate")
	if err != nil {
		t.Fatal(err)
	}
	ths, err := r.Thresholds()
	r.Rollback()
	if err != nil || len(alerts) != 3 || !last.Equal(at.Add(2*time.Minute)) || ths["r"].Value != 2 {
		t.Errorf("%d alerts, last run %v, threshold %v (%v); want 3, 10:02, 2", len(alerts), last, ths["r"].Value, err)
	}

	f, err := Open(ctx, filepath.Join(t.TempDir(), "s.db"))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	r, err = f.Begin(ctx, "test", time.Second)
	if err != nil {
		t.Fatal(err)
	}
	if err := r.SetLastRun("evaluate", at); err != nil {
		t.Fatal(err)
	}
	if err := r.Commit(); err != nil {
		t.Fatal(err)
	}
	if len(f.stmts) != 0 {
		t.Errorf("a file DB prepared %d statements", len(f.stmts))
	}
}
