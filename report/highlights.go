package report

import (
	"fmt"
	"slices"
)

// Thresholds of the highlights: what is worth a sentence.
const (
	// LatencyRise: a p95 that rose by more than this share (0.2 = 20%).
	LatencyRise = 0.2
	// ResourcePeak: a resource whose peak is above this percentage.
	ResourcePeak = 90.0
)

// Highlights are plain sentences about what stands out in r, each
// computed from r's numbers: breached objectives, overspent or fast
// burning budgets, latency that rose, resources that peaked, the noisiest
// alert rule and failed notifications. None when nothing stands out.
// Each is a markdown line: the names in it (services, hosts, metrics,
// rules) are escaped with Escape, since they come from data.
func Highlights(r *Report) []string {
	var out []string
	for _, s := range r.SLOs {
		if !s.Met && !s.Invalid {
			out = append(out, fmt.Sprintf("%s %s was %s over %s, below its %s target.",
				Escape(s.Service), Escape(s.SLI), orText(s.PercentText, round(s.Percent, 4))+"%", Escape(s.Window),
				orText(s.TargetText, s.TargetPercent)+"%"))
		}
	}
	for _, b := range r.Budgets {
		// The consumption as the budget table prints it (slo's
		// ConsumptionText): 100.00005% is not "100%", nor 99.90005%.
		switch {
		case b.NoData, b.Invalid: // not judged: nothing was spent (h30 D13)
		case b.Exhausted:
			out = append(out, fmt.Sprintf("%s used %s of its %s error budget (%s): it is exhausted.",
				Escape(b.Service), orText(b.ConsumedText, round(b.ConsumptionPercent, 2))+"%", Escape(b.SLI), Escape(b.Window)))
		case b.ConsumptionPercent >= 50:
			out = append(out, fmt.Sprintf("%s used %s of its %s error budget (%s).",
				Escape(b.Service), orText(b.ConsumedText, round(b.ConsumptionPercent, 2))+"%", Escape(b.SLI), Escape(b.Window)))
		}
		// The most urgent active burn-rate alert, in its own words.
		for _, sev := range []string{"page", "ticket"} {
			i := slices.IndexFunc(b.Alerts, func(a BudgetAlert) bool { return a.Severity == sev })
			if i < 0 {
				continue
			}
			what := "is burning fast"
			if sev == "ticket" {
				what = "is burning faster than it can last"
			}
			out = append(out, fmt.Sprintf("%s's %s error budget %s (%s): %s.", Escape(b.Service), Escape(b.SLI), what, sev, Escape(b.Alerts[i].Reason)))
			break
		}
	}
	for _, l := range r.Latency {
		if l.PrevP95 != nil && *l.PrevP95 > 0 && (l.P95-*l.PrevP95) / *l.PrevP95 > LatencyRise {
			out = append(out, fmt.Sprintf("%s p95 of %s rose %s vs the previous period (%s to %s).",
				Escape(l.Metric), Escape(l.Service), RelChange(l.P95, l.PrevP95), Num(round(*l.PrevP95, 2)), Num(round(l.P95, 2))))
		}
	}
	for _, x := range r.Resources {
		if x.Max > ResourcePeak {
			out = append(out, fmt.Sprintf("%s peaked at %s on %s (average %s).",
				Escape(x.Metric), Num(round(x.Max, 2)), Escape(x.Host), Num(round(x.Avg, 2))))
		}
	}
	if a := r.Alerts; a != nil {
		if a.Fired > 0 {
			out = append(out, fmt.Sprintf("%d %s fired in this period and %d resolved.", a.Fired, plural(a.Fired, "alert", "alerts"), a.Resolved))
		}
		// The noisiest rule, when one stands out: more than one firing,
		// and more than any other rule.
		if n := a.Noisiest; len(n) > 0 && n[0].Fired > 1 && (len(n) == 1 || n[0].Fired > n[1].Fired) {
			out = append(out, fmt.Sprintf("The noisiest alert rule was %s: it fired %d times.", Escape(n[0].Rule), n[0].Fired))
		}
		if a.Failed > 0 {
			out = append(out, fmt.Sprintf("%d notification %s failed.", a.Failed, plural(a.Failed, "attempt", "attempts")))
		}
	}
	return out
}

func plural(n int, one, many string) string {
	if n == 1 {
		return one
	}
	return many
}
