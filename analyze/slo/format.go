package slo

import (
	"math"
	"math/big"
	"strconv"
	"strings"
)

// How vigil slo, vigil budget and vigil report print an objective's
// numbers. The verdicts are exact (see the package comment), so a number
// rounded for print could read as the other verdict: 99.94997% to four
// decimals is 99.95, the very target it breaches. Every output prints
// through these functions: a number keeps its usual decimals unless they
// would put it on the wrong side of (or on) the value its verdict is
// judged against, and then gets as many more as it takes.

// maxDecimals bounds the digits added: a rational event ratio whose
// verdict needs more (a difference below 1e-30 percent) is printed to
// this many.
const maxDecimals = 30

// sideText is x in decimal, rounded to dec decimals (trailing zeros
// trimmed), or to more: as many as make the text compare with ref as x
// does (below, equal or above). Never "-0".
func sideText(x, ref *big.Rat, dec int) string {
	want := x.Cmp(ref)
	var s string
	for d := dec; d <= maxDecimals; d++ {
		s = trimZeros(x.FloatString(d))
		r, _ := new(big.Rat).SetString(s)
		if r.Cmp(ref) == want {
			break
		}
	}
	return s
}

// trimZeros drops a decimal text's trailing zeros (and point), and the
// sign of a zero.
func trimZeros(s string) string {
	if strings.Contains(s, ".") {
		s = strings.TrimRight(strings.TrimRight(s, "0"), ".")
	}
	if s == "-0" {
		return "0"
	}
	return s
}

var hundred = big.NewRat(100, 1)

// sliPercent is e's SLI in percent, exact (100 without events).
func (e Events) sliPercent() *big.Rat {
	er := e.errRatio()
	if er == nil {
		return new(big.Rat).Set(hundred)
	}
	return er.Mul(er.Sub(big.NewRat(1, 1), er), hundred)
}

// percent is t in percent, exact.
func (t Target) percent() *big.Rat { return new(big.Rat).Mul(t.r, hundred) }

// Text is t in percent as written for output: exact ("99.95", "99.9").
func (t Target) Text() string {
	p := t.percent()
	return sideText(p, p, 4)
}

// SLIText is e's SLI in percent (without the % sign) as every output
// prints it beside t: 4 decimals, more when those would read as t or on
// the wrong side of it (99.94997 against 99.95, not 99.95 beside
// BREACHED; 99.95005, not 99.95, beside met). Exactly t prints as t.
func SLIText(e Events, t Target) string { return sideText(e.sliPercent(), t.percent(), 4) }

// consumption is e's budget consumption in percent, exact (0 without
// events).
func (e Events) consumption(t Target) *big.Rat {
	er := e.errRatio()
	if er == nil {
		return new(big.Rat)
	}
	return er.Mul(er.Quo(er, t.budget()), hundred)
}

// ConsumptionText is e's consumption in percent (no % sign) as printed: 2
// decimals, more when those would hide whether it is over 100 (exhausted)
// or exactly 100 (used up, not exhausted).
func ConsumptionText(e Events, t Target) string { return sideText(e.consumption(t), hundred, 2) }

// RemainingText is 100 - consumption in percent as printed: 2 decimals,
// more when those would hide its sign (negative: overspent).
func RemainingText(e Events, t Target) string {
	r := new(big.Rat).Sub(hundred, e.consumption(t))
	return sideText(r, new(big.Rat), 2)
}

// SignedText is v rounded to dec decimals for print, with more decimals
// when those would read 0 though v is not (a sign that matters, as minutes
// left below 0 mean overspent), and never "-0". A value too small for
// maxDecimals prints in exponent form.
func SignedText(v float64, dec int) string {
	if math.IsNaN(v) || math.IsInf(v, 0) {
		return strconv.FormatFloat(v, 'f', -1, 64)
	}
	if v == 0 {
		return "0"
	}
	for d := dec; d <= maxDecimals/2; d++ {
		if s := trimZeros(strconv.FormatFloat(v, 'f', d, 64)); s != "0" {
			return s
		}
	}
	return strconv.FormatFloat(v, 'g', 2, 64)
}
