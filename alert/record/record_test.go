package record

import (
	"context"
	"fmt"
	"math"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/vigil-metrics/vigil/alert/config"
	"github.com/vigil-metrics/vigil/analyze"
	"github.com/vigil-metrics/vigil/internal/metricpath"
	"github.com/vigil-metrics/vigil/internal/store"
)

var at = time.Unix(1795946400, 0).UTC()

// source writes the fixture every expected value below is computed from:
//
//   - http_requests_total (a counter: the store keeps increments), service
//     api, one sample every 10s from at-110s to at: GET +60 each, POST +30
//     each. Over (at-1m, at] that is 6 samples: GET 360/60s = 6/s, POST
//     180/60s = 3/s.
//   - response_time_ms (a gauge) over the last 100s: endpoint /a of
//     service api takes 1..10, endpoint /b of service web 100 and 200.
//     /a: avg 5.5, max 10, p95 (type 7: rank (n-1)q = 9*0.95 = 8.55, between
//     the 9th and 10th smallest, 9 and 10) = 9 + 0.55*(10-9) = 9.55.
//     /b: p95 at rank 0.95 = 100 + 0.95*100 = 195.
//   - cpu_usage_percent (a gauge) with no service, host h: 1 and 3, avg 2.
func source(t *testing.T) (*analyze.DB, string) {
	t.Helper()
	ctx := context.Background()
	dir := t.TempDir()
	p := filepath.Join(dir, "src.db")
	st, err := store.Open(ctx, p, store.Options{})
	if err != nil {
		t.Fatal(err)
	}
	var s []store.Sample
	add := func(name string, typ store.Type, labels map[string]string, service string, ago time.Duration, v float64) {
		s = append(s, store.Sample{Name: name, Type: typ, Labels: labels, Service: service, TS: at.Add(-ago).UnixMilli(), Value: v})
	}
	for i := 0; i < 12; i++ {
		ago := time.Duration(i) * 10 * time.Second
		add("http_requests_total", store.Counter, map[string]string{"method": "GET"}, "api", ago, 60)
		add("http_requests_total", store.Counter, map[string]string{"method": "POST"}, "api", ago, 30)
	}
	for i := 1; i <= 10; i++ {
		add("response_time_ms", store.Gauge, map[string]string{"endpoint": "/a"}, "api", time.Duration(10-i)*10*time.Second, float64(i))
	}
	add("response_time_ms", store.Gauge, map[string]string{"endpoint": "/b"}, "web", 30*time.Second, 100)
	add("response_time_ms", store.Gauge, map[string]string{"endpoint": "/b"}, "web", 20*time.Second, 200)
	add("cpu_usage_percent", store.Gauge, map[string]string{"host": "h"}, "", 20*time.Second, 1)
	add("cpu_usage_percent", store.Gauge, map[string]string{"host": "h"}, "", 10*time.Second, 3)
	if _, err := st.Write(ctx, s); err != nil {
		t.Fatal(err)
	}
	st.Close()
	db, err := analyze.Open(ctx, []string{p}, analyze.Options{CacheDir: filepath.Join(dir, "cache")})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	return db, p
}

func recordStore(t *testing.T) (*store.Store, string) {
	t.Helper()
	p := filepath.Join(t.TempDir(), "record.db")
	st, err := store.Open(context.Background(), p, store.Options{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	return st, p
}

// written lists every sample of the store as "name{labels} service type ts=.. value".
func written(t *testing.T, st *store.Store) []string {
	t.Helper()
	rows, err := st.DBForTest().Query(`SELECT se.name, se.labels, se.service, se.type, s.ts, s.value
		FROM samples s JOIN series se ON se.id = s.series_id ORDER BY se.name, se.labels, se.service, s.ts, s.id`)
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	var out []string
	for rows.Next() {
		var name, labels, service, typ string
		var ts int64
		var v float64
		if err := rows.Scan(&name, &labels, &service, &typ, &ts, &v); err != nil {
			t.Fatal(err)
		}
		out = append(out, fmt.Sprintf("%s%s service=%q %s at%+ds %.10g", name, labels, service, typ, (ts-at.UnixMilli())/1000, v))
	}
	if err := rows.Err(); err != nil {
		t.Fatal(err)
	}
	return out
}

func count(t *testing.T, st *store.Store, table string) int {
	t.Helper()
	var n int
	if err := st.DBForTest().QueryRow("SELECT count(*) FROM " + table).Scan(&n); err != nil {
		t.Fatal(err)
	}
	return n
}

var rules = []config.RecordingRule{
	{Pos: config.Pos{Line: 1}, Source: "http_requests_total", Aggregation: "rate", Target: "job:http_requests:rate1m", Window: time.Minute},
	{Pos: config.Pos{Line: 2}, Source: "response_time_ms", Aggregation: "percentile", Percentile: 95, Target: "rt:p95", Window: 2 * time.Minute},
	{Pos: config.Pos{Line: 3}, MetricPath: "response_time_ms.avg by (service)", Target: "rt:avg_by_service", Window: 2 * time.Minute},
	{Pos: config.Pos{Line: 4}, MetricPath: "response_time_ms.max", Target: "rt:max", Window: 2 * time.Minute},
	{Pos: config.Pos{Line: 5}, Source: "cpu_usage_percent", Aggregation: "avg", Target: "cpu:avg", Window: 2 * time.Minute},
}

var want = []string{
	`cpu:avg{"host":"h"} service="" gauge at+0s 2`,
	`job:http_requests:rate1m{"method":"GET"} service="api" gauge at+0s 6`,
	`job:http_requests:rate1m{"method":"POST"} service="api" gauge at+0s 3`,
	`rt:avg_by_service{} service="api" gauge at+0s 5.5`,
	`rt:avg_by_service{} service="web" gauge at+0s 150`,
	`rt:max{} service="" gauge at+0s 200`,
	`rt:p95{"endpoint":"/a"} service="api" gauge at+0s 9.55`,
	`rt:p95{"endpoint":"/b"} service="web" gauge at+0s 195`,
}

func TestRecord(t *testing.T) {
	ctx := context.Background()
	db, _ := source(t)
	st, recPath := recordStore(t)
	sum, err := Record(ctx, WithStoreLabels(db, db.Stores), rules, at, st)
	if err != nil {
		t.Fatal(err)
	}
	if got := written(t, st); !reflect.DeepEqual(got, want) {
		t.Errorf("written:\n%s\nwant:\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
	if sum.Written != int64(len(want)) {
		t.Errorf("Written = %d, want %d", sum.Written, len(want))
	}
	paths := []string{
		"http_requests_total.rate by (method, service)",
		"response_time_ms.p95 by (endpoint, service)",
		"response_time_ms.avg by (service)",
		"response_time_ms.max",
		"cpu_usage_percent.avg by (host, service)",
	}
	for i, r := range sum.Rules {
		if r.Path != paths[i] || r.Target != rules[i].Target || r.Present != 0 || r.NotFinite != 0 || r.Written != r.Results {
			t.Errorf("rule %d: %+v, want path %q, every result written", i, r, paths[i])
		}
	}

	// The targets read back through analyze with the labels the source
	// results had, service included, and the values recorded.
	rdb, err := analyze.Open(ctx, []string{recPath}, analyze.Options{CacheDir: filepath.Join(t.TempDir(), "cache")})
	if err != nil {
		t.Fatal(err)
	}
	defer rdb.Close()
	for _, c := range []struct {
		target, source string
		window         time.Duration
	}{
		{"job:http_requests:rate1m.last by (method, service)", "http_requests_total.rate by (method, service)", time.Minute},
		{"rt:p95.last by (endpoint, service)", "response_time_ms.p95 by (endpoint, service)", 2 * time.Minute},
	} {
		got := eval(t, rdb, c.target, time.Second)
		want := eval(t, db, c.source, c.window)
		if fmt.Sprint(got) != fmt.Sprint(want) {
			t.Errorf("%s = %v, want the source's %v", c.target, got, want)
		}
	}
}

// eval answers path at at over window as "labels=value" pairs.
func eval(t *testing.T, q Querier, path string, window time.Duration) []string {
	t.Helper()
	e, err := metricpath.Parse(path)
	if err != nil {
		t.Fatal(err)
	}
	rs, err := q.Eval(context.Background(), e, analyze.Window{At: at, Length: window})
	if err != nil {
		t.Fatal(err)
	}
	var out []string
	for _, r := range rs {
		out = append(out, fmt.Sprintf("%v=%.10g", r.Labels, r.Value))
	}
	return out
}

// A second run at the same instant adds nothing; a run at the next tick
// adds the next points.
func TestRecordIdempotent(t *testing.T) {
	ctx := context.Background()
	db, _ := source(t)
	st, _ := recordStore(t)
	src := WithStoreLabels(db, db.Stores)
	if _, err := Record(ctx, src, rules, at, st); err != nil {
		t.Fatal(err)
	}
	sum, err := Record(ctx, src, rules, at, st)
	if err != nil {
		t.Fatal(err)
	}
	if sum.Written != 0 {
		t.Errorf("second run wrote %d samples, want 0", sum.Written)
	}
	present := 0
	for _, r := range sum.Rules {
		present += r.Present
		if r.Written != 0 || r.Present != r.Results {
			t.Errorf("second run, %s: %+v, want every result already present", r.Target, r)
		}
	}
	if present != len(want) {
		t.Errorf("present = %d, want %d", present, len(want))
	}
	if got := written(t, st); !reflect.DeepEqual(got, want) {
		t.Errorf("after two runs:\n%s\nwant:\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
	// The same store handle and a fresh one (another process) agree.
	st.Close()
	st2, err := store.Open(ctx, st.Path, store.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer st2.Close()
	if sum, err := Record(ctx, src, rules, at, st2); err != nil || sum.Written != 0 {
		t.Errorf("run from a fresh handle: wrote %d, err %v; want 0, nil", sum.Written, err)
	}
	next := at.Add(10 * time.Second)
	sum, err = Record(ctx, src, rules, next, st2)
	if err != nil {
		t.Fatal(err)
	}
	if sum.Written != int64(len(want)) {
		t.Errorf("next tick wrote %d, want %d", sum.Written, len(want))
	}
	if n := count(t, st2, "samples"); n != 2*len(want) {
		t.Errorf("%d samples after two ticks, want %d", n, 2*len(want))
	}
	if n := count(t, st2, "series"); n != len(want) {
		t.Errorf("%d series after two ticks, want %d (one per target label set)", n, len(want))
	}
}

// A rule that cannot be evaluated, or a target that cannot be written,
// writes nothing for any rule.
func TestRecordAtomic(t *testing.T) {
	ctx := context.Background()
	db, _ := source(t)
	src := WithStoreLabels(db, db.Stores)

	t.Run("eval error", func(t *testing.T) {
		st, _ := recordStore(t)
		bad := append(append([]config.RecordingRule{}, rules...),
			config.RecordingRule{Pos: config.Pos{Line: 9}, Source: "response_time_ms", Aggregation: "rate", Target: "rt:rate", Window: time.Minute})
		_, err := Record(ctx, src, bad, at, st)
		if err == nil || !strings.Contains(err.Error(), "line 9") || !strings.Contains(err.Error(), "gauge") {
			t.Fatalf("err = %v, want the rate of a gauge refused, naming line 9", err)
		}
		if n, m := count(t, st, "samples"), count(t, st, "series"); n != 0 || m != 0 {
			t.Errorf("%d samples, %d series written, want none", n, m)
		}
	})

	t.Run("write error", func(t *testing.T) {
		st, _ := recordStore(t)
		// rt:max is a counter here already: the last rule's target cannot
		// be a gauge, and the rules before it must not land either.
		if _, err := st.Write(ctx, []store.Sample{{Name: "rt:max", Type: store.Counter, TS: at.Add(-time.Hour).UnixMilli(), Value: 1}}); err != nil {
			t.Fatal(err)
		}
		_, err := Record(ctx, src, rules, at, st)
		if err == nil || !strings.Contains(err.Error(), "rt:max") || !strings.Contains(err.Error(), "counter") {
			t.Fatalf("err = %v, want rt:max refused as a counter", err)
		}
		if n, m := count(t, st, "samples"), count(t, st, "series"); n != 1 || m != 1 {
			t.Errorf("%d samples, %d series, want only the 1 and 1 there before", n, m)
		}
		// The failed run left nothing behind in the writer either: the
		// rules without the clash write all their series.
		ok := append(append([]config.RecordingRule{}, rules[:3]...), rules[4])
		sum, err := Record(ctx, src, ok, at, st)
		if err != nil {
			t.Fatal(err)
		}
		if sum.Written != int64(len(want)-1) {
			t.Errorf("wrote %d, want %d", sum.Written, len(want)-1)
		}
	})
}

func TestRecordNoData(t *testing.T) {
	ctx := context.Background()
	db, _ := source(t)
	src := WithStoreLabels(db, db.Stores)
	st, _ := recordStore(t)
	missing := []config.RecordingRule{
		{Pos: config.Pos{Line: 1}, Source: "no_such_metric", Aggregation: "avg", Target: "none:avg", Window: time.Minute},
		// The source exists, but has no samples in this window.
		{Pos: config.Pos{Line: 2}, MetricPath: "response_time_ms.avg", Target: "rt:old", Window: time.Minute},
	}
	sum, err := Record(ctx, src, missing, at.Add(time.Hour), st)
	if err != nil {
		t.Fatal(err)
	}
	for _, r := range sum.Rules {
		if !r.NoData() || r.Written != 0 {
			t.Errorf("%s: %+v, want no data, nothing written", r.Target, r)
		}
	}
	if !strings.Contains(sum.String(), "none:avg = no_such_metric.avg by (service): no data") {
		t.Errorf("summary does not say no data:\n%s", sum)
	}
	if n, m := count(t, st, "samples"), count(t, st, "series"); n != 0 || m != 0 {
		t.Errorf("%d samples, %d series written, want none", n, m)
	}

	// Beside a rule with data, the no-data rule writes nothing and the
	// other writes its series.
	sum, err = Record(ctx, src, append(missing[:1:1], rules[3]), at, st)
	if err != nil {
		t.Fatal(err)
	}
	if !sum.Rules[0].NoData() || sum.Rules[1].Written != 1 || sum.Written != 1 {
		t.Errorf("summary %+v, want rule 0 no data, rule 1 one sample", sum)
	}
}

// fake answers every path with fixed results and knows no labels.
type fake []analyze.Result

func (f fake) Eval(context.Context, *metricpath.Expr, analyze.Window) ([]analyze.Result, error) {
	return f, nil
}

func (fake) LabelNames(context.Context, string) ([]string, error) { return nil, nil }

// A result that is not a number gets no sample (a store holds finite
// values only); the others of the rule are still written.
func TestRecordNotFinite(t *testing.T) {
	st, _ := recordStore(t)
	src := fake{
		{Labels: map[string]string{"k": "nan"}, Value: math.NaN()},
		{Labels: map[string]string{"k": "inf"}, Value: math.Inf(1)},
		{Labels: map[string]string{"k": "ok"}, Value: 4},
	}
	r := []config.RecordingRule{{MetricPath: "x.avg by (k)", Target: "x:avg", Window: time.Minute}}
	sum, err := Record(context.Background(), src, r, at, st)
	if err != nil {
		t.Fatal(err)
	}
	if got := sum.Rules[0]; got.Results != 3 || got.NotFinite != 2 || got.Written != 1 {
		t.Errorf("summary %+v, want 3 results, 2 not finite, 1 written", got)
	}
	if got, want := written(t, st), []string{`x:avg{"k":"ok"} service="" gauge at+0s 4`}; !reflect.DeepEqual(got, want) {
		t.Errorf("written %v, want %v", got, want)
	}
	// Only NaN: nothing to write, and no transaction taken.
	sum, err = Record(context.Background(), fake{{Value: math.NaN()}}, r, at.Add(time.Minute), st)
	if err != nil || sum.Written != 0 || sum.Rules[0].NotFinite != 1 {
		t.Errorf("NaN only: %+v, %v; want nothing written", sum, err)
	}
}

func TestExpr(t *testing.T) {
	ctx := context.Background()
	labels := fakeLabels{"m": {"zone", "host", "service"}}
	for _, c := range []struct {
		rule config.RecordingRule
		want string
	}{
		{config.RecordingRule{Source: "m", Aggregation: "rate"}, "m.rate by (host, service, zone)"},
		{config.RecordingRule{Source: "m", Aggregation: "percentile", Percentile: 99.9}, "m.p99.9 by (host, service, zone)"},
		{config.RecordingRule{Source: "m", Aggregation: "percentile", Percentile: 50}, "m.p50 by (host, service, zone)"},
		{config.RecordingRule{Source: "other", Aggregation: "last"}, "other.last by (service)"},
		{config.RecordingRule{MetricPath: "a.increase by (x) / b.increase by (x)"}, "a.increase by (x) / b.increase by (x)"},
		{config.RecordingRule{MetricPath: "cpu"}, "cpu"},
	} {
		e, err := Expr(ctx, labels, &c.rule)
		if err != nil {
			t.Errorf("%+v: %v", c.rule, err)
			continue
		}
		if e.String() != c.want {
			t.Errorf("%+v: %s, want %s", c.rule, e, c.want)
		}
	}
	e, err := Expr(ctx, labels, &config.RecordingRule{Source: "m", Aggregation: "percentile", Percentile: 99.9})
	if err != nil || e.Num.Agg.Quantile != 0.999 {
		t.Errorf("p99.9: quantile %v, err %v; want exactly 0.999", e.Num.Agg.Quantile, err)
	}
	for _, r := range []config.RecordingRule{
		{Target: "t"},
		{Source: "m", Target: "t"},
		{Source: "m", Aggregation: "percentile", Target: "t"},
		{MetricPath: "m.bogus", Target: "t"},
	} {
		if _, err := Expr(ctx, labels, &r); err == nil {
			t.Errorf("%+v: no error", r)
		}
	}
}

type fakeLabels map[string][]string

func (fakeLabels) Eval(context.Context, *metricpath.Expr, analyze.Window) ([]analyze.Result, error) {
	return nil, nil
}

func (f fakeLabels) LabelNames(_ context.Context, m string) ([]string, error) { return f[m], nil }

func TestWithStoreLabels(t *testing.T) {
	db, p := source(t)
	src := WithStoreLabels(db, []string{p})
	for metric, want := range map[string][]string{
		"http_requests_total": {"method", "service"},
		"cpu_usage_percent":   {"host"},
		"no_such_metric":      {},
	} {
		got, err := src.LabelNames(context.Background(), metric)
		if err != nil {
			t.Fatal(err)
		}
		if !reflect.DeepEqual(got, want) {
			t.Errorf("LabelNames(%s) = %v, want %v", metric, got, want)
		}
	}
}
