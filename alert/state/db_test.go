package state

import (
	"context"
	"database/sql"
	"errors"
	"math"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"time"
)

func openTest(t *testing.T, p string) *DB {
	t.Helper()
	d, err := Open(context.Background(), p)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { d.Close() })
	return d
}

func TestOpenMigrates(t *testing.T) {
	ctx := context.Background()
	p := filepath.Join(t.TempDir(), "sub", "vigil-state.db")
	d := openTest(t, p)
	var v, app int
	var mode string
	d.db.QueryRowContext(ctx, "PRAGMA user_version").Scan(&v)
	d.db.QueryRowContext(ctx, "PRAGMA application_id").Scan(&app)
	d.db.QueryRowContext(ctx, "PRAGMA journal_mode").Scan(&mode)
	if v != Version || app != applicationID || mode != "wal" {
		t.Errorf("user_version %d application_id %#x journal_mode %s", v, app, mode)
	}
	d.Close()
	openTest(t, p) // reopening an up-to-date file is a no-op
}

func TestOpenRefuses(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()

	newer := filepath.Join(dir, "newer.db")
	d := openTest(t, newer)
	d.db.ExecContext(ctx, "PRAGMA user_version = 99")
	d.Close()
	if _, err := Open(ctx, newer); err == nil || !strings.Contains(err.Error(), "newer than this vigil") {
		t.Errorf("newer version: %v", err)
	}

	// A metric store (or anything else) with a version but not our id.
	other := filepath.Join(dir, "other.db")
	raw, _ := sql.Open("sqlite", other)
	raw.Exec("CREATE TABLE series(id INTEGER); PRAGMA user_version = 1")
	raw.Close()
	if _, err := Open(ctx, other); !errors.Is(err, ErrNotState) {
		t.Errorf("foreign file with version: %v", err)
	}

	tables := filepath.Join(dir, "tables.db")
	raw, _ = sql.Open("sqlite", tables)
	raw.Exec("CREATE TABLE x(id INTEGER)")
	raw.Close()
	if _, err := Open(ctx, tables); !errors.Is(err, ErrNotState) {
		t.Errorf("foreign file without version: %v", err)
	}

	if _, err := Open(ctx, dir); err == nil {
		t.Error("a directory: want error")
	}
}

func TestRunPutAlertsHistory(t *testing.T) {
	ctx := context.Background()
	d := openTest(t, filepath.Join(t.TempDir(), "s.db"))
	r, err := d.Begin(ctx, "test", 0)
	if err != nil {
		t.Fatal(err)
	}
	defer r.Rollback()

	a := NewAlert("HighLatency", map[string]string{"job": "api"})
	// Millisecond times survive; sub-millisecond parts would not.
	a = Step(a, hi, at(0), 2*time.Minute) // inactive -> pending
	a.LastNotified, a.NotifyCount, a.Acked, a.AckComment = at(0.5), 2, true, "on it"
	if err := r.Put(a); err != nil {
		t.Fatal(err)
	}
	got, err := r.Alerts()
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(got, map[uint64]Alert{a.Fingerprint: a}) {
		t.Fatalf("round trip:\n got %+v\nwant %+v", got[a.Fingerprint], a)
	}

	a = Step(a, hi, at(1), 2*time.Minute) // pending, no event
	if err := r.Put(a); err != nil {
		t.Fatal(err)
	}
	a = Step(a, hi, at(2), 2*time.Minute) // firing
	r.Put(a)
	a = Step(a, none, at(3), 2*time.Minute) // nodata, value kept
	r.Put(a)
	if err := r.Commit(); err != nil {
		t.Fatal(err)
	}
	if err := r.Put(a); err == nil {
		t.Error("Put after Commit: want error")
	}
	r.Rollback() // harmless after Commit

	r, err = d.Begin(ctx, "test", 0)
	if err != nil {
		t.Fatal(err)
	}
	defer r.Rollback()
	h, err := r.History(a.Fingerprint)
	if err != nil {
		t.Fatal(err)
	}
	want := []Event{
		{a.Fingerprint, "HighLatency", at(0), Inactive, Pending, 9},
		{a.Fingerprint, "HighLatency", at(2), Pending, Firing, 9},
		{a.Fingerprint, "HighLatency", at(3), Firing, NoData, 9},
	}
	if !reflect.DeepEqual(h, want) {
		t.Fatalf("history:\n got %+v\nwant %+v", h, want)
	}
	n, err := r.PruneHistory(at(2))
	if err != nil || n != 1 {
		t.Fatalf("PruneHistory = %d, %v; want 1", n, err)
	}
	if h, _ = r.History(a.Fingerprint); len(h) != 2 {
		t.Errorf("after prune: %+v", h)
	}

	// NaN values and never-set times come back as NaN and zero.
	b := NewAlert("Quiet", nil)
	if err := r.Put(b); err != nil {
		t.Fatal(err)
	}
	all, _ := r.Alerts()
	gb := all[b.Fingerprint]
	if !math.IsNaN(gb.Value) || !gb.LastEval.IsZero() || !gb.FiredAt.IsZero() || gb.State != Inactive || len(gb.Labels) != 0 {
		t.Errorf("zero alert round trip: %+v", gb)
	}
	// A state change with no time is refused rather than logged at 1970.
	c := NewAlert("NoTime", nil)
	c.State = Firing
	if err := r.Put(c); err == nil {
		t.Error("state change without LastEval: want error")
	}
	// Zero fingerprint is computed.
	e := Alert{Rule: "Computed", Labels: map[string]string{"x": "y"}, LastEval: at(0)}
	r.Put(e)
	all, _ = r.Alerts()
	if _, ok := all[Fingerprint("Computed", map[string]string{"x": "y"})]; !ok {
		t.Error("Put with zero Fingerprint did not compute it")
	}

	if err := r.Delete(b.Fingerprint); err != nil {
		t.Fatal(err)
	}
	all, _ = r.Alerts()
	if _, ok := all[b.Fingerprint]; ok || len(all) != 2 {
		t.Errorf("after Delete: %d alerts", len(all))
	}
	r.Rollback()

	// Rollback dropped the delete and the new alerts.
	r, _ = d.Begin(ctx, "test", 0)
	defer r.Rollback()
	all, _ = r.Alerts()
	if len(all) != 1 {
		t.Errorf("after Rollback: %d alerts, want 1", len(all))
	}
}

func TestBeginLocked(t *testing.T) {
	ctx := context.Background()
	p := filepath.Join(t.TempDir(), "vigil-state.db")
	a, b := openTest(t, p), openTest(t, p)
	a.Clock = func() time.Time { return at(0) }

	ra, err := a.Begin(ctx, "pid 1 on host-a", 0)
	if err != nil {
		t.Fatal(err)
	}
	start := time.Now()
	_, err = b.Begin(ctx, "pid 2 on host-b", 300*time.Millisecond)
	var le *LockedError
	if !errors.As(err, &le) || le.Holder != "pid 1 on host-a" || !le.Since.Equal(at(0)) {
		t.Fatalf("second Begin: %v (%#v)", err, le)
	}
	if waited := time.Since(start); waited < 250*time.Millisecond {
		t.Errorf("gave up after %v, want about the 300ms wait", waited)
	}
	if !strings.Contains(err.Error(), "pid 1 on host-a since 2025-03-01T12:00:00Z") {
		t.Errorf("message: %v", err)
	}
	// The holder can still read and write while the other waits out.
	if err := ra.Put(Step(NewAlert("r", nil), hi, at(0), 0)); err != nil {
		t.Fatal(err)
	}

	// A waiting Begin gets in once the holder commits.
	done := make(chan error, 1)
	go func() {
		rb, err := b.Begin(ctx, "pid 2 on host-b", 10*time.Second)
		if err == nil {
			var all map[uint64]Alert
			all, err = rb.Alerts()
			if err == nil && len(all) != 1 {
				err = errors.New("second run does not see the first run's alert")
			}
			rb.Rollback()
		}
		done <- err
	}()
	time.Sleep(100 * time.Millisecond)
	if err := ra.Commit(); err != nil {
		t.Fatal(err)
	}
	if err := <-done; err != nil {
		t.Fatalf("Begin after Commit: %v", err)
	}

	// After a rollback (or a crash) the lock is free too.
	rb, err := b.Begin(ctx, "pid 2 on host-b", 0)
	if err != nil {
		t.Fatal(err)
	}
	rb.Rollback()
	ra, err = a.Begin(ctx, "pid 3 on host-a", 0)
	if err != nil {
		t.Fatalf("Begin after Rollback: %v", err)
	}
	ra.Rollback()
}

func TestBeginCancelled(t *testing.T) {
	p := filepath.Join(t.TempDir(), "s.db")
	a, b := openTest(t, p), openTest(t, p)
	ra, err := a.Begin(context.Background(), "a", 0)
	if err != nil {
		t.Fatal(err)
	}
	defer ra.Rollback()
	ctx, cancel := context.WithTimeout(context.Background(), 100*time.Millisecond)
	defer cancel()
	start := time.Now()
	if _, err := b.Begin(ctx, "b", time.Minute); err == nil {
		t.Fatal("want error")
	}
	if time.Since(start) > 5*time.Second {
		t.Errorf("cancelled Begin took %v", time.Since(start))
	}
}
