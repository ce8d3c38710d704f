package state

import (
	"bytes"
	"context"
	"database/sql"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// OpenReadOnly reads a state DB of an older format as it is: migrating it
// would be a write, and would lock the older vigil whose cron runs use it
// out of its own state DB. The file is byte for byte what it was.
func TestOpenReadOnlyNeverMigrates(t *testing.T) {
	ctx := context.Background()
	p := filepath.Join(t.TempDir(), "s.db")
	d, err := Open(ctx, p)
	if err != nil {
		t.Fatal(err)
	}
	r, err := d.Begin(ctx, "t", 0)
	if err != nil {
		t.Fatal(err)
	}
	if err := r.PutThreshold(ThresholdChange{Rule: "lat", TunedAt: at(0), Old: 100, New: 120, Method: "p95", Written: true}); err != nil {
		t.Fatal(err)
	}
	if err := r.Commit(); err != nil {
		t.Fatal(err)
	}
	if err := d.Close(); err != nil {
		t.Fatal(err)
	}
	// Back to format 6, as an older vigil left it.
	raw, err := sql.Open("sqlite", p)
	if err != nil {
		t.Fatal(err)
	}
	for _, q := range []string{"DROP INDEX incidents_closed", "DROP INDEX outbox_word", "PRAGMA user_version = 6", "PRAGMA wal_checkpoint(TRUNCATE)"} {
		if _, err := raw.Exec(q); err != nil {
			t.Fatal(q, err)
		}
	}
	raw.Close()
	before, err := os.ReadFile(p)
	if err != nil {
		t.Fatal(err)
	}

	ro, err := OpenReadOnly(ctx, p)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := ro.Begin(ctx, "t", 0); err == nil || !strings.Contains(err.Error(), "read-only") {
		t.Errorf("Begin on a read-only DB: %v, want a refusal", err)
	}
	snap, err := ro.Snapshot(ctx)
	if err != nil {
		t.Fatal(err)
	}
	hs, err := snap.ThresholdHistory("")
	if err != nil {
		t.Fatal(err)
	}
	if len(hs) != 1 || hs[0].New != 120 || hs[0].Old != 100 {
		t.Errorf("history = %+v, want the one change 100 -> 120", hs)
	}
	snap.Rollback()
	if err := ro.Close(); err != nil {
		t.Fatal(err)
	}
	after, err := os.ReadFile(p)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(before, after) {
		t.Error("reading the state DB changed the file")
	}
	raw, _ = sql.Open("sqlite", p)
	defer raw.Close()
	var v int
	if err := raw.QueryRow("PRAGMA user_version").Scan(&v); err != nil || v != 6 {
		t.Errorf("format after reading = %d (%v), want 6 still", v, err)
	}
	if _, err := OpenReadOnly(ctx, filepath.Join(t.TempDir(), "missing.db")); err == nil {
		t.Error("a missing state DB opened")
	}
}

// A state DB the user may only read opens as immutable: nothing is
// written beside it (no -shm, no -wal), and it reads what was
// checkpointed. (Root ignores file modes, so the fallback itself is
// called here.)
func TestOpenReadOnlyImmutableWritesNothing(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	p := filepath.Join(dir, "s.db")
	d, err := Open(ctx, p)
	if err != nil {
		t.Fatal(err)
	}
	r, _ := d.Begin(ctx, "t", 0)
	if err := r.PutThreshold(ThresholdChange{Rule: "lat", TunedAt: at(0), Old: 1, New: 2, Method: "p95"}); err != nil {
		t.Fatal(err)
	}
	if err := r.Commit(); err != nil {
		t.Fatal(err)
	}
	d.Close() // the last connection checkpoints and removes -wal and -shm
	before, _ := os.ReadDir(dir)
	ro, _, _, err := openRO(ctx, p, true)
	if err != nil {
		t.Fatal(err)
	}
	snap, err := ro.Snapshot(ctx)
	if err != nil {
		t.Fatal(err)
	}
	hs, err := snap.ThresholdHistory("lat")
	snap.Rollback()
	ro.Close()
	if err != nil || len(hs) != 1 || hs[0].New != 2 {
		t.Fatalf("history %+v, %v", hs, err)
	}
	after, _ := os.ReadDir(dir)
	if len(after) != len(before) {
		t.Errorf("files beside the state DB: %d before, %d after reading it immutable", len(before), len(after))
	}
}
