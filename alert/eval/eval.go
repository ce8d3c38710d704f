// Package eval evaluates alert rules at an instant: each rule's metric
// path over its window, one observation per label set, compared with the
// rule's threshold. It decides nothing about notifying: the state machine
// (alert/state) and the pipeline stages take its observations.
package eval

import (
	"context"
	"fmt"
	"maps"
	"math"
	"sort"
	"strings"
	"time"

	"github.com/vigil-metrics/vigil/alert/config"
	"github.com/vigil-metrics/vigil/alert/state"
	"github.com/vigil-metrics/vigil/analyze"
	"github.com/vigil-metrics/vigil/internal/metricpath"
)

// Querier answers a metric path over a window; *analyze.DB is one, and a
// Prometheus-compatible source can be another.
type Querier interface {
	Eval(ctx context.Context, e *metricpath.Expr, w analyze.Window) ([]analyze.Result, error)
}

// Observation is what one rule saw for one label set: the state
// machine's input (alert/state.Step) with the alert's identity.
type Observation struct {
	Rule *config.Rule
	// Labels identify the alert: the rule's labels, then the group's
	// (group_by labels, or the path's by labels), which win on a clash.
	Labels map[string]string
	state.Observation
}

// RuleError is a rule that could not be evaluated at an instant (the rate
// of a metric that is a gauge, or a counter in one store and a gauge in
// another): an error of that rule alone, which a run reports and goes on
// past.
type RuleError struct {
	Rule string
	Err  error
}

func (e *RuleError) Error() string { return "rule " + e.Rule + ": " + e.Err.Error() }
func (e *RuleError) Unwrap() error { return e.Err }

// Rules evaluates every rule at at. A rule whose path matches nothing
// gives one observation without data (nodata, never firing). A rule that
// cannot be evaluated is one RuleError in errs, in the rules' order, and
// gives no observation: its alerts' state cannot be told, and whoever
// steps them must leave them as they are; one broken rule must not hide
// what every other rule sees. err is only the context's, when it ends.
func Rules(ctx context.Context, q Querier, rules []config.Rule, at time.Time) (obs []Observation, errs []*RuleError, err error) {
	// Each rule's observations, then one list of them all: appending
	// them as they came grew (and copied) the list many times a run.
	each := make([][]Observation, len(rules))
	total := 0
	for i := range rules {
		o, err := rule(ctx, q, &rules[i], at)
		if err != nil {
			if cerr := ctx.Err(); cerr != nil {
				return nil, nil, cerr
			}
			errs = append(errs, &RuleError{Rule: rules[i].Name, Err: err})
			continue
		}
		each[i], total = o, total+len(o)
	}
	if total > 0 {
		obs = make([]Observation, 0, total)
		for _, o := range each {
			obs = append(obs, o...)
		}
	}
	return obs, errs, nil
}

// Rule evaluates one rule at at; its error is a *RuleError.
func Rule(ctx context.Context, q Querier, r *config.Rule, at time.Time) ([]Observation, error) {
	obs, err := rule(ctx, q, r, at)
	if err != nil {
		return nil, &RuleError{Rule: r.Name, Err: err}
	}
	return obs, nil
}

func rule(ctx context.Context, q Querier, r *config.Rule, at time.Time) ([]Observation, error) {
	e, err := expr(r)
	if err != nil {
		return nil, err
	}
	qs := queries(r, e)
	res := make([][]analyze.Result, len(qs))
	for i, qq := range qs {
		if res[i], err = q.Eval(ctx, qq.Expr, analyze.Window{At: at.Add(-qq.Offset), Length: qq.Length}); err != nil {
			return nil, err
		}
	}
	return Observe(r, e, res), nil
}

// Query is one window a rule reads at an instant at:
// Eval(Expr, Window{At: at - Offset, Length: Length}).
type Query struct {
	Expr           *metricpath.Expr
	Offset, Length time.Duration
}

// Queries lists every window the rule reads at an instant, in the order
// its evaluation asks them: what Observe takes the answers of. A replay
// precomputes them over a range instead of asking a store at each step.
func Queries(r *config.Rule) ([]Query, error) {
	e, err := Expr(r)
	if err != nil {
		return nil, err
	}
	return queries(r, e), nil
}

func queries(r *config.Rule, e *metricpath.Expr) []Query {
	now := Query{Expr: e, Length: r.EvaluationWindow}
	switch r.Condition {
	case "absent":
		if len(e.Num.By) == 0 {
			return []Query{now}
		}
		return []Query{now, {Expr: e, Length: max(r.Lookback, r.EvaluationWindow)}}
	case "spike":
		return []Query{now, {Expr: e, Offset: r.EvaluationWindow, Length: r.ReferenceWindow}}
	}
	return []Query{now}
}

// Observe turns the answers to the rule's Queries (one per query, in the
// same order) into its observations; e is the rule's Expr. It holds every
// rule kind's logic (thresholds, nodata, absent, spike), so whoever
// answers the queries, a store or a replay's tables, observes alike.
func Observe(r *config.Rule, e *metricpath.Expr, res [][]analyze.Result) []Observation {
	switch r.Condition {
	case "absent":
		return absent(r, e, res)
	case "spike":
		return spike(r, res[0], res[1])
	}
	rs := res[0]
	if len(rs) == 0 {
		return []Observation{noData(r)}
	}
	out := make([]Observation, 0, len(rs))
	for _, res := range rs {
		out = append(out, observe(r, res.Labels, state.Observation{HasData: true,
			Breached: Breached(r.Condition, res.Value, r.Threshold), Value: res.Value}))
	}
	return out
}

func noData(r *config.Rule) Observation {
	return Observation{Rule: r, Labels: maps.Clone(r.Labels), Observation: state.Observation{Value: math.NaN()}}
}

// observe builds an observation for a group: the rule's labels, then the
// group's, which win.
func observe(r *config.Rule, group map[string]string, o state.Observation) Observation {
	if len(r.Labels) == 0 && group != nil {
		// The group's own map: nothing changes an observation's labels (a
		// stored alert keeps a copy), and a run observes every group of
		// every rule, each a map to copy.
		return Observation{Rule: r, Labels: group, Observation: o}
	}
	labels := map[string]string{}
	maps.Copy(labels, r.Labels)
	maps.Copy(labels, group)
	return Observation{Rule: r, Labels: labels, Observation: o}
}

func groupKey(l map[string]string) string {
	keys := make([]string, 0, len(l))
	for k := range l {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	var b strings.Builder
	for _, k := range keys {
		b.WriteString(k)
		b.WriteByte(0xff)
		b.WriteString(l[k])
		b.WriteByte(0xff)
	}
	return b.String()
}

// absent fires for each label set that reported within the lookback but
// has no sample in the window (its value is the number of samples: 0);
// without grouping, it fires when the path has no sample in the window at
// all, whether or not it ever reported (a dead man's switch). A group with
// samples in the window is not breached.
func absent(r *config.Rule, e *metricpath.Expr, res [][]analyze.Result) []Observation {
	cur := res[0]
	seen := map[string]bool{}
	var out []Observation
	for _, res := range cur {
		if res.Samples == 0 {
			continue // a silent counter: there, but nothing arrived
		}
		seen[groupKey(res.Labels)] = true
		out = append(out, observe(r, res.Labels, state.Observation{HasData: true, Value: float64(res.Samples)}))
	}
	grouped := len(e.Num.By) > 0
	if !grouped {
		if len(out) == 0 {
			out = append(out, observe(r, nil, state.Observation{HasData: true, Breached: true, Value: 0}))
		}
		return out
	}
	past := res[1] // over max(lookback, window): Queries
	for _, res := range past {
		if res.Samples == 0 || seen[groupKey(res.Labels)] {
			continue
		}
		seen[groupKey(res.Labels)] = true
		out = append(out, observe(r, res.Labels, state.Observation{HasData: true, Breached: true, Value: 0}))
	}
	return out
}

// spike compares each group's aggregate over the window with the same
// aggregate over the reference window just before it: up fires when
// current > ratio x reference, down when current x ratio < reference,
// both on either; never when the reference is below min_reference (a
// quiet service at 3 requests does not page on 9). Its value is
// current / reference (+Inf from a zero reference). A group without data
// now or in the reference window is not breached.
func spike(r *config.Rule, cur, ref []analyze.Result) []Observation {
	refs := map[string]float64{}
	for _, res := range ref {
		refs[groupKey(res.Labels)] = res.Value
	}
	if len(cur) == 0 {
		return []Observation{noData(r)}
	}
	out := make([]Observation, 0, len(cur))
	for _, res := range cur {
		rv, ok := refs[groupKey(res.Labels)]
		if !ok || math.IsNaN(rv) || math.IsNaN(res.Value) {
			out = append(out, observe(r, res.Labels, state.Observation{HasData: true, Value: math.NaN()}))
			continue
		}
		up := res.Value > r.SpikeRatio*rv
		down := res.Value*r.SpikeRatio < rv
		breached := rv >= r.MinReference && (r.Direction == "up" && up || r.Direction == "down" && down || r.Direction == "both" && (up || down))
		ratio := res.Value / rv
		if rv == 0 {
			ratio = math.Inf(1)
			if res.Value == 0 {
				ratio = 1
			}
		}
		out = append(out, observe(r, res.Labels, state.Observation{HasData: true, Breached: breached, Value: ratio}))
	}
	return out
}

// Expr is the rule's path as evaluated: grouped by group_by unless the
// path says how to group itself. Tuning reads a rule's history through it
// too, so both see the same groups.
func Expr(r *config.Rule) (*metricpath.Expr, error) {
	e, err := expr(r)
	if err != nil {
		return nil, fmt.Errorf("rule %s: %w", r.Name, err)
	}
	return e, nil
}

func expr(r *config.Rule) (*metricpath.Expr, error) {
	e := r.Path
	if e == nil {
		var err error
		if e, err = metricpath.Parse(r.MetricPath); err != nil {
			return nil, fmt.Errorf("metric_path: %w", err)
		}
	}
	if len(r.GroupBy) == 0 {
		return e, nil
	}
	c := *e
	if c.Num.By == nil {
		c.Num.By = r.GroupBy
	}
	if c.Den != nil && c.Den.By == nil {
		den := *c.Den
		den.By = r.GroupBy
		c.Den = &den
	}
	return &c, nil
}

// Breached compares a value with a threshold under a rule's condition. A
// value that is not a number never breaches.
func Breached(condition string, v, threshold float64) bool {
	if math.IsNaN(v) {
		return false
	}
	switch condition {
	case "greater_than":
		return v > threshold
	case "less_than":
		return v < threshold
	case "equals":
		return v == threshold
	case "not_equals":
		return v != threshold
	case "greater_or_equal":
		return v >= threshold
	case "less_or_equal":
		return v <= threshold
	}
	return false
}
