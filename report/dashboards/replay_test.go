package dashboards

import (
	"net/url"
	"reflect"
	"testing"
	"time"
)

// The expectations are worked by hand from Grafana's rules (replay.go
// names them); the unix times are 2026-11-29T06:00:00Z = 1795932000,
// 12:00:00Z = 1795953600, 2026-11-22T12:00:00Z = 1795348800.
func TestReplay(t *testing.T) {
	from := time.Date(2026, 11, 29, 6, 0, 0, 123e6, time.UTC)
	to := time.Date(2026, 11, 29, 12, 0, 0, 456e6, time.UTC)
	d := &Dashboard{
		Templating: Templating{List: []Variable{{Name: "host", Type: "query", Query: "label_values(host)", Multi: true, IncludeAll: true}}},
		Panels: []*Panel{
			{Type: "row", Panels: []*Panel{{Title: "cpu", MaxDataPoints: 500, Targets: []Target{
				{RefID: "A", Range: true, Expr: `avg_over_time(cpu{host=~"$host"}[$__interval])`},
				{RefID: "B", Range: true, Expr: `rate(x_total{host=~"${host}"}[$__rate_interval])`},
			}}}},
			{Title: "sli", MaxDataPoints: 100, Targets: []Target{{RefID: "A", Instant: true, Expr: `sum(increase(x_total[1w]))`}}},
		},
	}
	got, err := Replay(d, Datasource{TimeInterval: "10s"}, from, to, map[string][]string{"host": {"web-1", "db.2"}})
	if err != nil {
		t.Fatal(err)
	}
	// 6h and 333ms over 500 points is 43.2s: the browser rounds it to 30s
	// (under 45s), above the 10s timeInterval; the server's Calculate
	// rounds 43.2s to 30s too (at most 45s), above the safe interval
	// (21600s/11000 = 1.96s, rounded to 2s). $__rate_interval is
	// max(30s + 10s, 4 x 10s) = 40s. The range is aligned down to 30s.
	// The host values become a regular expression, the dot escaped.
	want := []Request{
		{Panel: "cpu", RefID: "A", Method: "POST", Path: "/api/v1/query_range", Form: url.Values{
			"query": {`avg_over_time(cpu{host=~"(web-1|db\\.2)"}[30s])`}, "start": {"1795932000"}, "end": {"1795953600"}, "step": {"30"}}},
		{Panel: "cpu", RefID: "B", Method: "POST", Path: "/api/v1/query_range", Form: url.Values{
			"query": {`rate(x_total{host=~"(web-1|db\\.2)"}[40s])`}, "start": {"1795932000"}, "end": {"1795953600"}, "step": {"30"}}},
		// An instant query is at the range's end as it is, milliseconds kept.
		{Panel: "sli", RefID: "A", Method: "POST", Path: "/api/v1/query", Form: url.Values{
			"query": {`sum(increase(x_total[1w]))`}, "time": {"1795953600.456"}}},
	}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("got\n%+v\nwant\n%+v", got, want)
	}

	vr, err := VariableRequests(d, from, to)
	if err != nil {
		t.Fatal(err)
	}
	wantV := []Request{{Panel: "variable host", Method: "GET", Path: "/api/v1/label/host/values",
		Form: url.Values{"start": {"1795932000"}, "end": {"1795953601"}}}}
	if !reflect.DeepEqual(vr, wantV) {
		t.Errorf("variables: got %+v, want %+v", vr, wantV)
	}
}

func TestReplayStep(t *testing.T) {
	end := time.Date(2026, 11, 29, 12, 0, 0, 0, time.UTC)
	cases := []struct {
		name         string
		rng          time.Duration
		mdp          int
		timeInterval string
		step, expr   string
		start        string
	}{
		// 7d over 100 points is 6048s: both sides round it to 2h (under
		// 2.5h); $__rate_interval is 2h + 10s, as Go writes a duration.
		{"week", 7 * 24 * time.Hour, 100, "10s", "7200", "[2h] [2h0m10s]", "1795348800"},
		// 1h over 500 is 7.2s: the browser's 5s is under the 10s
		// timeInterval, so 10s; the server keeps 10s (7.2s is under it).
		{"hour", time.Hour, 500, "10s", "10", "[10s] [40s]", "1795950000"},
		// No timeInterval: the browser's bound is 1ms, so 5s; the server
		// rounds 7.2s to 5s; $__rate_interval = max(5s + 15s, 60s).
		{"no timeInterval", time.Hour, 500, "", "5", "[5s] [1m0s]", "1795950000"},
		// 30d over 500 is 5184s: 1h on both sides (under 1.5h).
		{"month", 30 * 24 * time.Hour, 500, "10s", "3600", "[1h] [1h0m10s]", "1793361600"},
	}
	for _, c := range cases {
		d := &Dashboard{Panels: []*Panel{{Title: c.name, MaxDataPoints: c.mdp, Targets: []Target{{Range: true, Expr: "[$__interval] [$__rate_interval]"}}}}}
		got, err := Replay(d, Datasource{TimeInterval: c.timeInterval}, end.Add(-c.rng), end, nil)
		if err != nil {
			t.Fatal(err)
		}
		f := got[0].Form
		if f.Get("step") != c.step || f.Get("query") != c.expr || f.Get("start") != c.start || f.Get("end") != "1795953600" {
			t.Errorf("%s: step %s query %s start %s end %s; want %s %s %s 1795953600", c.name, f.Get("step"), f.Get("query"), f.Get("start"), f.Get("end"), c.step, c.expr, c.start)
		}
	}
}

// Grafana's own expectations for its server side, from
// pkg/promlib/models/query_test.go (TestParse, TestRateInterval and
// TestAlignTimeRange, the cases whose target has no min step of its own):
// an independent check of serverPrepare and alignTime.
func TestServerPrepareAsGrafanaTests(t *testing.T) {
	cases := []struct {
		name          string
		rng, interval time.Duration
		intervalMs    int64
		mdp           int64
		scrape, expr  string
		wantExpr      string
		wantStep      time.Duration
	}{
		{"parsing query model with step", 12 * time.Hour, time.Minute, 0, 1500, "15s", "go_goroutines", "go_goroutines", 30 * time.Second},
		{"without step parameter", time.Hour, time.Minute, 0, 1500, "15s", "go_goroutines", "go_goroutines", 15 * time.Second},
		{"low intervalFactor", 48 * time.Hour, time.Minute, 0, 1500, "15s", "go_goroutines", "go_goroutines", 2 * time.Minute},
		{"scrape-interval in the data source", 48 * time.Hour, time.Minute, 0, 1500, "240s", "go_goroutines", "go_goroutines", 4 * time.Minute},
		{"$__interval", 48 * time.Hour, time.Minute, 60000, 1500, "15s", `rate(ALERTS{job="test" [$__interval]})`, `rate(ALERTS{job="test" [2m]})`, 2 * time.Minute},
		{"$__interval_ms and $__interval", 48 * time.Hour, time.Minute, 60000, 1500, "15s",
			`rate(ALERTS{job="test" [$__interval_ms]}) + rate(ALERTS{job="test" [$__interval]})`, `rate(ALERTS{job="test" [120000]}) + rate(ALERTS{job="test" [2m]})`, 2 * time.Minute},
		{"$__range", 48 * time.Hour, time.Minute, 0, 1500, "15s", `rate(ALERTS{job="test" [$__range]})`, `rate(ALERTS{job="test" [172800s]})`, 2 * time.Minute},
		{"$__range_s below 0.5s", 40 * time.Millisecond, time.Minute, 0, 1500, "15s", `[$__range_s]`, `[0]`, 15 * time.Second},
		{"$__range_s between 1-0.5s", 800 * time.Millisecond, time.Minute, 0, 1500, "15s", `[$__range_s]`, `[1]`, 15 * time.Second},
		{"$__range_ms below 1s", 20 * time.Millisecond, time.Minute, 0, 1500, "15s", `[$__range_ms]`, `[20]`, 15 * time.Second},
		{"$__rate_interval_ms and $__rate_interval", 48 * time.Hour, 2 * time.Minute, 0, 1500, "15s",
			`rate(ALERTS{job="test" [$__rate_interval_ms]}) + rate(ALERTS{job="test" [$__rate_interval]})`, `rate(ALERTS{job="test" [135000]}) + rate(ALERTS{job="test" [2m15s]})`, 2 * time.Minute},
		{"minStep is auto, scrape 30s, 1 hour", time.Hour, 30 * time.Second, 30000, 1613, "30s",
			"sum(rate(process_cpu_seconds_total[$__rate_interval]))", "sum(rate(process_cpu_seconds_total[2m0s]))", 30 * time.Second},
		{"minStep is auto, scrape 15s, 5 minutes", 5 * time.Minute, 15 * time.Second, 15000, 1055, "15s",
			"sum(rate(cache_requests_total[$__rate_interval]))", "sum(rate(cache_requests_total[1m0s]))", 15 * time.Second},
	}
	for _, c := range cases {
		got, err := serverPrepare(c.expr, c.rng, c.interval, c.intervalMs, c.mdp, c.scrape)
		if err != nil {
			t.Fatal(err)
		}
		if got.expr != c.wantExpr || got.step != c.wantStep {
			t.Errorf("%s: %q step %s, want %q step %s", c.name, got.expr, got.step, c.wantExpr, c.wantStep)
		}
	}
	monday, thursday := int64(1704672000), int64(1704326400)
	for _, c := range []struct {
		t    time.Time
		step time.Duration
		want int64
		ns   int64
	}{
		{time.Unix(1664816826, 0), 10 * time.Second, 1664816820, 0},
		{time.Unix(1664816825, 5e6), 10 * time.Millisecond, 1664816825, 0},
		{time.Unix(monday, 0), 7 * 24 * time.Hour, thursday, 0},
	} {
		if got := alignTime(c.t, c.step); !got.Equal(time.Unix(c.want, c.ns)) {
			t.Errorf("alignTime(%v, %s) = %v, want %d", c.t, c.step, got, c.want)
		}
	}
}
