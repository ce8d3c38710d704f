package dashboards

import (
	"fmt"
	"strconv"

	"github.com/vigil-metrics/vigil/analyze/slo"
	"github.com/vigil-metrics/vigil/internal/metricpath"
	"github.com/vigil-metrics/vigil/internal/vtime"
)

// WindowPoints is the maxDataPoints of graphs whose every point reads a
// whole SLO window (budget over time): fewer steps, as each one reads
// days of samples.
const WindowPoints = 100

// overview is one row per objective, as sloth's and Pyrra's dashboards
// show an SLO: the SLI over the SLO window (compliance) against the
// target, the error budget remaining, the burn rate over the burn
// alerts' long windows with their factors drawn, and the budget left
// over time. Rules that belong to no service or host follow.
func overview(in Input, ds *DatasourceRef, types map[string]string, rules []Rule, warn func(string, ...any)) *Dashboard {
	b := newBoard("vigil-overview", "vigil: SLO overview",
		"Every SLO's compliance, error budget remaining and burn rates, from vigil serve. vigil slo and vigil budget give the exact numbers.",
		ds, "slo")
	for _, ob := range in.Objectives {
		if err := sloRow(b, in, ob, types); err != nil {
			warn("objective %s/%s: %v", ob.Service, ob.SLI, err)
			continue
		}
		if m := sliMetric(ob); m != "" && !in.Catalog.has(ob.Service, m) {
			warn("objective %s/%s: the stores have no %s of service %s: its panels show no data", ob.Service, ob.SLI, m, ob.Service)
		}
	}
	b.ruleRow(rules, types, in.Buckets, warn)
	return b.d
}

func sloRow(b *board, in Input, ob slo.Objective, types map[string]string) error {
	if ob.Threshold != nil || (ob.Method != "" && ob.Method != "Occurrences") {
		return fmt.Errorf("a %s objective is judged per time slice: no PromQL equal, left out", methodOf(ob))
	}
	full := ob.Window.Full(in.At)
	window := vtime.FormatDuration(full)
	budget := ob.Target.BudgetPercent() / 100 // 0.001, where 1 - 0.999 in floats is 0.000999...89
	target := 1 - budget
	good, total, err := sliRatio(ob, window, types)
	if err != nil {
		return err
	}
	sli := fmt.Sprintf("(%s) / (%s)", good, total)
	name := ob.Service + " " + ob.SLI
	if ob.Display != "" {
		name += " " + ob.Display
	}
	b.row(fmt.Sprintf("%s: %s%% over %s", name, ob.TargetText, ob.Window.String()))
	b.add(stat("Compliance ("+window+")", fmt.Sprintf("Good events over all events in the last %s; the objective is %s%%.", window, ob.TargetText),
		"percentunit", below(target), Target{Expr: sli, LegendFormat: "SLI"}), 6, 6)
	remaining := fmt.Sprintf("1 - (1 - %s) / %s", paren(sli), fmtFloat(budget))
	b.add(stat("Error budget remaining", "The share of the error budget ("+fmtFloat(budget*100)+"% of events) not yet spent over the last "+window+".",
		"percentunit", &Thresholds{Mode: "absolute", Steps: []Step{{Color: "red"}, {Color: "orange", Value: ptr(0.0)}, {Color: "green", Value: ptr(0.25)}}},
		Target{Expr: remaining, LegendFormat: "remaining"}), 6, 6)
	var burns []Target
	for _, a := range slo.Alerts {
		long, _ := a.Windows(full)
		lw := vtime.FormatDuration(long)
		g, t, err := sliRatio(ob, lw, types)
		if err != nil {
			return err
		}
		burns = append(burns, Target{
			Expr:         fmt.Sprintf("(1 - (%s) / (%s)) / %s", g, t, fmtFloat(budget)),
			LegendFormat: fmt.Sprintf("%s (%s above %s)", lw, a.Severity, strconv.FormatFloat(a.Factor(), 'g', 4, 64)),
		})
	}
	b.add(timeseries("Burn rate", "Error rate over each burn alert's long window divided by the budget (1 = on course to spend exactly the budget). The lines are the alerts' factors (14.4, 6, 3, 1).",
		"", burnThresholds(), burns...), 12, 6)
	over := timeseries("Error budget remaining over time", "Each point is the budget remaining over the "+window+" before it.",
		"percentunit", nil, Target{Expr: remaining, LegendFormat: "remaining"})
	over.MaxDataPoints = WindowPoints
	b.add(over, 24, 6)
	return nil
}

func methodOf(ob slo.Objective) string {
	if ob.Threshold != nil {
		return "thresholdMetric"
	}
	return ob.Method
}

func burnThresholds() *Thresholds {
	var steps []Step
	steps = append(steps, Step{Color: "green"})
	for i, c := range []string{"yellow", "orange", "red", "dark-red"} {
		f := slo.Alerts[len(slo.Alerts)-1-i].Factor()
		steps = append(steps, Step{Color: c, Value: ptr(f)})
	}
	return &Thresholds{Mode: "absolute", Steps: steps}
}

// sliRatio is the objective's good and total event counts over window,
// as PromQL: the reference design's SLI counters, a raw histogram's
// bucket at the threshold, or the custom paths (summed, as vigil slo
// sums a path with by).
func sliRatio(ob slo.Objective, window string, types map[string]string) (good, total string, err error) {
	svc := "service=" + promString(ob.Service)
	inc := func(sel string) string { return "sum(increase(" + sel + "[" + window + "]))" }
	switch {
	case ob.Histogram != "":
		e, err := metricpath.Parse(ob.Histogram)
		if err != nil {
			return "", "", err
		}
		le := `le="` + fmtFloat(ob.ThresholdMS) + `"`
		return inc(selector(e.Num.Name+"_bucket", e.Num.Matchers, "", le)), inc(selector(e.Num.Name+"_count", e.Num.Matchers, "", "")), nil
	case ob.SLI == slo.Availability:
		return inc(slo.RequestsMetric + "{" + svc + `, success=~"` + truthy + `"}`), inc(slo.RequestsMetric + "{" + svc + "}"), nil
	case ob.SLI == slo.Latency:
		return inc(slo.LatencyRequestsMetric + "{" + svc + `, fast=~"` + truthy + `"}`), inc(slo.LatencyRequestsMetric + "{" + svc + "}"), nil
	}
	path := func(p string) (string, error) {
		e, err := metricpath.Parse(p)
		if err != nil {
			return "", err
		}
		q, err := Translate(e, types, TranslateOptions{Window: window})
		if err != nil {
			return "", err
		}
		return "sum(" + q.Expr + ")", nil
	}
	if total, err = path(ob.Total); err != nil {
		return "", "", err
	}
	if ob.Good != "" {
		good, err = path(ob.Good)
		return good, total, err
	}
	bad, err := path(ob.Bad)
	return "(" + total + " - " + bad + ")", total, err
}

// sliMetric is the counter an objective of the reference design's SLIs
// reads; "" for a histogram or custom SLI (their paths name their own).
func sliMetric(ob slo.Objective) string {
	switch {
	case ob.Histogram != "":
		return ""
	case ob.SLI == slo.Availability:
		return slo.RequestsMetric
	case ob.SLI == slo.Latency:
		return slo.LatencyRequestsMetric
	}
	return ""
}
