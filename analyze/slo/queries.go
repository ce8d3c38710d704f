package slo

import (
	"strconv"
	"time"
)

// Query is one window an objective's budget asks of Querier.Eval at an
// instant: Eval(Path, Window{At: at, Length: Length}).
type Query struct {
	Path   string
	Length time.Duration
	// Growing marks the SLO window of a calendar window: its length is
	// the time since its period's start, another at every instant, so a
	// caller precomputing fixed lengths (a replay's tables) cannot hold
	// it; the burn and alert windows are fixed for a period.
	Growing bool
}

// BudgetQueries lists the Eval queries BudgetOf asks for ob as of at,
// each (path, length) once: the SLO window's, then the burn windows' and
// the burn alerts' scaled windows (budgetWindows). A sliced objective
// (Timeslices, RatioTimeslices, a threshold SLI) asks none: it reads
// slices (Querier.Buckets, Evaluator.PrepareRange). A replay registers
// these so that each step's budget is answered from its tables.
func BudgetQueries(ob Objective, at time.Time) []Query {
	if ob.Sliced() || ob.Threshold != nil {
		return nil
	}
	paths := ob.eventPaths()
	slo := ob.Window.Length(at)
	growing := ob.Window.CalendarMonth || ob.Window.calendar()
	var out []Query
	seen := map[time.Duration]bool{}
	add := func(d time.Duration, g bool) {
		if d <= 0 || seen[d] {
			return
		}
		seen[d] = true
		for _, p := range paths {
			out = append(out, Query{Path: p, Length: d, Growing: g})
		}
	}
	add(slo, growing)
	for _, d := range budgetWindows(ob, ob.Window.Full(at)) {
		add(d, false)
	}
	return out
}

// eventPaths are the paths events reads for an occurrence objective, in
// the order it reads them.
func (o Objective) eventPaths() []string {
	switch {
	case o.SLI == Availability && o.Total == "":
		return []string{outcomesPath(RequestsMetric, "success")}
	case o.SLI == Latency && o.Histogram == "":
		return []string{outcomesPath(LatencyRequestsMetric, "fast")}
	case o.SLI == Latency:
		good, total := o.histogramPaths()
		return []string{total, good}
	case o.Good != "":
		return []string{o.Total, o.Good}
	}
	return []string{o.Total, o.Bad}
}

// outcomesPath is a reference design SLI counter's increase by service
// and its outcome label.
func outcomesPath(metric, label string) string {
	return metric + ".increase by (service, " + label + ")"
}

// histogramPaths are a histogram latency SLI's good (at most the
// threshold) and total paths.
func (o Objective) histogramPaths() (good, total string) {
	th := strconv.FormatFloat(o.ThresholdMS, 'f', -1, 64)
	return o.Histogram + ".count_le(" + th + ")", o.Histogram + ".count"
}
