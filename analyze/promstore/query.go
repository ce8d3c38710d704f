package promstore

import (
	"context"
	"errors"
	"time"

	"github.com/prometheus/prometheus/promql"
)

// Series is one series of a PromQL answer: its labels and points (one
// for an instant query).
type Series struct {
	Labels map[string]string
	Points []Point
}

// Point is one value at one instant.
type Point struct {
	T time.Time
	V float64
}

// Answer is a PromQL answer as vigil query --promql prints it.
type Answer struct {
	ResultType string // vector, matrix, scalar
	Series     []Series
	Warnings   []string
}

// ParseError is a PromQL expression that does not parse: the user's to
// fix (the CLI exits 2 for it).
type ParseError struct{ Err error }

func (e *ParseError) Error() string    { return "promql: " + e.Err.Error() }
func (e *ParseError) Unwrap() error    { return e.Err }
func (e *ParseError) UsageError() bool { return true }

// Query runs expr with Prometheus's engine over the source: at from
// when step is 0, else over [from, to] every step.
func (s *Source) Query(ctx context.Context, l Limits, expr string, from, to time.Time, step time.Duration) (*Answer, error) {
	eng := NewEngine(l, nil)
	opts := promql.NewPrometheusQueryOpts(false, l.LookbackDelta, nil)
	var q promql.Query
	var err error
	if step == 0 {
		q, err = eng.NewInstantQuery(ctx, s, opts, expr, from)
	} else {
		q, err = eng.NewRangeQuery(ctx, s, opts, expr, from, to, step)
	}
	if errors.Is(err, context.DeadlineExceeded) || errors.Is(err, context.Canceled) {
		return nil, err
	}
	if err != nil {
		return nil, &ParseError{err}
	}
	defer q.Close()
	res := q.Exec(ctx)
	if res.Err != nil {
		return nil, res.Err
	}
	a := &Answer{ResultType: string(res.Value.Type())}
	a.Warnings, _ = res.Warnings.AsStrings(expr, 10, 0)
	switch v := res.Value.(type) {
	case promql.Vector:
		for _, smp := range v {
			a.Series = append(a.Series, Series{Labels: smp.Metric.Map(), Points: []Point{{time.UnixMilli(smp.T).UTC(), smp.F}}})
		}
	case promql.Matrix:
		for _, sr := range v {
			out := Series{Labels: sr.Metric.Map()}
			for _, p := range sr.Floats {
				out.Points = append(out.Points, Point{time.UnixMilli(p.T).UTC(), p.F})
			}
			a.Series = append(a.Series, out)
		}
	case promql.Scalar:
		a.Series = []Series{{Labels: map[string]string{}, Points: []Point{{time.UnixMilli(v.T).UTC(), v.V}}}}
	default:
		return nil, errors.New("promql: a string answer has no series")
	}
	return a, nil
}
