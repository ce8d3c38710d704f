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
	"time"

	"github.com/vigil-metrics/vigil/alert/config"
	"github.com/vigil-metrics/vigil/alert/state"
	"github.com/vigil-metrics/vigil/analyze"
	"github.com/vigil-metrics/vigil/analyze/metricpath"
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

// Rules evaluates every rule at at. A rule whose path matches nothing
// gives one observation without data (nodata, never firing); an error of
// one rule (a gauge's rate, say) stops the run, since its alerts' state
// cannot be told.
func Rules(ctx context.Context, q Querier, rules []config.Rule, at time.Time) ([]Observation, error) {
	var out []Observation
	for i := range rules {
		obs, err := Rule(ctx, q, &rules[i], at)
		if err != nil {
			return nil, err
		}
		out = append(out, obs...)
	}
	return out, nil
}

// Rule evaluates one rule at at.
func Rule(ctx context.Context, q Querier, r *config.Rule, at time.Time) ([]Observation, error) {
	e, err := expr(r)
	if err != nil {
		return nil, err
	}
	rs, err := q.Eval(ctx, e, analyze.Window{At: at, Length: r.EvaluationWindow})
	if err != nil {
		return nil, fmt.Errorf("rule %s: %w", r.Name, err)
	}
	if len(rs) == 0 {
		return []Observation{{Rule: r, Labels: maps.Clone(r.Labels), Observation: state.Observation{Value: math.NaN()}}}, nil
	}
	out := make([]Observation, 0, len(rs))
	for _, res := range rs {
		labels := map[string]string{}
		maps.Copy(labels, r.Labels)
		maps.Copy(labels, res.Labels)
		out = append(out, Observation{Rule: r, Labels: labels, Observation: state.Observation{HasData: true,
			Breached: Breached(r.Condition, res.Value, r.Threshold), Value: res.Value}})
	}
	return out, nil
}

// expr is the rule's path, grouped by group_by unless the path says how
// to group itself.
func expr(r *config.Rule) (*metricpath.Expr, error) {
	e := r.Path
	if e == nil {
		var err error
		if e, err = metricpath.Parse(r.MetricPath); err != nil {
			return nil, fmt.Errorf("rule %s: metric_path: %w", r.Name, err)
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
