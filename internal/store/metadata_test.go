package store

import (
	"context"
	"path/filepath"
	"reflect"
	"testing"
)

// The metadata written in a transaction is read back after the store is
// closed and opened again.
func TestMetadataRoundTrip(t *testing.T) {
	ctx := context.Background()
	p := filepath.Join(t.TempDir(), "m.db")
	s, err := Open(ctx, p, Options{})
	if err != nil {
		t.Fatal(err)
	}
	tx, err := s.Begin(ctx)
	if err != nil {
		t.Fatal(err)
	}
	for _, m := range []Metadata{
		{Name: "jobs_total", Service: "billing", Help: "Jobs run.\nSecond line \\ backslash."},
		{Name: "jobs_total", Service: "billing", Help: "Jobs run, replaced."},
		{Name: "latency_seconds", Help: "Latency.", Unit: "seconds"},
	} {
		if err := tx.SetMetadata(ctx, m); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := tx.Commit(ctx); err != nil {
		t.Fatal(err)
	}
	s.Close()
	s, err = Open(ctx, p, Options{ReadOnly: true})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	got, err := s.Metadata(ctx)
	if err != nil {
		t.Fatal(err)
	}
	want := []Metadata{
		{Name: "jobs_total", Service: "billing", Help: "Jobs run, replaced."},
		{Name: "latency_seconds", Help: "Latency.", Unit: "seconds"},
	}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("Metadata = %+v, want %+v", got, want)
	}
}

// A store of format version 1 (the first migration alone) opens read-only
// as it is (no metadata), and a writing open migrates it to Version 2 with
// its series and samples kept.
func TestMigrateVersion1(t *testing.T) {
	ctx := context.Background()
	p := filepath.Join(t.TempDir(), "v1.db")
	s, err := Open(ctx, p, Options{})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := s.Write(ctx, []Sample{{Name: "up", Type: Gauge, TS: 1000, Value: 1}}); err != nil {
		t.Fatal(err)
	}
	// Undo migration 2 as a version 1 binary would have left the file.
	for _, q := range []string{"DROP TABLE metric_metadata", "PRAGMA user_version = 1"} {
		if _, err := s.db.Exec(q); err != nil {
			t.Fatal(err)
		}
	}
	s.Close()

	ro, err := Open(ctx, p, Options{ReadOnly: true})
	if err != nil {
		t.Fatalf("read-only open of a version 1 store: %v", err)
	}
	if md, err := ro.Metadata(ctx); err != nil || md != nil {
		t.Errorf("version 1 Metadata = %v, %v; want none", md, err)
	}
	ro.Close()

	s, err = Open(ctx, p, Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	var v int
	s.db.QueryRow("PRAGMA user_version").Scan(&v)
	if v != 2 || Version != 2 {
		t.Errorf("user_version = %d, Version = %d; want 2", v, Version)
	}
	tx, err := s.Begin(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if err := tx.SetMetadata(ctx, Metadata{Name: "up", Help: "Target up."}); err != nil {
		t.Fatal(err)
	}
	if _, err := tx.Commit(ctx); err != nil {
		t.Fatal(err)
	}
	var n int
	s.db.QueryRow("SELECT count(*) FROM samples").Scan(&n)
	if n != 1 {
		t.Errorf("samples after migration = %d, want 1", n)
	}
}

// Metadata a Prometheus page could not carry (an invalid name, help that
// is not UTF-8) is refused as invalid, and the transaction stays usable.
func TestMetadataRefusedInvalid(t *testing.T) {
	ctx := context.Background()
	s, err := Open(ctx, filepath.Join(t.TempDir(), "m.db"), Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	tx, err := s.Begin(ctx)
	if err != nil {
		t.Fatal(err)
	}
	for _, m := range []Metadata{{Name: "a.b", Help: "x"}, {Name: "ok_total", Help: "bad \xff"}} {
		if err := tx.SetMetadata(ctx, m); !IsInvalid(err) {
			t.Errorf("SetMetadata(%+v) = %v, want an invalid error", m, err)
		}
	}
	if err := tx.SetMetadata(ctx, Metadata{Name: "ok_total", Help: "fine"}); err != nil {
		t.Fatal(err)
	}
	if _, err := tx.Commit(ctx); err != nil {
		t.Fatal(err)
	}
	md, err := s.Metadata(ctx)
	if err != nil || len(md) != 1 || md[0].Help != "fine" {
		t.Errorf("Metadata() = %+v, %v; want ok_total's alone", md, err)
	}
}
