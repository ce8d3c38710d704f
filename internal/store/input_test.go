package store

import (
	"context"
	"strings"
	"testing"
)

// Invalid UTF-8 anywhere in a series' identity is refused with the field
// named; so are the label names Prometheus reserves.
func TestValidateTextFields(t *testing.T) {
	cases := []struct {
		s    Sample
		want string
	}{
		{Sample{Name: "m\xff", Type: Gauge, TS: 1}, `metric name "m\xff" is not valid UTF-8`},
		{Sample{Name: "m", Type: Gauge, TS: 1, Labels: map[string]string{"ho\xc3st": "a"}}, `label name "ho\xc3st" is not valid UTF-8`},
		{Sample{Name: "m", Type: Gauge, TS: 1, Labels: map[string]string{"host": "a\xffb"}}, `label "host" value is not valid UTF-8`},
		{Sample{Name: "m", Type: Gauge, TS: 1, Service: "api\xe2\x82"}, `service "api\xe2\x82" is not valid UTF-8`},
		{Sample{Name: "m", Type: Gauge, TS: 1, Labels: map[string]string{"__name__": "x"}}, `label name "__name__" is reserved (Prometheus reserves names starting with __)`},
		{Sample{Name: "m", Type: Gauge, TS: 1, Labels: map[string]string{"__meta_x": "x"}}, `label name "__meta_x" is reserved`},
		// With several bad labels, the first by name is named, whatever the map order.
		{Sample{Name: "m", Type: Gauge, TS: 1, Labels: map[string]string{"b": "\xff", "a": "\xff", "c": "\xff"}}, `label "a" value is not valid UTF-8`},
	}
	for _, c := range cases {
		for range 5 {
			if err := c.s.Validate(); err == nil || !strings.HasPrefix(err.Error(), c.want) || !IsInvalid(err) {
				t.Errorf("Validate(%q) = %v, want %q", c.s.Name, err, c.want)
			}
		}
	}
	ok := Sample{Name: "m", Type: Gauge, TS: 1, Labels: map[string]string{"_x": "é ☃", "a_": "日本"}, Service: "café"}
	if err := ok.Validate(); err != nil {
		t.Errorf("valid UTF-8 refused: %v", err)
	}
	// A transaction refuses them too (the path the fast import readers take).
	s := openTemp(t)
	tx, err := s.Begin(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	defer tx.Rollback()
	if _, err := tx.Series(context.Background(), "m", Gauge, nil, "\xff"); err == nil || !strings.Contains(err.Error(), "service") {
		t.Errorf("Series with a bad service: %v", err)
	}
	if _, err := tx.Series(context.Background(), "m", Gauge, map[string]string{"k": "\xff"}, ""); err == nil || !strings.Contains(err.Error(), `label "k" value is not valid UTF-8`) {
		t.Errorf("Series with a bad label value: %v", err)
	}
}

func TestValidateTime(t *testing.T) {
	for _, ms := range []int64{MinTimeMS, MaxTimeMS, 1795946400000} {
		if err := ValidateTime(ms); err != nil {
			t.Errorf("ValidateTime(%d) = %v", ms, err)
		}
	}
	for ms, want := range map[int64]string{
		0:               "timestamp 1970-01-01T00:00:00Z is in the year 1970 (want a time from 2000-01-01 to 2100-01-01)",
		MinTimeMS - 1:   "timestamp 1999-12-31T23:59:59.999Z is in the year 1999",
		MaxTimeMS + 1:   "timestamp 2100-01-01T00:00:00.001Z is in the year 2100",
		253370764800000: "timestamp 9999-01-01T00:00:00Z is in the year 9999",
	} {
		if err := ValidateTime(ms); err == nil || !strings.HasPrefix(err.Error(), want) {
			t.Errorf("ValidateTime(%d) = %v, want %q", ms, err, want)
		}
	}
	if MinTime.UnixMilli() != MinTimeMS || MaxTime.UnixMilli() != MaxTimeMS {
		t.Errorf("MinTimeMS/MaxTimeMS disagree with MinTime/MaxTime")
	}
}

// A write below the retention horizon (a deliberate backfill after a
// prune) moves the horizon back to its oldest sample, in the same
// transaction, so caches that keep rows at or after the horizon see it.
func TestWriteBelowHorizonLowersIt(t *testing.T) {
	ctx := context.Background()
	s := openTemp(t)
	horizon := func() int64 {
		t.Helper()
		m, err := ReadMeta(ctx, s.db)
		if err != nil {
			t.Fatal(err)
		}
		return m.HorizonMS
	}
	const day = 86400000
	now := int64(1795946400000)
	if _, err := s.Write(ctx, []Sample{{Name: "g", Type: Gauge, TS: now - 10*day, Value: 1}, {Name: "g", Type: Gauge, TS: now, Value: 2}}); err != nil {
		t.Fatal(err)
	}
	if h := horizon(); h != 0 {
		t.Fatalf("horizon = %d before any prune, want 0", h)
	}
	if _, err := s.Prune(ctx, now-7*day, 100); err != nil {
		t.Fatal(err)
	}
	if h := horizon(); h != now-7*day {
		t.Fatalf("horizon = %d after prune, want %d", h, now-7*day)
	}
	// Newer samples leave it alone.
	if _, err := s.Write(ctx, []Sample{{Name: "g", Type: Gauge, TS: now + 1000, Value: 3}}); err != nil {
		t.Fatal(err)
	}
	if h := horizon(); h != now-7*day {
		t.Errorf("horizon = %d after a newer write, want %d", h, now-7*day)
	}
	// A rolled-back write below it leaves it alone.
	tx, err := s.Begin(ctx)
	if err != nil {
		t.Fatal(err)
	}
	id, err := tx.Series(ctx, "g", Gauge, nil, "")
	if err != nil {
		t.Fatal(err)
	}
	tx.AppendRows(ctx, []int64{id}, []int64{now - 30*day}, []float64{1})
	tx.Rollback()
	if h := horizon(); h != now-7*day {
		t.Errorf("horizon = %d after a rollback, want %d", h, now-7*day)
	}
	// An ordinary write of older samples (a pushed backlog) leaves it
	// alone: they are pruned, not a reason to rebuild every cache.
	if _, err := s.Write(ctx, []Sample{{Name: "g", Type: Gauge, TS: now - 8*day, Value: 4}}); err != nil {
		t.Fatal(err)
	}
	if h := horizon(); h != now-7*day {
		t.Errorf("horizon = %d after an ordinary old write, want %d", h, now-7*day)
	}
	// A backfill (an import) moves it back to the oldest of its samples.
	tx, err = s.Begin(ctx)
	if err != nil {
		t.Fatal(err)
	}
	tx.Backfill = true
	for _, smp := range []Sample{
		{Name: "g", Type: Gauge, TS: now - 9*day - 500, Value: 5},
		{Name: "g", Type: Gauge, TS: now - 8*day, Value: 6},
	} {
		if err := tx.Add(ctx, smp); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := tx.Commit(ctx); err != nil {
		t.Fatal(err)
	}
	if h := horizon(); h != now-9*day-500 {
		t.Errorf("horizon = %d after a backfill, want %d", h, now-9*day-500)
	}
	// ... and every stored sample is at or after the horizon.
	var below int
	s.db.QueryRow("SELECT count(*) FROM samples WHERE ts < ?", horizon()).Scan(&below)
	if below != 0 {
		t.Errorf("%d samples below the horizon", below)
	}
}

func TestImportRecords(t *testing.T) {
	ctx := context.Background()
	s := openTemp(t)
	tx, err := s.Begin(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if _, ok, err := tx.LookupImport(ctx, "ab"); ok || err != nil {
		t.Fatalf("LookupImport on a new store = %v, %v", ok, err)
	}
	rec := ImportRecord{File: "a.jsonl", ImportedAt: "2026-11-29T10:00:00Z", Samples: 3}
	if err := tx.RecordImport(ctx, "ab", rec); err != nil {
		t.Fatal(err)
	}
	if _, err := tx.Commit(ctx); err != nil {
		t.Fatal(err)
	}
	var v string
	if err := s.db.QueryRow("SELECT value FROM meta WHERE key = 'import_sha256:ab'").Scan(&v); err != nil || v != `{"file":"a.jsonl","imported_at":"2026-11-29T10:00:00Z","samples":3}` {
		t.Errorf("meta value = %q, %v", v, err)
	}
	tx, _ = s.Begin(ctx)
	defer tx.Rollback()
	if got, ok, err := tx.LookupImport(ctx, "ab"); !ok || err != nil || got != rec {
		t.Errorf("LookupImport = %+v, %v, %v", got, ok, err)
	}
	if _, err := ReadMeta(ctx, s.db); err != nil {
		t.Errorf("ReadMeta with import records: %v", err)
	}
}
