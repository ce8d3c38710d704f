package slo

import (
	"math/big"
	"testing"
	"time"
)

// The burn alerts' windows scale with the SLO window, x W/30d, and the
// factors stay (issue 25, "Burn-rate alerts on short SLO windows"; Pyrra's
// rule). Hand-computed: 1h x 1/30 = 2m, 5m x 1/30 = 10s; 1h x 7/30 = 14m,
// 5m x 7/30 = 70s; 1h x 28/30 = 56m, 5m x 28/30 = 280s = 4m40s, 3d x
// 28/30 = 67.2h = 67h12m; January 2026 has 31 days: 1h x 31/30 = 62m,
// 5m x 31/30 = 310s = 5m10s, 3d x 31/30 = 74.4h = 74h24m.
func TestScaledWindows(t *testing.T) {
	h, m, s := time.Hour, time.Minute, time.Second
	jan := Window{CalendarMonth: true}.Full(time.Date(2026, 1, 20, 12, 0, 0, 0, time.UTC))
	if jan != 31*day {
		t.Fatalf("January's full length %v, want 31d", jan)
	}
	// hb25b E4: 2026-12-01T00:00Z ends November (30 days, all elapsed);
	// a second later December starts (31 days, 1s elapsed).
	cm, dec1 := Window{CalendarMonth: true}, time.Date(2026, 12, 1, 0, 0, 0, 0, time.UTC)
	if b, f := cm.Bounds(dec1), cm.Full(dec1); !b.Equal(time.Date(2026, 11, 1, 0, 0, 0, 0, time.UTC)) || f != 30*day || cm.Length(dec1) != 30*day {
		t.Errorf("calendar_month at 12-01 00:00: start %v, full %v; want 11-01, 720h", b, f)
	}
	if b, f := cm.Bounds(dec1.Add(time.Second)), cm.Full(dec1.Add(time.Second)); !b.Equal(dec1) || f != 31*day {
		t.Errorf("calendar_month at 12-01 00:00:01: start %v, full %v; want 12-01, 744h", b, f)
	}
	for _, c := range []struct {
		name   string
		window time.Duration
		want   [4][2]time.Duration // long, short of each alert
	}{
		{"1d", day, [4][2]time.Duration{{2 * m, 10 * s}, {12 * m, m}, {48 * m, 4 * m}, {2*h + 24*m, 12 * m}}},
		{"7d", 7 * day, [4][2]time.Duration{{14 * m, 70 * s}, {84 * m, 7 * m}, {5*h + 36*m, 28 * m}, {16*h + 48*m, h + 24*m}}},
		{"28d", 28 * day, [4][2]time.Duration{{56 * m, 4*m + 40*s}, {5*h + 36*m, 28 * m}, {22*h + 24*m, h + 52*m}, {67*h + 12*m, 5*h + 36*m}}},
		{"30d", 30 * day, [4][2]time.Duration{{h, 5 * m}, {6 * h, 30 * m}, {day, 2 * h}, {3 * day, 6 * h}}},
		{"January", jan, [4][2]time.Duration{{62 * m, 5*m + 10*s}, {6*h + 12*m, 31 * m}, {24*h + 48*m, 2*h + 4*m}, {74*h + 24*m, 6*h + 12*m}}},
		// Rounding to whole seconds, halves up: 13h is 13/720 of 30d:
		// 1h -> 65s, 5m -> 5.4167s -> 5s, 6h -> 390s, 30m -> 32.5s -> 33s.
		{"13h", 13 * h, [4][2]time.Duration{{65 * s, 5 * s}, {390 * s, 33 * s}, {26 * m, 130 * s}, {78 * m, 390 * s}}},
		// A 1h SLO: 5m x 1/720 = 0.42s would vanish; 1s is the floor.
		{"1h", h, [4][2]time.Duration{{5 * s, s}, {30 * s, 3 * s}, {2 * m, 10 * s}, {6 * m, 30 * s}}},
	} {
		for i, a := range Alerts {
			long, short := a.Windows(c.window)
			if long != c.want[i][0] || short != c.want[i][1] {
				t.Errorf("%s alert %d (%s): windows %v/%v, want %v/%v", c.name, i, a.Severity, long, short, c.want[i][0], c.want[i][1])
			}
		}
	}
}

// steady is the same events over every window a budget reads.
func steady(window time.Duration, e Events) map[time.Duration]Events {
	over := map[time.Duration]Events{}
	for _, d := range budgetWindows(Objective{}, window) {
		over[d] = e
	}
	return over
}

// A 1d SLO at 99.9% burning steadily at 0.5x (10 bad of 20000 = 0.0005 =
// half the 0.001 budget everywhere) is on course to meet its objective
// with half its budget left: no page, no ticket, no budget alert (50%
// consumed < 80%). Over fixed 1h/6h/1d/3d windows its page factor was
// 0.02 x 24h / 1h = 0.48 < 0.5: it paged.
func TestSteadyHalfBurnShortWindowQuiet(t *testing.T) {
	ob := objective(t, "99.9", day)
	e := Events{Good: 19990, Total: 20000}
	b := ComputeBudget(ob, day, e, steady(day, e))
	if len(b.Alerts) != 0 {
		t.Errorf("steady 0.5x on a 1d SLO: alerts %+v, want none", b.Alerts)
	}
	if b.ConsumptionPercent != 50 || b.Exhausted {
		t.Errorf("consumed %v%%, exhausted %v: want 50%%, false", b.ConsumptionPercent, b.Exhausted)
	}
	// A steady burn just over 1 (11 bad of 10000 = 1.1x) tickets on the
	// 3d/6h alert (scaled: 2h24m/12m, factor 1) and nothing else.
	e = Events{Good: 9989, Total: 10000}
	b = ComputeBudget(ob, day, e, steady(day, e))
	if len(b.Alerts) != 2 || b.Alerts[0].Severity != "ticket" || b.Alerts[1].Severity != "budget" {
		t.Errorf("steady 1.1x: alerts %+v, want a ticket and the budget alert (110%% consumed)", b.Alerts)
	}
}

// A 1d SLO at 99.9% burning at 15x (15 bad of 1000) over the scaled page
// windows 2m and 10s, no events elsewhere: 15 > 14.4, a page, whose
// reason names the scaled windows; BurnAlerts state all four conditions.
func TestShortWindowPage(t *testing.T) {
	ob := objective(t, "99.9", day)
	fast := Events{Good: 985, Total: 1000}
	b := ComputeBudget(ob, day, Events{Good: 99985, Total: 100000},
		map[time.Duration]Events{2 * time.Minute: fast, 10 * time.Second: fast})
	want := BudgetAlert{"page", "burn rate 15 over 2m and 15 over 10s, both above 14.4 (2% of the budget in 2m)"}
	if len(b.Alerts) != 1 || b.Alerts[0] != want {
		t.Errorf("alerts %+v, want [%+v]", b.Alerts, want)
	}
	if len(b.BurnAlerts) != 4 {
		t.Fatalf("burn alerts %+v, want 4", b.BurnAlerts)
	}
	p := b.BurnAlerts[0]
	if p.Severity != "page" || p.Long != 2*time.Minute || p.Short != 10*time.Second || p.Factor != 14.4 || p.Share != 0.02 ||
		rate(p.LongRate) != 15 || rate(p.ShortRate) != 15 || !p.Firing {
		t.Errorf("page condition %+v, want 2m/10s at 14.4, rates 15/15, firing", p)
	}
	for _, x := range b.BurnAlerts[1:] {
		if x.Firing || x.LongRate != nil || x.ShortRate != nil {
			t.Errorf("condition %+v: no events, want not firing, nil rates", x)
		}
	}
}

// The boundary stays exact on a scaled window: on a 1d SLO at 99.9%, an
// error ratio of exactly 14.4 x 0.001 = 0.0144 (144 of 10000) over 2m and
// 10s does not page; 145 of 10000 does.
func TestShortWindowBoundaryExact(t *testing.T) {
	ob := objective(t, "99.9", day)
	e := Events{Good: 999500, Total: 1000000} // 50% consumed: no budget alert
	for _, c := range []struct {
		bad  float64
		page bool
	}{{144, false}, {145, true}} {
		x := Events{Good: 10000 - c.bad, Total: 10000}
		b := ComputeBudget(ob, day, e, map[time.Duration]Events{2 * time.Minute: x, 10 * time.Second: x})
		if got := len(b.Alerts) == 1 && b.Alerts[0].Severity == "page"; got != c.page || b.BurnAlerts[0].Firing != c.page {
			t.Errorf("%v bad of 10000 over 2m and 10s: alerts %+v, want page %v", c.bad, b.Alerts, c.page)
		}
	}
}

// Scaled windows print in hours, minutes and seconds, whole hours as
// vigil writes durations.
func TestFormatWindow(t *testing.T) {
	for d, want := range map[time.Duration]string{
		10 * time.Second: "10s", 70 * time.Second: "1m10s", 2 * time.Minute: "2m", 14 * time.Minute: "14m",
		144 * time.Minute: "2h24m", 336 * time.Minute: "5h36m", 74*time.Hour + 24*time.Minute: "74h24m",
		time.Hour: "1h", 6 * time.Hour: "6h", 24 * time.Hour: "1d", 72 * time.Hour: "3d", time.Hour + 30*time.Second: "1h0m30s",
	} {
		if got := FormatWindow(d); got != want {
			t.Errorf("FormatWindow(%v) = %q, want %q", d, got, want)
		}
	}
}

// An alert's reason prints its burn rates with the digits that show them
// above the factor (issue 25 D5): 3,000,001 bad of 3e9 at 99.9% is a
// burn of 1.000000333..., just over the 3d/6h ticket's factor 1; rounded
// to 6 digits it read "1", as at the factor, not above it. 7 decimals
// are the first that differ from 1: 1.0000003.
func TestReasonRateDigits(t *testing.T) {
	ob := objective(t, "99.9", ReferenceWindow)
	e := Events{Good: 3e9 - 3000001, Total: 3e9}
	b := ComputeBudget(ob, ReferenceWindow, e, steady(ReferenceWindow, e))
	want := "burn rate 1.0000003 over 3d and 1.0000003 over 6h, both above 1 (10% of the budget in 3d)"
	if len(b.Alerts) == 0 || b.Alerts[0].Reason != want {
		t.Errorf("alerts %+v, want first the ticket %q", b.Alerts, want)
	}
	// Its consumption, 100.0000333...%, is over 100 (exhausted): the
	// budget alert's reason says so with the first digits that differ
	// from 100, not "100%".
	if want := "100.00003% of the error budget consumed (alert above 80%)"; len(b.Alerts) != 2 || b.Alerts[1].Reason != want {
		t.Errorf("alerts %+v, want second the budget alert %q", b.Alerts, want)
	}
	// A rate whose usual text already reads above the factor keeps it:
	// 2 bad of 100 at 99.9% is a burn of 20 over 14.4.
	e = Events{Good: 98, Total: 100}
	b = ComputeBudget(ob, ReferenceWindow, e, steady(ReferenceWindow, e))
	if want := "burn rate 20 over 1h and 20 over 5m, both above 14.4 (2% of the budget in 1h)"; b.Alerts[0].Reason != want {
		t.Errorf("page reason %q, want %q", b.Alerts[0].Reason, want)
	}
}

// A sliced objective's burn windows are scaled as any other's, never
// widened (hb25b E2: widened to one slice, one bad slice was a burn of
// 1/(1 - target) and paged a service spending half its budget); an alert
// whose short window is shorter than one slice holds no complete slice
// and is not evaluated (AlertSkipped). A 1d Timeslices SLO with 1m slices:
// the page's 1h/5m scales to 2m/10s, skipped; 6h/30m to 12m/1m, 1d/2h to
// 48m/4m and 3d/6h to 2h24m/12m, evaluated. An objective that is not
// sliced skips nothing.
func TestAlertWindowsSliced(t *testing.T) {
	m := time.Minute
	ob := objective(t, "99.9", day)
	ob.Method, ob.SliceWindow = Timeslices, m
	want := [4][2]time.Duration{{2 * m, 10 * time.Second}, {12 * m, m}, {48 * m, 4 * m}, {144 * m, 12 * m}}
	// At 99.9% a day's budget is 1.44 bad minutes: one bad minute in 12
	// is a burn of 83.3 (page 6x), in 48 of 20.8 (ticket 3x), in 144 of
	// 6.94 (ticket 1x): windows that short cannot tell a fast burn from a
	// service on course, so those alerts are skipped too (hb25b E2's
	// residual). On a 30d window at 99% every alert is evaluated.
	skip := [4]string{"short window 10s is shorter than one 1m time slice",
		"long window 12m holds 12 1m time slices, too few to tell a burn above 6 from a steady burn of 1 (one bad slice more is a burn of 83.3333)",
		"long window 48m holds 48 1m time slices, too few to tell a burn above 3 from a steady burn of 1 (one bad slice more is a burn of 20.8333)",
		"long window 2h24m holds 144 1m time slices, too few to tell a burn above 1 from a steady burn of 1 (one bad slice more is a burn of 6.94444)"}
	for i, a := range Alerts {
		if long, short := ob.AlertWindows(a, day); long != want[i][0] || short != want[i][1] {
			t.Errorf("alert %d: %v/%v, want %v/%v", i, long, short, want[i][0], want[i][1])
		}
		if got := ob.AlertSkipped(a, day); got != skip[i] {
			t.Errorf("alert %d skipped %q, want %q", i, got, skip[i])
		}
	}
	month := objective(t, "99", ReferenceWindow)
	month.Method, month.SliceWindow = Timeslices, m
	for i, a := range Alerts {
		if got := month.AlertSkipped(a, ReferenceWindow); got != "" {
			t.Errorf("30d at 99%%: alert %d skipped %q, want evaluated", i, got)
		}
	}
	ob.Method = Occurrences
	if long, short := ob.AlertWindows(Alerts[0], day); long != 2*m || short != 10*time.Second || ob.AlertSkipped(Alerts[0], day) != "" {
		t.Errorf("occurrences: %v/%v skipped %q, want 2m/10s evaluated", long, short, ob.AlertSkipped(Alerts[0], day))
	}
}

// periodic is the Timeslices events over the length ending at slice
// index end (exclusive) of a grid of width w, one bad slice every k (slice
// i is bad when i % k == 0): the complete slices inside the window.
func periodic(length, w time.Duration, end, k int) Events {
	n := int(length / w)
	var e Events
	for i := end - n; i < end; i++ {
		e.Total++
		if i%k != 0 {
			e.Good++
		}
	}
	return e
}

// TestSteadyHalfBurnSliced: Timeslices with one bad slice in k, over SLO
// windows of 1h, 2h, 1d and 7d with 1m and 5m slices, at every phase of
// the pattern. A service on course never pages (issue 25): at half the
// budget (95% one in 40, 90% one in 20, 99% one in 200) neither page nor
// ticket fires, and at exactly the budget (95% one in 20, 99% one in 100,
// 99.9% one in 1000) no page fires. An alert whose windows hold too few
// slices to tell the two apart is skipped (AlertSkipped); with the windows
// widened to one slice, 2h with 1m slices paged over 1m/1m (hb25b E2),
// and with only the short-window rule a 1d 99% SLO paged over 12m/1m on
// one bad minute. At exactly the budget the 1x ticket may fire: evenly
// spread bad slices put one more in some windows than the rate allows.
func TestSteadyHalfBurnSliced(t *testing.T) {
	for _, c := range []struct {
		target string
		k      int
		ticket bool // tickets checked too
	}{{"95", 40, true}, {"90", 20, true}, {"99", 100, false}, {"99", 200, true}, {"95", 20, false}, {"99.9", 1000, false}} {
		for _, window := range []time.Duration{time.Hour, 2 * time.Hour, day, 7 * day} {
			for _, w := range []time.Duration{time.Minute, 5 * time.Minute} {
				ob := objective(t, c.target, window)
				ob.Method, ob.SliceWindow, ob.SliceTarget = Timeslices, w, big.NewRat(1, 2)
				for end := 0; end < c.k; end++ {
					over := map[time.Duration]Events{}
					for _, al := range Alerts {
						long, short := ob.AlertWindows(al, window)
						over[long], over[short] = periodic(long, w, end, c.k), periodic(short, w, end, c.k)
					}
					b := ComputeBudget(ob, window, periodic(window, w, end, c.k), over)
					for _, a := range b.Alerts {
						if a.Severity == "page" || (c.ticket && a.Severity == "ticket") {
							t.Errorf("%s%% one in %d, %v SLO, %v slices, phase %d: %s fires: %s", c.target, c.k, window, w, end, a.Severity, a.Reason)
						}
					}
				}
			}
		}
	}
}
