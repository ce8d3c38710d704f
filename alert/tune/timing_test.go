package tune

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"testing"
	"time"

	"github.com/vigil-metrics/vigil/alert/config"
	"github.com/vigil-metrics/vigil/analyze"
	"github.com/vigil-metrics/vigil/internal/store"
)

// TestTimingHundredRules times Tune for 100 rules over 7 days of 100
// series at 10 s (6,048,000 samples) on a warm DB (opened and synced
// first). It writes a store of about 6M rows, so it runs only with
// VIGIL_TUNE_TIMING=1 (VIGIL_TUNE_TIMING_STORE keeps the store between
// runs).
func TestTimingHundredRules(t *testing.T) {
	if os.Getenv("VIGIL_TUNE_TIMING") == "" {
		t.Skip("set VIGIL_TUNE_TIMING=1")
	}
	ctx := context.Background()
	p := os.Getenv("VIGIL_TUNE_TIMING_STORE")
	if p == "" {
		p = filepath.Join(t.TempDir(), "v.db")
	}
	if _, err := os.Stat(p); err != nil {
		t0 := time.Now()
		s, err := store.Open(ctx, p, store.Options{})
		if err != nil {
			t.Fatal(err)
		}
		start := at.Add(-7 * 24 * time.Hour)
		var batch []store.Sample
		k := 0
		for ts := start.Add(10 * time.Second); !ts.After(at); ts = ts.Add(10 * time.Second) {
			for h := 0; h < 100; h++ {
				k++
				v := float64((k*7919)%1000) / 10
				batch = append(batch, store.Sample{Name: "m", Type: store.Gauge, Labels: map[string]string{"h": strconv.Itoa(h)}, TS: ts.UnixMilli(), Value: v})
			}
			if len(batch) >= 200000 {
				if _, err := s.Write(ctx, batch); err != nil {
					t.Fatal(err)
				}
				batch = batch[:0]
			}
		}
		if _, err := s.Write(ctx, batch); err != nil {
			t.Fatal(err)
		}
		s.Close()
		t.Logf("wrote %d samples in %s", k, time.Since(t0))
	}
	t0 := time.Now()
	db, err := analyze.Open(ctx, []string{p}, analyze.Options{CacheDir: filepath.Join(filepath.Dir(p), "cache")})
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	t.Logf("open and sync: %s", time.Since(t0))
	aggs := []string{"avg", "p95", "max by (h)", "p99 by (h)", "count_le(50)", "last by (h)", "sum", "min by (h)", "p50", "avg by (h)"}
	var rules []config.Rule
	for i := 0; i < 100; i++ {
		rules = append(rules, config.Rule{Name: fmt.Sprintf("r%d", i), MetricPath: fmt.Sprintf("m{h!=\"x%d\"}.%s", i, aggs[i%len(aggs)]),
			Condition: "greater_than", EvaluationWindow: 5 * time.Minute, Tuning: config.DefaultTuning()})
	}
	var cold time.Duration
	for _, bt := range []bool{false, true} {
		n := len(rules)
		if bt {
			n = 10 // backtests: 10 rules, extrapolated
		}
		t0 = time.Now()
		for i := 0; i < n; i++ {
			res, err := Tune(ctx, db, &rules[i], 50, at, time.Minute, bt)
			if err != nil {
				t.Fatal(err)
			}
			if i < 2 {
				t.Log(res.Reason)
			}
			if i == 9 && !bt {
				cold = time.Since(t0)
			}
		}
		d := time.Since(t0)
		if !bt {
			t.Logf("(the first 10 rules, one of each path shape, took %s)", cold)
		}
		t.Logf("backtest=%v: %d rules in %s (%s a rule)", bt, n, d, d/time.Duration(n))
	}
}
