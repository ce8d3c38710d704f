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
	stepEach(prev, rules, obs, at, false, nil, f)
}

// StepLive is StepEach without the quiet alerts (Stepped.Quiet): what a
// run that decides and stores only the others (alert/run's OmitQuiet)
// steps, in the same order. An observation with data and no breach can
// only step an alert that is not inactive out of that state, so it is
// looked at only when its rule has such an alert, and then matched to
// them by labels: most groups of a large grouped rule with one group
// firing are neither fingerprinted nor stepped (they were a quarter of a
// replay's time).
func StepLive(prev map[uint64]state.Alert, rules map[string]*config.Rule, obs []Observation, at time.Time, f func(Stepped)) {
	stepEach(prev, rules, obs, at, true, nil, f)
}

// StepExcept is StepLive (live) or StepEach, leaving out the alerts of
// except: their caller knows what their step would be (replay's steady
// alerts, alert/run's Options.Steady), and they count as observed.
func StepExcept(prev map[uint64]state.Alert, rules map[string]*config.Rule, obs []Observation, at time.Time, live bool, except map[uint64]*config.Rule, f func(Stepped)) {
	stepEach(prev, rules, obs, at, live, except, f)
}

func stepEach(prev map[uint64]state.Alert, rules map[string]*config.Rule, obs []Observation, at time.Time, live bool, except map[uint64]*config.Rule, f func(Stepped)) {
	seen := make(map[uint64]bool, len(obs))
	stepKnown := func(r *config.Rule, p state.Alert, known bool, ob state.Observation) {
		seen[p.Fingerprint] = true
		if _, ok := except[p.Fingerprint]; ok {
			return
		}
		st := Stepped{Rule: r, Prev: p, Next: state.StepPolicy(p, ob, at, r.For, r.NoData)}
		if live && st.Quiet(known) {
			return
		}
		f(st)
	}
	step := func(r *config.Rule, labels map[string]string, ob state.Observation) {
		fp := state.Fingerprint(r.Name, labels)
		p, ok := prev[fp]
		if !ok {
			p = state.NewAlertFingerprint(r.Name, labels, fp)
		}
		stepKnown(r, p, ok, ob)
	}
	// The alerts not inactive, by rule: the only ones an observation with
	// data and no breach, or a rule's silence, can step out of their state.
	active := map[string]*liveRule{}
	for fp, p := range prev {
		if r, ok := rules[p.Rule]; ok && p.State != state.Inactive {
			lr := active[p.Rule]
			if lr == nil {
				lr = &liveRule{rule: r}
				active[p.Rule] = lr
			}
			lr.all = append(lr.all, fp)
		}
	}
	var grouped map[string]bool // made when first needed: a rule without data at all is rare
	for _, ob := range obs {
		if !ob.HasData && maps.Equal(ob.Labels, ob.Rule.Labels) {
			if grouped == nil {
				grouped = groupedRules(prev, rules)
			}
			if grouped[ob.Rule.Name] {
				continue
			}
		}
		if live && ob.HasData && !ob.Breached {
			if lr := active[ob.Rule.Name]; lr != nil {
				if fp, ok := lr.find(prev, ob.Labels); ok {
					stepKnown(ob.Rule, prev[fp], true, ob.Observation)
				}
			}
			continue // no alert of the group, or an inactive one: quiet
		}
		step(ob.Rule, ob.Labels, ob.Observation)
	}
	for _, lr := range active {
		for _, fp := range lr.all {
			p := prev[fp]
			r := rules[p.Rule]
			// A nodata alert of a rule whose policy makes it an alert stays
			// listed (and can be reminded) until data returns.
			quietNoData := p.State == state.NoData && r.NoData != state.NoDataAlert
			if !seen[fp] && !quietNoData {
				stepKnown(r, p, true, state.Observation{})
			}
		}
	}
}

// liveRule is one rule's alerts that are not inactive, indexed (when first
// asked) by the value of one label, so that an observation finds its alert,
// or that it has none, in a lookup or two instead of by its fingerprint.
type liveRule struct {
	rule  *config.Rule
	all   []uint64
	key   string
	keyed bool
	by    map[string][]uint64 // by the key label's value
	other []uint64            // alerts without the key label
}

// find is the alert among prev's that labels belong to, if any.
func (lr *liveRule) find(prev map[uint64]state.Alert, labels map[string]string) (uint64, bool) {
	if lr.by == nil {
		lr.index(prev)
	}
	cands := lr.other
	if v, ok := labels[lr.key]; ok && lr.keyed {
		cands = lr.by[v]
		for _, fp := range lr.other {
			if sameAlert(prev[fp].Labels, labels) {
				return fp, true
			}
		}
	}
	for _, fp := range cands {
		if sameAlert(prev[fp].Labels, labels) {
			return fp, true
		}
	}
	return 0, false
}

// index chooses the key label, one of the first alert's (not one the rule
// sets, which every group has, where it has another), and files the
// alerts by its value.
func (lr *liveRule) index(prev map[uint64]state.Alert) {
	lr.by = map[string][]uint64{}
	for k := range prev[lr.all[0]].Labels {
		if k == state.AlertNameLabel {
			continue
		}
		lr.key, lr.keyed = k, true
		if _, own := lr.rule.Labels[k]; !own {
			break
		}
	}
	for _, fp := range lr.all {
		v, ok := prev[fp].Labels[lr.key]
		if !ok || !lr.keyed {
			lr.other = append(lr.other, fp)
			continue
		}
		lr.by[v] = append(lr.by[v], fp)
	}
}

// groupedRules are the rules of which prev holds an alert of a group (a
// label set other than the rule's own).
func groupedRules(prev map[uint64]state.Alert, rules map[string]*config.Rule) map[string]bool {
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
	return grouped
}

// sameAlert reports whether two label sets are one alert's of a rule:
// equal but for alertname, which the fingerprint replaces by the rule's.
func sameAlert(a, b map[string]string) bool {
	n := 0
	for k, v := range a {
		if k == state.AlertNameLabel {
			continue
		}
		if w, ok := b[k]; !ok || w != v {
			return false
		}
		n++
	}
	m := len(b)
	if _, ok := b[state.AlertNameLabel]; ok {
		m--
	}
	return n == m
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
