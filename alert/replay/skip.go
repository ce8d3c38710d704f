package replay

import (
	"context"
	"time"

	alertconfig "github.com/vigil-metrics/vigil/alert/config"
	"github.com/vigil-metrics/vigil/alert/eval"
	"github.com/vigil-metrics/vigil/alert/notify"
	alertrun "github.com/vigil-metrics/vigil/alert/run"
	"github.com/vigil-metrics/vigil/alert/state"
	"github.com/vigil-metrics/vigil/analyze"
	"github.com/vigil-metrics/vigil/internal/metricpath"
)

// skipper leaves out of a step the work that provably decides nothing,
// so that a month of one-minute runs over a large rule set costs only the
// steps where something happens. Three reductions, all exact (the NoSkip
// test compares them with the full runs):
//
//   - a quiet rule is left out of the step's evaluate run: it has no
//     alert in any state but inactive, and every observation it makes at
//     this instant has data and is not breached. Stepped, each of its
//     alerts would go from inactive to inactive (eval.Stepped.Quiet), which
//     the pipeline decides nothing about and the run does not store; and
//     StepRun's other loop steps only alerts that are not inactive.
//   - an idle step runs no evaluate at all: every rule is quiet and the
//     pipeline holds nothing (no alert but inactive ones, none of the
//     budget's either; no notice still queued; no open incident). The run
//     would only record its instant as the last run and prune history
//     older than the retention, which the next run that is made does for
//     its own later instant; nothing is owed (escalation, reminders,
//     resolutions all need an alert that is not inactive).
//   - in a rule that is run, the alerts that were inactive and stay so
//     (most groups of a grouped rule with one group firing) are left out
//     of the run (alert/run's Options.OmitQuiet): the pipeline decides
//     nothing about them and stores none, and the summary counts none.
//
// The rules are observed through memo, which keeps what they read, so the
// evaluate run made after it reads nothing twice.
type skipper struct {
	off    bool
	active map[uint64]string // alerts not inactive: fingerprint -> rule
	byRule map[string]int
	queued bool            // the last run left notices queued (the rate limit held them)
	open   map[string]bool // incidents open
	memo   *memo
	// queries are each threshold rule's windows (eval.Queries), made once:
	// a path's windows do not change with its threshold.
	queries map[string][]eval.Query

	// The steady rules' account (steady.go): the alerts not inactive by
	// rule and fingerprint, as their last run left them; the inhibit
	// rules in force; the silences' edges, and whether one falls in this
	// step.
	live    map[string]map[uint64]*liveAlert
	inhibit []alertconfig.InhibitRule
	edges   []time.Time
	edge    bool
	prevAt  time.Time
	// steadyNow are this step's steady alerts (alert/run's Options.Steady).
	steadyNow map[uint64]*alertconfig.Rule
	// What an untold member of an incident needs to be steady
	// (steady.go's untoldSteady): each incident's count of events that can
	// change what its members are told, and when it opened; each alert's
	// and channel's last word; whether a rule ever failed (its alerts
	// are kept, and go stale as time passes: not an event).
	incSeq    map[string]int
	incOpened map[string]time.Time
	lastWord  map[wordKey]word
	ruleErr   bool
}

func newSkipper(off bool, cfg *alertconfig.Config) *skipper {
	return &skipper{off: off, active: map[uint64]string{}, byRule: map[string]int{}, open: map[string]bool{},
		memo: &memo{m: map[memoKey][]analyze.Result{}, keys: map[*metricpath.Expr]string{}}, queries: map[string][]eval.Query{},
		live: map[string]map[uint64]*liveAlert{}, inhibit: append(append([]alertconfig.InhibitRule{}, alertrun.SLOInhibitRules...), cfg.InhibitRules...),
		edges: silenceEdges(cfg), steadyNow: map[uint64]*alertconfig.Rule{},
		incSeq: map[string]int{}, incOpened: map[string]time.Time{}, lastWord: map[wordKey]word{}}
}

// rules is the config of the step's evaluate run (cfg, or cfg with only
// the rules that are neither quiet nor steady), the steady rules, and
// whether to make the run at all.
func (k *skipper) rules(ctx context.Context, q querier, cfg *alertconfig.Config, at time.Time) (*alertconfig.Config, map[uint64]*alertconfig.Rule, bool, error) {
	k.memo.reset(q)
	if k.off {
		return cfg, nil, true, nil
	}
	k.edge = !k.prevAt.IsZero() && edgeIn(k.edges, k.prevAt, at) || k.prevAt.IsZero() && len(k.edges) > 0
	k.prevAt = at
	clear(k.steadyNow)
	omit := make([]bool, len(cfg.Rules)) // quiet, or steady as a whole
	for i := range cfg.Rules {
		r := &cfg.Rules[i]
		if k.byRule[r.Name] > 0 {
			whole, err := k.steady(ctx, r, cfg, at, k.steadyNow)
			if err != nil {
				if cerr := ctx.Err(); cerr != nil {
					return nil, nil, false, cerr
				}
				whole = false // the run records its error
				for fp, sr := range k.steadyNow {
					if sr == r {
						delete(k.steadyNow, fp)
					}
				}
			}
			omit[i] = whole
			continue
		}
		q, err := k.quiet(ctx, r, at)
		if err != nil {
			if cerr := ctx.Err(); cerr != nil {
				return nil, nil, false, cerr
			}
			continue // the run records its error
		}
		omit[i] = q
	}
	if k.untoldMembers(at) {
		for i := range cfg.Rules {
			if omit[i] && k.byRule[cfg.Rules[i].Name] > 0 && !k.allSteady(cfg.Rules[i].Name) {
				omit[i] = false
			}
		}
	}
	var keep []alertconfig.Rule
	for i := range cfg.Rules {
		if !omit[i] {
			keep = append(keep, cfg.Rules[i])
		}
	}
	switch {
	case len(keep) == len(cfg.Rules):
		return cfg, k.steadyNow, true, nil
	case len(keep) == 0 && k.idle():
		return nil, nil, false, nil
	}
	sub := *cfg
	sub.Rules = keep
	return &sub, k.steadyNow, true, nil
}

// quiet reports whether r, with no alert but inactive ones, stays so at
// at: every observation it makes has data and is not breached. A
// threshold rule's observations are its one window's results, each
// compared with the threshold (eval.Observe), so that is checked on the
// results themselves, without building observations; absent and spike
// rules go through eval.Rule.
func (k *skipper) quiet(ctx context.Context, r *alertconfig.Rule, at time.Time) (bool, error) {
	if r.Condition == "absent" || r.Condition == "spike" {
		obs, err := eval.Rule(ctx, k.memo, r, at)
		if err != nil {
			return false, err
		}
		for _, ob := range obs {
			if !ob.HasData || ob.Breached {
				return false, nil
			}
		}
		return true, nil
	}
	qs, ok := k.queries[r.Name]
	if !ok {
		var err error
		if qs, err = eval.Queries(r); err != nil {
			return false, err
		}
		k.queries[r.Name] = qs
	}
	q := qs[0]
	w := analyze.Window{At: at.Add(-q.Offset), Length: q.Length}
	// Asked past the memo: most rules are quiet, and only the answers of
	// the others are asked again (by the run). The tables say quiet
	// without making the results.
	if t, ok := k.memo.q.(*Tables); ok {
		quiet, ok, err := t.Quiet(ctx, q.Expr, w, func(v float64) bool { return eval.Breached(r.Condition, v, r.Threshold) })
		if err != nil {
			return false, err
		}
		if ok && quiet {
			return true, nil
		}
	}
	res, err := k.memo.q.Eval(ctx, q.Expr, w)
	if err != nil {
		return false, err
	}
	quiet := len(res) > 0 // no result: an observation without data
	for _, x := range res {
		if !quiet {
			break
		}
		quiet = !eval.Breached(r.Condition, x.Value, r.Threshold)
	}
	if !quiet {
		k.memo.put(q.Expr, w, res)
	}
	return quiet, nil
}

// idle reports whether the pipeline holds nothing a run could act on.
func (k *skipper) idle() bool {
	return len(k.active) == 0 && !k.queued && len(k.open) == 0
}

// after takes account of a run (evaluate's or budget's: they share the
// state): the alerts it left not inactive, the incidents it opened or
// closed, and whether the rate limit left notices queued.
func (k *skipper) after(at time.Time, res alertrun.Result) {
	for _, it := range res.Alerts {
		fp := it.Alert.Fingerprint
		_, was := k.active[fp]
		now := it.Alert.State != state.Inactive
		switch {
		case now && !was:
			k.active[fp] = it.Rule.Name
			k.byRule[it.Rule.Name]++
		case !now && was:
			delete(k.active, fp)
			k.byRule[it.Rule.Name]--
		}
		k.track(at, it, now)
	}
	// After: an alert's incident count is the one its run decided with.
	// What its members' runs changed at this instant (a member told later
	// in the same run) is seen by the next one.
	k.incidentEvents(res)
	for _, inc := range res.Plan.Incidents {
		if inc.Closed.IsZero() {
			k.open[inc.ID] = true
		} else {
			delete(k.open, inc.ID)
		}
	}
	k.queued = len(res.Outcome.Held) > 0
}

// track keeps it's alert, not inactive after its run (now) or not, as
// the steady rules' account of it.
func (k *skipper) track(at time.Time, it *notify.Item, now bool) {
	m := k.live[it.Rule.Name]
	if !now {
		if m != nil {
			delete(m, it.Alert.Fingerprint)
		}
		return
	}
	if m == nil {
		m = map[uint64]*liveAlert{}
		k.live[it.Rule.Name] = m
	}
	la := m[it.Alert.Fingerprint]
	if la == nil {
		la = &liveAlert{}
		m[it.Alert.Fingerprint] = la
	}
	la.a, la.by, la.at = it.Alert, it.SuppressedBy, at
	la.held = it.InhibitedBy != "" || len(it.Queued) > 0
	la.seq = k.incSeq[it.Alert.Incident]
}

// memo is a querier that remembers one step's answers: the skipper
// observes the rules through it, and the evaluate run of the same step
// then reads them again from it.
type memo struct {
	q    querier
	m    map[memoKey][]analyze.Result
	keys map[*metricpath.Expr]string // e.String() of the skipper's own Exprs, asked every step
}

type memoKey struct {
	expr   string
	at     int64
	length time.Duration
}

func (m *memo) reset(q querier) {
	m.q = q
	clear(m.m)
}

// Eval answers from memory what was asked before in this step.
func (m *memo) Eval(ctx context.Context, e *metricpath.Expr, w analyze.Window) ([]analyze.Result, error) {
	k := m.key(e, w)
	if r, ok := m.m[k]; ok {
		return r, nil
	}
	r, err := m.q.Eval(ctx, e, w)
	if err == nil {
		m.m[k] = r
	}
	return r, err
}

// put remembers r as the answer to e over w.
func (m *memo) put(e *metricpath.Expr, w analyze.Window, r []analyze.Result) { m.m[m.key(e, w)] = r }

func (m *memo) key(e *metricpath.Expr, w analyze.Window) memoKey {
	s, ok := m.keys[e]
	if !ok {
		s = e.String()
		if len(m.keys) < 1<<16 { // eval makes some Exprs afresh each step: keep the table bounded
			m.keys[e] = s
		}
	}
	return memoKey{s, w.At.UnixNano(), w.Length}
}
