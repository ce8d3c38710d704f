package state

import (
	"bytes"
	"context"
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// A state DB truncated to 0 bytes (a failed restore) is refused and left
// as it is: read as new, it would forget every alert and notify again.
func TestOpenRefusesEmpty(t *testing.T) {
	p := filepath.Join(t.TempDir(), "s.db")
	if err := os.WriteFile(p, nil, 0o644); err != nil {
		t.Fatal(err)
	}
	for name, open := range map[string]func(context.Context, string) (*DB, error){"Open": Open, "OpenExisting": OpenExisting} {
		d, err := open(context.Background(), p)
		var ee *EmptyError
		if !errors.As(err, &ee) {
			if d != nil {
				d.Close()
			}
			t.Fatalf("%s of a 0-byte file: %v, want *EmptyError", name, err)
		}
		if want := "open state DB " + p + ": the file is empty (0 bytes)"; err.Error() != want {
			t.Errorf("%s: %q, want %q", name, err, want)
		}
		if !strings.Contains(ee.Hint(), "remove "+p+" to start over") {
			t.Errorf("hint %q", ee.Hint())
		}
		if st, err := os.Stat(p); err != nil || st.Size() != 0 {
			t.Errorf("%s changed the file: %v, %v", name, st, err)
		}
	}
}

// OpenExisting never creates the file, nor its folder.
func TestOpenExistingMissing(t *testing.T) {
	dir := t.TempDir()
	p := filepath.Join(dir, "sub", "typo.db")
	_, err := OpenExisting(context.Background(), p)
	var ne *NotExistError
	if !errors.As(err, &ne) || !errors.Is(err, fs.ErrNotExist) || err.Error() != "state DB "+p+" does not exist" {
		t.Fatalf("missing: %v", err)
	}
	if _, err := os.Stat(filepath.Dir(p)); !errors.Is(err, fs.ErrNotExist) {
		t.Errorf("folder created: %v", err)
	}
	// Below Open's own check, SQLite is told not to create the file either
	// (it may vanish between the two).
	if d, err := openFile(context.Background(), filepath.Join(dir, "gone.db"), false); err == nil {
		d.Close()
		t.Error("openFile without create opened a missing file")
	}
	if _, err := os.Stat(filepath.Join(dir, "gone.db")); !errors.Is(err, fs.ErrNotExist) {
		t.Errorf("gone.db created: %v", err)
	}
}

// Open creates a state DB whole: the file is never empty and no temporary
// file is left beside it.
func TestOpenCreatesWhole(t *testing.T) {
	dir := t.TempDir()
	p := filepath.Join(dir, "s.db")
	openTest(t, p).Close()
	st, err := os.Stat(p)
	if err != nil || st.Size() == 0 {
		t.Fatalf("created: %v, %v", st, err)
	}
	ents, _ := os.ReadDir(dir)
	for _, e := range ents {
		if e.Name() != "s.db" {
			t.Errorf("left beside it: %s", e.Name())
		}
	}
	d := openTest(t, p) // and it opens again as a state DB
	r, err := d.Snapshot(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	defer r.Rollback()
	if m, err := r.Alerts(); err != nil || len(m) != 0 {
		t.Errorf("alerts %v, %v", m, err)
	}
}

// The last run of each source moves forward only: a rerun at the same
// instant, or an older one, keeps it.
func TestLastRun(t *testing.T) {
	ctx := context.Background()
	d := openTest(t, filepath.Join(t.TempDir(), "s.db"))
	t0 := time.Date(2026, 11, 29, 10, 2, 30, 0, time.UTC)
	set := func(source string, at time.Time) {
		t.Helper()
		r, err := d.Begin(ctx, "test", 0)
		if err != nil {
			t.Fatal(err)
		}
		if err := r.SetLastRun(source, at); err != nil {
			t.Fatal(err)
		}
		if err := r.Commit(); err != nil {
			t.Fatal(err)
		}
	}
	get := func(source string) time.Time {
		t.Helper()
		r, err := d.Snapshot(ctx)
		if err != nil {
			t.Fatal(err)
		}
		defer r.Rollback()
		at, err := r.LastRun(source)
		if err != nil {
			t.Fatal(err)
		}
		return at
	}
	if at := get("evaluate"); !at.IsZero() {
		t.Errorf("never ran: %v", at)
	}
	set("evaluate", t0)
	set("evaluate", t0.Add(-2*time.Minute))
	set("budget", t0.Add(-5*time.Minute))
	if at := get("evaluate"); !at.Equal(t0) {
		t.Errorf("evaluate: %v, want %v", at, t0)
	}
	if at := get("budget"); !at.Equal(t0.Add(-5 * time.Minute)) {
		t.Errorf("budget: %v, want 10:57:30", at)
	}
	// A snapshot cannot record a run.
	r, err := d.Snapshot(ctx)
	if err != nil {
		t.Fatal(err)
	}
	defer r.Rollback()
	if err := r.SetLastRun("evaluate", t0); err == nil {
		t.Error("a snapshot recorded a run")
	}
}

// A symlink planted at the lock path is refused, and its target is left
// as it was (following it, the run would truncate the target and write its
// name there).
func TestLockRefusesSymlink(t *testing.T) {
	dir := t.TempDir()
	target := filepath.Join(dir, "precious.txt")
	want := []byte("someone else's file\n")
	if err := os.WriteFile(target, want, 0o644); err != nil {
		t.Fatal(err)
	}
	d := openTest(t, filepath.Join(dir, "s.db"))
	if err := os.Symlink(target, d.Path+".lock"); err != nil {
		t.Fatal(err)
	}
	r, err := d.Begin(context.Background(), "test", 0)
	if err == nil {
		r.Rollback()
		t.Fatal("Begin took a lock through a symlink")
	}
	if want := "state lock " + d.Path + ".lock: is a symbolic link"; !strings.Contains(err.Error(), want) {
		t.Errorf("error %q, want %q", err, want)
	}
	if got, _ := os.ReadFile(target); !bytes.Equal(got, want) {
		t.Errorf("target now %q", got)
	}
	// A hard link to another file is refused too: writing the holder's name
	// would change that file.
	os.Remove(d.Path + ".lock")
	if err := os.Link(target, d.Path+".lock"); err != nil {
		t.Fatal(err)
	}
	if r, err := d.Begin(context.Background(), "test", 0); err == nil {
		r.Rollback()
		t.Error("Begin took a lock on a file with another name")
	}
	if got, _ := os.ReadFile(target); !bytes.Equal(got, want) {
		t.Errorf("target now %q", got)
	}
}
