package vtime

import (
	"fmt"
	"strings"
	"testing"
	"time"
)

func TestParseDuration(t *testing.T) {
	cases := []struct {
		in   string
		want time.Duration
	}{
		{"90s", 90 * time.Second},
		{"5m", 5 * time.Minute},
		{"1h30m", 90 * time.Minute},
		{"7d", 7 * 24 * time.Hour},
		{"2w", 14 * 24 * time.Hour},
		{"1d12h", 36 * time.Hour},
		{"300", 300 * time.Second},
		{"1.5", 1500 * time.Millisecond},
		{"500ms", 500 * time.Millisecond},
	}
	for _, c := range cases {
		got, err := ParseDuration(c.in)
		if err != nil || got != c.want {
			t.Errorf("ParseDuration(%q) = %v, %v; want %v", c.in, got, err, c.want)
		}
	}
	for _, bad := range []string{"", "5", "x", "5x", "-5m", "5 m", "d"} {
		if bad == "5" {
			continue // a bare number is seconds
		}
		if _, err := ParseDuration(bad); err == nil {
			t.Errorf("ParseDuration(%q) succeeded, want error", bad)
		}
	}
}

func TestFormatDuration(t *testing.T) {
	for in, want := range map[time.Duration]string{
		7 * 24 * time.Hour: "1w", 48 * time.Hour: "2d", 5 * time.Minute: "5m", 90 * time.Second: "1m30s",
	} {
		if got := FormatDuration(in); got != want {
			t.Errorf("FormatDuration(%v) = %q, want %q", in, got, want)
		}
	}
}

func TestParseInstant(t *testing.T) {
	want := time.Date(2026, 11, 29, 10, 0, 0, 0, time.UTC)
	for _, in := range []string{"2026-11-29T10:00:00Z", "2026-11-29T11:00:00+01:00", "1795946400"} {
		got, err := ParseInstant(in)
		if err != nil || !got.Equal(want) {
			t.Errorf("ParseInstant(%q) = %v, %v; want %v", in, got, err, want)
		}
	}
	got, err := ParseInstant("1795946400.5")
	if err != nil || got.UnixMilli() != 1795946400500 {
		t.Errorf("fractional seconds: got %v, %v", got, err)
	}
	for _, bad := range []string{"", "yesterday", "2026-11-29", "NaN", "-1"} {
		if _, err := ParseInstant(bad); err == nil {
			t.Errorf("ParseInstant(%q) succeeded, want error", bad)
		}
	}
}

// An overflow in Go's own units (hours, minutes) is out of range, as in
// days and weeks, not "invalid" (hostile review D9).
func TestParseDurationOverflowInGoUnits(t *testing.T) {
	for _, s := range []string{"2562048h", "2562047h1h", "153722868m", "9999999999999999999s1ms"} {
		_, err := ParseDuration(s)
		if err == nil || err.Error() != fmt.Sprintf("duration %q out of range", s) {
			t.Errorf("%s: got %v, want out of range", s, err)
		}
	}
	for _, s := range []string{"1x", "5mm", "h1"} {
		if _, err := ParseDuration(s); err == nil || strings.Contains(err.Error(), "out of range") {
			t.Errorf("%s: got %v, want invalid", s, err)
		}
	}
}
