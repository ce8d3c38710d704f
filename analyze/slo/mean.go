package slo

import (
	"math"
	"math/big"
	"math/bits"
)

// A RatioTimeslices SLI is the mean of its slices' good/total ratios. A
// ratio such as 99/100 is no double (the nearest one is below 0.99), so a
// float mean of slices all exactly at a 99% target read below it: breached,
// over 100% consumed, a ticket (hb25b E1). The mean is computed instead as
// the exact rational it is, wherever it can be told apart:
//
//   - Each slice's error ratio bad/total is divided in a big.Float of prec
//     bits (prec grows with the slice count), and the n of them are summed
//     there. Every |ratio| <= 1 and every partial sum <= n, so the sum's
//     error is below eps = n(n+1) x 2^-prec (one rounding per quotient, one
//     per addition).
//   - The mean is then the simplest rational (smallest denominator) within
//     [sum-eps, sum+eps]/n. The true mean is a rational whose denominator D
//     divides n x lcm(totals); whenever 2 x eps/n < 1/D^2 it is the only
//     rational that simple in the interval, so it is found exactly: slices
//     averaging exactly at a target (99/100 each, or 98/100 and 100/100)
//     give exactly the target, and a burn rate exactly at a factor.
//   - With denominators beyond that (the totals' lcm above about 2^150) the
//     mean found is within eps/n < 2^-300 of the true one: a difference no
//     count of events a store holds could show, treated as none.
type ratioMean struct {
	prec uint
	n    int
	sum  *big.Float
	// num, den and q are add's scratch numbers at prec bits, reused so
	// that a slice allocates nothing of its own (a 30-day window of
	// one-minute slices adds 43,200 ratios; the values are the same as
	// fresh numbers' at the same precision).
	num, den, q *big.Float
}

// newRatioMean sums up to n slices' ratios.
func newRatioMean(n int) *ratioMean {
	prec := uint(320 + 2*bits.Len(uint(n)))
	return &ratioMean{prec: prec, sum: new(big.Float).SetPrec(prec),
		num: new(big.Float).SetPrec(prec), den: new(big.Float).SetPrec(prec), q: new(big.Float).SetPrec(prec)}
}

// add adds one slice's error ratio: x of total events are bad (isBad) or
// good, 0 <= x <= total, total > 0. Whole counts (the usual case: counters'
// increments) are subtracted as integers, others at prec bits (exact for
// doubles of like magnitude).
func (m *ratioMean) add(x, total float64, isBad bool) {
	m.n++
	const whole = 1 << 53
	if x == math.Trunc(x) && total == math.Trunc(total) && total < whole {
		b := int64(x)
		if !isBad {
			b = int64(total) - b
		}
		if b == 0 {
			return // an all-good slice adds nothing: no big numbers made
		}
		m.num.SetInt64(b)
		m.den.SetInt64(int64(total))
		m.sum.Add(m.sum, m.q.Quo(m.num, m.den))
		return
	}
	num, den := m.num.SetFloat64(x), m.den.SetFloat64(total)
	if !isBad {
		num.Sub(den, num)
	}
	m.sum.Add(m.sum, m.q.Quo(num, den))
}

// errRatio is the mean error ratio, exact as the type's comment says; nil
// without slices.
func (m *ratioMean) errRatio() *big.Rat {
	if m.n == 0 {
		return nil
	}
	if m.sum.Sign() == 0 {
		return new(big.Rat)
	}
	n := new(big.Rat).SetInt64(int64(m.n))
	// eps = n(n+1) x 2^-prec
	eps := new(big.Rat).SetFrac(new(big.Int).Mul(big.NewInt(int64(m.n)), big.NewInt(int64(m.n)+1)),
		new(big.Int).Lsh(big.NewInt(1), m.prec))
	s, _ := m.sum.Rat(nil)
	lo := new(big.Rat).Sub(s, eps)
	hi := new(big.Rat).Add(s, eps)
	lo.Quo(lo, n)
	hi.Quo(hi, n)
	if lo.Sign() <= 0 {
		return new(big.Rat) // 0 is the simplest, and every ratio >= 0
	}
	if one := big.NewRat(1, 1); hi.Cmp(one) >= 0 {
		hi.Set(one)
	}
	return simplest(lo, hi)
}

// simplest is the rational with the smallest denominator in [lo, hi]
// (0 < lo <= hi), by continued fractions (the Stern-Brocot tree).
func simplest(lo, hi *big.Rat) *big.Rat {
	fl := new(big.Int).Quo(lo.Num(), lo.Denom()) // floor: lo > 0
	if lo.IsInt() {
		return new(big.Rat).SetInt(fl)
	}
	next := new(big.Int).Add(fl, big.NewInt(1))
	if new(big.Rat).SetInt(next).Cmp(hi) <= 0 {
		return new(big.Rat).SetInt(next)
	}
	// lo and hi share the integer part fl: fl + 1/x, x in [1/(hi-fl), 1/(lo-f)].
	f := new(big.Rat).SetInt(fl)
	a := new(big.Rat).Sub(hi, f)
	b := new(big.Rat).Sub(lo, f)
	x := simplest(a.Inv(a), b.Inv(b))
	return x.Add(f, x.Inv(x))
}
