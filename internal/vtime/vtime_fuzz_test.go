package vtime

import (
	"testing"
	"time"
)

// FuzzParseDuration: any duration text (YAML windows, --window, --for)
// parses to a non-negative duration or is refused; FormatDuration of it
// reads back as the same duration.
func FuzzParseDuration(f *testing.F) {
	for _, s := range []string{"90s", "5m", "1h", "7d", "2w", "300", "1.5", "1h30m", "0", "-1s", "1e300", "9999999w", " 1d ", "1d2h", "NaN"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		d, err := ParseDuration(s)
		if err != nil {
			return
		}
		if d < 0 {
			t.Fatalf("%q: negative %v", s, d)
		}
		back, err := ParseDuration(FormatDuration(d))
		if err != nil || back != d {
			t.Fatalf("%q = %v printed %q reads %v (%v)", s, d, FormatDuration(d), back, err)
		}
	})
}

// FuzzParseInstant: any --at text parses to a UTC instant or is refused.
func FuzzParseInstant(f *testing.F) {
	for _, s := range []string{"2026-11-29T10:00:00Z", "2026-11-29T10:00:00.5+02:00", "1795946400", "1795946400.25", "1795946400000", "-1", "1e11", "9999-12-31T23:59:59Z"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		at, err := ParseInstant(s)
		if err == nil && at.Location() != time.UTC {
			t.Fatalf("%q: %v not in UTC", s, at)
		}
	})
}

// Found by FuzzParseDuration: d and w components past the largest
// Duration wrapped to a negative one (9999999w was -2562047h47m).
func TestParseDurationOutOfRange(t *testing.T) {
	for _, s := range []string{"9999999w", "106752d", "15250w2d", "106751d24h", "1d9223372036s"} {
		if d, err := ParseDuration(s); err == nil {
			t.Errorf("%q: %v, want out of range", s, d)
		}
	}
	if d, err := ParseDuration("106751d"); err != nil || d != 106751*24*time.Hour {
		t.Errorf("106751d: %v, %v", d, err)
	}
}
