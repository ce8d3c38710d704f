package slo

import (
	"math/big"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/vigil-metrics/vigil/internal/configfile"
)

// Calendar windows (issue 25): periods start at startTime in timeZone and
// follow one another; the expected instants are counted by hand.
func TestCalendarWindowBounds(t *testing.T) {
	zone := func(name string) *time.Location {
		l, err := time.LoadLocation(name)
		if err != nil {
			t.Fatal(err)
		}
		return l
	}
	ny, berlin := zone("America/New_York"), zone("Europe/Berlin")
	utc := func(s string) time.Time {
		v, err := time.Parse(time.RFC3339, s)
		if err != nil {
			t.Fatal(err)
		}
		return v
	}
	week := Window{Start: time.Date(2022, 1, 1, 12, 0, 0, 0, ny), Days: 7}
	month := Window{Start: time.Date(2022, 1, 1, 0, 0, 0, 0, berlin), Months: 1}
	quarter := Window{Start: time.Date(2022, 2, 15, 0, 0, 0, 0, time.UTC), Months: 3}
	twoDays := Window{Start: time.Date(2022, 1, 1, 0, 0, 0, 0, time.UTC), Days: 2}
	for _, c := range []struct {
		name       string
		w          Window
		at, start  string
		full, leng time.Duration
	}{
		// Saturdays from 2022-01-01 12:00 EST; 2022-03-14T12:00Z is Monday
		// 08:00 EDT, in the week from Sat 2022-03-12 12:00 EST (17:00Z) to
		// Sat 2022-03-19 12:00 EDT (16:00Z): DST began on 03-13, so 167h.
		{"week over spring DST", week, "2022-03-14T12:00:00Z", "2022-03-12T17:00:00Z", 167 * time.Hour, 43 * time.Hour},
		// Periods are (start, end] like every window (hb25b E4): the
		// instant a week starts ends the previous week (03-05 12:00 EST to
		// 03-12 12:00 EST, 168h, all of it elapsed); the second after is
		// the new week's first.
		{"week, boundary instant", week, "2022-03-12T17:00:00Z", "2022-03-05T17:00:00Z", 168 * time.Hour, 168 * time.Hour},
		{"week, the second after", week, "2022-03-12T17:00:01Z", "2022-03-12T17:00:00Z", 167 * time.Hour, time.Second},
		{"week, the second before", week, "2022-03-12T16:59:59Z", "2022-03-05T17:00:00Z", 168 * time.Hour, 168*time.Hour - time.Second},
		// Berlin months: 2022-03-31T22:00Z is 04-01 00:00 CEST, the end
		// of March (743h), not an empty April.
		{"month in a zone, boundary", month, "2022-03-31T22:00:00Z", "2022-02-28T23:00:00Z", 743 * time.Hour, 743 * time.Hour},
		// Sat 2022-11-05 12:00 EDT (16:00Z) to Sat 11-12 12:00 EST (17:00Z):
		// DST ended on 11-06, 169h.
		{"week over autumn DST", week, "2022-11-06T12:00:00Z", "2022-11-05T16:00:00Z", 169 * time.Hour, 20 * time.Hour},
		// Berlin months: March 2022 from 03-01 00:00 CET (02-28T23:00Z)
		// to 04-01 00:00 CEST (03-31T22:00Z): 31 days less the DST hour.
		{"month in a zone, March", month, "2022-03-15T12:00:00Z", "2022-02-28T23:00:00Z", 743 * time.Hour, (14*24 + 13) * time.Hour},
		// 2022-03-31T23:30Z is already 04-01 01:30 in Berlin: April, 30 days.
		{"month in a zone, April", month, "2022-03-31T23:30:00Z", "2022-03-31T22:00:00Z", 720 * time.Hour, 90 * time.Minute},
		// Quarters from 02-15: 11-15 to 2023-02-15 is 15+31+31+15 = 92 days.
		{"quarter", quarter, "2022-12-01T00:00:00Z", "2022-11-15T00:00:00Z", 92 * 24 * time.Hour, 16 * 24 * time.Hour},
		// Before startTime: the period before it, 2021-11-15 to 2022-02-15.
		{"quarter before start", quarter, "2022-01-01T00:00:00Z", "2021-11-15T00:00:00Z", 92 * 24 * time.Hour, 47 * 24 * time.Hour},
		// A start centuries back: days counted without overflowing.
		{"days from 1600", Window{Start: time.Date(1600, 1, 1, 0, 0, 0, 0, time.UTC), Days: 1}, "2022-01-04T06:00:00Z", "2022-01-04T00:00:00Z", 24 * time.Hour, 6 * time.Hour},
		{"two days", twoDays, "2022-01-04T00:00:00Z", "2022-01-03T00:00:00Z", 48 * time.Hour, 24 * time.Hour},
	} {
		at := utc(c.at)
		if got := c.w.Bounds(at); !got.Equal(utc(c.start)) {
			t.Errorf("%s: start %v, want %s", c.name, got.UTC(), c.start)
		}
		if got := c.w.Full(at); got != c.full {
			t.Errorf("%s: full %v, want %v", c.name, got, c.full)
		}
		if got := c.w.Length(at); got != c.leng {
			t.Errorf("%s: length %v, want %v", c.name, got, c.leng)
		}
	}
}

// oslo is an OpenSLO SLO whose lines are:
//
//	 7   budgetingMethod
//	 9     - duration
//	10       isRolling
//	14         good:
//	16             type
//	18               query
//	24   objectives:
//	25     - target
func oslo(replace ...string) string {
	s := `apiVersion: openslo/v1
kind: SLO
metadata:
  name: x
spec:
  service: api
  budgetingMethod: Occurrences
  timeWindow:
    - duration: 7d
      isRolling: true
  indicator:
    spec:
      ratioMetric:
        good:
          metricSource:
            type: Prometheus
            spec:
              query: ok_total.increase
        total:
          metricSource:
            type: Prometheus
            spec:
              query: all_total.increase
  objectives:
    - target: 0.99
`
	for i := 0; i+1 < len(replace); i += 2 {
		if !strings.Contains(s, replace[i]) {
			panic("oslo: no " + replace[i])
		}
		s = strings.Replace(s, replace[i], replace[i+1], 1)
	}
	return s
}

// Every objective of an SLO loads, with its budgeting method, time slices
// and display name; a calendar window keeps its zone.
func TestOpenSLOTimeslices(t *testing.T) {
	doc := oslo("budgetingMethod: Occurrences", "budgetingMethod: Timeslices",
		"    - duration: 7d\n      isRolling: true\n",
		"    - duration: 1w\n      calendar:\n        startTime: 2022-01-01 12:00:00\n        timeZone: America/New_York\n",
		"    - target: 0.99\n", "    - displayName: Internal\n      target: 0.995\n      timeSliceTarget: 0.95\n      timeSliceWindow: 1m\n"+
			"    - targetPercent: 99\n      timeSliceTarget: 1\n      timeSliceWindow: 5\n")
	objs, found, err := Parse("o.yaml", []byte(doc))
	if err != nil || !found || len(objs) != 2 {
		t.Fatalf("objs %+v found %v err %v", objs, found, err)
	}
	a, b := objs[0], objs[1]
	if a.Name() != "api/x/Internal" || a.Method != Timeslices || a.SliceWindow != time.Minute ||
		a.SliceTarget.Cmp(big.NewRat(19, 20)) != 0 || a.Target.Percent() != 99.5 || a.Good != "ok_total.increase" {
		t.Errorf("first: %+v", a)
	}
	if b.Name() != "api/x/2" || b.SliceWindow != 5*time.Minute || b.SliceTarget.Cmp(big.NewRat(1, 1)) != 0 || b.Target.Percent() != 99 {
		t.Errorf("second: %+v", b)
	}
	at := time.Date(2022, 3, 14, 12, 0, 0, 0, time.UTC)
	if got := a.Window.Bounds(at); !got.Equal(time.Date(2022, 3, 12, 17, 0, 0, 0, time.UTC)) || a.Window.Full(at) != 167*time.Hour || a.Window.String() != "1w" {
		t.Errorf("window: %v %v %s", got, a.Window.Full(at), a.Window)
	}
	// RatioTimeslices: a bare number is minutes (1.5 -> 90s); one
	// objective has no Display.
	objs, _, err = Parse("o.yaml", []byte(oslo("budgetingMethod: Occurrences", "budgetingMethod: RatioTimeslices",
		"    - target: 0.99\n", "    - target: 0.99\n      timeSliceWindow: 1.5\n")))
	if err != nil || len(objs) != 1 || objs[0].Method != RatioTimeslices || objs[0].SliceWindow != 90*time.Second ||
		objs[0].SliceTarget != nil || objs[0].Name() != "api/x" {
		t.Errorf("ratio timeslices: %+v %v", objs, err)
	}
	// No budgetingMethod: Occurrences.
	objs, _, err = Parse("o.yaml", []byte(oslo("  budgetingMethod: Occurrences\n", "")))
	if err != nil || len(objs) != 1 || objs[0].Method != Occurrences || objs[0].Sliced() {
		t.Errorf("no method: %+v %v", objs, err)
	}
}

// indicatorRef finds a kind: SLI in the same file, before or after the
// SLO, in the spec's list form too; a thresholdMetric is a Threshold.
func TestOpenSLOIndicatorRefAndThreshold(t *testing.T) {
	slo := oslo("budgetingMethod: Occurrences", "budgetingMethod: Timeslices",
		"  indicator:\n    spec:\n      ratioMetric:\n        good:\n          metricSource:\n            type: Prometheus\n            spec:\n              query: ok_total.increase\n        total:\n          metricSource:\n            type: Prometheus\n            spec:\n              query: all_total.increase\n",
		"  indicatorRef: lag\n",
		"    - target: 0.99\n", "    - op: lte\n      value: 0.25\n      target: 0.99\n      timeSliceWindow: 5m\n")
	sli := "apiVersion: openslo/v1\nkind: SLI\nmetadata:\n  name: lag\nspec:\n  thresholdMetric:\n    metricSource:\n      type: vigil\n      spec:\n        query: consumer_lag_seconds.max\n"
	indent := func(doc string) string {
		lines := strings.Split(strings.TrimSuffix(doc, "\n"), "\n")
		for i, l := range lines {
			if i == 0 {
				lines[i] = "- " + l
			} else {
				lines[i] = "  " + l
			}
		}
		return strings.Join(lines, "\n") + "\n"
	}
	for name, file := range map[string]string{
		"SLO first": slo + "---\n" + sli,
		"SLI first": sli + "---\n" + slo,
		"list form": indent(slo) + indent(sli),
	} {
		objs, found, err := Parse("o.yaml", []byte(file))
		if err != nil || !found || len(objs) != 1 {
			t.Fatalf("%s: objs %+v found %v err %v", name, objs, found, err)
		}
		th := objs[0].Threshold
		if th == nil || th.Metric != "consumer_lag_seconds.max" || th.Op != "lte" || th.Value.Cmp(big.NewRat(1, 4)) != 0 ||
			objs[0].Good != "" || objs[0].Total != "" || objs[0].SLI != "x" {
			t.Errorf("%s: %+v threshold %+v", name, objs[0], th)
		}
	}
}

// Every spelling YAML 1.1 and 1.2 give a boolean is read as one.
func TestOpenSLOBooleans(t *testing.T) {
	for _, s := range []string{"true", "True", "TRUE", "yes", "Yes", "YES", "y", "Y", "on", "On", "ON"} {
		objs, _, err := Parse("o.yaml", []byte(oslo("isRolling: true", "isRolling: "+s, "        good:", "        counter: "+s+"\n        good:")))
		if err != nil || len(objs) != 1 || objs[0].Window.Rolling != 7*24*time.Hour {
			t.Errorf("%s: %+v %v", s, objs, err)
		}
	}
	for _, s := range []string{"false", "False", "FALSE", "no", "No", "NO", "n", "N", "off", "Off", "OFF"} {
		objs, _, err := Parse("o.yaml", []byte(oslo("isRolling: true", "isRolling: "+s+"\n      calendar:\n        startTime: 2022-01-01 00:00:00\n        timeZone: UTC",
			"        good:", "        counter: "+s+"\n        good:")))
		if err != nil || len(objs) != 1 || objs[0].Window.Days != 7 || objs[0].Window.Rolling != 0 {
			t.Errorf("%s: %+v %v", s, objs, err)
		}
	}
}

// Whatever vigil cannot read as written is refused, naming the field
// (exit 2): nothing is evaluated as something else (issue 25).
func TestOpenSLORefusals(t *testing.T) {
	cal := "isRolling: true\n      calendar:\n        startTime: 2022-01-01 00:00:00\n        timeZone: UTC"
	for _, c := range []struct {
		name, doc, want string
	}{
		{"unknown method", oslo("budgetingMethod: Occurrences", "budgetingMethod: Weekly"),
			`o.yaml:7: OpenSLO SLO x: spec.budgetingMethod: want Occurrences, Timeslices or RatioTimeslices, got the string "Weekly"`},
		{"slice window with Occurrences", oslo("    - target: 0.99\n", "    - target: 0.99\n      timeSliceWindow: 1m\n"),
			`o.yaml:26: OpenSLO SLO x: spec.objectives[0].timeSliceWindow: only with budgetingMethod Timeslices or RatioTimeslices (Occurrences counts events, not slices)`},
		{"Timeslices without timeSliceTarget", oslo("budgetingMethod: Occurrences", "budgetingMethod: Timeslices", "    - target: 0.99\n", "    - target: 0.99\n      timeSliceWindow: 1m\n"),
			`o.yaml:25: OpenSLO SLO x: spec.objectives[0].timeSliceTarget: missing (budgetingMethod Timeslices needs it: the share of good events that makes a slice good)`},
		{"Timeslices without timeSliceWindow", oslo("budgetingMethod: Occurrences", "budgetingMethod: Timeslices"),
			`o.yaml:25: OpenSLO SLO x: spec.objectives[0].timeSliceWindow: missing (budgetingMethod Timeslices needs it)`},
		{"slice shorter than 1m", oslo("budgetingMethod: Occurrences", "budgetingMethod: RatioTimeslices", "    - target: 0.99\n", "    - target: 0.99\n      timeSliceWindow: 0.5\n"),
			`o.yaml:26: OpenSLO SLO x: spec.objectives[0].timeSliceWindow: "0.5": want at least 1m`},
		{"slice not whole seconds", oslo("budgetingMethod: Occurrences", "budgetingMethod: RatioTimeslices", "    - target: 0.99\n", "    - target: 0.99\n      timeSliceWindow: 1.001\n"),
			`o.yaml:26: OpenSLO SLO x: spec.objectives[0].timeSliceWindow: "1.001" minutes: want a whole number of seconds`},
		{"slice longer than the window", oslo("budgetingMethod: Occurrences", "budgetingMethod: RatioTimeslices", "    - target: 0.99\n", "    - target: 0.99\n      timeSliceWindow: 8d\n"),
			`o.yaml:26: OpenSLO SLO x: spec.objectives[0].timeSliceWindow: "8d": longer than the SLO's window 7d`},
		{"slice target over 1", oslo("budgetingMethod: Occurrences", "budgetingMethod: Timeslices", "    - target: 0.99\n", "    - target: 0.99\n      timeSliceWindow: 1m\n      timeSliceTarget: 1.5\n"),
			`o.yaml:27: OpenSLO SLO x: spec.objectives[0].timeSliceTarget: "1.5": want a fraction in (0, 1]`},
		{"value as a fraction string", oslo("budgetingMethod: Occurrences", "budgetingMethod: Timeslices", "    - target: 0.99\n", "    - target: 0.99\n      timeSliceWindow: 1m\n      timeSliceTarget: 1/2\n"),
			`o.yaml:27: OpenSLO SLO x: spec.objectives[0].timeSliceTarget: "1/2": want a fraction in (0, 1]`},
		{"two windows", oslo("      isRolling: true\n", "      isRolling: true\n    - duration: 1d\n"),
			`o.yaml:9: OpenSLO SLO x: spec.timeWindow: want a list of exactly one window, got 2`},
		{"isRolling not a boolean", oslo("isRolling: true", "isRolling: maybe"),
			`o.yaml:10: OpenSLO SLO x: spec.timeWindow[0].isRolling: want a boolean (true or false), got the string "maybe"`},
		{"isRolling quoted", oslo("isRolling: true", `isRolling: "true"`),
			`o.yaml:10: OpenSLO SLO x: spec.timeWindow[0].isRolling: want a boolean (true or false), got the string "true"`},
		{"counter not a boolean", oslo("        good:", "        counter: 1\n        good:"),
			`o.yaml:14: OpenSLO SLO x: spec.indicator.spec.ratioMetric.counter: want a boolean (true or false), got the number 1`},
		{"rolling and calendar", oslo("isRolling: true", cal),
			// Named at the calendar mapping's first line.
			`o.yaml:12: OpenSLO SLO x: spec.timeWindow[0].calendar: a rolling window (isRolling: true) has no calendar`},
		{"rolling month", oslo("duration: 7d", "duration: 1Q"),
			`o.yaml:9: OpenSLO SLO x: spec.timeWindow[0].duration: "1Q": a rolling window needs a fixed length (m, h, d or w: 30d, 13w); a calendar window (isRolling: false with calendar:) takes M, Q and Y`},
		{"calendar in minutes", oslo("duration: 7d", "duration: 1m", "isRolling: true", strings.Replace(cal, "true", "false", 1)),
			`o.yaml:9: OpenSLO SLO x: spec.timeWindow[0].duration: "1m": a calendar window is days, weeks, months, quarters or years (1d, 1w, 1M, 1Q, 1Y); m is minutes and h hours (a month is M)`},
		{"unknown zone", oslo("isRolling: true", strings.NewReplacer("true", "false", "UTC", "Mars/Olympus").Replace(cal)),
			`o.yaml:13: OpenSLO SLO x: spec.timeWindow[0].calendar.timeZone: "Mars/Olympus": want a time zone name of the IANA database (America/New_York, UTC)`},
		// The host's zone would make results depend on the machine.
		{"Local zone", oslo("isRolling: true", strings.NewReplacer("true", "false", "UTC", "Local").Replace(cal)),
			`o.yaml:13: OpenSLO SLO x: spec.timeWindow[0].calendar.timeZone: "Local": want a time zone name of the IANA database (America/New_York, UTC)`},
		{"calendar without calendar", oslo("isRolling: true", "isRolling: false"),
			`o.yaml:9: OpenSLO SLO x: spec.timeWindow[0].calendar: missing (a calendar window, isRolling: false, needs calendar.startTime and calendar.timeZone)`},
		{"target and targetPercent", oslo("    - target: 0.99\n", "    - target: 0.99\n      targetPercent: 99\n"),
			`o.yaml:26: OpenSLO SLO x: spec.objectives[0].targetPercent: give target or targetPercent, not both`},
		{"no target", oslo("    - target: 0.99\n", "    - displayName: a\n"),
			`o.yaml:25: OpenSLO SLO x: spec.objectives[0].target: missing (give target, a fraction such as 0.999, or targetPercent)`},
		{"op with a ratio", oslo("    - target: 0.99\n", "    - target: 0.99\n      op: gt\n"),
			`o.yaml:26: OpenSLO SLO x: spec.objectives[0].op: only with a thresholdMetric (a ratioMetric objective is its target alone)`},
		{"PromQL", oslo("query: ok_total.increase", "query: sum(rate(ok_total[5m]))"),
			`o.yaml:18: OpenSLO SLO x: spec.indicator.spec.ratioMetric.good.metricSource.spec.query: "sum(rate(ok_total[5m]))" is not a vigil metric path (column 4: unexpected "(rate(ok_tot..." (want "by (...)", "/" or the end)) (write it as one, e.g. http_requests_total{code=~"2.."}.increase: vigil answers it on its stores, or on a Prometheus-compatible source with --db http://...)`},
		{"another backend", oslo("type: Prometheus", "type: Datadog"),
			`o.yaml:16: OpenSLO SLO x: spec.indicator.spec.ratioMetric.good.metricSource.type: "Datadog" is not supported (vigil answers vigil metric paths on its stores or a Prometheus-compatible source: type vigil, Prometheus, Thanos, Mimir, Cortex or VictoriaMetrics)`},
		{"metricSourceRef", oslo("            type: Prometheus\n", "            metricSourceRef: prom\n"),
			`o.yaml:16: OpenSLO SLO x: spec.indicator.spec.ratioMetric.good.metricSource.metricSourceRef: a DataSource is not supported (vigil reads its stores, or a Prometheus-compatible source, from --db or vigil.yaml's db:; remove it and give spec.query)`},
		{"another spec key", oslo("              query: ok_total.increase\n", "              query: ok_total.increase\n              dimensions: [a]\n"),
			`o.yaml:19: OpenSLO SLO x: spec.indicator.spec.ratioMetric.good.metricSource.spec.dimensions: unknown field (want query)`},
		{"raw", oslo("        good:", "        rawType: success\n        good:"),
			`o.yaml:14: OpenSLO SLO x: spec.indicator.spec.ratioMetric.rawType: a precomputed ratio is not supported (give good or bad, and total: vigil computes the ratio)`},
		{"unknown spec field", oslo("  service: api\n", "  service: api\n  tier: gold\n"),
			`o.yaml:7: OpenSLO SLO x: spec.tier: unknown field (want description, service, indicator, indicatorRef, timeWindow, budgetingMethod, objectives, alertPolicies)`},
		{"unknown objective field", oslo("    - target: 0.99\n", "    - target: 0.99\n      weight: 2\n"),
			`o.yaml:26: OpenSLO SLO x: spec.objectives[0].weight: unknown field (want displayName, op, value, target, targetPercent, timeSliceTarget, timeSliceWindow, indicator, indicatorRef, compositeWeight)`},
		{"alert policies", oslo("  objectives:", "  alertPolicies:\n    - alertPolicyRef: page\n  objectives:"),
			`o.yaml:25: OpenSLO SLO x: spec.alertPolicies: not supported (vigil's burn-rate alerts come with every SLO: docs/slo.md); remove it`},
		{"composite", oslo("    - target: 0.99\n", "    - target: 0.99\n      compositeWeight: 2\n"),
			`o.yaml:26: OpenSLO SLO x: spec.objectives[0].compositeWeight: composite SLOs are not supported (write one SLO per indicator, with spec.indicator or spec.indicatorRef)`},
		{"indicator and indicatorRef", oslo("  objectives:", "  indicatorRef: y\n  objectives:"),
			`o.yaml:24: OpenSLO SLO x: spec.indicatorRef: give indicator or indicatorRef, not both`},
		{"unknown indicatorRef", oslo("  indicator:\n    spec:\n      ratioMetric:\n", "  indicatorRef: nope\n  xindicator:\n    spec:\n      ratioMetric:\n"),
			`o.yaml:12: OpenSLO SLO x: spec.xindicator: unknown field (want description, service, indicator, indicatorRef, timeWindow, budgetingMethod, objectives, alertPolicies)`},
		{"threshold with Occurrences", "apiVersion: openslo/v1\nkind: SLI\nmetadata:\n  name: lag\nspec:\n  thresholdMetric:\n    metricSource:\n      spec:\n        query: lag.max\n---\n" +
			oslo("  indicator:\n    spec:\n      ratioMetric:\n        good:\n          metricSource:\n            type: Prometheus\n            spec:\n              query: ok_total.increase\n        total:\n          metricSource:\n            type: Prometheus\n            spec:\n              query: all_total.increase\n",
				"  indicatorRef: lag\n", "    - target: 0.99\n", "    - target: 0.99\n      op: lt\n      value: 5\n"),
			`o.yaml:17: OpenSLO SLO x: spec.budgetingMethod: a thresholdMetric is judged per time slice: use Timeslices (with timeSliceWindow on the objective)`},
		{"unknown kind", strings.Replace(oslo(), "kind: SLO", "kind: Budget", 1),
			`o.yaml:1: OpenSLO: kind: want one of SLO, SLI, Service, DataSource, AlertPolicy, AlertCondition, AlertNotificationTarget`},
	} {
		_, _, err := Parse("o.yaml", []byte(c.doc))
		if err == nil || err.Error() != c.want {
			t.Errorf("%s: got\n%v\nwant\n%s", c.name, err, c.want)
		}
	}
	// An indicatorRef that names no SLI.
	_, _, err := Parse("o.yaml", []byte(oslo("  indicator:\n    spec:\n      ratioMetric:\n        good:\n          metricSource:\n            type: Prometheus\n            spec:\n              query: ok_total.increase\n        total:\n          metricSource:\n            type: Prometheus\n            spec:\n              query: all_total.increase\n",
		"  indicatorRef: nope\n")))
	if want := `o.yaml:11: OpenSLO SLO x: spec.indicatorRef: no kind: SLI named "nope" in this file`; err == nil || err.Error() != want {
		t.Errorf("unknown ref: got %v, want %s", err, want)
	}
}

// The spec's own example files (testdata/openslo-spec/README.md) load or
// are refused naming the field vigil does not support.
func TestOpenSLOSpecExamples(t *testing.T) {
	anyType := `: spec.indicator.spec.ratioMetric.good.metricSource.type: "Any" is not supported (vigil answers vigil metric paths on its stores or a Prometheus-compatible source: type vigil, Prometheus, Thanos, Mimir, Cortex or VictoriaMetrics)`
	ref := `: a DataSource is not supported (vigil reads its stores, or a Prometheus-compatible source, from --db or vigil.yaml's db:; remove it and give spec.query)`
	want := map[string]string{
		"budgeting-method-occurences-slo.yaml":   `budgeting-method-occurences-slo.yaml:17: OpenSLO SLO search-slo: spec.indicator.spec.thresholdMetric.metricSource.type: "Any" is not supported (vigil answers vigil metric paths on its stores or a Prometheus-compatible source: type vigil, Prometheus, Thanos, Mimir, Cortex or VictoriaMetrics)`,
		"budgeting-method-ratio-timeslices.yaml": `budgeting-method-ratio-timeslices.yaml:18: OpenSLO SLO main-page` + anyType,
		"budgeting-method-timeslices-slo.yaml":   `budgeting-method-timeslices-slo.yaml:18: OpenSLO SLO service-availability` + anyType,
		"treat-low-traffic-timeslices-slo.yaml":  `treat-low-traffic-timeslices-slo.yaml:16: OpenSLO SLO service-availability` + anyType,
		"sdk-slos.yaml":                          `sdk-slos.yaml:25: OpenSLO SLO web-availability: spec.indicator.spec.ratioMetric.good.metricSource.spec.query: "sum(http_requests{k8s_cluster=\"prod\",component=\"web\",code=~\"2xx|4xx\"})" is not a vigil metric path (column 4: unexpected "(http_reques..." (want "by (...)", "/" or the end)) (write it as one, e.g. http_requests_total{code=~"2.."}.increase: vigil answers it on its stores, or on a Prometheus-compatible source with --db http://...)`,
		"sdk-slis.yaml": `sdk-slis.yaml:18: OpenSLO SLI search-availability: spec.ratioMetric.good.metricSource.metricSourceRef` + ref + "\n" +
			`sdk-slis.yaml:44: OpenSLO SLI end-user-response: spec.ratioMetric.bad.metricSource.metricSourceRef` + ref + "\n" +
			`sdk-slis.yaml:72: OpenSLO SLI wifi-client-satisfaction: spec.ratioMetric.raw: a precomputed ratio is not supported (give good or bad, and total: vigil computes the ratio)` + "\n" +
			`sdk-slis.yaml:99: OpenSLO SLI annotator-throughput: spec.thresholdMetric.metricSource.metricSourceRef` + ref,
		"sdk-decode-v1_slos.yaml":      `sdk-decode-v1_slos.yaml:17: OpenSLO SLO foo-slo: spec.indicator.spec.ratioMetric.good.metricSource.metricSourceRef` + ref,
		"sdk-decode-v2alpha_slos.yaml": "sdk-decode-v2alpha_slos.yaml:1: OpenSLO: want apiVersion openslo/v1\nsdk-decode-v2alpha_slos.yaml:24: OpenSLO: want apiVersion openslo/v1",
		// Services, data sources and alert policies alone: accepted and
		// ignored (no SLO, nothing refers to them).
		"sdk-services.yaml": "", "sdk-data_sources.yaml": "", "sdk-alert_policies.yaml": "",
		"sdk-decode-single_object.yaml": "", "sdk-decode-sequence_of_objects.yaml": "", "sdk-decode-two_documents.yaml": "",
	}
	files, _ := filepath.Glob("testdata/openslo-spec/*.yaml")
	if len(files) != len(want) {
		t.Errorf("%d example files, %d expectations", len(files), len(want))
	}
	for _, f := range files {
		b, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		name := filepath.Base(f)
		w, ok := want[name]
		if !ok {
			t.Errorf("%s: no expectation", name)
			continue
		}
		_, _, err = Parse(name, b)
		if got := ""; err != nil {
			got = err.Error()
			if got != w {
				t.Errorf("%s: got\n%s\nwant\n%s", name, got, w)
			}
		} else if w != "" {
			t.Errorf("%s: loaded, want\n%s", name, w)
		}
	}
}

// vigil.yaml may carry OpenSLO objects in the list form after its own
// document.
func TestOpenSLOListInConfig(t *testing.T) {
	list := "- " + strings.ReplaceAll(strings.TrimSuffix(oslo(), "\n"), "\n", "\n  ") + "\n"
	f, err := configfile.Parse("v.yaml", []byte("db: x.db\n---\n"+list))
	if err != nil {
		t.Fatal(err)
	}
	objs, found, err := FromConfig(f)
	if err != nil || !found || len(objs) != 1 || objs[0].Name() != "api/x" || objs[0].Line != 3 {
		t.Errorf("objs %+v found %v err %v", objs, found, err)
	}
}

// Every instant lies in exactly one period: start < at <= start+Full, an
// instant on a boundary ends the period before it, and the next period
// starts where this one ends (through DST changes, month ends and before
// startTime).
func TestCalendarWindowCovers(t *testing.T) {
	ny, _ := time.LoadLocation("America/New_York")
	ws := []Window{
		{Start: time.Date(2022, 1, 1, 12, 0, 0, 0, ny), Days: 7},
		{Start: time.Date(2022, 1, 31, 2, 30, 0, 0, ny), Months: 1},
		{Start: time.Date(2022, 3, 13, 2, 30, 0, 0, ny), Days: 1}, // a time the DST day skips
		{Start: time.Date(2022, 2, 15, 0, 0, 0, 0, time.UTC), Months: 3},
	}
	for _, w := range ws {
		for at := time.Date(2021, 6, 1, 0, 0, 0, 0, time.UTC); at.Year() < 2024; at = at.Add(7*time.Hour + 13*time.Minute) {
			start, full := w.Bounds(at), w.Full(at)
			if !start.Before(at) || start.Add(full).Before(at) {
				t.Fatalf("%+v at %v: period %v + %v does not hold it", w, at, start, full)
			}
			end := start.Add(full)
			if got := w.Bounds(end); !got.Equal(start) {
				t.Fatalf("%+v at %v: the period ending %v starts %v, want %v", w, at, end, got, start)
			}
			if next := w.Bounds(end.Add(time.Nanosecond)); !next.Equal(end) {
				t.Fatalf("%+v at %v: next period starts %v, want %v", w, at, next, end)
			}
		}
	}
}

// h30 D9: the min-coverage annotation is a plain decimal percent, as
// vigil.yaml's min_coverage: NaN (which would leave every objective
// invalid, its gates passing whatever the data say), Go's "1_0" and hex
// "0x1p-2" are refused, in both.
func TestMinCoverageRefusesNaNAndGoForms(t *testing.T) {
	for _, v := range []string{"NaN", "nan", "-NaN", "Inf", "1_0", "0x1p-2", "0x10", "-5", "101", ""} {
		doc := oslo("name: x\n", "name: x\n  annotations:\n    vigil.dev/min-coverage: \""+v+"\"\n")
		_, _, err := Parse("o.yaml", []byte(doc))
		if err == nil || !strings.Contains(err.Error(), "want a percent from 0 to 100") {
			t.Errorf("annotation %q: %v", v, err)
		}
	}
	for _, v := range []string{"0", "10", "12.5", "1e1", ".5"} {
		doc := oslo("name: x\n", "name: x\n  annotations:\n    vigil.dev/min-coverage: \""+v+"\"\n")
		if _, _, err := Parse("o.yaml", []byte(doc)); err != nil {
			t.Errorf("annotation %q: %v", v, err)
		}
	}
	for _, v := range []string{`"1_0"`, `"0x1p-2"`, `"NaN"`} {
		if _, _, err := Parse("v.yaml", []byte("slos:\n  - {service: api, target: 99.9, min_coverage: "+v+"}\n")); err == nil {
			t.Errorf("vigil.yaml min_coverage %s: accepted", v)
		}
	}
}
