package replay

import (
	"reflect"
	"strings"
	"testing"
)

// Skipping quiet rules and idle steps is exact: with it and without it
// (NoSkip) replay makes the same decisions (every item that is not
// quiet), holds and sends the same notices and finds the same episodes,
// on the equivalence config and on one where a rule fires all along (so
// the pipeline is never idle).
func TestSkipIsExact(t *testing.T) {
	always := insertRule(equivYAML, `  - {name: always, metric_path: heartbeat, condition: greater_than, threshold: 0, severity: low, evaluation_window: 60, group_by: [host]}`)
	// Six alerts fire for one minute at 10:10 to two channels at one
	// notice a minute: the queue drains long after every rule is quiet
	// again, so those steps are not idle.
	burst := `
alert_rules:
  - {name: burst, metric_path: burst, condition: greater_than, threshold: 50, severity: high, evaluation_window: 60, group_by: [host]}
channels:
  - {name: ops, type: webhook, url: "http://127.0.0.1:1/ops"}
  - {name: quiet, type: webhook, url: "http://127.0.0.1:1/quiet", send_resolved: false}
settings:
  max_alerts_per_minute: 1
`
	for name, yaml := range map[string]string{"equivalence": equivYAML, "always firing": always, "queue drains": burst, "steady": steadyYAML()} {
		t.Run(name, func(t *testing.T) {
			f := newEquivFixture(t, yaml)
			if name != "equivalence" {
				f.objs = nil // the budget runs' skipping is the equivalence case's
			}
			const n = 60
			a, ra := f.replaySide(t, n, true)
			b, rb := f.replaySide(t, n, false)
			diffLines(t, "items", a.items, b.items)
			diffLines(t, "held", a.held, b.held)
			diffLines(t, "notices", a.notices, b.notices)
			for what, pair := range map[string][2]any{"episodes": {ra.Episodes, rb.Episodes}, "rules": {ra.Rules, rb.Rules},
				"channels": {ra.Channels, rb.Channels}, "incidents": {ra.Incidents, rb.Incidents}} {
				if !reflect.DeepEqual(pair[0], pair[1]) {
					t.Errorf("%s differ:\nno skip: %+v\nskip:    %+v", what, pair[0], pair[1])
				}
			}
			// Skipping did skip: quiet alerts were not stepped, and before
			// anything fires (minute 5) the steps were idle.
			if b.stepped >= a.stepped || name != "always firing" && name != "steady" && b.evaluates >= a.evaluates {
				t.Errorf("skip stepped %d alerts in %d evaluate runs, no skip %d in %d: nothing was skipped", b.stepped, b.evaluates, a.stepped, a.evaluates)
			}
			t.Logf("no skip: %d alerts stepped in %d evaluate runs; skip: %d in %d", a.stepped, a.evaluates, b.stepped, b.evaluates)
			if len(ra.Episodes) == 0 {
				t.Error("no episode: the comparison proves nothing")
			}
			if name == "steady" && (rb.steadied == 0 || ra.steadied != 0) {
				t.Errorf("rules left out as steady: %d skipping, %d not: the comparison proves nothing", rb.steadied, ra.steadied)
			}
		})
	}
}

// steadyYAML is equivYAML without its Alertmanager channel (every
// alert routed there is refreshed at every run, so never steady), with
// a rule that fires all along with a cooldown shorter than the dedup
// window: its alerts go from cooldown to dedup and stay there, steady.
func steadyYAML() string {
	y := insertRule(equivYAML, `  - {name: always, metric_path: heartbeat, condition: greater_than, threshold: 0, severity: low, evaluation_window: 60, group_by: [host], cooldown_period: 5m}`)
	return strings.Replace(y, "  - {name: am, type: alertmanager, url: \"http://127.0.0.1:1\"}\n", "", 1)
}

// insertRule adds rule as the last of equivYAML's alert rules.
func insertRule(yaml, rule string) string {
	const mark = "\nchannels:\n"
	i := strings.Index(yaml, mark)
	return yaml[:i] + "\n" + rule + yaml[i:]
}
