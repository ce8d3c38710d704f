package slo

import (
	"math/big"
	"testing"
	"time"
)

// meanOf is the Events of RatioTimeslices slices given as good, total
// pairs (the way judge builds them).
func meanOf(slices ...[2]float64) Events {
	m := newRatioMean(len(slices))
	for _, s := range slices {
		m.add(s[0], s[1], false)
	}
	e := Events{Total: float64(len(slices)), mean: m.errRatio()}
	return e
}

// repeat is n copies of one slice.
func repeat(n int, good, total float64) [][2]float64 {
	out := make([][2]float64, n)
	for i := range out {
		out[i] = [2]float64{good, total}
	}
	return out
}

// TestRatioMeanAtTarget: slices exactly at the target meet it (issue 25,
// hb25b E1): 99/100 is no double, and a float mean of 24 of them read
// 98.99999999999999%, breached, 100.000000000001% consumed, a ticket.
// Exactly: met, consumption 100, burn rate 1, no burn alert fires (each
// needs a rate above its factor), Percent 99.
func TestRatioMeanAtTarget(t *testing.T) {
	target, _ := TargetFraction("0.99")
	for name, e := range map[string]Events{
		"24 x 99/100":              meanOf(repeat(24, 99, 100)...),
		"43200 x 99/100":           meanOf(repeat(43200, 99, 100)...),
		"98/100 and 100/100":       meanOf([2]float64{98, 100}, [2]float64{100, 100}, [2]float64{98, 100}, [2]float64{100, 100}),
		"99/100, 198/200, 49.5/50": meanOf([2]float64{99, 100}, [2]float64{198, 200}, [2]float64{49.5, 50}),
		"distinct totals":          meanOf(distinctAtTarget(1440)...),
	} {
		if er := e.errRatio(); er.Cmp(big.NewRat(1, 100)) != 0 {
			t.Errorf("%s: error ratio %s, want exactly 1/100", name, er.FloatString(30))
		}
		if !e.Met(target) || e.Exhausted(target) {
			t.Errorf("%s: met %v, exhausted %v: want met, not exhausted", name, e.Met(target), e.Exhausted(target))
		}
		if c := e.Consumption(target); c != 100 {
			t.Errorf("%s: consumption %v, want 100", name, c)
		}
		if r, _ := e.BurnRate(target); r != 1 {
			t.Errorf("%s: burn rate %v, want 1", name, r)
		}
		if p := e.Percent(); p != 99 {
			t.Errorf("%s: %v%%, want 99%%", name, p)
		}
		for _, al := range Alerts {
			if al.Firing(target, e, e) {
				t.Errorf("%s: %s %v/%v fires at burn rate 1", name, al.Severity, al.Long, al.Short)
			}
		}
	}
}

// distinctAtTarget is n slices with distinct totals 100, 200, ... each
// exactly 99% good: the exact mean needs no common denominator.
func distinctAtTarget(n int) [][2]float64 {
	out := make([][2]float64, n)
	for i := range out {
		out[i] = [2]float64{float64(99 * (i + 1)), float64(100 * (i + 1))}
	}
	return out
}

// TestRatioMeanAtFactor: slices at 97/100 against 99% burn at exactly 3,
// the third alert's factor: it does not fire (a rate at a factor never
// does); one slice at 96/100 among them puts it above: it fires.
func TestRatioMeanAtFactor(t *testing.T) {
	target, _ := TargetFraction("0.99")
	al := Alerts[2]
	at := meanOf(repeat(60, 97, 100)...)
	if r, _ := at.BurnRate(target); r != 3 || al.Firing(target, at, at) {
		t.Errorf("60 x 97/100: burn %v, firing %v: want exactly 3, not firing", r, al.Firing(target, at, at))
	}
	above := meanOf(append(repeat(59, 97, 100), [2]float64{96, 100})...)
	if !al.Firing(target, above, above) {
		t.Errorf("59 x 97/100 and 96/100: not firing, want firing (burn %v)", burnRate(above, target))
	}
}

// TestRatioMeanExact: the mean of ratios whose sum is no double is still
// the exact rational: (1/3 + 1/7) / 2 = 5/21 of errors; fractional counts
// (0.5 bad of 1.5) are 1/3; all good is 0.
func TestRatioMeanExact(t *testing.T) {
	for _, c := range []struct {
		name string
		e    Events
		num  int64
		den  int64
	}{
		{"2/3 and 6/7", meanOf([2]float64{2, 3}, [2]float64{6, 7}), 5, 21},
		{"1 of 1.5", meanOf([2]float64{1, 1.5}), 1, 3},
		{"all good", meanOf(repeat(100, 7, 7)...), 0, 1},
		{"all bad", meanOf(repeat(3, 0, 7)...), 1, 1},
	} {
		if er := c.e.errRatio(); er.Cmp(big.NewRat(c.num, c.den)) != 0 {
			t.Errorf("%s: error ratio %s, want %d/%d", c.name, er, c.num, c.den)
		}
	}
}

// TestRatioMeanSpeed: a 30d window of 1m slices with 43,200 distinct
// totals (no common denominator a big.Rat sum could keep small) is summed
// well within a budget's time.
func TestRatioMeanSpeed(t *testing.T) {
	s := make([][2]float64, 43200)
	for i := range s {
		s[i] = [2]float64{float64(1000 + i - i%7), float64(1000 + i)}
	}
	start := time.Now()
	e := meanOf(s...)
	if d := time.Since(start); d > 2*time.Second {
		t.Errorf("43,200 slices took %v", d)
	}
	if e.errRatio().Sign() <= 0 {
		t.Errorf("error ratio %s, want above 0", e.errRatio())
	}
}
