package eval

import (
	"context"
	"fmt"
	"reflect"
	"testing"
	"time"

	"github.com/vigil-metrics/vigil/alert/config"
	"github.com/vigil-metrics/vigil/analyze"
	"github.com/vigil-metrics/vigil/internal/metricpath"
)

// counting answers every query from db and records what was asked, as
// "expr @ at-offset / length".
type counting struct {
	db    Querier
	asked []string
}

func (c *counting) Eval(ctx context.Context, e *metricpath.Expr, w analyze.Window) ([]analyze.Result, error) {
	c.asked = append(c.asked, fmt.Sprintf("%s @-%s /%s", e, at.Sub(w.At), w.Length))
	return c.db.Eval(ctx, e, w)
}

// Queries lists exactly the windows the rule's evaluation asks, in the
// order it asks them, for every rule kind: the table replay precomputes
// from must be the one evaluate reads.
func TestQueriesListWhatRuleAsks(t *testing.T) {
	db := fixture(t)
	rules := []config.Rule{
		{Name: "threshold", MetricPath: "cpu_usage_percent.max", Condition: "greater_than", Threshold: 90, EvaluationWindow: 5 * time.Minute},
		{Name: "grouped", MetricPath: "cpu_usage_percent", Condition: "less_than", Threshold: 60, EvaluationWindow: 3 * time.Minute, GroupBy: []string{"host"}},
		{Name: "ratio", MetricPath: "errors_total.increase / cpu_usage_percent.count", Condition: "greater_than", EvaluationWindow: 10 * time.Minute},
		{Name: "absent", MetricPath: "cpu_usage_percent", Condition: "absent", EvaluationWindow: 2 * time.Minute},
		{Name: "absent_grouped", MetricPath: "cpu_usage_percent", Condition: "absent", EvaluationWindow: 2 * time.Minute, Lookback: time.Hour, GroupBy: []string{"host"}},
		{Name: "absent_short_lookback", MetricPath: "cpu_usage_percent.count by (host)", Condition: "absent", EvaluationWindow: 2 * time.Minute, Lookback: time.Minute},
		{Name: "spike", MetricPath: "cpu_usage_percent.avg", Condition: "spike", EvaluationWindow: 2 * time.Minute, ReferenceWindow: 30 * time.Minute, SpikeRatio: 2, Direction: "up"},
	}
	want := map[string][]string{
		"threshold":             {"cpu_usage_percent.max @-0s /5m0s"},
		"grouped":               {"cpu_usage_percent by (host) @-0s /3m0s"},
		"ratio":                 {"errors_total.increase / cpu_usage_percent.count @-0s /10m0s"},
		"absent":                {"cpu_usage_percent @-0s /2m0s"},
		"absent_grouped":        {"cpu_usage_percent by (host) @-0s /2m0s", "cpu_usage_percent by (host) @-0s /1h0m0s"},
		"absent_short_lookback": {"cpu_usage_percent.count by (host) @-0s /2m0s", "cpu_usage_percent.count by (host) @-0s /2m0s"},
		"spike":                 {"cpu_usage_percent.avg @-0s /2m0s", "cpu_usage_percent.avg @-2m0s /30m0s"},
	}
	for i := range rules {
		r := &rules[i]
		c := &counting{db: db}
		if _, err := Rule(context.Background(), c, r, at); err != nil {
			t.Fatal(err)
		}
		if !reflect.DeepEqual(c.asked, want[r.Name]) {
			t.Errorf("%s asked %q, want %q", r.Name, c.asked, want[r.Name])
		}
		qs, err := Queries(r)
		if err != nil {
			t.Fatal(err)
		}
		var listed []string
		for _, q := range qs {
			listed = append(listed, fmt.Sprintf("%s @-%s /%s", q.Expr, q.Offset, q.Length))
		}
		if !reflect.DeepEqual(listed, c.asked) {
			t.Errorf("%s: Queries lists %q, the evaluation asked %q", r.Name, listed, c.asked)
		}
	}
}
