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
func sideText(x, ref *big.Rat, dec int) string { return sideTextAll(x, dec, ref) }

// sideTextAll is sideText against several refs at once: the fewest
// decimals (dec at least) that put the text on x's side of every one, as
// a consumption beside both 100 and its budget alert's threshold.
func sideTextAll(x *big.Rat, dec int, refs ...*big.Rat) string {
	var s string
	for d := dec; d <= maxDecimals; d++ {
		s = trimZeros(x.FloatString(d))
		r, _ := new(big.Rat).SetString(s)
		ok := true
		for _, ref := range refs {
			ok = ok && r.Cmp(ref) == x.Cmp(ref)
		}
		if ok {
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
// or exactly 100 (used up, not exhausted), or whether it is above
// alertPercent, the objective's budget_alert_percent (80.00004 beside a
// firing "above 80%" alert, not 80; 66.66664 beside a threshold of
// 66.6666666 that did not fire, not 66.67).
func ConsumptionText(e Events, t Target, alertPercent float64) string {
	return sideTextAll(e.consumption(t), 2, hundred, rat(alertPercent))
}

// BurnText is e's burn rate against t as the tables print it: 2
// decimals, more when those would put it on the other side of (or on) a
// burn alert's factor (14.4, 6, 3, 1), since each alert fires only above
// its factor: 1.0000005 beside a firing ticket, not 1; 14.4000072, not
// 14.4. "-" without events.
func BurnText(e Events, t Target) string {
	er := e.errRatio()
	if er == nil {
		return "-"
	}
	refs := make([]*big.Rat, len(Alerts))
	for i, a := range Alerts {
		refs[i] = a.factor()
	}
	return sideTextAll(er.Quo(er, t.budget()), 2, refs...)
}

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
