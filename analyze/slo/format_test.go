package slo

import (
	"math"
	"testing"
)

// The printed texts, each expected value worked out by hand.
func TestPrintedTexts(t *testing.T) {
	t9995, _ := ParseTarget("99.95")
	cases := []struct {
		name      string
		e         Events
		sli, used string
		remaining string
	}{
		// 5,003 bad of 10,000,000: 99.94997% exactly; 4 decimals read
		// 99.95 (the target), so 5. Consumed 5.003e-4 / 5e-4 = 100.06%.
		{"close", Events{Good: 9994997, Total: 10000000}, "99.94997", "100.06", "-0.06"},
		// 1,000 bad of 1,999,999: 99.94999997499998...%: 8 decimals
		// before it reads below 99.95. Consumed 100.0000500000250...%:
		// 100.00 reads as not over, 100.0001 (4 decimals) does.
		{"edge", Events{Good: 1998999, Total: 1999999}, "99.94999997", "100.0001", "-0.0001"},
		// 999 bad of 1,999,999: 99.95004997...%, met: 99.9500 reads as the
		// target though above it, so 99.95005.
		{"above", Events{Good: 1999000, Total: 1999999}, "99.95005", "99.9", "0.1"},
		// Exactly the target: printed as the target, 100% used, 0 left.
		{"exact", Events{Good: 1999, Total: 2000}, "99.95", "100", "0"},
		// No events: 100%, nothing used.
		{"none", Events{}, "100", "0", "100"},
	}
	for _, c := range cases {
		if got := SLIText(c.e, t9995); got != c.sli {
			t.Errorf("%s: SLIText = %s, want %s", c.name, got, c.sli)
		}
		if got := ConsumptionText(c.e, t9995, 80); got != c.used {
			t.Errorf("%s: ConsumptionText = %s, want %s", c.name, got, c.used)
		}
		if got := RemainingText(c.e, t9995); got != c.remaining {
			t.Errorf("%s: RemainingText = %s, want %s", c.name, got, c.remaining)
		}
	}
	if got := t9995.Text(); got != "99.95" {
		t.Errorf("Text = %s, want 99.95", got)
	}
	// A target with more than 4 decimals is printed whole.
	if t5, _ := ParseTarget("99.99995"); t5.Text() != "99.99995" {
		t.Errorf("Text = %s, want 99.99995", t5.Text())
	}
}

// hb25b E5: a consumption prints on the right side of 100 and of the
// budget alert's threshold, a burn rate on the right side of every alert
// factor (14.4, 6, 3, 1). Hand-computed: 800 bad of 1,999,999 at 99.95%
// is 80000/999.9995 = 80.00004000002% (above 80: not "80"); 1,000 of
// 3,000,001 is 66.666644444% (below 66.6666666: not "66.67"); at 99.9%,
// 144,000,072 bad of 1e10 is burn 14.4000072 (not "14.4"), 10,000,005
// of 1e10 is 1.0000005 (not "1"), 5,999,999,999 of 1e12 is 5.999999999
// (below 6: not "6").
func TestThresholdTexts(t *testing.T) {
	t9995, _ := ParseTarget("99.95")
	t999, _ := ParseTarget("99.9")
	for _, c := range []struct {
		e     Events
		alert float64
		want  string
	}{
		{Events{Good: 1999999 - 800, Total: 1999999}, 80, "80.00004"},
		{Events{Good: 3000001 - 1000, Total: 3000001}, 66.6666666, "66.6666"},
		{Events{Good: 3000001 - 1000, Total: 3000001}, 80, "66.67"},
	} {
		if got := ConsumptionText(c.e, t9995, c.alert); got != c.want {
			t.Errorf("ConsumptionText(%v, alert %v) = %s, want %s", c.e, c.alert, got, c.want)
		}
	}
	for _, c := range []struct {
		bad, total float64
		want       string
	}{
		{144000072, 1e10, "14.40001"}, {10000005, 1e10, "1.000001"}, {5999999999, 1e12, "5.999999999"},
		{2e7, 1e10, "2"}, {0, 1e10, "0"},
	} {
		if got := BurnText(Events{Good: c.total - c.bad, Total: c.total}, t999); got != c.want {
			t.Errorf("BurnText(%v bad of %v) = %s, want %s", c.bad, c.total, got, c.want)
		}
	}
	if got := BurnText(Events{}, t999); got != "-" {
		t.Errorf("BurnText without events = %s, want -", got)
	}
}

func TestSignedText(t *testing.T) {
	for _, c := range []struct {
		v    float64
		want string
	}{
		{-0.01296, "-0.01"}, // -0.0 to 1 decimal: the sign needs 2
		{-0.0000108, "-0.00001"},
		{0.02159, "0.02"},
		{21.6, "21.6"},
		{-402.71186, "-402.7"},
		{-0.04, "-0.04"},
		{0, "0"},
		{-1e-30, "-1e-30"}, // beyond 15 decimals: exponent form, still signed
	} {
		if got := SignedText(c.v, 1); got != c.want {
			t.Errorf("SignedText(%v, 1) = %s, want %s", c.v, got, c.want)
		}
	}
	if got := SignedText(math.Copysign(0, -1), 1); got != "0" {
		t.Errorf("SignedText(-0) = %s, want 0", got)
	}
}
