package slo

import (
	"context"
	"fmt"
	"strconv"
	"strings"
	"time"

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
	// BurnRates are keyed by window as written (BurnWindows and the SLO
	// window's String); nil where the window has no events.
	BurnRates map[string]*float64
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
	// Firing: both above Factor, exactly (never for an invalid budget).
	Firing bool
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
	for _, d := range budgetWindows(full) {
		if _, ok := over[d]; ok {
			continue
		}
		x, err := ev.Events(ctx, ob, d)
		if err != nil {
			return Budget{}, err
		}
		over[d] = x
	}
	return ComputeBudget(ob, full, e, over), nil
}

// budgetWindows are the lengths a budget reads events over besides the
// SLO window: the burn windows, then each burn alert's long and short one
// scaled to the SLO window's full length.
func budgetWindows(full time.Duration) []time.Duration {
	var out []time.Duration
	for _, w := range BurnWindows {
		d, _ := vtime.ParseDuration(w)
		out = append(out, d)
	}
	for _, al := range Alerts {
		long, short := al.Windows(full)
		out = append(out, long, short)
	}
	return out
}

// ComputeBudget is ob's budget from its events: e over the SLO window so
// far (whose whole length is full), and over each of the burn windows and
// the burn alerts' windows scaled to full (a window missing from over has
// no events).
func ComputeBudget(ob Objective, full time.Duration, e Events, over map[time.Duration]Events) Budget {
	b := Budget{Objective: ob, Window: full, Events: e, ConsumptionPercent: e.Consumption(ob.Target),
		Exhausted: e.Exhausted(ob.Target), NoData: !(e.Total > 0), Invalid: ob.InvalidReason(e),
		BurnRates: map[string]*float64{}, BurnAlerts: burnAlerts(ob, full, over), Alerts: []BudgetAlert{}}
	b.RemainingPercent = 100 - b.ConsumptionPercent
	b.RemainingMinutes = b.RemainingPercent / 100 * ob.Target.BudgetPercent() / 100 * full.Minutes()
	for _, w := range BurnWindows {
		d, _ := vtime.ParseDuration(w)
		b.BurnRates[w] = burnRate(over[d], ob.Target)
	}
	// The SLO window's rate comes last: a 1d SLO's "1d" is its window's.
	b.BurnRates[ob.Window.String()] = burnRate(e, ob.Target)
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
		x.Firing = Alerts[i].Firing(ob.Target, over[x.Long], over[x.Short])
		if !x.Firing {
			continue
		}
		b.Alerts = append(b.Alerts, BudgetAlert{Severity: x.Severity, Reason: fmt.Sprintf(
			"burn rate %s over %s and %s over %s, both above %s (%s of the budget in %s)",
			num(*x.LongRate), FormatWindow(x.Long), num(*x.ShortRate), FormatWindow(x.Short),
			num(x.Factor), num(x.Share*100)+"%", FormatWindow(x.Long))})
	}
	if !b.NoData && b.ConsumptionPercent > ob.BudgetAlertPercent {
		b.Alerts = append(b.Alerts, BudgetAlert{Severity: "budget", Reason: fmt.Sprintf(
			"%s%% of the error budget consumed (alert above %s%%)", num(b.ConsumptionPercent), num(ob.BudgetAlertPercent))})
	}
	return b
}

// burnAlerts are the burn alerts' windows scaled to full and their rates
// (not yet whether they fire: an invalid budget never does).
func burnAlerts(ob Objective, full time.Duration, over map[time.Duration]Events) []BurnAlertStatus {
	out := make([]BurnAlertStatus, len(Alerts))
	for i, al := range Alerts {
		long, short := al.Windows(full)
		out[i] = BurnAlertStatus{Severity: al.Severity, Long: long, Short: short, Factor: al.Factor(), Share: al.Share(),
			LongRate: burnRate(over[long], ob.Target), ShortRate: burnRate(over[short], ob.Target)}
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

// num writes a number in an alert's reason as the CLI prints values:
// short values exact, long ones rounded to 6 digits.
func num(v float64) string {
	s := strconv.FormatFloat(v, 'f', -1, 64)
	if len(s) <= 12 {
		return s
	}
	return strconv.FormatFloat(v, 'g', 6, 64)
}
