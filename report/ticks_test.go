package report

import (
	"context"
	"math"
	"slices"
	"testing"
	"time"

	"github.com/vigil-metrics/vigil/analyze"
	"github.com/vigil-metrics/vigil/internal/metricpath"
)

func tickLabels(from, to time.Time, loc *time.Location) []string {
	var out []string
	for _, t := range timeTicks(float64(from.Unix()), float64(to.Unix()), loc).Ticks(0, 0) {
		out = append(out, t.Label)
	}
	return out
}

// The time axis's labels suit the span (issue 30: a 15-minute report had
// one label): every 5 minutes over 15 minutes, every 12 hours over two
// days, a day over a week; aligned on the clock of the report's zone, with
// the date on the first label and at midnight.
func TestTimeTicks(t *testing.T) {
	utc := time.UTC
	berlin, err := time.LoadLocation("Europe/Berlin")
	if err != nil {
		t.Fatal(err)
	}
	for _, c := range []struct {
		from, to time.Time
		loc      *time.Location
		want     []string
	}{
		{time.Date(2026, 11, 29, 11, 47, 30, 0, utc), time.Date(2026, 11, 29, 12, 2, 30, 0, utc), utc,
			[]string{"Nov 29 11:50", "11:55", "12:00"}},
		{time.Date(2026, 11, 27, 12, 0, 0, 0, utc), time.Date(2026, 11, 29, 12, 0, 0, 0, utc), utc,
			[]string{"Nov 27 12:00", "Nov 28 00:00", "12:00", "Nov 29 00:00", "12:00"}},
		{time.Date(2026, 11, 22, 12, 0, 0, 0, utc), time.Date(2026, 11, 29, 12, 0, 0, 0, utc), utc,
			[]string{"Nov 23", "Nov 24", "Nov 25", "Nov 26", "Nov 27", "Nov 28", "Nov 29"}},
		// Midnight in Berlin is 23:00 UTC; across the end of summer time
		// (2026-10-25) the labels stay at local midnight.
		{time.Date(2026, 10, 23, 12, 0, 0, 0, utc), time.Date(2026, 10, 27, 12, 0, 0, 0, utc), berlin,
			[]string{"Oct 24", "Oct 25", "Oct 26", "Oct 27"}},
		// A lone point: one label, with its date.
		{time.Date(2026, 11, 29, 12, 0, 0, 0, utc), time.Date(2026, 11, 29, 12, 0, 0, 0, utc), utc,
			[]string{"Nov 29 12:00"}},
	} {
		if got := tickLabels(c.from, c.to, c.loc); !slices.Equal(got, c.want) {
			t.Errorf("%v to %v (%v): %q, want %q", c.from, c.to, c.loc, got, c.want)
		}
	}
}

// stepSource answers Buckets with a p95 of 1 in every bucket that ends
// after since (data from then on), nothing before.
type stepSource struct{ since time.Time }

func (s stepSource) Eval(context.Context, *metricpath.Expr, analyze.Window) ([]analyze.Result, error) {
	return nil, nil
}

func (s stepSource) Buckets(_ context.Context, _ *metricpath.Expr, end time.Time, bucket time.Duration, n int) ([]analyze.BucketSeries, error) {
	vs := make([]float64, n)
	for i := range vs {
		vs[i] = math.NaN()
		if end.Add(-time.Duration(n-1-i) * bucket).After(s.since) {
			vs[i] = 1
		}
	}
	return []analyze.BucketSeries{{Labels: map[string]string{"service": "api"}, Values: vs}}, nil
}

// A weekly report over a store two hours old (issue 30: "a week of new
// data is one dot at the right edge"): the sparkline keeps a block a day
// (one with data), the chart gets the two hours in 5-minute steps (the
// day in hours first: two of them with data, then Steps(2h)).
func TestLatencyChartFollowsTheData(t *testing.T) {
	rows := map[string]*Latency{"api": {Metric: "lat_ms", Service: "api"}}
	if err := latencyTrend(context.Background(), stepSource{t0.Add(-2 * time.Hour)}, "lat_ms", t0, 7*24*time.Hour, rows); err != nil {
		t.Fatal(err)
	}
	l := rows["api"]
	if len(l.Trend) != 7 || !math.IsNaN(l.Trend[5].V) || l.Trend[6].V != 1 {
		t.Errorf("trend %v, want 7 daily points, the last alone with data", l.Trend)
	}
	if len(l.Chart) != 24 || !l.Chart[23].T.Equal(t0) || !l.Chart[0].T.Equal(t0.Add(-115*time.Minute)) {
		t.Fatalf("chart %v, want 24 points 5 minutes apart ending at %v", l.Chart, t0)
	}
	for _, p := range l.Chart {
		if p.V != 1 {
			t.Errorf("chart point %v without data", p)
		}
	}
}
