package state

import (
	"context"
	"os"
	"reflect"
	"testing"
	"time"
)

// A memory DB is what replay steps the evaluate pipeline on: it must keep
// what one run committed for the next, take no file lock (no ":memory:.lock"
// in the working directory) and read no clock.
func TestOpenMemoryRoundTrip(t *testing.T) {
	dir := t.TempDir()
	t.Chdir(dir)
	ctx := context.Background()
	d, err := OpenMemory(ctx)
	if err != nil {
		t.Fatal(err)
	}
	defer d.Close()
	d.Clock = func() time.Time { t.Fatal("a memory DB's Begin read the clock"); return time.Time{} }

	r, err := d.Begin(ctx, "replay", 0)
	if err != nil {
		t.Fatal(err)
	}
	a := NewAlert("HighLatency", map[string]string{"job": "api"})
	a = Step(a, hi, at(0), 2*time.Minute)
	if err := r.Put(a); err != nil {
		t.Fatal(err)
	}
	if err := r.Commit(); err != nil {
		t.Fatal(err)
	}
	// A second Begin while nothing holds the DB: the first run's commit
	// must still be there (the pool kept the only connection).
	for i := range 3 {
		r, err = d.Begin(ctx, "replay", 0)
		if err != nil {
			t.Fatal(err)
		}
		got, err := r.Alerts()
		if err != nil {
			t.Fatal(err)
		}
		if !reflect.DeepEqual(got, map[uint64]Alert{a.Fingerprint: a}) {
			t.Fatalf("run %d: got %+v, want %+v", i, got, a)
		}
		if err := r.Commit(); err != nil {
			t.Fatal(err)
		}
	}
	ents, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	for _, e := range ents {
		t.Errorf("a memory DB created %s in the working directory", e.Name())
	}

	s, err := d.Snapshot(ctx)
	if err != nil {
		t.Fatal(err)
	}
	defer s.Rollback()
	if err := s.Put(a); err == nil {
		t.Error("Put on a snapshot of a memory DB: want an error")
	}
}

// A snapshot stays read-only on a file DB too, now that read-only is a flag
// of its own rather than "no lock".
func TestSnapshotReadOnly(t *testing.T) {
	ctx := context.Background()
	d := openTest(t, t.TempDir()+"/s.db")
	s, err := d.Snapshot(ctx)
	if err != nil {
		t.Fatal(err)
	}
	defer s.Rollback()
	if err := s.Put(NewAlert("R", nil)); err == nil {
		t.Error("Put on a snapshot: want an error")
	}
}
