package replay

import (
	"context"
	"slices"
	"time"

	alertconfig "github.com/vigil-metrics/vigil/alert/config"
	"github.com/vigil-metrics/vigil/alert/eval"
	"github.com/vigil-metrics/vigil/alert/notify"
	"github.com/vigil-metrics/vigil/alert/route"
	alertrun "github.com/vigil-metrics/vigil/alert/run"
	"github.com/vigil-metrics/vigil/alert/state"
)

// A steady alert is the skipper's fourth reduction: an alert firing or
// pending that stays so, and about which the pipeline decides nothing at
// this step, is left out of the run (alert/run's Options.Steady); a rule
// all of whose alerts are steady, with no other group breached and every
// observation with data, is not evaluated by the run at all. A month of
// one-minute runs over a fleet spends most of its steps re-deciding
// alerts that fire for hours: "still firing, in cooldown", "still firing,
// deduplicated", minute after minute. Exact, as the other reductions
// are: an alert is steady at t only where its step would change nothing
// but its value and last evaluation, and its decision would be the one
// its last run made:
//
//   - its group's observation is breached (confirmed by fingerprint);
//   - a pending alert's for has not run out;
//   - a firing alert's last run queued nothing and was held by no
//     inhibition; it is in no inhibit rule's source or target, routes to
//     no Alertmanager channel (refreshed every run); and what its
//     notification would be at t, by the times alone (cooldown, the
//     dedup window, the next escalation step), is what it was then;
//   - one never told of in its episode, held back from every channel as
//     a repeat, stays so while its last words and its incident do
//     (untoldSteady, untoldMembers);
//   - no silence starts or ends since the step before (a step with a
//     silence edge leaves nothing out, so a left-out alert's silence
//     verdict is its last run's).
//
// The alerts the run does not decide count as firing for the incidents
// they belong to (alert/run keeps those open and their members told) and
// for inhibition, and the run stores t as their last evaluation.

// liveAlert is an alert not inactive as the last run that stepped it
// left it, with what that run decided for it.
type liveAlert struct {
	a        state.Alert
	by       string // SuppressedBy
	held     bool   // inhibited, or queued a notice: its next run decides anew
	static   *alertStatic
	staticOf *alertconfig.Rule // the rule static was made for
	cand     bool              // steady but for its observation, this step
	at       time.Time         // when its last run stepped it
	seq      int               // its incident's events then (skipper.incSeq)
	untold   bool              // steady this step as an untold member (untoldSteady)
}

// alertStatic is what never changes for an alert under one config: its
// escalation policy, and whether it can be steady at all.
type alertStatic struct {
	policy   *alertconfig.EscalationPolicy
	never    bool     // an Alertmanager channel, or an inhibit rule, concerns it
	channels []string // the channels its labels route to
}

// static is la's, made once for its rule and labels.
func (k *skipper) static(la *liveAlert, r *alertconfig.Rule, cfg *alertconfig.Config) *alertStatic {
	if la.static != nil && la.staticOf != nil && la.staticOf.Name == r.Name && la.staticOf.Severity == r.Severity {
		return la.static
	}
	labels := route.Labels(r, la.a.Labels)
	st := &alertStatic{}
	for i := range cfg.Escalation {
		if route.Matches(cfg.Escalation[i].Triggers, labels) {
			st.policy = &cfg.Escalation[i]
			break
		}
	}
	for _, c := range route.Channels(cfg.Channels, labels) {
		if c.Type == "alertmanager" {
			st.never = true
		}
		st.channels = append(st.channels, c.Name)
	}
	for _, ir := range k.inhibit {
		if alertconfig.MatchAll(ir.SourceMatchers, labels) || alertconfig.MatchAll(ir.TargetMatchers, labels) {
			st.never = true
		}
	}
	la.static, la.staticOf = st, r
	return st
}

// steady adds to out the alerts of r (a rule with alerts not inactive)
// that are steady at at (see above), and reports whether the rule as a
// whole is: every alert of it steady, every observation with data, no
// group breached but theirs, so that the run need not evaluate it. Its
// observations are made through the memo, so a rule that is run is not
// read again.
func (k *skipper) steady(ctx context.Context, r *alertconfig.Rule, cfg *alertconfig.Config, at time.Time, out map[uint64]*alertconfig.Rule) (bool, error) {
	if r.Condition == "absent" || r.Condition == "spike" || k.edge {
		return false, nil
	}
	live := k.live[r.Name]
	cands := 0
	whole := true
	for _, la := range live {
		la.cand, la.untold = false, false
		switch la.a.State {
		case state.Pending:
			la.cand = at.Sub(la.a.ActiveSince) < r.For
		case state.Firing:
			la.cand = k.firingSteady(la, r, cfg, at)
		}
		if la.cand {
			cands++
		} else {
			whole = false
		}
	}
	if cands == 0 {
		return false, nil
	}
	obs, err := eval.Rule(ctx, k.memo, r, at)
	if err != nil {
		return false, err
	}
	confirmed := 0
	for _, ob := range obs {
		if !ob.HasData {
			whole = false
		}
		if !ob.Breached {
			continue // not a candidate's: each is confirmed by its breach
		}
		la, ok := live[state.Fingerprint(r.Name, ob.Labels)]
		if !ok || !la.cand {
			whole = false // a new group, or an alert that is decided
			continue
		}
		la.cand = false // confirmed: once
		confirmed++
		out[la.a.Fingerprint] = r
	}
	return whole && confirmed == cands, nil
}

// firingSteady reports whether a firing alert, still breached at at,
// would be decided at at as its last run decided it, with no notice.
func (k *skipper) firingSteady(la *liveAlert, r *alertconfig.Rule, cfg *alertconfig.Config, at time.Time) bool {
	if la.held || k.static(la, r, cfg).never {
		return false
	}
	a := &la.a
	switch la.by {
	case notify.BySilence, notify.ByAck:
		return true // decided before any time is looked at
	}
	last, cd := a.LastNotified, r.CooldownPeriod
	la.untold = false
	if last.IsZero() || last.Before(a.FiredAt) { // not told in this episode
		if la.by == notify.ByDedup {
			la.untold = k.untoldSteady(la, cfg, at)
			return la.untold
		}
		return la.by == notify.ByCooldown && cd > 0 && at.Sub(last) < cd && !last.IsZero()
	}
	var by string
	switch {
	case cd <= 0:
	case at.Sub(last) < cd:
		by = notify.ByCooldown
	case cfg.Settings.EnableDeduplication && at.Sub(last) < notify.DedupWindow:
		by = notify.ByDedup
	default:
		return false // a reminder is due
	}
	if by != la.by {
		return false
	}
	if pol := la.static.policy; pol != nil {
		if a.EscPolicy != pol.Name {
			return false
		}
		if a.EscSteps < len(pol.Steps) && at.Sub(a.FiredAt) >= pol.Steps[a.EscSteps].Delay {
			return false
		}
	}
	return true
}

// untoldSteady reports whether a firing alert not told of in its episode,
// whose last run held every channel back as a repeat (dedup: the channel
// heard it fire less than notify.DedupWindow ago, or was told of its
// incident while a told member of it fires), would be held back alike
// at at. Each channel's verdict depends on the alert's last word to it,
// which only a notice about the alert changes (and that is a run that
// steps it), and on its incident: its told channels and whether a told
// member still fires, which only its members' runs change (counted in
// skipper.incSeq). Time changes only the first: the dedup window's end.
func (k *skipper) untoldSteady(la *liveAlert, cfg *alertconfig.Config, at time.Time) bool {
	if k.ruleErr || !cfg.Settings.EnableDeduplication {
		return false
	}
	if inc := la.a.Incident; inc != "" {
		// Pruning takes an incident's notices once they are older than the
		// retention: a change no run makes. Within it, none is pruned.
		opened, ok := k.incOpened[inc]
		retention := time.Duration(cfg.Settings.AlertRetentionDays) * 24 * time.Hour
		if !ok || k.incSeq[inc] != la.seq || at.Sub(opened) >= retention {
			return false
		}
	}
	for _, ch := range la.static.channels {
		w := k.lastWord[wordKey{la.a.Fingerprint, ch}]
		then, now := w.repeats(la.at), w.repeats(at)
		if then != now {
			return false
		}
	}
	return true
}

// untoldMembers takes out of this step's steady alerts the untold
// members of an incident (untoldSteady) whose incident has a told firing
// member that is not steady: that member's run may change what they
// would be told at this very step (it resolves: no told member may fire
// any more), before any count of events could say so. (An untold member
// that changes holds nobody back, and one told at this step only holds
// the others back more.) It reports whether it took any out.
func (k *skipper) untoldMembers(at time.Time) bool {
	var byInc map[string][]*liveAlert
	for fp, r := range k.steadyNow {
		if la := k.live[r.Name][fp]; la != nil && la.untold && la.a.Incident != "" {
			if byInc == nil {
				byInc = map[string][]*liveAlert{}
			}
			byInc[la.a.Incident] = append(byInc[la.a.Incident], la)
		}
	}
	if byInc == nil {
		return false
	}
	unsteady := map[string]bool{}
	for _, m := range k.live {
		for fp, la := range m {
			if _, ok := byInc[la.a.Incident]; ok && la.a.State == state.Firing && told(&la.a) {
				if _, steady := k.steadyNow[fp]; !steady {
					unsteady[la.a.Incident] = true
				}
			}
		}
	}
	took := false
	for inc, members := range byInc {
		if !unsteady[inc] {
			continue
		}
		for _, la := range members {
			delete(k.steadyNow, la.a.Fingerprint)
			took = true
		}
	}
	return took
}

// told reports whether a was notified in its current episode.
func told(a *state.Alert) bool { return !a.LastNotified.IsZero() && !a.LastNotified.Before(a.FiredAt) }

// allSteady reports whether every alert of rule that is not inactive is
// among this step's steady ones.
func (k *skipper) allSteady(rule string) bool {
	for fp := range k.live[rule] {
		if _, ok := k.steadyNow[fp]; !ok {
			return false
		}
	}
	return true
}

// wordKey is an alert and a channel; word the latest notice queued about
// it to that channel (state.Run's LastWord: in a replay no notice fails,
// and one is superseded only by a later one).
type wordKey struct {
	fp      uint64
	channel string
}

type word struct {
	kind    string
	created time.Time
}

// repeats reports whether a firing notice at at would repeat what the
// channel believes (notify's dedup).
func (w word) repeats(at time.Time) bool {
	return (w.kind == "firing" || w.kind == notify.Refresh) && at.Sub(w.created) < notify.DedupWindow
}

// incidentEvents takes account of what a run changed that its incidents'
// members are told by: a member that changed state, joined, or was
// notified; an incident opened or closed; and every notice's last word.
func (k *skipper) incidentEvents(res alertrun.Result) {
	if len(res.RuleErrors) > 0 {
		k.ruleErr = true
	}
	for _, it := range res.Alerts {
		// Only what can hold an untold member back less: a member that
		// stops firing (no told member may fire any more; its queued
		// firing notices are superseded, and their channels may leave the
		// incident's), or leaves. A member told, or joining, holds the
		// others back more, which changes nothing for one held back from
		// every channel.
		if inc := it.Prev.Incident; inc != "" && (it.Prev.State == state.Firing && it.Alert.State != state.Firing || it.Alert.Incident != inc) {
			k.incSeq[inc]++
		}
	}
	for _, inc := range res.Plan.Incidents {
		k.incSeq[inc.ID]++
		k.incOpened[inc.ID] = inc.Opened
	}
	for _, n := range res.Plan.Notices {
		k.lastWord[wordKey{n.Fingerprint, n.Channel}] = word{n.Kind, n.Created}
	}
}

// silenceEdges are the instants at which a silence starts or ends, in
// order.
func silenceEdges(cfg *alertconfig.Config) []time.Time {
	var out []time.Time
	for _, s := range cfg.Silences {
		for _, t := range []time.Time{s.StartsAt, s.EndsAt} {
			if !t.IsZero() {
				out = append(out, t)
			}
		}
	}
	slices.SortFunc(out, func(a, b time.Time) int { return a.Compare(b) })
	return out
}

// edgeIn reports whether an edge lies in (from, to].
func edgeIn(edges []time.Time, from, to time.Time) bool {
	i, _ := slices.BinarySearchFunc(edges, from, func(e, t time.Time) int {
		if !e.After(t) {
			return -1
		}
		return 1
	})
	return i < len(edges) && !edges[i].After(to)
}
