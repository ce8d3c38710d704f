package collect

import (
	"context"
	"database/sql"
	"errors"
	"math"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil"
	dto "github.com/prometheus/client_model/go"
)

// counterFam is a gathered counter family of one series holding v.
func counterFam(name string, v float64, labels ...string) []*dto.MetricFamily {
	m := &dto.Metric{Counter: &dto.Counter{Value: ptr(v)}}
	for i := 0; i+1 < len(labels); i += 2 {
		m.Label = append(m.Label, &dto.LabelPair{Name: ptr(labels[i]), Value: ptr(labels[i+1])})
	}
	return []*dto.MetricFamily{{Name: ptr(name), Type: dto.MetricType_COUNTER.Enum(), Metric: []*dto.Metric{m}}}
}

// A gathered counter that reads +Inf once (a broken collector, a glitch)
// and then a finite value again: the +Inf reading is no reading, as a NaN
// is, so the next finite one counts against the last finite one. The sum
// of the stored increments is the counter's increase, as Prometheus's
// increase() makes of every window without the +Inf sample (one with it
// is +Inf there, which the store cannot hold): 10 -> +Inf -> 10 is an
// increase of 10, not 20; 10 -> +Inf -> 15 is 15; 10 -> +Inf -> 3 is a
// reset, 13.
func TestGatheredCounterThroughInfCountedOnce(t *testing.T) {
	for _, tc := range []struct {
		after float64
		want  string
	}{{10, "10"}, {15, "15"}, {3, "13"}} {
		r, _ := newRecorder(t, Options{Service: "app"})
		ctx := context.Background()
		for _, v := range []float64{10, math.Inf(1), tc.after, math.Inf(-1), tc.after} {
			g := prometheus.GathererFunc(func() ([]*dto.MetricFamily, error) { return counterFam("glitch_total", v), nil })
			if err := r.RecordGatherer(ctx, g); err != nil {
				t.Fatalf("record %v: %v", v, err)
			}
			if err := r.Flush(ctx); err != nil {
				t.Fatal(err)
			}
		}
		got := rows(t, r, `SELECT coalesce(sum(s.value), 0) FROM samples s JOIN series x ON x.id = s.series_id WHERE x.name = 'glitch_total'`)
		if len(got) != 1 || got[0] != tc.want {
			t.Errorf("10 -> +Inf -> %v -> -Inf -> %v: stored increase %v, want %s", tc.after, tc.after, got, tc.want)
		}
	}
}

// seriesOf lists the stored series of name as "labels=sum".
func seriesOf(t *testing.T, r *Recorder, name string) []string {
	t.Helper()
	return rows(t, r, `SELECT x.labels || '=' || coalesce(sum(s.value), 0) FROM series x LEFT JOIN samples s ON s.series_id = x.id WHERE x.name = '`+name+`' GROUP BY x.id ORDER BY x.labels`)
}

// A label with an empty value is no label, as Prometheus reads it: {a=""}
// and {} are one series on every path (the map form, ConstLabels, a vec's
// WithLabelValues, Add, AddBatch, a gatherer), in memory, in the store and
// on /metrics.
func TestEmptyLabelValueIsAbsent(t *testing.T) {
	r, _ := newRecorder(t, Options{Service: "app", ConstLabels: map[string]string{"env": ""}})
	ctx := context.Background()
	r.Counter("jobs_total", nil).Inc()
	r.Counter("jobs_total", map[string]string{"queue": ""}).Inc()
	must(r.NewCounter("jobs_total", map[string]string{"queue": "", "env": ""})).Inc()
	v := r.MustCounterVec(Opts{Name: "jobs_total"}, []string{"queue"})
	v.WithLabelValues("").Inc()
	must(v.GetMetricWithLabelValues("")).Inc()
	v.WithLabelValues("mail").Inc()
	r.Counter("jobs_total", map[string]string{"queue": "mail", "result": ""}).Inc()
	if err := r.Add(Sample{Name: "jobs_total", Type: TypeCounter, Labels: map[string]string{"queue": ""}, Service: "app", TS: 1, Value: 1}); err != nil {
		t.Fatal(err)
	}
	if err := r.AddBatch([]Sample{{Name: "jobs_total", Type: TypeCounter, Labels: map[string]string{"queue": "", "x": ""}, Service: "app", TS: 1, Value: 1}}); err != nil {
		t.Fatal(err)
	}
	if n := r.Stats().Series; n != 2 {
		t.Errorf("Stats().Series = %d, want 2 ({} and {queue=mail})", n)
	}
	if err := r.Flush(ctx); err != nil {
		t.Fatal(err)
	}
	got := seriesOf(t, r, "jobs_total")
	want := []string{`{"queue":"mail"}=2.0`, `{}=7.0`}
	if len(got) != 2 || got[0] != want[0] || got[1] != want[1] {
		t.Errorf("stored series %q, want %q", got, want)
	}
	fams, _ := r.Gather()
	if len(fams) != 1 || len(fams[0].Metric) != 2 || len(fams[0].Metric[0].Label) != 0 || fams[0].Metric[0].GetCounter().GetValue() != 6 {
		t.Errorf("gathered %v, want jobs_total 6 (5 handles, 1 Add) and jobs_total{queue=\"mail\"} 2", fams)
	}

	// A gatherer's {a=""} is its {}: one series, one baseline.
	g := prometheus.GathererFunc(func() ([]*dto.MetricFamily, error) {
		return counterFam("ext_total", 4, "a", ""), nil
	})
	for range 2 {
		if err := r.RecordGatherer(ctx, g); err != nil {
			t.Fatal(err)
		}
	}
	if err := r.Flush(ctx); err != nil {
		t.Fatal(err)
	}
	if got := seriesOf(t, r, "ext_total"); len(got) != 1 || got[0] != `{}=4.0` {
		t.Errorf("gathered ext_total{a=\"\"} stored as %q, want [{}=4.0]", got)
	}
}

// The Recorder's own series {} served by a registry with an empty label
// (a="") is still its own: skipped, not recorded a second time.
func TestGatheredOwnSeriesWithEmptyLabel(t *testing.T) {
	r, _ := newRecorder(t, Options{Service: "app"})
	ctx := context.Background()
	r.Counter("own_total", nil).Add(3)
	g := prometheus.GathererFunc(func() ([]*dto.MetricFamily, error) {
		return counterFam("own_total", 3, "a", ""), nil
	})
	if err := r.RecordGatherer(ctx, g); err != nil {
		t.Fatal(err)
	}
	if err := r.Flush(ctx); err != nil {
		t.Fatal(err)
	}
	if got := seriesOf(t, r, "own_total"); len(got) != 1 || got[0] != `{}=3.0` {
		t.Errorf("own_total stored %q, want [{}=3.0] (the gathered copy skipped)", got)
	}
}

// A vec made twice with the same name, type and label names is the same
// vec (as Counter gives the same series twice): a constructor called per
// request holds no new vec each time. Other label names, or the same in
// another order, are another vec of the name.
func TestSameVecTwiceIsOneVec(t *testing.T) {
	r, _ := newRecorder(t, Options{Service: "app"})
	a := r.MustCounterVec(Opts{Name: "jobs_total", Help: "Jobs."}, []string{"queue", "result"})
	for range 100 {
		if b := r.MustCounterVec(Opts{Name: "jobs_total", Help: "Jobs."}, []string{"queue", "result"}); b != a {
			t.Fatalf("second NewCounterVec of the same options = %p, want the first, %p", b, a)
		}
	}
	g := r.MustGaugeVec(Opts{Name: "depth"}, []string{"queue"})
	if g2 := r.MustGaugeVec(Opts{Name: "depth"}, []string{"queue"}); g2 != g {
		t.Error("second NewGaugeVec of the same options is another vec")
	}
	h := r.MustHistogramVec(Opts{Name: "wait_seconds"}, nil)
	if h2 := r.MustHistogramVec(Opts{Name: "wait_seconds"}, nil); h2 != h {
		t.Error("second NewHistogramVec of the same options is another vec")
	}
	if c := r.MustCounterVec(Opts{Name: "jobs_total"}, []string{"result", "queue"}); c == a {
		t.Error("label names in another order gave the same vec: its values would land on the wrong names")
	}
	r.smu.RLock()
	n := len(r.vecs)
	r.smu.RUnlock()
	if n != 4 {
		t.Errorf("%d vecs held, want 4", n)
	}
	if _, err := r.NewGaugeVec(Opts{Name: "jobs_total"}, []string{"queue", "result"}); !errors.Is(err, ErrTypeConflict) {
		t.Errorf("the same name and labels as a gauge: %v, want ErrTypeConflict", err)
	}
}

// The same gatherer listed twice in Options.Gatherers is gathered once
// per flush (and the mistake logged): a registry listed twice would
// otherwise store each gauge twice a flush.
func TestSameGathererListedTwice(t *testing.T) {
	reg := prometheus.NewRegistry()
	depth := prometheus.NewGauge(prometheus.GaugeOpts{Name: "queue_depth"})
	reg.MustRegister(depth)
	depth.Set(7)
	counted := &countingGatherer{}
	other := prometheus.GathererFunc(func() ([]*dto.MetricFamily, error) { return counterFam("other_total", 1), nil })
	// A func or a slice (not comparable) is never taken for a repeat.
	r, log := logRecorder(t, Options{Service: "app", Gatherers: []prometheus.Gatherer{reg, counted, reg, counted, other, prometheus.Gatherers{}}})
	if err := r.Flush(context.Background()); err != nil {
		t.Fatal(err)
	}
	if counted.calls != 1 {
		t.Errorf("a gatherer listed twice was called %d times a flush, want 1", counted.calls)
	}
	if got := sumOf(t, r, "queue_depth"); got != "1|7.0" {
		t.Errorf("queue_depth stored %s, want 1|7.0", got)
	}
	if got := sumOf(t, r, "other_total"); got != "1|1.0" {
		t.Errorf("other_total stored %s, want 1|1.0", got)
	}
	if n := linesWith(log.String(), "listed twice"); n != 1 {
		t.Errorf("%d log lines name the repeated gatherers, want 1:\n%s", n, log)
	}
}

type countingGatherer struct{ calls int }

func (c *countingGatherer) Gather() ([]*dto.MetricFamily, error) { c.calls++; return nil, nil }

// The Recorder stays an unchecked collector (a guard of the choice, not a
// fix): a pedantic registry, testutil.CollectAndCount's, takes it, and the
// Recorder registered twice in one registry is reported by Gather.
func TestRecorderRegisteredTwiceReportedAtGather(t *testing.T) {
	r, _ := newRecorder(t, Options{Service: "app"})
	r.Counter("jobs_total", nil).Inc()
	if n := testutil.CollectAndCount(r); n != 1 {
		t.Errorf("CollectAndCount = %d, want 1", n)
	}
	reg := prometheus.NewRegistry()
	reg.MustRegister(r)
	if err := reg.Register(r); err != nil {
		t.Skipf("client_golang now refuses an unchecked collector twice: %v", err)
	}
	if _, err := reg.Gather(); err == nil || !strings.Contains(err.Error(), "collected before") {
		t.Errorf("Gather of a registry holding the Recorder twice: %v, want the repeat reported", err)
	}
}

// lockStore holds the store's write lock from another connection until
// the returned func is called.
func lockStore(t *testing.T, r *Recorder) (unlock func()) {
	t.Helper()
	h, err := sql.Open("sqlite", r.storeNow().Path)
	if err != nil {
		t.Fatal(err)
	}
	conn, err := h.Conn(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	if _, err := conn.ExecContext(context.Background(), "BEGIN EXCLUSIVE"); err != nil {
		t.Fatal(err)
	}
	return func() {
		conn.ExecContext(context.Background(), "ROLLBACK")
		conn.Close()
		h.Close()
	}
}

// Flush honours its context's deadline while another process holds the
// store's write lock (SQLite would wait its 10s busy timeout), whether the
// wait is Flush's own or the background flusher's, which holds the
// Recorder's one writer slot while it waits: Flush returns the context's
// error within about the deadline, the samples stay buffered, and a later
// Flush writes every one of them.
func TestFlushDeadlineWhileStoreLocked(t *testing.T) {
	for _, interval := range []time.Duration{-1, 20 * time.Millisecond} {
		r, _ := newRecorder(t, Options{FlushInterval: interval})
		unlock := lockStore(t, r)
		for i := range 5 {
			if err := r.Add(Sample{Name: "locked_g", Type: TypeGauge, TS: int64(1000 * (i + 1)), Value: float64(i)}); err != nil {
				t.Fatal(err)
			}
		}
		time.Sleep(100 * time.Millisecond) // a background flusher now waits on the lock
		ctx, cancel := context.WithTimeout(context.Background(), 300*time.Millisecond)
		began := time.Now()
		err := r.Flush(ctx)
		took := time.Since(began)
		cancel()
		if !errors.Is(err, context.DeadlineExceeded) || took > 2*time.Second {
			t.Errorf("interval %v: Flush = %v after %v; want context.DeadlineExceeded within about 300ms", interval, err, took)
		}
		if n := r.Stats().Buffered; n != 5 {
			t.Errorf("interval %v: %d samples buffered after the cut Flush, want 5", interval, n)
		}
		unlock()
		if err := r.Flush(context.Background()); err != nil {
			t.Fatalf("interval %v: Flush after the lock went: %v", interval, err)
		}
		if got := sumOf(t, r, "locked_g"); got != "5|10.0" {
			t.Errorf("interval %v: locked_g stored %s, want 5|10.0 (nothing lost)", interval, got)
		}
	}
}

// Two gatherers serving the same series keep a baseline each: the store
// gets each one's increase (their sum), not the jumps between one's total
// and the other's read as increases and resets.
func TestTwoGatherersSameSeriesOwnBaselines(t *testing.T) {
	newReg := func(start float64) (*prometheus.Registry, prometheus.Counter) {
		reg := prometheus.NewRegistry()
		c := prometheus.NewCounter(prometheus.CounterOpts{Name: "dup_total"})
		reg.MustRegister(c)
		c.Add(start)
		return reg, c
	}
	regA, a := newReg(10)
	regB, b := newReg(3)
	ctx := context.Background()
	r, _ := newRecorder(t, Options{Service: "app", Gatherers: []prometheus.Gatherer{regA, regB}})
	for range 3 {
		if err := r.Flush(ctx); err != nil {
			t.Fatal(err)
		}
		a.Inc()
		b.Inc()
	}
	// Called by hand too, with the same registries: the same baselines.
	for _, g := range []prometheus.Gatherer{regB, regA} {
		if err := r.RecordGatherer(ctx, g); err != nil {
			t.Fatal(err)
		}
	}
	if err := r.Flush(ctx); err != nil {
		t.Fatal(err)
	}
	// a: 10 -> 13, b: 3 -> 6, each counted from zero: 13 + 6.
	got := rows(t, r, `SELECT coalesce(sum(s.value), 0) FROM samples s JOIN series x ON x.id = s.series_id WHERE x.name = 'dup_total'`)
	if len(got) != 1 || got[0] != "19" {
		t.Errorf("dup_total stored increase %v, want 19 (13 from one registry, 6 from the other)", got)
	}
}

// A series RecordGatherer records is the gatherer's: a handle made for it
// (the map form, a vec) is refused (ErrGathered) instead of landing on it,
// where its increments would mix with the gathered ones and never show on
// the Recorder's /metrics (which leaves gathered series out).
func TestHandleForGatheredSeriesRefused(t *testing.T) {
	r, _ := newRecorder(t, Options{Service: "app"})
	ctx := context.Background()
	reg := prometheus.NewRegistry()
	c := prometheus.NewCounterVec(prometheus.CounterOpts{Name: "ext_total"}, []string{"k"})
	reg.MustRegister(c)
	c.WithLabelValues("v").Add(5)
	if err := r.RecordGatherer(ctx, reg); err != nil {
		t.Fatal(err)
	}
	if _, err := r.NewCounter("ext_total", map[string]string{"k": "v"}); !errors.Is(err, ErrGathered) {
		t.Errorf("NewCounter of a gathered series: %v, want ErrGathered", err)
	}
	v := r.MustCounterVec(Opts{Name: "ext_total"}, []string{"k"})
	if _, err := v.GetMetricWithLabelValues("v"); !errors.Is(err, ErrGathered) {
		t.Errorf("GetMetricWithLabelValues of a gathered series: %v, want ErrGathered", err)
	}
	v.WithLabelValues("v").Inc()
	r.Counter("ext_total", map[string]string{"k": "v"}).Inc()
	if n := r.Stats().Invalid; n != 2 {
		t.Errorf("Stats().Invalid = %d, want 2 (the two refused increments)", n)
	}
	r.Counter("ext_total", map[string]string{"k": "mine"}).Inc() // another series: the Recorder's
	c.WithLabelValues("v").Add(1)
	if err := r.RecordGatherer(ctx, reg); err != nil {
		t.Fatal(err)
	}
	if err := r.Flush(ctx); err != nil {
		t.Fatal(err)
	}
	got := seriesOf(t, r, "ext_total")
	if len(got) != 2 || got[0] != `{"k":"mine"}=1.0` || got[1] != `{"k":"v"}=6.0` {
		t.Errorf("stored %q, want [{\"k\":\"mine\"}=1.0 {\"k\":\"v\"}=6.0] (the gatherer's 6 alone)", got)
	}
}

// ForgetIdle running between RecordGatherer's gather (of a registry the
// Recorder is registered in, so it serves the Recorder's own series) and
// its check of what is the Recorder's own must not make an own series
// look gathered: it would be stored a second time, its whole total
// counted again.
func TestForgetIdleDuringGatherCountsOnce(t *testing.T) {
	r, _ := newRecorder(t, Options{Service: "app"})
	ctx := context.Background()
	reg := prometheus.NewRegistry()
	reg.MustRegister(r)
	r.Counter("own_total", nil).Add(3)
	if err := r.Flush(ctx); err != nil {
		t.Fatal(err)
	}
	forgot := make(chan int, 1)
	g := prometheus.GathererFunc(func() ([]*dto.MetricFamily, error) {
		fams, err := reg.Gather()
		go func() { forgot <- r.ForgetIdle(0) }()
		select { // ForgetIdle runs now, or waits for RecordGatherer
		case n := <-forgot:
			forgot <- n
		case <-time.After(200 * time.Millisecond):
		}
		return fams, err
	})
	if err := r.RecordGatherer(ctx, g); err != nil {
		t.Fatal(err)
	}
	<-forgot
	if err := r.Flush(ctx); err != nil {
		t.Fatal(err)
	}
	if got := sumOf(t, r, "own_total"); got != "1|3.0" {
		t.Errorf("own_total stored %s, want 1|3.0 (the handle's increments alone)", got)
	}
}

// A native histogram (no classic buckets) is stored as its +Inf bucket,
// _sum and _count only, as docs/library.md says: its exponential buckets
// have no le a classic series could take. (It pins the documented limit.)
func TestGatheredNativeHistogramKeepsCountAndSum(t *testing.T) {
	r, _ := newRecorder(t, Options{Service: "app"})
	ctx := context.Background()
	reg := prometheus.NewRegistry()
	h := prometheus.NewHistogram(prometheus.HistogramOpts{Name: "lat_seconds", NativeHistogramBucketFactor: 1.1})
	reg.MustRegister(h)
	for _, v := range []float64{0.1, 0.2, 3} {
		h.Observe(v)
	}
	if err := r.RecordGatherer(ctx, reg); err != nil {
		t.Fatal(err)
	}
	if err := r.Flush(ctx); err != nil {
		t.Fatal(err)
	}
	got := rows(t, r, `SELECT x.name || x.labels || '=' || sum(s.value) FROM series x JOIN samples s ON s.series_id = x.id WHERE x.name LIKE 'lat_seconds%' GROUP BY x.id ORDER BY x.name, x.labels`)
	want := []string{`lat_seconds_bucket{"le":"+Inf"}=3.0`, `lat_seconds_count{}=3.0`, `lat_seconds_sum{}=3.3`}
	if strings.Join(got, " ") != strings.Join(want, " ") {
		t.Errorf("stored %q, want %q", got, want)
	}
}

// Flush's deadline holds through the gathering it starts too: a registry
// bigger than MaxBuffer is recorded in parts, each written before the
// next is queued, and that write waits on the locked store under Flush's
// context, not the Recorder's own.
func TestFlushDeadlineWhileGatheringInParts(t *testing.T) {
	// With an interval, the background flusher is itself in such a write
	// (holding the gathering's turn) when Flush comes.
	for _, interval := range []time.Duration{-1, 20 * time.Millisecond} {
		reg := prometheus.NewRegistry()
		g := prometheus.NewGaugeVec(prometheus.GaugeOpts{Name: "part_g"}, []string{"i"})
		reg.MustRegister(g)
		for i := range 5 {
			g.WithLabelValues(strconv.Itoa(i)).Set(1)
		}
		r, _ := newRecorder(t, Options{BufferSize: 2, MaxBuffer: 2, FlushInterval: interval, Gatherers: []prometheus.Gatherer{reg}})
		unlock := lockStore(t, r)
		time.Sleep(100 * time.Millisecond)
		ctx, cancel := context.WithTimeout(context.Background(), 300*time.Millisecond)
		began := time.Now()
		err := r.Flush(ctx)
		took := time.Since(began)
		cancel()
		if err == nil || took > 2*time.Second {
			t.Errorf("interval %v: Flush = %v after %v; want an error within about 300ms", interval, err, took)
		}
		unlock()
		for range 2 { // the first may find the buffer full of the cut flush's part
			r.Flush(context.Background())
		}
		if got := rows(t, r, `SELECT count(DISTINCT s.series_id) FROM samples s JOIN series x ON x.id = s.series_id WHERE x.name = 'part_g'`); len(got) != 1 || got[0] != "5" {
			t.Errorf("interval %v: part_g: %v series stored, want all 5", interval, got)
		}
	}
}
