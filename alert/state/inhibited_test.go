package state

import (
	"context"
	"database/sql"
	"path/filepath"
	"testing"
)

// putRead stores a in a run of d, then reads it back in another.
func putRead(t *testing.T, d *DB, a Alert) Alert {
	t.Helper()
	ctx := context.Background()
	r, err := d.Begin(ctx, "t", 0)
	if err != nil {
		t.Fatal(err)
	}
	if err := r.Put(a); err != nil {
		t.Fatal(err)
	}
	if err := r.Commit(); err != nil {
		t.Fatal(err)
	}
	r, err = d.Begin(ctx, "t", 0)
	if err != nil {
		t.Fatal(err)
	}
	defer r.Rollback()
	m, err := r.Alerts()
	if err != nil {
		t.Fatal(err)
	}
	return m[Fingerprint(a.Rule, a.Labels)]
}

// Why an alert is held back (issue 30: the inhibiting alert) is kept by
// a file state DB and by the memory one replay steps, and cleared by a
// Put without it.
func TestInhibitedByKept(t *testing.T) {
	ctx := context.Background()
	file := openTest(t, filepath.Join(t.TempDir(), "s.db"))
	mem, err := OpenMemory(ctx)
	if err != nil {
		t.Fatal(err)
	}
	defer mem.Close()
	held := Alert{Rule: "high_cpu", Labels: map[string]string{"host": "a"}, State: Firing, Value: 95,
		FiredAt: at(0), LastEval: at(0), InhibitedBy: `node_down{host="a"}`}
	for name, d := range map[string]*DB{"file": file, "memory": mem} {
		if got := putRead(t, d, held); got.InhibitedBy != `node_down{host="a"}` {
			t.Errorf("%s: inhibited_by %q, want node_down{host=\"a\"}", name, got.InhibitedBy)
		}
		told := held
		told.InhibitedBy, told.LastEval = "", at(1)
		if got := putRead(t, d, told); got.InhibitedBy != "" || got.State != Firing {
			t.Errorf("%s: after a run that did not hold it: %+v, want firing, no inhibited_by", name, got)
		}
	}
}

// A format 7 state DB (before inhibited_by) is migrated by Open: its
// alerts read back with no reason, and the column takes one.
func TestInhibitedByMigratesFormat7(t *testing.T) {
	p := filepath.Join(t.TempDir(), "s.db")
	d := openTest(t, p)
	a := Alert{Rule: "high_cpu", Labels: map[string]string{"host": "a"}, State: Firing, Value: 95, FiredAt: at(0), LastEval: at(0)}
	putRead(t, d, a)
	d.Close()
	raw, err := sql.Open("sqlite", p)
	if err != nil {
		t.Fatal(err)
	}
	for _, q := range []string{"ALTER TABLE alerts DROP COLUMN inhibited_by", "PRAGMA user_version = 7"} {
		if _, err := raw.Exec(q); err != nil {
			t.Fatal(q, err)
		}
	}
	raw.Close()

	d = openTest(t, p)
	var v int
	if err := d.db.QueryRow("PRAGMA user_version").Scan(&v); err != nil || v != 8 {
		t.Fatalf("format after Open: %d (%v), want 8", v, err)
	}
	r, err := d.Begin(context.Background(), "t", 0)
	if err != nil {
		t.Fatal(err)
	}
	m, err := r.Alerts()
	r.Rollback()
	if got, ok := m[Fingerprint(a.Rule, a.Labels)]; err != nil || !ok || got.State != Firing || got.InhibitedBy != "" {
		t.Fatalf("migrated alert %+v (%v, found %v), want firing with no inhibited_by", got, err, ok)
	}
	a.InhibitedBy, a.LastEval = `node_down{host="a"}`, at(1)
	if got := putRead(t, d, a); got.InhibitedBy != `node_down{host="a"}` {
		t.Errorf("inhibited_by after migration %q", got.InhibitedBy)
	}
}
