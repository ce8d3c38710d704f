package numfmt

import (
	"math"
	"testing"
)

func TestValue(t *testing.T) {
	for _, c := range []struct {
		v    float64
		want string
	}{
		{0.25, "0.25"}, {80, "80"}, {5.095541401273885, "5.09554"}, {-3, "-3"},
		{123456789, "123456789"}, {1e21, "1e+21"}, {math.NaN(), "NaN"},
	} {
		if got := Value(c.v); got != c.want {
			t.Errorf("Value(%v) = %q, want %q", c.v, got, c.want)
		}
	}
	if got := Percent(0.953); got != "95.3%" {
		t.Errorf("Percent(0.953) = %q, want 95.3%%", got)
	}
}

func TestIsRatio(t *testing.T) {
	for path, want := range map[string]bool{
		"http_errors_ratio":              true,
		"http_errors_ratio{job=\"api\"}": true,
		"cpu_usage_percent":              false,
		"http_requests_total":            false,
		"ratio_of_things_total":          false,
	} {
		if got := IsRatio(path, ""); got != want {
			t.Errorf("IsRatio(%q) = %v, want %v", path, got, want)
		}
	}
	if !IsRatio("x", "ratio") || !IsRatio("x", "percentunit") || IsRatio("x", "percent") {
		t.Error("units: ratio and percentunit are ratios, percent is not")
	}
}

// Two numbers that differ never print alike (h30 D19).
func TestApart(t *testing.T) {
	for _, c := range []struct {
		v, t         float64
		wantV, wantT string
	}{
		{0.99990000001, 0.9999, "0.99990000001", "0.9999"},
		{2.00000000002, 2.00000000001, "2.00000000002", "2.00000000001"},
		{92.5, 80, "92.5", "80"},
		{5.095541401273885, 5.095541401273885, "5.09554", "5.09554"},
	} {
		if v, th := Apart(c.v, c.t); v != c.wantV || th != c.wantT {
			t.Errorf("Apart(%v, %v) = %q, %q; want %q, %q", c.v, c.t, v, th, c.wantV, c.wantT)
		}
	}
	if v, th := PercentApart(0.0500000001, 0.05); v == th {
		t.Errorf("PercentApart: both %q", v)
	}
}
