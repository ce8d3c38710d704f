// Package vtime parses the time formats of vigil's contract: durations in Go
// syntax extended with days and weeks ("7d", "2w", "1d12h"), and instants as
// RFC 3339 or unix seconds. Every command and config file goes through it so
// that "5m" and "2026-11-29T10:00:00Z" mean the same thing everywhere.
//
// It is shared ground for every tree, so it must not import any other
// vigil package.
package vtime

import (
	"fmt"
	"math"
	"strconv"
	"strings"
	"time"
)

// ParseDuration accepts Go durations plus the units d (24h) and w (7d). A
// bare number is seconds, as in the reference design's YAML.
func ParseDuration(s string) (time.Duration, error) {
	in := strings.TrimSpace(s)
	if in == "" {
		return 0, fmt.Errorf("empty duration")
	}
	if f, err := strconv.ParseFloat(in, 64); err == nil {
		if f < 0 || math.IsNaN(f) || math.IsInf(f, 0) || f > math.MaxInt64/1e9 {
			return 0, fmt.Errorf("duration %q out of range", s)
		}
		return time.Duration(f * float64(time.Second)), nil
	}
	// Split off d and w components, which time.ParseDuration does not know.
	var total time.Duration
	rest := in
	var b strings.Builder
	var parts float64 // the other parts' sum in ns, to tell overflow from bad syntax
	for len(rest) > 0 {
		i := 0
		for i < len(rest) && (rest[i] == '.' || (rest[i] >= '0' && rest[i] <= '9')) {
			i++
		}
		if i == 0 {
			return 0, fmt.Errorf("invalid duration %q (want e.g. 90s, 5m, 1h30m, 7d, 2w)", s)
		}
		num := rest[:i]
		j := i
		for j < len(rest) && rest[j] != '.' && (rest[j] < '0' || rest[j] > '9') {
			j++
		}
		unit := rest[i:j]
		switch unit {
		case "d", "w":
			f, err := strconv.ParseFloat(num, 64)
			if err != nil {
				return 0, fmt.Errorf("invalid duration %q", s)
			}
			day := 24 * time.Hour
			if unit == "w" {
				day *= 7
			}
			// Past the largest Duration (292 years) a conversion wraps
			// to a negative window.
			x := f * float64(day)
			if x >= math.MaxInt64 || time.Duration(x) > math.MaxInt64-total {
				return 0, fmt.Errorf("duration %q out of range", s)
			}
			total += time.Duration(x)
		case "":
			return 0, fmt.Errorf("invalid duration %q: missing unit after %s", s, num)
		default:
			b.WriteString(num)
			b.WriteString(unit)
			if f, err := strconv.ParseFloat(num, 64); err == nil && goUnits[unit] > 0 {
				parts += f * float64(goUnits[unit])
			}
		}
		rest = rest[j:]
	}
	if b.Len() > 0 {
		d, err := time.ParseDuration(b.String())
		if err != nil && parts >= math.MaxInt64 {
			// time.ParseDuration calls an overflow invalid.
			return 0, fmt.Errorf("duration %q out of range", s)
		}
		if err != nil {
			return 0, fmt.Errorf("invalid duration %q (want e.g. 90s, 5m, 1h30m, 7d, 2w)", s)
		}
		if d < 0 {
			return 0, fmt.Errorf("duration %q is negative", s)
		}
		if d > math.MaxInt64-total {
			return 0, fmt.Errorf("duration %q out of range", s)
		}
		total += d
	}
	return total, nil
}

// goUnits are time.ParseDuration's units.
var goUnits = map[string]time.Duration{"ns": time.Nanosecond, "us": time.Microsecond, "µs": time.Microsecond,
	"μs": time.Microsecond, "ms": time.Millisecond, "s": time.Second, "m": time.Minute, "h": time.Hour}

// FormatDuration prints d the way ParseDuration reads it back, preferring
// the largest exact unit ("7d" rather than "168h0m0s").
func FormatDuration(d time.Duration) string {
	switch {
	case d == 0:
		return "0s"
	case d%(7*24*time.Hour) == 0:
		return strconv.FormatInt(int64(d/(7*24*time.Hour)), 10) + "w"
	case d%(24*time.Hour) == 0:
		return strconv.FormatInt(int64(d/(24*time.Hour)), 10) + "d"
	case d%time.Hour == 0:
		return strconv.FormatInt(int64(d/time.Hour), 10) + "h"
	case d%time.Minute == 0:
		return strconv.FormatInt(int64(d/time.Minute), 10) + "m"
	}
	return d.String()
}

// ParseInstant accepts RFC 3339 (with or without fractional seconds) or
// unix seconds, possibly fractional. The result is in UTC.
func ParseInstant(s string) (time.Time, error) {
	in := strings.TrimSpace(s)
	if in == "" {
		return time.Time{}, fmt.Errorf("empty time")
	}
	if f, err := strconv.ParseFloat(in, 64); err == nil {
		return FromUnixSeconds(f)
	}
	t, err := time.Parse(time.RFC3339Nano, in)
	if err != nil {
		return time.Time{}, fmt.Errorf("invalid time %q (want RFC 3339 like 2026-11-29T10:00:00Z, or unix seconds)", s)
	}
	return t.UTC(), nil
}

// FromUnixSeconds converts fractional unix seconds, rejecting values that
// cannot be a real timestamp.
func FromUnixSeconds(f float64) (time.Time, error) {
	if math.IsNaN(f) || math.IsInf(f, 0) || f < 0 || f > 1e11 {
		if f > 1e11 && f/1000 <= 1e11 {
			return time.Time{}, fmt.Errorf("timestamp %v out of range: looks like milliseconds (want unix seconds)", f)
		}
		return time.Time{}, fmt.Errorf("timestamp %v out of range", f)
	}
	sec, frac := math.Modf(f)
	return time.Unix(int64(sec), int64(math.Round(frac*1e9))).UTC(), nil
}

// UnixMilli rounds t to the store's millisecond resolution.
func UnixMilli(t time.Time) int64 {
	return t.Round(time.Millisecond).UnixMilli()
}
