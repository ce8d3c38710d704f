package eval

import (
	"fmt"
	"math/rand/v2"
	"sort"
	"testing"
	"time"

	"github.com/vigil-metrics/vigil/alert/config"
	"github.com/vigil-metrics/vigil/alert/state"
)

// StepLive must hand on exactly what StepEach hands on less the quiet
// alerts (what alert/run's OmitQuiet kept before StepLive existed), for
// any mix of previous states, observations and nodata policies: random
// runs, including rules with more alerts than it compares by labels,
// groups labelled alertname and rules without data at all.
func TestStepLiveIsStepEachLessQuiet(t *testing.T) {
	at := time.Date(2026, 12, 7, 12, 0, 0, 0, time.UTC)
	rng := rand.New(rand.NewPCG(7, 27))
	states := []state.State{state.Inactive, state.Pending, state.Firing, state.Resolved, state.NoData}
	policies := []string{state.NoDataOK, state.NoDataAlert, state.NoDataKeep}
	for run := range 400 {
		rules := map[string]*config.Rule{}
		var list []*config.Rule
		for i := range 1 + rng.IntN(4) {
			r := &config.Rule{Name: fmt.Sprintf("r%d", i), NoData: policies[rng.IntN(len(policies))]}
			if rng.IntN(3) == 0 {
				r.For = time.Minute
			}
			if rng.IntN(3) == 0 {
				r.Labels = map[string]string{"team": "a"}
			}
			rules[r.Name] = r
			list = append(list, r)
		}
		groups := 1 + rng.IntN(30) // over liveMatch at times
		labels := func(r *config.Rule, g int) map[string]string {
			l := map[string]string{"host": fmt.Sprint("h", g)}
			for k, v := range r.Labels {
				l[k] = v
			}
			if g%7 == 3 {
				l[state.AlertNameLabel] = "other" // replaced by the rule's name
			}
			return l
		}
		prev := map[uint64]state.Alert{}
		for _, r := range list {
			for g := range groups {
				if rng.IntN(2) == 0 {
					continue
				}
				a := state.NewAlert(r.Name, labels(r, g))
				a.State = states[rng.IntN(len(states))]
				a.ActiveSince, a.FiredAt = at.Add(-time.Hour), at.Add(-time.Hour)
				prev[a.Fingerprint] = a
			}
			if rng.IntN(5) == 0 { // the rule's own alert, from a run without data
				a := state.NewAlert(r.Name, r.Labels)
				a.State = states[rng.IntN(len(states))]
				prev[a.Fingerprint] = a
			}
		}
		var obs []Observation
		for _, r := range list {
			if rng.IntN(6) == 0 {
				obs = append(obs, Observation{Rule: r, Labels: r.Labels})
				continue
			}
			for g := range groups {
				if rng.IntN(8) == 0 {
					continue // this group vanished
				}
				ob := state.Observation{HasData: rng.IntN(10) != 0, Breached: rng.IntN(4) == 0, Value: float64(g)}
				obs = append(obs, Observation{Rule: r, Labels: labels(r, g), Observation: ob})
			}
		}
		var want, got []string
		StepEach(prev, rules, obs, at, func(s Stepped) {
			if _, known := prev[s.Next.Fingerprint]; !s.Quiet(known) {
				want = append(want, describeStep(s))
			}
		})
		StepLive(prev, rules, obs, at, func(s Stepped) { got = append(got, describeStep(s)) })
		sort.Strings(want)
		sort.Strings(got)
		if fmt.Sprint(got) != fmt.Sprint(want) {
			t.Fatalf("run %d: StepLive stepped\n%v\nStepEach less the quiet ones\n%v", run, got, want)
		}
	}
}

func describeStep(s Stepped) string {
	return fmt.Sprintf("%s %x %s->%s %v %v", s.Rule.Name, s.Next.Fingerprint, s.Prev.State, s.Next.State, s.Next.Value, s.Next.ActiveSince.Unix())
}
