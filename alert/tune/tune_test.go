package tune

import (
	"context"
	"math"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/vigil-metrics/vigil/alert/config"
	"github.com/vigil-metrics/vigil/analyze"
	"github.com/vigil-metrics/vigil/internal/store"
)

// at is the tuning instant: 2026-11-29T02:30:00Z.
var at = time.Date(2026, 11, 29, 2, 30, 0, 0, time.UTC)

func open(t testing.TB, samples []store.Sample) *analyze.DB {
	t.Helper()
	dir := t.TempDir()
	p := filepath.Join(dir, "v.db")
	s, err := store.Open(context.Background(), p, store.Options{})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := s.Write(context.Background(), samples); err != nil {
		t.Fatal(err)
	}
	s.Close()
	db, err := analyze.Open(context.Background(), []string{p}, analyze.Options{CacheDir: filepath.Join(dir, "cache")})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	return db
}

// perWindow puts one gauge sample of value vals[i] in window i of win, the
// last window ending at end: (end - (n-i)*win, end - (n-1-i)*win].
func perWindow(name string, end time.Time, win time.Duration, vals ...float64) []store.Sample {
	var out []store.Sample
	n := len(vals)
	for i, v := range vals {
		ts := end.Add(-time.Duration(n-1-i)*win - win/2)
		out = append(out, store.Sample{Name: name, Type: store.Gauge, TS: ts.UnixMilli(), Value: v})
	}
	return out
}

func rule(path, cond string, tn config.Tuning) *config.Rule {
	return &config.Rule{Name: "r", MetricPath: path, Condition: cond, EvaluationWindow: 5 * time.Minute, Dynamic: true, Tuning: tn}
}

func hourTuning() config.Tuning {
	tn := config.DefaultTuning()
	tn.BaselineWindow = time.Hour
	tn.MinSamples = 5
	return tn
}

func near(a, b float64) bool { return math.Abs(a-b) <= 1e-9*math.Max(1, math.Abs(b)) }

func one12() []float64 {
	var v []float64
	for i := 1; i <= 12; i++ {
		v = append(v, float64(i))
	}
	return v
}

// The default method: 12 five-minute windows over an hour with averages
// 1..12. numpy.percentile(range(1, 13), 95) = 11 + 0.45*(12-11) = 11.45
// (type 7: rank 11*0.95 = 10.45), x 1.2 = 13.74.
func TestPercentileDefault(t *testing.T) {
	db := open(t, perWindow("lat", at, 5*time.Minute, one12()...))
	r := rule("lat.avg", "greater_than", hourTuning())
	res, err := Tune(context.Background(), db, r, 10, at, time.Minute, false)
	if err != nil {
		t.Fatal(err)
	}
	if !near(res.New, 13.74) || !res.Applied || res.Samples != 12 || res.Method != "percentile" {
		t.Fatalf("got %+v, want 13.74 applied over 12 samples", res)
	}
	if !strings.Contains(res.Reason, "p95 of 12 values x 1.2 over 1h") || !strings.Contains(res.Reason, "moved 3.74 > hysteresis 0.1") {
		t.Errorf("reason %q", res.Reason)
	}
	t.Log(res.Reason)
}

// Hysteresis: from 13.7 the move (0.04) is within 0.1: not applied. From
// 13 it moved 0.74: more than 0.1, but not more than 10% of 13 (1.3);
// more than 5% (0.65).
func TestHysteresis(t *testing.T) {
	db := open(t, perWindow("lat", at, 5*time.Minute, one12()...))
	ctx := context.Background()
	tn := hourTuning()
	res, err := Tune(ctx, db, rule("lat.avg", "greater_than", tn), 13.7, at, time.Minute, false)
	if err != nil {
		t.Fatal(err)
	}
	if res.Applied || !near(res.New, 13.74) || !strings.Contains(res.Reason, "moved 0.04 <= hysteresis 0.1") {
		t.Errorf("from 13.7: %+v", res)
	}
	tn.HysteresisPercent = 10
	res, _ = Tune(ctx, db, rule("lat.avg", "greater_than", tn), 13, at, time.Minute, false)
	if res.Applied || !strings.Contains(res.Reason, "moved 0.74 <= hysteresis_percent 10% of 13") {
		t.Errorf("10%% from 13: %+v", res)
	}
	tn.HysteresisPercent = 5
	res, _ = Tune(ctx, db, rule("lat.avg", "greater_than", tn), 13, at, time.Minute, false)
	if !res.Applied {
		t.Errorf("5%% from 13: %+v", res)
	}
}

// Fewer values than min_samples keep the old threshold (New is still
// computed).
func TestTooFewSamples(t *testing.T) {
	db := open(t, perWindow("lat", at, 5*time.Minute, one12()...))
	tn := hourTuning()
	tn.MinSamples = 100
	res, err := Tune(context.Background(), db, rule("lat.avg", "greater_than", tn), 10, at, time.Minute, false)
	if err != nil {
		t.Fatal(err)
	}
	if res.Applied || res.Samples != 12 || !strings.HasPrefix(res.Reason, "12 samples < min_samples 100") || !near(res.New, 13.74) {
		t.Errorf("got %+v", res)
	}
	// No data at all.
	res, _ = Tune(context.Background(), db, rule("nothing.avg", "greater_than", tn), 10, at, time.Minute, false)
	if res.Applied || res.Samples != 0 || !math.IsNaN(res.New) || !strings.HasPrefix(res.Reason, "0 samples < min_samples 100") {
		t.Errorf("no data: %+v", res)
	}
}

// MAD ignores a spike that moves p95. Values 10 10 11 11 12 12 10 11 12 10
// 11 1000: sorted 10 x4, 11 x4, 12 x3, 1000; p95 (rank 10.45) = 12*0.55 +
// 1000*0.45 = 456.6, x 1.2 = 547.92. Median (rank 5.5) = 11; deviations 1
// x7, 0 x4, 989: median 1; 11 + 3*1 = 14. less_than: 11 - 3 = 8.
func TestMADIgnoresSpike(t *testing.T) {
	db := open(t, perWindow("lat", at, 5*time.Minute, 10, 10, 11, 11, 12, 12, 10, 11, 12, 10, 11, 1000))
	ctx := context.Background()
	tn := hourTuning()
	p, _ := Tune(ctx, db, rule("lat.avg", "greater_than", tn), 10, at, time.Minute, false)
	if !near(p.New, 547.92) {
		t.Errorf("p95 = %v, want 547.92", p.New)
	}
	tn.Method = "mad"
	m, _ := Tune(ctx, db, rule("lat.avg", "greater_than", tn), 10, at, time.Minute, false)
	if m.New != 14 || !m.Applied || !strings.Contains(m.Reason, "median + 3 x MAD of 12 values") {
		t.Errorf("mad = %+v, want 14", m)
	}
	low, _ := Tune(ctx, db, rule("lat.avg", "less_than", tn), 10, at, time.Minute, false)
	if low.New != 8 || !strings.Contains(low.Reason, "median - 3 x MAD") {
		t.Errorf("mad less_than = %+v, want 8", low)
	}
}

// less_than rules take the low tail divided by the factor: p5 of 1..12
// (rank 0.55) = 1*0.45 + 2*0.55 = 1.55, / 1.2 = 1.291666...
func TestLessThanLowTail(t *testing.T) {
	db := open(t, perWindow("lat", at, 5*time.Minute, one12()...))
	res, err := Tune(context.Background(), db, rule("lat.avg", "less_than", hourTuning()), 5, at, time.Minute, false)
	if err != nil {
		t.Fatal(err)
	}
	if !near(res.New, 1.55/1.2) || !res.Applied || !strings.Contains(res.Reason, "p5 of 12 values / 1.2") {
		t.Errorf("got %+v, want %v", res, 1.55/1.2)
	}
}

// Seasonal: three days of hourly values, hour 02 at 100, 101, 102 (days
// 0, 1, 2), every other hour at 10, 11, 12. At 02:30 the slot is hour 02:
// p95 of 100, 101, 102 (rank 1.9) = 101.9, x 1.2 = 122.28; at 14:30 it is
// hour 14: 11.9 x 1.2 = 14.28. With two days it falls back to the
// percentile of everything.
func TestSeasonalDaily(t *testing.T) {
	var s []store.Sample
	start := at.Add(-72 * time.Hour)
	for k := 0; k < 72; k++ {
		ts := start.Add(time.Duration(k)*time.Hour + 50*time.Minute) // in the hour window ending at HH:30
		v := 10 + float64(k/24)
		if ts.Hour() == 2 {
			v += 90
		}
		s = append(s, store.Sample{Name: "q", Type: store.Gauge, TS: ts.UnixMilli(), Value: v})
	}
	db := open(t, s)
	ctx := context.Background()
	tn := config.DefaultTuning()
	tn.Method, tn.MinSamples = "seasonal", 3
	r := rule("q.avg", "greater_than", tn)
	r.EvaluationWindow = time.Hour
	hi, err := Tune(ctx, db, r, 50, at, time.Minute, false)
	if err != nil {
		t.Fatal(err)
	}
	if !near(hi.New, 122.28) || hi.Samples != 3 || !strings.Contains(hi.Reason, "in hour 02 (UTC)") {
		t.Errorf("at 02:30: %+v, want 122.28", hi)
	}
	// 12 hours later the last 12 windows are empty; the data still spans
	// 3 days (84h from its first window).
	lo, _ := Tune(ctx, db, r, 50, at.Add(12*time.Hour), time.Minute, false)
	if !near(lo.New, 14.28) || !strings.Contains(lo.Reason, "in hour 14 (UTC)") {
		t.Errorf("at 14:30: %+v, want 14.28", lo)
	}
	// Two days of history (the last 48 hours): fall back.
	r.Tuning.BaselineWindow = 48 * time.Hour
	fb, _ := Tune(ctx, db, r, 50, at, time.Minute, false)
	if !strings.Contains(fb.Reason, "seasonal needs 3 days of history, have 2: fell back to percentile") || fb.Samples != 48 {
		t.Errorf("two days: %+v", fb)
	}
	t.Log(hi.Reason, "|", fb.Reason)
}

// Backtest on known crossings: one sample a minute at 5, with 20 at steps
// 10-12, 30 and 40-44 of 60 (1m windows, 1m interval). Threshold 10 with
// for 2m: pending at 10, 11, firing at 12 (2m after 10), resolved at 13;
// 30 never fires; 40, 41 pending, 42-44 firing: 2 fires, 4 steps = 240 s.
// The new threshold (p95 of 51 x 5 and 9 x 20 = 20, x 1.2 = 24) never
// fires. With for 0: 3 fires, 9 steps = 540 s.
func TestBacktest(t *testing.T) {
	vals := make([]float64, 60)
	for j := range vals {
		vals[j] = 5
		if j >= 10 && j <= 12 || j == 30 || j >= 40 && j <= 44 {
			vals[j] = 20
		}
	}
	db := open(t, perWindow("e", at, time.Minute, vals...))
	tn := hourTuning()
	r := rule("e.max", "greater_than", tn)
	r.EvaluationWindow, r.For = time.Minute, 2*time.Minute
	res, err := Tune(context.Background(), db, r, 10, at, time.Minute, true)
	if err != nil {
		t.Fatal(err)
	}
	want := Backtest{OldFires: 2, OldFiringSeconds: 240, NewFires: 0, NewFiringSeconds: 0}
	if res.Backtest == nil || *res.Backtest != want || res.New != 24 {
		t.Errorf("got %+v %+v, want %+v and new 24", res, res.Backtest, want)
	}
	r.For = 0
	res, _ = Tune(context.Background(), db, r, 10, at, time.Minute, true)
	want = Backtest{OldFires: 3, OldFiringSeconds: 540}
	if *res.Backtest != want {
		t.Errorf("for 0: %+v, want %+v", res.Backtest, want)
	}
	// A 3m window slid every minute: the rule's max over the last three
	// minutes is 20 at steps 10-14, 30-32 and 40-46; for 2m fires at 12,
	// 32 and 42: 3 fires, 3 + 1 + 5 = 9 steps = 540 s.
	r.For, r.EvaluationWindow = 2*time.Minute, 3*time.Minute
	res, _ = Tune(context.Background(), db, r, 10, at, time.Minute, true)
	if res.Backtest.OldFires != 3 || res.Backtest.OldFiringSeconds != 540 {
		t.Errorf("3m window: %+v", res.Backtest)
	}
	t.Log(res.Reason)
}
