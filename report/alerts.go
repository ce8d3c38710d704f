package report

import (
	"sort"
	"time"

	"github.com/vigil-metrics/vigil/alert/state"
)

// Alerts summarises the state DB's history over a period.
type Alerts struct {
	Fired, Resolved int
	// MeanTimeToResolve is the mean of firing-to-resolved over the
	// alerts resolved in the period (nil: none resolved).
	MeanTimeToResolve *time.Duration
	// Noisiest are the rules that fired most, most first (at most 5).
	Noisiest []RuleCount
	// FiringNow counts, per rule, the alerts firing at the period's end
	// (fired, in the period or before it, and not resolved since), by
	// rule name.
	FiringNow []RuleCount
	// Incidents are the correlation incidents open at the period's end.
	Incidents []state.Incident
	// Notifications: attempts that succeeded, failed, or ended unknown.
	Sent, Failed, Unknown int
}

// RuleCount is how often a rule fired.
type RuleCount struct {
	Rule  string
	Fired int
}

// Empty reports whether nothing happened in the period.
func (a *Alerts) Empty() bool {
	return a.Fired == 0 && a.Resolved == 0 && len(a.FiringNow) == 0 && len(a.Incidents) == 0 && a.Sent+a.Failed+a.Unknown == 0
}

// sortCounts orders counts most first, then by rule.
func sortCounts(c []RuleCount) {
	sort.Slice(c, func(i, j int) bool {
		if c[i].Fired != c[j].Fired {
			return c[i].Fired > c[j].Fired
		}
		return c[i].Rule < c[j].Rule
	})
}

// Summarize counts the period (from, to]'s alerts. events must be every
// event from before the period on (oldest first) so that an alert fired
// earlier and resolved in the period has its firing time; attempts and
// incidents may be wider than the period: they are filtered here.
func Summarize(events []state.Event, attempts []state.Attempt, incidents []state.Incident, from, to time.Time) *Alerts {
	in := func(t time.Time) bool { return t.After(from) && !t.After(to) }
	out := &Alerts{}
	fired := map[uint64]time.Time{}
	firing := map[uint64]string{} // by fingerprint: the rule, while firing
	counts := map[string]int{}
	var total time.Duration
	var n int
	for _, e := range events {
		if e.At.After(to) {
			break
		}
		if e.To == state.Firing {
			firing[e.Fingerprint] = e.Rule
		} else {
			delete(firing, e.Fingerprint)
		}
		switch e.To {
		case state.Firing:
			if e.From != state.Firing {
				fired[e.Fingerprint] = e.At
				if in(e.At) {
					out.Fired++
					counts[e.Rule]++
				}
			}
		case state.Resolved:
			if in(e.At) {
				out.Resolved++
				if t, ok := fired[e.Fingerprint]; ok {
					total += e.At.Sub(t)
					n++
				}
			}
			delete(fired, e.Fingerprint)
		}
	}
	if n > 0 {
		m := (total / time.Duration(n)).Round(time.Second)
		out.MeanTimeToResolve = &m
	}
	for r, c := range counts {
		out.Noisiest = append(out.Noisiest, RuleCount{r, c})
	}
	sortCounts(out.Noisiest)
	if len(out.Noisiest) > 5 {
		out.Noisiest = out.Noisiest[:5]
	}
	now := map[string]int{}
	for _, r := range firing {
		now[r]++
	}
	for r, c := range now {
		out.FiringNow = append(out.FiringNow, RuleCount{r, c})
	}
	sortCounts(out.FiringNow)
	for _, a := range attempts {
		if !in(a.At) {
			continue
		}
		switch a.Result {
		case "ok":
			out.Sent++
		case "error":
			out.Failed++
		default:
			out.Unknown++
		}
	}
	for _, inc := range incidents {
		if !inc.Opened.After(to) {
			out.Incidents = append(out.Incidents, inc)
		}
	}
	return out
}
