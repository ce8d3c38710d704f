package slo

import (
	"errors"
	"math"
	"strings"
	"testing"
	"time"

	"github.com/vigil-metrics/vigil/internal/configfile"
)

// Every broken definition is rejected with FILE:LINE: reason, the line
// being the one a reader must fix (the bad value, the unknown key, or the
// entry's "- " line for a missing field). Line numbers are counted by hand
// in the YAML of each case (line 1 is the first line).
func TestBadDefinitions(t *testing.T) {
	for _, c := range []struct {
		name, yaml, want string
	}{
		{"target 100 (outside (0,100))", `slos:
  - service: api
    target: 100
`, `v.yaml:3: target 100: want a percentage strictly between 0 and 100`},
		{"target 0", `slos:
  - service: api
    window: 7d
    target: 0
`, `v.yaml:4: target 0: want a percentage strictly between 0 and 100`},
		{"negative target", `slos:
  - service: api
    target: -5
`, `v.yaml:3: target -5: want a percentage strictly between 0 and 100`},
		{"target not a number", `slos:
  - service: api
    target: high
`, `v.yaml:3: target "high": want a percentage such as 99.9`},
		{"unknown window", `slos:
  - service: api
    target: 99.9
    window: monthly
`, `v.yaml:4: window "monthly": want a rolling window of at least 1h (1d, 7d, 28d, 30d) or calendar_month`},
		{"window under 1h", `slos:
  - service: api
    target: 99.9
    window: 30m
`, `v.yaml:4: window "30m": want a rolling window of at least 1h (1d, 7d, 28d, 30d) or calendar_month`},
		{"missing service (the entry's line)", `# objectives
slos:
  - target: 99.9
    window: 7d
`, `v.yaml:3: objective: missing required field "service"`},
		{"missing target", `slos:
  - service: rag
    window: 7d
`, `v.yaml:2: objective rag: missing required field "target" (percent, e.g. 99.9)`},
		{"unknown field (the key's line)", `slos:
  - service: api
    target: 99
    windw: 7d
`, `v.yaml:4: unknown field "windw" in an objective (want service, sli, target, window, latency_target, histogram, threshold_ms, good, bad, total, min_events, min_coverage, budget_alert_percent)`},
		{"good and bad both", `slos:
  - service: api
    target: 99
    good: ok_total.increase
    bad: err_total.increase
    total: req_total.increase
`, `v.yaml:2: objective api: give exactly one of good and bad with total`},
		{"custom without total", `slos:
  - service: api
    target: 99
    good: ok_total.increase
`, `v.yaml:2: objective api: a custom SLI needs total with good or bad`},
		{"negative min_events", `slos:
  - service: api
    target: 99
    min_events: -1
`, `v.yaml:4: min_events: want a non-negative number, got "-1"`},
		{"latency_target outside (0,100)", `slos:
  - service: api
    target: 99
    latency_target: 100
`, `v.yaml:4: latency_target: target 100: want a percentage strictly between 0 and 100`},
		{"sli without a ratio", `slos:
  - service: api
    target: 99
    sli: latency
`, `v.yaml:4: sli "latency": without good/bad/total the SLI is availability (add latency_target for latency)`},
		{"slos not a list", `slos:
  service: api
`, `v.yaml:2: slos: want a list of objectives`},
		{"two problems, in line order", `slos:
  - service: a
    target: 99
    window: 2x
  - service: b
    target: 150
`, "v.yaml:4: window \"2x\": want a rolling window of at least 1h (1d, 7d, 28d, 30d) or calendar_month\n" +
			"v.yaml:6: target 150: want a percentage strictly between 0 and 100"},

		// OpenSLO v1.
		{"OpenSLO target written as a percent (a fraction is wanted)", openSLO("99.9", "28d", "good", "openslo/v1"),
			`v.yaml:14: OpenSLO SLO api-availability: spec.objectives[0].target: "99.9": want a fraction strictly between 0 and 1`},
		// A rolling month has no fixed length (issue 25: refused with a hint).
		{"OpenSLO rolling month", openSLO("0.999", "1M", "good", "openslo/v1"),
			`v.yaml:11: OpenSLO SLO api-availability: spec.timeWindow[0].duration: "1M": a rolling window needs a fixed length (m, h, d or w: 30d, 13w); a calendar window (isRolling: false with calendar:) takes M, Q and Y`},
		{"OpenSLO wrong apiVersion", openSLO("0.999", "28d", "good", "openslo/v2alpha"),
			`v.yaml:1: OpenSLO: want apiVersion openslo/v1`},
		{"OpenSLO ratio without total", openSLO("0.999", "28d", "", "openslo/v1"),
			`v.yaml:18: OpenSLO SLO api-availability: spec.indicator.spec.ratioMetric: needs total and one of good or bad, each with metricSource.spec.query`},
		{"OpenSLO without objectives", `apiVersion: openslo/v1
kind: SLO
metadata:
  name: x
spec:
  service: api
  timeWindow:
    - duration: 7d
      isRolling: true
  indicator:
    spec:
      ratioMetric:
        good: {metricSource: {spec: {query: a.increase}}}
        total: {metricSource: {spec: {query: b.increase}}}
`, `v.yaml:6: OpenSLO SLO x: spec.objectives: missing (want a list of objectives, each with target or targetPercent)`},
	} {
		t.Run(c.name, func(t *testing.T) {
			objs, _, err := Parse("v.yaml", []byte(c.yaml))
			if err == nil {
				t.Fatalf("accepted: %+v", objs)
			}
			var ps Problems
			if !errors.As(err, &ps) {
				t.Errorf("error %T, want Problems (exit 2)", err)
			}
			if err.Error() != c.want {
				t.Errorf("got\n%s\nwant\n%s", err, c.want)
			}
		})
	}
}

// openSLO is an OpenSLO v1 SLO document. Its lines:
//
//	 1 apiVersion
//	11     - duration
//	14       target
//	17       ratioMetric: (its mapping, named in errors, starts at 18)
//	19       good or bad (when numerator is not "")
func openSLO(target, window, numerator, apiVersion string) string {
	num := ""
	if numerator != "" {
		num = "        " + numerator + ":\n          metricSource:\n            type: vigil\n            spec:\n              query: sli_requests_total{success=\"true\"}.increase\n"
	}
	return `apiVersion: ` + apiVersion + `
kind: SLO
metadata:
  name: api-availability
  displayName: API availability
spec:
  service: api
  description: share of requests that succeed
  budgetingMethod: Occurrences
  timeWindow:
    - duration: ` + window + `
      isRolling: true
  objectives:
    - target: ` + target + `
  indicator:
    spec:
      ratioMetric:
        counter: true
` + num + `        total:
          metricSource:
            type: vigil
            spec:
              query: sli_requests_total.increase
`
}

// A YAML syntax error is a problem too, at the line YAML names.
func TestYAMLSyntaxError(t *testing.T) {
	// The flow sequence opened on line 2 is never closed; yaml.v3 names
	// line 1 (where the enclosing block starts). The line appears once:
	// not "v.yaml:1: line 1: ...".
	_, _, err := Parse("v.yaml", []byte("slos:\n  - service: [api\n    target: 99\n"))
	if err == nil || err.Error() != "v.yaml:1: did not find expected ',' or ']'" {
		t.Fatalf("got %v", err)
	}
}

// An OpenSLO file loads: name, service, window, target (0.95 -> 95%),
// good and total queries. Other kinds (Service, SLI) are skipped; two SLO
// documents give two objectives.
func TestOpenSLOHappyPath(t *testing.T) {
	doc := openSLO("0.95", "28d", "good", "openslo/v1")
	doc = strings.Replace(doc, "    - target: 0.95\n", "    - displayName: ok\n      target: 0.95\n", 1)
	svc := "apiVersion: openslo/v1\nkind: Service\nmetadata:\n  name: api\nspec:\n  description: the API\n"
	second := `apiVersion: openslo/v1
kind: SLO
metadata:
  name: api-errors
spec:
  service: api
  timeWindow:
    - duration: 1M
      isRolling: false
      calendar:
        startTime: 2026-01-01 00:00:00
        timeZone: UTC
  objectives:
    - targetPercent: 99.9
  indicator:
    spec:
      ratioMetric:
        bad:
          metricSource:
            spec:
              query: errors_total.increase
        total:
          metricSource:
            spec:
              query: requests_total.increase
`
	objs, found, err := Parse("o.yaml", []byte(svc+"---\n"+doc+"---\n"+second))
	if err != nil || !found {
		t.Fatalf("found %v, err %v", found, err)
	}
	if len(objs) != 2 {
		t.Fatalf("%d objectives, want 2: %+v", len(objs), objs)
	}
	o := objs[0]
	if o.Service != "api" || o.SLI != "api-availability" || o.Window.Rolling != 28*24*time.Hour || o.Window.String() != "28d" ||
		o.Target.Percent() != 95 || math.Abs(o.Target.BudgetPercent()-5) > 1e-9 ||
		o.Good != `sli_requests_total{success="true"}.increase` || o.Total != "sli_requests_total.increase" || o.Bad != "" ||
		o.MinEvents != 1 || o.BudgetAlertPercent != 80 || o.File != "o.yaml" || o.Line != 8 {
		t.Errorf("first objective: %+v", o)
	}
	// A calendar 1M from 2026-01-01 00:00 UTC: UTC months, as before; it
	// is now an OpenSLO calendar window (issue 25: startTime and timeZone
	// are read, not assumed), written as its file writes it.
	p := objs[1]
	if p.SLI != "api-errors" || p.Window.CalendarMonth || p.Window.String() != "1M" || p.Target.Percent() != 99.9 ||
		p.Bad != "errors_total.increase" || p.Total != "requests_total.increase" || p.Good != "" {
		t.Errorf("second objective: %+v", p)
	}
	// Calendar month ending 2026-11-29T12:00Z: from 2026-11-01 (28.5 days
	// so far); the budget is shared over all 30 days of November.
	at := time.Date(2026, 11, 29, 12, 0, 0, 0, time.UTC)
	if got, want := p.Window.Length(at), (28*24+12)*time.Hour; got != want {
		t.Errorf("calendar month length %v, want %v", got, want)
	}
	if got := p.Window.Full(at); got != 30*24*time.Hour {
		t.Errorf("calendar month full %v, want 720h", got)
	}
}

// slos: entries: defaults filled in, latency_target adds a second
// objective, custom ratios keep their paths; no slos: is not found.
func TestSLOsHappyPath(t *testing.T) {
	y := `db: x.db
slos:
  - service: agent_forge
    target: 99.5
    window: 30d
    latency_target: 95
  - service: api
    sli: checkout
    target: "99"
    window: calendar_month
    bad: errors_total.increase
    total: requests_total.increase
    min_events: 50
    budget_alert_percent: 50
  - service: rag_system
    target: 99.9
`
	objs, found, err := Parse("vigil.yaml", []byte(y))
	if err != nil || !found {
		t.Fatalf("found %v err %v", found, err)
	}
	if len(objs) != 4 {
		t.Fatalf("%d objectives, want 4", len(objs))
	}
	want := []struct {
		name   string
		target float64
		window string
		line   int
	}{
		{"agent_forge/availability", 99.5, "30d", 3},
		{"agent_forge/latency", 95, "30d", 3},
		{"api/checkout", 99, "calendar_month", 7},
		{"rag_system/availability", 99.9, "30d", 15}, // window defaults to 30d
	}
	for i, w := range want {
		o := objs[i]
		if o.Name() != w.name || o.Target.Percent() != w.target || o.Window.String() != w.window || o.Line != w.line {
			t.Errorf("objective %d: %s %v %s line %d, want %+v", i, o.Name(), o.Target.Percent(), o.Window, o.Line, w)
		}
	}
	if objs[2].MinEvents != 50 || objs[2].BudgetAlertPercent != 50 || objs[2].Bad != "errors_total.increase" {
		t.Errorf("custom objective: %+v", objs[2])
	}
	if objs[0].MinEvents != 1 || objs[0].BudgetAlertPercent != 80 {
		t.Errorf("defaults: %+v", objs[0])
	}

	_, found, err = Parse("vigil.yaml", []byte("db: x.db\nalert_rules: []\n"))
	if found || err != nil {
		t.Errorf("no slos: found %v err %v, want not found", found, err)
	}
}

// The reference design's defaults.
func TestDefaults(t *testing.T) {
	d := Defaults()
	want := []struct {
		svc    string
		target float64
		window time.Duration
	}{{"agent_forge", 99.5, 30 * 24 * time.Hour}, {"rag_system", 99.9, 7 * 24 * time.Hour}, {"mcp_server", 99.95, 24 * time.Hour}}
	if len(d) != len(want) {
		t.Fatalf("%d defaults", len(d))
	}
	for i, w := range want {
		if d[i].Service != w.svc || d[i].SLI != Availability || d[i].Target.Percent() != w.target || d[i].Window.Rolling != w.window || d[i].MinEvents != 1 {
			t.Errorf("default %d: %+v, want %+v", i, d[i], w)
		}
	}
}

// The objectives of a read vigil.yaml: its slos: section, handed over by
// configfile, and the OpenSLO documents after it; an unknown key in an
// objective is named at its line.
func TestFromConfig(t *testing.T) {
	f, err := configfile.Parse("v.yaml", []byte("db: x.db\nslos:\n  - service: api\n    target: 99\n---\n"+openSLO("0.95", "28d", "good", "openslo/v1")))
	if err != nil {
		t.Fatal(err)
	}
	objs, found, err := FromConfig(f)
	if err != nil || !found || len(objs) != 2 || objs[0].Service != "api" || objs[1].SLI != "api-availability" || objs[1].Line != 6 {
		t.Fatalf("objs %+v found %v err %v", objs, found, err)
	}
	f, _ = configfile.Parse("v.yaml", []byte("slos:\n  - service: api\n    target: 99\n    windw: 7d\n"))
	_, _, err = FromConfig(f)
	if err == nil || err.Error() != `v.yaml:4: unknown field "windw" in an objective (want service, sli, target, window, latency_target, histogram, threshold_ms, good, bad, total, min_events, min_coverage, budget_alert_percent)` {
		t.Errorf("got %v", err)
	}
	if _, found, err := FromConfig(&configfile.File{}); found || err != nil {
		t.Errorf("no file: %v %v", found, err)
	}
}
