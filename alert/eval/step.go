package eval

import (
	"maps"
	"time"

	"github.com/vigil-metrics/vigil/alert/config"
	"github.com/vigil-metrics/vigil/alert/state"
)

// Stepped is one alert of a run: its rule, and its state before and after
// the run's observation.
type Stepped struct {
	Rule       *config.Rule
	Prev, Next state.Alert
}

// StepRun steps every alert of one evaluation at at, as `vigil evaluate`
// and `vigil rules test` both must: each observation's alert (new ones
// start inactive) under its rule's for and nodata policy; then the alerts
// of known rules whose label set was not observed (their group vanished:
// no data), except those already inactive or quietly without data, so
// vanished groups do not pile up run after run. A grouped rule whose groups
// all went quiet also yields one observation without data for the rule as
// a whole; once earlier runs knew its groups, that label-less observation
// is left out, since the groups' own steps report the silence.
func StepRun(prev map[uint64]state.Alert, rules map[string]*config.Rule, obs []Observation, at time.Time) []Stepped {
	var out []Stepped
	StepEach(prev, rules, obs, at, func(s Stepped) { out = append(out, s) })
	return out
}

// StepEach is StepRun handing each stepped alert to f, in StepRun's
// order, instead of listing them: a caller that keeps few of them (replay
// leaves out the quiet ones) builds no list of thousands.
func StepEach(prev map[uint64]state.Alert, rules map[string]*config.Rule, obs []Observation, at time.Time, f func(Stepped)) {
	seen := make(map[uint64]bool, len(obs))
	step := func(r *config.Rule, labels map[string]string, ob state.Observation) {
		fp := state.Fingerprint(r.Name, labels)
		seen[fp] = true
		p, ok := prev[fp]
		if !ok {
			p = state.NewAlertFingerprint(r.Name, labels, fp)
		}
		f(Stepped{Rule: r, Prev: p, Next: state.StepPolicy(p, ob, at, r.For, r.NoData)})
	}
	grouped := map[string]bool{}
	ruleFP := map[string]uint64{} // each rule's ungrouped fingerprint, once
	for _, p := range prev {
		r, ok := rules[p.Rule]
		if !ok || grouped[p.Rule] {
			continue
		}
		fp, done := ruleFP[p.Rule]
		if !done {
			fp = state.Fingerprint(r.Name, r.Labels)
			ruleFP[p.Rule] = fp
		}
		if p.Fingerprint != fp {
			grouped[p.Rule] = true
		}
	}
	for _, ob := range obs {
		if !ob.HasData && grouped[ob.Rule.Name] && maps.Equal(ob.Labels, ob.Rule.Labels) {
			continue
		}
		step(ob.Rule, ob.Labels, ob.Observation)
	}
	for fp, p := range prev {
		r, ok := rules[p.Rule]
		// A nodata alert of a rule whose policy makes it an alert stays
		// listed (and can be reminded) until data returns.
		quietNoData := p.State == state.NoData && (!ok || r.NoData != state.NoDataAlert)
		if ok && !seen[fp] && p.State != state.Inactive && !quietNoData {
			step(r, p.Labels, state.Observation{})
		}
	}
}

// Quiet reports whether the alert need not be written to the state DB: it
// was inactive (or unknown) and stays inactive, which is what a missing
// alert means anyway. Most alerts of a large rule set are quiet; writing
// them all made every run pay for thousands of rows.
func (s Stepped) Quiet(known bool) bool {
	return s.Next.State == state.Inactive && (!known || s.Prev.State == state.Inactive)
}

// Stored reports whether a run writes next, an alert it stepped, to the
// state DB, given prev, the alerts before the run: every alert but the
// quiet ones (Quiet). `vigil evaluate` writes these rows and `vigil rules
// test` keeps them in memory, so both step the same alerts next time.
func Stored(prev map[uint64]state.Alert, next state.Alert) bool {
	p, known := prev[next.Fingerprint]
	return !(Stepped{Prev: p, Next: next}.Quiet(known))
}
