package slo

import (
	"context"
	"fmt"
	"math/big"
	"strings"
	"time"

	"github.com/vigil-metrics/vigil/internal/numfmt"
	"github.com/vigil-metrics/vigil/internal/vtime"
)

// BurnWindows are the fixed windows a budget reports burn rates over,
// besides the SLO window, whatever that is (the table's columns). The
// burn alerts' windows scale with the SLO window (BurnAlert.Windows): a
// budget states them and their rates in BurnAlerts.
var BurnWindows = []string{"5m", "30m", "1h", "2h", "6h", "1d", "3d"}

// Budget is one objective's error budget at an instant: what vigil budget
// prints and what a report's budget section shows.
type Budget struct {
	Objective Objective
	// Window is the whole SLO window the budget is shared over (a
	// calendar month's full length, not the part of it so far).
	Window time.Duration
	// Events are the SLI's events over the SLO window so far.
	Events Events
	// ConsumptionPercent is not capped: over 100 is overspent.
	ConsumptionPercent float64
	RemainingPercent   float64
	// RemainingMinutes are the minutes of full outage the rest of the
	// budget allows over the whole window; negative when overspent.
	RemainingMinutes float64
	Exhausted        bool
	NoData           bool
	// Invalid is why the events are too few to judge the objective by
	// (Objective.InvalidReason, as vigil slo says it); "" when they are
	// enough. An invalid budget is neither exhausted nor alerting.
	Invalid string
	// Coverage is how much of the SLO window the data covers; below the
	// objective's min_coverage the budget is Invalid.
	Coverage Coverage
	// BurnRates are keyed by window as written (BurnWindows and the SLO
	// window's String); nil where the window has no events.
	BurnRates map[string]*float64
	// BurnTexts are BurnRates as tables print them (BurnText: on the
	// right side of every alert factor; "-" without events).
	BurnTexts map[string]string
	// TimeToExhaustion is how long the rest lasts at the 1h burn rate
	// (0: spent); nil when it does not run out at that rate. 1h whatever
	// the SLO window, not the page alert's scaled long window: a forecast
	// wants a steady rate, and a 1d SLO's page window is 2m (one bad
	// minute would swing it 30-fold); for 30d the two are the same.
	TimeToExhaustion *time.Duration
	// BurnAlerts are the burn alerts' conditions for this SLO window (all
	// four, firing or not): the windows actually used, their rates and
	// the factor.
	BurnAlerts []BurnAlertStatus
	Alerts     []BudgetAlert
}

// BurnAlertStatus is one burn alert's condition for a budget's window.
type BurnAlertStatus struct {
	Severity    string
	Long, Short time.Duration // scaled to the SLO window
	Factor      float64
	Share       float64 // of the whole budget, burnt at Factor over Long
	// LongRate and ShortRate are the burn rates over Long and Short; nil
	// without events.
	LongRate, ShortRate *float64
	// Firing: both above Factor, exactly (never for an invalid budget,
	// nor a skipped alert).
	Firing bool
	// Skipped is why the alert is not evaluated for this objective (its
	// short window holds no time slice: AlertSkipped); "" when it is.
	Skipped string
}

// BudgetAlert is an active budget alert: page or ticket (a burn alert of
// Alerts), or budget (consumption above the objective's
// BudgetAlertPercent), with the reason in words.
type BudgetAlert struct {
	Severity string
	Reason   string
}

// BudgetOf reads the events ob's budget needs as of ev's time (the SLO
// window so far, then each burn window once) and computes it.
func BudgetOf(ctx context.Context, ev *Evaluator, ob Objective) (Budget, error) {
	e, err := ev.Events(ctx, ob, ob.Window.Length(ev.At))
	if err != nil {
		return Budget{}, err
	}
	full := ob.Window.Full(ev.At)
	over := map[time.Duration]Events{}
	for _, d := range budgetWindows(ob, full) {
		if _, ok := over[d]; ok {
			continue
		}
		// Clamped: only the SLO window is judged (Evaluator.BurnEvents).
		x, err := ev.BurnEvents(ctx, ob, d)
		if err != nil {
			return Budget{}, err
		}
		over[d] = x
	}
	cov, err := ev.Coverage(ctx, ob)
	if err != nil {
		return Budget{}, err
	}
	return computeBudget(ob, full, e, over, cov), nil
}

// budgetWindows are the lengths a budget of ob reads events over besides
// the SLO window: the burn windows, then each burn alert's long and short
// one scaled to the SLO window's full length (AlertWindows).
func budgetWindows(ob Objective, full time.Duration) []time.Duration {
	var out []time.Duration
	for _, w := range BurnWindows {
		d, _ := vtime.ParseDuration(w)
		out = append(out, d)
	}
	for _, al := range Alerts {
		long, short := ob.AlertWindows(al, full)
		out = append(out, long, short)
	}
	return out
}

// AlertWindows are al's long and short windows for ob over an SLO window
// of length full: al.Windows, scaled, never widened (AlertSkipped).
func (ob Objective) AlertWindows(al BurnAlert, full time.Duration) (long, short time.Duration) {
	return al.Windows(full)
}

// AlertSkipped is why al is not evaluated for ob over an SLO window of
// length full, "" when it is. Only a sliced objective's alerts are
// skipped, when their windows cannot tell a fast burn from a service on
// course (a steady burn of at most 1):
//   - the scaled short window is shorter than one time slice: it never
//     holds a complete slice, so the alert could never fire (widened to
//     one slice, as vigil did for a while in issue 25, one bad slice is
//     a burn of 1/(1 - target), 100 at 99%, and a single bad minute
//     paged a service spending half its budget: hb25b E2);
//   - the long window holds m slices with m x (1 - target) x (factor - 1)
//     < 1: bad slices spread evenly at a steady burn of 1 could then put
//     one more bad slice in it than the factor allows (one bad minute in
//     12 at 99% is a burn of 8.33, above the page's 6). For the 1x
//     ticket, m x (1 - target) < 1: one bad slice alone burns above 1.
//
// Not evaluated is what it is: burn_alerts says why, vigil budget warns.
func (ob Objective) AlertSkipped(al BurnAlert, full time.Duration) string {
	if !ob.Sliced() && ob.Threshold == nil {
		return ""
	}
	long, short := al.Windows(full)
	if short < ob.SliceWindow {
		return fmt.Sprintf("short window %s is shorter than one %s time slice", FormatWindow(short), FormatWindow(ob.SliceWindow))
	}
	m := int64(long / ob.SliceWindow)
	need := new(big.Rat).Mul(big.NewRat(m, 1), ob.Target.budget())
	if f := al.factor(); f.Cmp(big.NewRat(1, 1)) > 0 {
		need.Mul(need, new(big.Rat).Sub(f, big.NewRat(1, 1)))
	}
	if need.Cmp(big.NewRat(1, 1)) < 0 {
		return fmt.Sprintf("long window %s holds %d %s time slices, too few to tell a burn above %s from a steady burn of 1 (one bad slice more is a burn of %s)",
			FormatWindow(long), m, FormatWindow(ob.SliceWindow), num(al.Factor()), num(oneSliceBurn(m, ob.Target)))
	}
	return ""
}

// oneSliceBurn is the burn rate of one bad slice among m: 1/(m x budget).
func oneSliceBurn(m int64, t Target) float64 {
	r := new(big.Rat).Mul(big.NewRat(m, 1), t.budget())
	f, _ := r.Inv(r).Float64()
	return f
}

// SkippedWarning is one line saying which of b's burn alerts are not
// evaluated and why (vigil budget warns with it), "" when all are:
// "FILE:LINE: objective X: burn alerts page(2m/10s), page(12m/1m) not
// evaluated: short window shorter than one 1h time slice".
func (b Budget) SkippedWarning() string {
	var names []string
	for _, x := range b.BurnAlerts {
		if x.Skipped != "" {
			names = append(names, fmt.Sprintf("%s(%s/%s)", x.Severity, FormatWindow(x.Long), FormatWindow(x.Short)))
		}
	}
	if len(names) == 0 {
		return ""
	}
	o := b.Objective
	what := "burn alert"
	if len(names) > 1 {
		what = "burn alerts"
	}
	return fmt.Sprintf("%s:%d: objective %s: %s %s not evaluated: too few %s time slices in the window to tell a fast burn from a steady one (burn_alerts[].skipped in -o json says why)",
		o.File, o.Line, o.Name(), what, strings.Join(names, ", "), FormatWindow(o.SliceWindow))
}

// ComputeBudget is ob's budget from its events: e over the SLO window so
// far (whose whole length is full), and over each of the burn windows and
// the burn alerts' windows scaled to full (a window missing from over has
// no events).
func ComputeBudget(ob Objective, full time.Duration, e Events, over map[time.Duration]Events) Budget {
	return computeBudget(ob, full, e, over, Coverage{})
}

// computeBudget is ComputeBudget with the data's coverage of the window
// (an objective covered below its min_coverage is invalid).
func computeBudget(ob Objective, full time.Duration, e Events, over map[time.Duration]Events, cov Coverage) Budget {
	b := Budget{Objective: ob, Window: full, Events: e, ConsumptionPercent: e.Consumption(ob.Target), Coverage: cov,
		Exhausted: e.Exhausted(ob.Target), NoData: !(e.Total > 0), Invalid: ob.InvalidReasonCovered(e, cov),
		BurnRates: map[string]*float64{}, BurnTexts: map[string]string{}, BurnAlerts: burnAlerts(ob, full, over), Alerts: []BudgetAlert{}}
	b.RemainingPercent = 100 - b.ConsumptionPercent
	b.RemainingMinutes = b.RemainingPercent / 100 * ob.Target.BudgetPercent() / 100 * full.Minutes()
	for _, w := range BurnWindows {
		d, _ := vtime.ParseDuration(w)
		b.BurnRates[w] = burnRate(over[d], ob.Target)
		b.BurnTexts[w] = BurnText(over[d], ob.Target)
	}
	// The SLO window's rate comes last: a 1d SLO's "1d" is its window's.
	b.BurnRates[ob.Window.String()] = burnRate(e, ob.Target)
	b.BurnTexts[ob.Window.String()] = BurnText(e, ob.Target)
	var now float64
	if r := b.BurnRates["1h"]; r != nil {
		now = *r
	}
	if b.Invalid != "" {
		// Too few events to judge by: one failed request of three is no
		// reason to page or to block a release (vigil slo says invalid).
		b.Exhausted = false
		return b
	}
	if d, ok := TimeToExhaustion(b.ConsumptionPercent, now, full); ok {
		b.TimeToExhaustion = &d
	}
	for i := range b.BurnAlerts {
		x := &b.BurnAlerts[i]
		x.Firing = x.Skipped == "" && Alerts[i].Firing(ob.Target, over[x.Long], over[x.Short])
		if !x.Firing {
			continue
		}
		f := Alerts[i].factor()
		b.Alerts = append(b.Alerts, BudgetAlert{Severity: x.Severity, Reason: fmt.Sprintf(
			"burn rate %s over %s and %s over %s, both above %s (%s of the budget in %s)",
			rateText(over[x.Long], ob.Target, f), FormatWindow(x.Long), rateText(over[x.Short], ob.Target, f), FormatWindow(x.Short),
			num(x.Factor), num(x.Share*100)+"%", FormatWindow(x.Long))})
	}
	if !b.NoData && b.ConsumptionPercent > ob.BudgetAlertPercent {
		b.Alerts = append(b.Alerts, BudgetAlert{Severity: "budget", Reason: fmt.Sprintf(
			"%s%% of the error budget consumed (alert above %s%%)",
			numBeside(e.consumption(ob.Target), rat(ob.BudgetAlertPercent), hundred), num(ob.BudgetAlertPercent))})
	}
	return b
}

// burnAlerts are the burn alerts' windows scaled to full (AlertWindows),
// their rates and whether they are skipped (AlertSkipped), not yet
// whether they fire (an invalid budget never does).
func burnAlerts(ob Objective, full time.Duration, over map[time.Duration]Events) []BurnAlertStatus {
	out := make([]BurnAlertStatus, len(Alerts))
	for i, al := range Alerts {
		long, short := ob.AlertWindows(al, full)
		out[i] = BurnAlertStatus{Severity: al.Severity, Long: long, Short: short, Factor: al.Factor(), Share: al.Share(),
			LongRate: burnRate(over[long], ob.Target), ShortRate: burnRate(over[short], ob.Target),
			Skipped: ob.AlertSkipped(al, full)}
	}
	return out
}

// FormatWindow writes a burn alert's window: as vigil writes durations
// where it is whole hours ("1h", "1d", "3d"), otherwise in hours, minutes
// and seconds ("5h36m", "1m10s", "2h24m"), not "336m" or "70s".
func FormatWindow(d time.Duration) string {
	if d%time.Hour == 0 || d < time.Minute {
		return vtime.FormatDuration(d)
	}
	s := d.String()
	s = strings.TrimSuffix(s, "m0s")
	if strings.HasSuffix(s, "s") || strings.HasSuffix(s, "m") {
		return s
	}
	return s + "m"
}

// burnRate is e's burn rate against t; nil without events.
func burnRate(e Events, t Target) *float64 {
	if r, ok := e.BurnRate(t); ok {
		return &r
	}
	return nil
}

// rateText is e's burn rate against t as an alert's reason prints it
// beside factor: as num writes it, or with as many more digits as make it
// read above the factor it is above (1.0000003 over 1, not "1 ... above
// 1"), as SLIText prints an SLI beside its target.
func rateText(e Events, t Target, factor *big.Rat) string {
	er := e.errRatio()
	if er == nil {
		return "0"
	}
	return numBeside(er.Quo(er, t.budget()), factor)
}

// numBeside is x as num writes it, or with the digits that put it on the
// same side of each ref as x is (below, equal or above).
func numBeside(x *big.Rat, refs ...*big.Rat) string {
	f, _ := x.Float64()
	s := num(f)
	for _, ref := range refs {
		if r, ok := new(big.Rat).SetString(s); !ok || r.Cmp(ref) != x.Cmp(ref) {
			if t := sideText(x, ref, 0); len(t) > len(s) || !ok {
				s = t
			}
		}
	}
	return s
}

// num writes a number in an alert's reason as the CLI prints values:
// short values exact, long ones rounded to 6 digits.
func num(v float64) string { return numfmt.Value(v) }
