package state

import (
	"context"
	"fmt"
	"math"
	"path/filepath"
	"reflect"
	"testing"
	"time"
)

// A memory DB keeps its alerts in a map; what a run reads back must be
// exactly what a file DB's table gives for the same writes: labels never
// nil, times cut to the millisecond in UTC, NaN for an infinite value
// stored as NULL (SQLite binds ±Inf as a real, so only NaN is NULL).
func TestMemoryAlertsReadBackAsFile(t *testing.T) {
	ctx := context.Background()
	file, err := Open(ctx, filepath.Join(t.TempDir(), "s.db"))
	if err != nil {
		t.Fatal(err)
	}
	defer file.Close()
	mem, err := OpenMemory(ctx)
	if err != nil {
		t.Fatal(err)
	}
	defer mem.Close()
	odd := time.Date(2026, 11, 29, 10, 0, 0, 123456789, time.FixedZone("x", 3600))
	alerts := []Alert{
		{Rule: "nolabels", State: Firing, Value: math.NaN(), ActiveSince: odd, FiredAt: odd, LastEval: odd},
		{Rule: "inf", Labels: map[string]string{"a": "1"}, State: Pending, Value: math.Inf(1), ActiveSince: odd, LastEval: odd},
		{Rule: "acked", Labels: map[string]string{"b": "2"}, State: Firing, Value: 3.5, FiredAt: odd, LastEval: odd,
			LastNotified: odd, NotifyCount: 2, Acked: true, AckComment: "on it", AckedAt: odd, Incident: "i1", EscPolicy: "p", EscSteps: 1},
	}
	read := func(d *DB) map[uint64]Alert {
		r, err := d.Begin(ctx, "t", 0)
		if err != nil {
			t.Fatal(err)
		}
		for _, a := range alerts {
			if err := r.Put(a); err != nil {
				t.Fatal(err)
			}
		}
		if err := r.Commit(); err != nil {
			t.Fatal(err)
		}
		r, err = d.Begin(ctx, "t", 0)
		if err != nil {
			t.Fatal(err)
		}
		defer r.Rollback()
		got, err := r.Alerts()
		if err != nil {
			t.Fatal(err)
		}
		return got
	}
	fromFile, fromMem := read(file), read(mem)
	if len(fromFile) != 3 {
		t.Fatalf("file DB: %d alerts", len(fromFile))
	}
	for fp, fa := range fromFile {
		ma, ok := fromMem[fp]
		if !ok {
			t.Fatalf("memory DB lacks %s", fa.Rule)
		}
		// NaN != NaN: compare values apart.
		fv, mv := fa.Value, ma.Value
		fa.Value, ma.Value = 0, 0
		if !reflect.DeepEqual(fa, ma) || !(fv == mv || math.IsNaN(fv) && math.IsNaN(mv)) {
			t.Errorf("%s:\nfile   %#v (value %v)\nmemory %#v (value %v)", fa.Rule, fa, fv, ma, mv)
		}
	}
}

// A memory DB run's writes are its transaction's: gone on Rollback, kept
// by Save, and a later write in the run sees the earlier one.
func TestMemoryAlertsTransaction(t *testing.T) {
	ctx := context.Background()
	d, err := OpenMemory(ctx)
	if err != nil {
		t.Fatal(err)
	}
	defer d.Close()
	a := Step(NewAlert("r", map[string]string{"h": "a"}), hi, at(0), 0)
	r, _ := d.Begin(ctx, "t", 0)
	if err := r.Put(a); err != nil {
		t.Fatal(err)
	}
	if got, _ := r.Alerts(); len(got) != 1 {
		t.Fatalf("the run does not see its own write: %v", got)
	}
	r.Rollback()
	r, _ = d.Begin(ctx, "t", 0)
	if got, _ := r.Alerts(); len(got) != 0 {
		t.Fatalf("a rolled back write stayed: %v", got)
	}
	if err := r.Put(a); err != nil {
		t.Fatal(err)
	}
	if err := r.Save(); err != nil {
		t.Fatal(err)
	}
	if err := r.Delete(a.Fingerprint); err != nil {
		t.Fatal(err)
	}
	r.Rollback()
	r, _ = d.Begin(ctx, "t", 0)
	defer r.Rollback()
	if got, _ := r.Alerts(); len(got) != 1 {
		t.Fatalf("a saved write was lost, or a rolled back delete kept: %v", got)
	}
	if err := r.Delete(a.Fingerprint); err != nil {
		t.Fatal(err)
	}
	if got, _ := r.Alerts(); len(got) != 0 {
		t.Fatalf("a delete is not seen by its run: %v", got)
	}
}

// A memory DB run that has written no alert reads them without copying
// the map (a replay reads every alert ever stored at every step); once it
// has written, it reads its writes over the saved ones, and a later run
// reads what was saved.
func TestMemoryAlertsReadWithoutCopy(t *testing.T) {
	ctx := context.Background()
	d, err := OpenMemory(ctx)
	if err != nil {
		t.Fatal(err)
	}
	defer d.Close()
	r, _ := d.Begin(ctx, "t", 0)
	for i := range 1000 {
		if err := r.Put(Step(NewAlert("r", map[string]string{"i": fmt.Sprint(i)}), hi, at(0), 0)); err != nil {
			t.Fatal(err)
		}
	}
	if err := r.Commit(); err != nil {
		t.Fatal(err)
	}
	r, _ = d.Begin(ctx, "t", 0)
	defer r.Rollback()
	if n := testing.AllocsPerRun(10, func() { r.Alerts() }); n > 0 {
		t.Errorf("%v allocations to read 1000 alerts, want none", n)
	}
	a := Step(NewAlert("r", map[string]string{"i": "new"}), hi, at(1), 0)
	if err := r.Put(a); err != nil {
		t.Fatal(err)
	}
	if got, _ := r.Alerts(); len(got) != 1001 || got[a.Fingerprint].State != a.State {
		t.Errorf("the run reads %d alerts, want 1001 with its own write", len(got))
	}
}
