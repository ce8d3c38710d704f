package slo

import (
	"strings"
	"testing"
	"time"
)

// Hostile-review findings D1 and D9: a window longer than MaxWindow (100
// years) is refused as out of range, naming the field and the limit;
// never clamped to the largest time.Duration. Too short stays "at least".
func TestWindowRange(t *testing.T) {
	cal := func(d string) string {
		return oslo("- duration: 7d\n      isRolling: true", "- duration: "+d+"\n      isRolling: false\n      calendar:\n        startTime: 2022-01-01 00:00:00\n        timeZone: UTC")
	}
	roll := func(d string) string { return oslo("duration: 7d", "duration: "+d) }
	slice := func(d string) string {
		return oslo("budgetingMethod: Occurrences", "budgetingMethod: RatioTimeslices", "    - target: 0.99\n", "    - target: 0.99\n      timeSliceWindow: "+d+"\n")
	}
	const rng = `out of range (at most 100 years: 36525d, 5217w, 1200M, 400Q, 100Y)`
	for _, c := range []struct{ name, doc, want string }{
		{"calendar 20000w", cal("20000w"), `spec.timeWindow[0].duration: "20000w": ` + rng},
		{"calendar 300Y", cal("300Y"), `"300Y": ` + rng},
		{"calendar 293Y", cal("293Y"), `"293Y": ` + rng},
		{"calendar 101Y", cal("101Y"), `"101Y": ` + rng},
		{"calendar 3504M", cal("3504M"), `"3504M": ` + rng},
		{"calendar 1168Q", cal("1168Q"), `"1168Q": ` + rng},
		{"calendar 106752d", cal("106752d"), `"106752d": ` + rng},
		{"calendar 36526d", cal("36526d"), `"36526d": ` + rng},
		{"calendar 5218w", cal("5218w"), `"5218w": ` + rng},
		{"calendar digits overflow int", cal("99999999999999999999d"), `"99999999999999999999d": ` + rng},
		{"rolling 2562047h", roll("2562047h"), `spec.timeWindow[0].duration: "2562047h": ` + rng},
		{"rolling 153722867m", roll("153722867m"), `"153722867m": ` + rng},
		{"rolling 9999999h", roll("9999999h"), `"9999999h": ` + rng},
		{"rolling 20000w", roll("20000w"), `"20000w": ` + rng},
		{"rolling too short", roll("59m"), `"59m": want a rolling window of at least 1h`},
		{"slice 20000w", slice("20000w"), `spec.objectives[0].timeSliceWindow: "20000w": ` + rng},
		{"slice in minutes", slice("99999999999"), `spec.objectives[0].timeSliceWindow: "99999999999": ` + rng},
		{"slice too short", slice("0.5"), `spec.objectives[0].timeSliceWindow: "0.5": want at least 1m`},
	} {
		_, _, err := Parse("o.yaml", []byte(c.doc))
		if err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%s: got %v, want %s", c.name, err, c.want)
		}
	}
	// At the limit: accepted, with its whole length.
	for _, c := range []struct {
		doc  string
		full time.Duration
	}{
		{cal("100Y"), 36524 * 24 * time.Hour}, // 2022..2122: 24 leap days
		{cal("36525d"), MaxWindow},
		{roll("36525d"), MaxWindow},
		{roll("876600h"), MaxWindow},
	} {
		objs, _, err := Parse("o.yaml", []byte(c.doc))
		if err != nil || len(objs) != 1 {
			t.Fatalf("%v %v", objs, err)
		}
		at := time.Date(2026, 11, 29, 12, 0, 0, 0, time.UTC)
		if got := objs[0].Window.Full(at); got != c.full {
			t.Errorf("%s: full %v, want %v", objs[0].Window, got, c.full)
		}
	}
}

// vigil.yaml windows (and --window): out of range says so and names the
// limit; whole minutes is its own message (D9).
func TestParseWindowMessages(t *testing.T) {
	for s, want := range map[string]string{
		"20000w":       `window "20000w": out of range (at most 100 years: 36525d, 5217w, 1200M)`,
		"15000w2000d":  `window "15000w2000d": out of range`,
		"99999999999d": `window "99999999999d": out of range`,
		"2562048h":     `window "2562048h": out of range`,
		"106752d":      `window "106752d": out of range`,
		"36526d":       `window "36526d": out of range`,
		"59m":          `window "59m": want a rolling window of at least 1h`,
		"36h7s":        `window "36h7s": want whole minutes`,
		"3601s":        `window "3601s": want whole minutes`,
	} {
		if _, err := ParseWindow(s); err == nil || !strings.HasPrefix(err.Error(), want) {
			t.Errorf("%s: got %v, want %s", s, err, want)
		}
	}
	if w, err := ParseWindow("36525d"); err != nil || w.Rolling != MaxWindow {
		t.Errorf("36525d: %v %v", w, err)
	}
}

// D2: a slos: metric path that does not parse is refused when the file
// is read (exit 2 at FILE:LINE), histogram paths as vigil composes them.
func TestSlosMetricPaths(t *testing.T) {
	for _, c := range []struct{ name, doc, want string }{
		{"total", "slos:\n  - service: a\n    target: 99\n    good: x.increase\n    total: 'sum(rate(x[5m]))'\n",
			`c.yaml:5: total: "sum(rate(x[5m]))" is not a vigil metric path`},
		{"good", "slos:\n  - service: a\n    target: 99\n    good: 'x{'\n    total: y.increase\n",
			`c.yaml:4: good: "x{" is not a vigil metric path`},
		{"bad", "slos:\n  - service: a\n    target: 99\n    bad: 'x y'\n    total: y.increase\n",
			`c.yaml:4: bad: "x y" is not a vigil metric path`},
		// hb25b E6: histogram is a name, checked as one (it was checked
		// as the paths vigil composes from it).
		{"histogram", "slos:\n  - service: a\n    target: 99\n    latency_target: 95\n    histogram: 'h{'\n    threshold_ms: 300\n",
			`c.yaml:5: histogram "h{": not a metric name (`},
	} {
		_, _, err := Parse("c.yaml", []byte(c.doc))
		if err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%s: got %v, want %s", c.name, err, c.want)
		}
	}
	objs, _, err := Parse("c.yaml", []byte("slos:\n  - service: a\n    target: 99\n    latency_target: 95\n    histogram: 'h{le!=\"x\"}'\n    threshold_ms: 300\n"))
	if err != nil || len(objs) != 2 {
		t.Errorf("a good histogram path: %v %v", objs, err)
	}
}

// hb25b E6: histogram is a histogram's name (matchers allowed), never a
// path; good, bad and total count events: a ratio, a percentile, avg,
// min, max, last or stddev is refused at its line, in vigil.yaml and in
// an OpenSLO ratioMetric alike (a thresholdMetric's query is a gauge:
// any path, a ratio included).
func TestCountPaths(t *testing.T) {
	hist := func(h string) string {
		return "slos:\n  - service: a\n    target: 99\n    latency_target: 95\n    histogram: '" + h + "'\n    threshold_ms: 300\n"
	}
	good := func(g string) string {
		return "slos:\n  - service: a\n    target: 99\n    good: '" + g + "'\n    total: t.increase\n"
	}
	const name = `want a histogram's name`
	for _, c := range []struct{ name, doc, want string }{
		{"histogram ratio", hist("h / g"), `c.yaml:5: histogram "h / g": ` + name},
		{"histogram gv/gv", hist("gv / gv"), `c.yaml:5: histogram "gv / gv": ` + name},
		{"histogram p95", hist("h.p95"), `c.yaml:5: histogram "h.p95": ` + name},
		{"histogram by", hist("h by (x)"), `c.yaml:5: histogram "h by (x)": ` + name},
		{"histogram space", hist(" h"), `c.yaml:5: histogram " h": ` + name},
		{"good p95", good("x.p95"), `c.yaml:4: good: "x.p95": .p95 does not count events`},
		{"good avg", good("x.avg"), `c.yaml:4: good: "x.avg": .avg does not count events`},
		{"good max", good("x.max"), `c.yaml:4: good: "x.max": .max does not count events`},
		{"good last", good("x.last"), `c.yaml:4: good: "x.last": .last does not count events`},
		{"good stddev", good("x.stddev"), `c.yaml:4: good: "x.stddev": .stddev does not count events`},
		{"good ratio", good("a.increase / b.increase"), `c.yaml:4: good: "a.increase / b.increase" is a ratio`},
		{"total min", "slos:\n  - service: a\n    target: 99\n    bad: b.increase\n    total: 't.min'\n", `c.yaml:5: total: "t.min": .min does not count events`},
		{"openslo ratioMetric p95", oslo("query: ok_total.increase", "query: ok_total.p95"),
			`spec.indicator.spec.ratioMetric.good.metricSource.spec.query: "ok_total.p95": .p95 does not count events`},
	} {
		_, _, err := Parse("c.yaml", []byte(c.doc))
		if err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%s: got %v, want %s", c.name, err, c.want)
		}
	}
	for _, g := range []string{"x.increase", "x.count", "x.count_le(300)", "x.sum", "x.rate", "x", `x{a="b"}.increase by (s)`} {
		if _, _, err := Parse("c.yaml", []byte(good(g))); err != nil {
			t.Errorf("good %s: %v", g, err)
		}
	}
	if _, _, err := Parse("c.yaml", []byte(hist(`h{le!="x"}`))); err != nil {
		t.Errorf("histogram with matchers: %v", err)
	}
}

// D6: names with control or other non-printable characters are refused,
// naming the field.
func TestNamesPrintable(t *testing.T) {
	for _, c := range []struct{ name, doc, want string }{
		{"metadata.name", oslo("name: x", `name: "a|b\nc\x01"`), `o.yaml:4: OpenSLO SLO: metadata.name: "a|b\nc\x01": non-printable character U+000A at byte 3`},
		{"spec.service", oslo("service: api", "service: \"a\\tb\""), `OpenSLO SLO x: spec.service: "a\tb": non-printable character U+0009`},
		{"displayName", oslo("    - target: 0.99\n", "    - target: 0.99\n      displayName: \"a\\x7f\"\n    - target: 0.9\n"),
			`spec.objectives[0].displayName: "a\x7f": non-printable character U+007F`},
		{"slos service", "slos:\n  - service: \"a\\nb\"\n    target: 99\n", `o.yaml:2: service "a\nb": non-printable character U+000A`},
		{"slos sli", "slos:\n  - service: a\n    sli: \"c\\u2028\"\n    target: 99\n    good: g.increase\n    total: t.increase\n", `o.yaml:3: sli "c\u2028": non-printable character U+2028`},
		// hb25b E7: a single objective's displayName is checked too (it
		// was only once a second objective printed it), and names made
		// only of spaces are refused (blank table cells).
		{"single displayName", oslo("    - target: 0.99\n", "    - target: 0.99\n      displayName: \"a\\tb\"\n"),
			`spec.objectives[0].displayName: "a\tb": non-printable character U+0009`},
		{"single displayName U+202E", oslo("    - target: 0.99\n", "    - target: 0.99\n      displayName: \"a\\u202Eb\"\n"),
			`spec.objectives[0].displayName: "a\u202eb": non-printable character U+202E`},
		{"blank displayName", oslo("    - target: 0.99\n", "    - target: 0.99\n      displayName: \" \"\n"),
			`spec.objectives[0].displayName: " ": only spaces`},
		{"blank metadata.name", oslo("name: x", `name: "  "`), `o.yaml:4: OpenSLO SLO: metadata.name: "  ": only spaces`},
		{"blank spec.service", oslo("service: api", `service: " "`), `OpenSLO SLO x: spec.service: " ": only spaces`},
		{"blank slos service", "slos:\n  - service: \" \"\n    target: 99\n", `o.yaml:2: service " ": only spaces`},
		{"blank slos sli", "slos:\n  - service: a\n    sli: \"  \"\n    target: 99\n    good: g.increase\n    total: t.increase\n", `o.yaml:3: sli "  ": only spaces`},
	} {
		_, _, err := Parse("o.yaml", []byte(c.doc))
		if err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%s: got %v, want %s", c.name, err, c.want)
		}
	}
	if _, _, err := Parse("o.yaml", []byte(oslo("name: x", `name: "café api/é"`))); err != nil {
		t.Errorf("printable non-ASCII: %v", err)
	}
}

// D7: timeSliceTarget has no meaning on a thresholdMetric (a slice is
// good or bad by op and value): refused, and not required.
func TestThresholdSliceTarget(t *testing.T) {
	th := func(obj string) string {
		return oslo("budgetingMethod: Occurrences", "budgetingMethod: Timeslices",
			"      ratioMetric:\n        good:\n          metricSource:\n            type: Prometheus\n            spec:\n              query: ok_total.increase\n        total:\n          metricSource:\n            type: Prometheus\n            spec:\n              query: all_total.increase\n",
			"      thresholdMetric:\n        metricSource:\n          type: vigil\n          spec:\n            query: lat_ms.max\n",
			"    - target: 0.99\n", obj)
	}
	_, _, err := Parse("o.yaml", []byte(th("    - op: lt\n      value: 500\n      target: 0.99\n      timeSliceWindow: 1m\n      timeSliceTarget: 0.5\n")))
	if want := `spec.objectives[0].timeSliceTarget: not with a thresholdMetric (a threshold's slice is judged by op and value`; err == nil || !strings.Contains(err.Error(), want) {
		t.Errorf("got %v, want %s", err, want)
	}
	objs, _, err := Parse("o.yaml", []byte(th("    - op: lt\n      value: 500\n      target: 0.99\n      timeSliceWindow: 1m\n")))
	if err != nil || len(objs) != 1 || objs[0].Threshold == nil || objs[0].SliceWindow != time.Minute {
		t.Errorf("without timeSliceTarget: %+v %v", objs, err)
	}
}

// D10 and D11: target refusals name the field path; a target a float64
// cannot tell from 0 or 100, or written with more than 15 significant
// digits, is refused (it would print as 0% or 100%).
func TestTargetRefusals(t *testing.T) {
	obj := func(s string) string { return oslo("    - target: 0.99\n", "    - "+s+"\n") }
	for _, c := range []struct{ name, doc, want string }{
		{"targetPercent 100", obj("targetPercent: 100"), `o.yaml:25: OpenSLO SLO x: spec.objectives[0].targetPercent: 100: want a percentage strictly between 0 and 100`},
		{"target 0", obj("target: 0"), `o.yaml:25: OpenSLO SLO x: spec.objectives[0].target: "0": want a fraction strictly between 0 and 1`},
		{"target 1e-400", obj("target: 1e-400"), `spec.objectives[0].target: 1e-400: too close to 0%`},
		{"target 0.99999999999999999999", obj("target: 0.99999999999999999999"), `spec.objectives[0].target: 0.99999999999999999999: too close to 100%`},
		{"target 16 digits", obj("target: 0.9912345678901234"), `spec.objectives[0].target: 0.9912345678901234: 16 significant digits, at most 15`},
		{"targetPercent 16 digits", obj("targetPercent: 99.12345678901234"), `spec.objectives[0].targetPercent: 99.12345678901234: 16 significant digits, at most 15`},
		{"slos target", "slos:\n  - service: a\n    target: 99.99999999999999999999\n", `o.yaml:3: target 99.99999999999999999999: too close to 100%`},
		{"slos latency_target", "slos:\n  - service: a\n    target: 99\n    latency_target: 95.0000000000000001\n", `o.yaml:4: latency_target 95.0000000000000001: 18 significant digits, at most 15`},
	} {
		_, _, err := Parse("o.yaml", []byte(c.doc))
		if err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%s: got %v, want %s", c.name, err, c.want)
		}
	}
	for _, s := range []string{"target: 0.999999999999999", "targetPercent: 99.9990000", "target: 1e-13"} {
		if _, _, err := Parse("o.yaml", []byte(obj(s))); err != nil {
			t.Errorf("%s: %v", s, err)
		}
	}
}
