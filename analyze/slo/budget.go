// Package slo is vigil's service level objective arithmetic: SLI ratios,
// error budgets, burn rates and the multi-window multi-burn-rate alerts of
// the Google SRE workbook (as sloth and pyrra generate them), and an
// objective's budget put together from them (BudgetOf, ComputeBudget:
// what vigil budget prints and a report shows). It finds alerts; it never
// sends them.
//
// Thresholds are compared exactly. A target is kept as the rational number
// its text spells ("99.9" is 999/1000, not the float 0.99899999...), events
// are converted to rationals exactly, and every comparison at a boundary
// (a burn rate against 14.4, an SLI against its target) is made between
// rationals, so an SLI exactly at its objective meets it and a burn rate
// exactly at a factor does not page. Floats are only what gets printed.
package slo

import (
	"fmt"
	"math"
	"math/big"
	"strings"
	"sync"
	"time"
)

// Target is an objective in percent (99.9), exact.
type Target struct {
	r *big.Rat // the fraction: 99.9 -> 999/1000
}

// ParseTarget reads a percentage in (0, 100) as written ("99.9", "95").
func ParseTarget(s string) (Target, error) {
	r, ok := new(big.Rat).SetString(strings.TrimSpace(s))
	if !ok {
		return Target{}, fmt.Errorf("target %q: want a percentage such as 99.9", s)
	}
	if r.Sign() <= 0 || r.Cmp(big.NewRat(100, 1)) >= 0 {
		return Target{}, fmt.Errorf("target %s: want a percentage strictly between 0 and 100", s)
	}
	return Target{r: r.Quo(r, big.NewRat(100, 1))}, nil
}

// TargetFraction builds a target from a fraction in (0, 1) written in
// text, as OpenSLO writes objectives ("0.999").
func TargetFraction(s string) (Target, error) {
	r, ok := new(big.Rat).SetString(strings.TrimSpace(s))
	if !ok || r.Sign() <= 0 || r.Cmp(big.NewRat(1, 1)) >= 0 {
		return Target{}, fmt.Errorf("target %q: want a fraction strictly between 0 and 1", s)
	}
	return Target{r: r}, nil
}

// Valid reports whether t was parsed.
func (t Target) Valid() bool { return t.r != nil }

// Percent is the target in percent (for printing).
func (t Target) Percent() float64 {
	f, _ := new(big.Rat).Mul(t.r, big.NewRat(100, 1)).Float64()
	return f
}

// budget is 1 - target, the allowed error ratio, exact.
func (t Target) budget() *big.Rat { return new(big.Rat).Sub(big.NewRat(1, 1), t.r) }

// BudgetPercent is 100 - target.
func (t Target) BudgetPercent() float64 {
	f, _ := new(big.Rat).Mul(t.budget(), big.NewRat(100, 1)).Float64()
	return f
}

// rat converts a finite float exactly.
func rat(f float64) *big.Rat {
	r := new(big.Rat)
	if math.IsNaN(f) || math.IsInf(f, 0) {
		return r
	}
	return r.SetFloat64(f)
}

// Events are an SLI's counts over a window: good events and all events.
// Counts are floats because increases of counters may be fractional.
type Events struct {
	Good, Total float64
	// mean is a RatioTimeslices mean's error ratio, exact (ratioMean):
	// Good is then the float sum of the slices' ratios, for printing, and
	// every judgement (Met, Consumption, BurnRate, Firing, Percent) reads
	// mean instead. nil for counted events.
	mean *big.Rat
}

// Bad is Total - Good, never negative.
func (e Events) Bad() float64 { return math.Max(e.Total-e.Good, 0) }

// errRatio is bad/total, exact; nil without events.
func (e Events) errRatio() *big.Rat {
	if !(e.Total > 0) {
		return nil
	}
	if e.mean != nil {
		return new(big.Rat).Set(e.mean)
	}
	bad := new(big.Rat).Sub(rat(e.Total), rat(e.Good))
	if bad.Sign() < 0 {
		bad.SetInt64(0)
	}
	return bad.Quo(bad, rat(e.Total))
}

// Percent is good/total in percent; 100 without events, as the reference
// design has it (the caller flags that as no data).
func (e Events) Percent() float64 {
	er := e.errRatio()
	if er == nil {
		return 100
	}
	f, _ := new(big.Rat).Mul(new(big.Rat).Sub(big.NewRat(1, 1), er), big.NewRat(100, 1)).Float64()
	return f
}

// Met reports whether the SLI meets t: good/total >= target, exactly.
// Without events it is met (100%).
func (e Events) Met(t Target) bool {
	er := e.errRatio()
	return er == nil || er.Cmp(t.budget()) <= 0
}

// BurnRate is how fast the budget burns: the error ratio over the budget
// (1 = exactly on budget over the SLO window). ok is false without events.
func (e Events) BurnRate(t Target) (rate float64, ok bool) {
	er := e.errRatio()
	if er == nil {
		return 0, false
	}
	f, _ := er.Quo(er, t.budget()).Float64()
	return f, true
}

// Consumption is the share of the error budget spent, in percent, not
// capped: 118.6 means overspent by 18.6% (the reference design caps at 100,
// which hides how far over a service is). 0 without events.
func (e Events) Consumption(t Target) float64 {
	er := e.errRatio()
	if er == nil {
		return 0
	}
	f, _ := er.Mul(er.Quo(er, t.budget()), big.NewRat(100, 1)).Float64()
	return f
}

// Exhausted reports whether the budget is overspent: consumption above
// 100%, i.e. the SLI below its target, compared exactly. Exactly at the
// target the budget is used up (0 left) but not exhausted, as the SLO is
// met: vigil budget's JSON, its table and the report all print this one
// rule (Budget.Exhausted), and --gate follows it.
func (e Events) Exhausted(t Target) bool { return !e.Met(t) }

// BurnAlert is one multi-window multi-burn-rate condition: page or ticket
// when the burn rate over both its long and short window exceeds its
// factor. Long and Short are written for a 30-day SLO window (the SRE
// workbook's and sloth's table); for another SLO window W both scale by
// W/30d (Windows) while the factor stays, as Pyrra does. Burning at the
// factor for the scaled long window then spends the same share of the
// budget (BudgetShare) whatever W: an alert always means the same thing,
// and a service on course to meet its objective (a steady burn of at most
// 1) never pages nor tickets. Fixed windows with scaled factors (vigil
// before issue 25) dropped a 1d SLO's page factor to 0.48, so a steady
// 0.5x burn paged.
type BurnAlert struct {
	Severity    string // page or ticket
	Long, Short time.Duration
	// BudgetShare is the share of the whole budget that burning at the
	// factor for the long window spends (2%, 5%, 10%).
	BudgetShare *big.Rat
}

// ReferenceWindow is the SLO window the Alerts' windows are written for.
const ReferenceWindow = 30 * 24 * time.Hour

// Alerts are the SRE workbook's four conditions (sloth's and Pyrra's
// defaults), written for a 30-day window: factors 14.4, 6, 3 and 1.
var Alerts = []BurnAlert{
	{"page", time.Hour, 5 * time.Minute, big.NewRat(2, 100)},
	{"page", 6 * time.Hour, 30 * time.Minute, big.NewRat(5, 100)},
	{"ticket", 24 * time.Hour, 2 * time.Hour, big.NewRat(10, 100)},
	{"ticket", 72 * time.Hour, 6 * time.Hour, big.NewRat(10, 100)},
}

// factor is BudgetShare x 30d / Long, exact (14.4 = 72/5 for the first
// alert): one value for every SLO window, since the windows scale instead.
// It is computed once per alert (a budget asks for each factor a few
// dozen times, a replay's budgets at every step) and shared: callers
// read it, never change it.
func (a BurnAlert) factor() *big.Rat {
	k := factorKey{a.BudgetShare, a.Long}
	if f, ok := factors.Load(k); ok {
		return f.(*big.Rat)
	}
	f := new(big.Rat).Mul(a.BudgetShare, big.NewRat(int64(ReferenceWindow/time.Second), 1))
	f.Quo(f, big.NewRat(int64(a.Long/time.Second), 1))
	factors.Store(k, f)
	return f
}

// factorKey names a factor: the share (Alerts' shares are never changed
// in place) and the long window.
type factorKey struct {
	share *big.Rat
	long  time.Duration
}

// factors are the factors computed (BurnAlert.factor).
var factors sync.Map

// Share is BudgetShare as a float (0.02 for 2%).
func (a BurnAlert) Share() float64 {
	f, _ := a.BudgetShare.Float64()
	return f
}

// Factor is the burn rate threshold, as a float (14.4, 6, 3, 1).
func (a BurnAlert) Factor() float64 {
	f, _ := a.factor().Float64()
	return f
}

// Windows are the long and short windows for an SLO window (a calendar
// month's full length that month): each x window/30d, rounded to the
// nearest whole second (halves up), at least 1s. Whole seconds because
// the store and a Prometheus-compatible source resolve milliseconds but
// samples come at most once a second, and whole seconds print readably
// (1d: 2m and 10s). Every multiple of 12h (1d, 7d, 28d, 30d, calendar
// months) scales to whole seconds exactly, so nothing is rounded; another
// window rounds a window by under half a second, and a 1h SLO's 5m window
// (0.42s) would vanish: 1s is the floor.
func (a BurnAlert) Windows(window time.Duration) (long, short time.Duration) {
	return scaleWindow(a.Long, window), scaleWindow(a.Short, window)
}

// scaleWindow is d x window / ReferenceWindow in whole seconds, rounded
// half up, at least 1s; in integers (nanoseconds multiplied overflow
// int64, so big.Int).
func scaleWindow(d, window time.Duration) time.Duration {
	n := new(big.Int).Mul(big.NewInt(int64(d)), big.NewInt(int64(window)))
	den := new(big.Int).Mul(big.NewInt(int64(ReferenceWindow)), big.NewInt(int64(time.Second)))
	n.Add(n, new(big.Int).Rsh(den, 1)) // + den/2: round half up
	secs := n.Quo(n, den)
	switch {
	case secs.Sign() <= 0:
		return time.Second
	case !secs.IsInt64() || secs.Int64() > int64(math.MaxInt64/time.Second):
		return math.MaxInt64 / time.Second * time.Second
	}
	return time.Duration(secs.Int64()) * time.Second
}

// Firing reports whether both windows burn faster than the factor (long
// and short: the events over the scaled Windows):
// error(long)/budget > factor and error(short)/budget > factor, compared
// exactly (as error > factor x budget).
func (a BurnAlert) Firing(t Target, long, short Events) bool {
	limit := new(big.Rat).Mul(a.factor(), t.budget())
	for _, e := range []Events{long, short} {
		er := e.errRatio()
		if er == nil || er.Cmp(limit) <= 0 {
			return false
		}
	}
	return true
}

// ExhaustionHorizon is the longest time to exhaustion vigil states: a
// budget that lasts longer than 100 years (of 365.25 days) at the current
// burn rate "never" runs out. Far below time.Duration's 292 years, so a
// time inside it is always representable; a tiny burn rate (1 bad event
// in 10,000,000 at 99.9% over 30d lasts 821 years) says never rather
// than overflowing into a negative duration.
const ExhaustionHorizon = 36525 * 24 * time.Hour // 100 x 365.25 days

// TimeToExhaustion is how long the remaining budget lasts at burn rate
// burn (a burn rate of b spends the whole budget in window/b), computed
// in floating seconds. ok is false when the budget does not run out at
// that rate within ExhaustionHorizon (burn <= 0, or too slow); 0 when it
// is already spent.
func TimeToExhaustion(consumptionPercent, burn float64, window time.Duration) (time.Duration, bool) {
	remaining := 1 - consumptionPercent/100
	if remaining <= 0 {
		return 0, true
	}
	if !(burn > 0) {
		return 0, false
	}
	secs := remaining * window.Seconds() / burn
	if !(secs <= ExhaustionHorizon.Seconds()) { // also NaN and +Inf
		return 0, false
	}
	return time.Duration(secs * float64(time.Second)), true
}
