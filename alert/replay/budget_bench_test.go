package replay

import (
	"context"
	"math/big"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/vigil-metrics/vigil/alert/channels"
	alertconfig "github.com/vigil-metrics/vigil/alert/config"
	"github.com/vigil-metrics/vigil/analyze"
	"github.com/vigil-metrics/vigil/analyze/slo"
	"github.com/vigil-metrics/vigil/internal/store"
)

// benchSLOs are the budget benchmark's occurrence objectives (a sliced
// one is added in Go: OpenSLO writes those).
const benchSLOs = `
slos:
  - {service: api, target: 99, window: 7d}
  - {service: ratio, target: 95, window: 1d, good: ok_total.increase, total: all_total.increase}
  - {service: errs, target: 99.5, window: 3d, bad: ko_total.increase, total: all_total.increase}
`

// BenchmarkReplayBudget is the budget half of a replay: no rules, three
// occurrence objectives (api's 7d, or the calendar month; 1d, 3d) and a
// Timeslices one (1m slices over 1d), over VIGIL_BENCH_BUDGET_STEPS steps at 1m (default 10080:
// 7 days) ending at the end of 14 days of counters written per minute.
// Reported: ms per step (each step is the budgets of the four objectives
// and their alerts' Notify run; with no rules the evaluate run is
// skipped or empty).
func BenchmarkReplayBudget(b *testing.B) {
	steps := benchEnv("VIGIL_BENCH_BUDGET_STEPS", 7*1440)
	dir := b.TempDir()
	p := filepath.Join(dir, "slo.db")
	end := t0
	writeBudgetBench(b, p, end.Add(-14*24*time.Hour), end)
	db, err := analyze.Open(context.Background(), []string{p}, analyze.Options{CacheDir: filepath.Join(dir, "cache")})
	if err != nil {
		b.Fatal(err)
	}
	defer db.Close()
	cfg, err := alertconfig.ParseEnv("slo.yaml", []byte("channels:\n  - {name: ops, type: webhook, url: \"http://127.0.0.1:1/ops\"}\n"),
		func(string) (string, bool) { return "", false }, channels.Types())
	if err != nil {
		b.Fatal(err)
	}
	for _, window := range []string{"7d", "calendar_month"} {
		b.Run("api="+window, func(b *testing.B) {
			text := strings.Replace(benchSLOs, "window: 7d", "window: "+window, 1)
			objs, _, err := slo.Parse("slo.yaml", []byte(text))
			if err != nil {
				b.Fatal(err)
			}
			sl := objs[1]
			sl.Service, sl.Method, sl.SliceWindow, sl.SliceTarget = "sliced", slo.Timeslices, time.Minute, big.NewRat(9, 10)
			objs = append(objs, sl)
			from := end.Add(-time.Duration(steps) * time.Minute)
			b.ResetTimer()
			for range b.N {
				rep, err := Run(context.Background(), db, Options{Config: cfg, Objectives: objs, From: from, To: end, Step: time.Minute})
				if err != nil {
					b.Fatal(err)
				}
				b.ReportMetric(float64(len(rep.Notices)), "notices")
			}
			b.ReportMetric(b.Elapsed().Seconds()*1e3/float64(b.N)/float64(steps), "ms/step")
		})
	}
}

// writeBudgetBench writes per-minute counter increments over [from, to]:
// api's reference SLI (100 requests, 2 failing in a minute of 7, half
// failing for 10 minutes every day at noon), and all/ok/ko totals (20, a
// bad minute of 11 missing 4).
func writeBudgetBench(b *testing.B, p string, from, to time.Time) {
	st, err := store.Open(context.Background(), p, store.Options{})
	if err != nil {
		b.Fatal(err)
	}
	var s []store.Sample
	c := func(ts int64, name string, labels map[string]string, v float64) {
		s = append(s, store.Sample{Name: name, Type: store.Counter, Labels: labels, TS: ts, Value: v})
	}
	for at := from; !at.After(to); at = at.Add(time.Minute) {
		m := int(at.Sub(from) / time.Minute)
		fail, miss := 0.0, 0.0
		switch {
		case at.Hour() == 12 && at.Minute() < 10:
			fail = 50
		case m%7 == 0:
			fail = 2
		}
		if m%11 == 0 {
			miss = 4
		}
		ts := at.UnixMilli()
		c(ts, "sli_requests_total", map[string]string{"service": "api", "success": "true"}, 100-fail)
		c(ts, "sli_requests_total", map[string]string{"service": "api", "success": "false"}, fail)
		c(ts, "all_total", nil, 20)
		c(ts, "ok_total", nil, 20-miss)
		c(ts, "ko_total", nil, miss)
		if len(s) >= 50000 {
			if _, err := st.Write(context.Background(), s); err != nil {
				b.Fatal(err)
			}
			s = s[:0]
		}
	}
	if _, err := st.Write(context.Background(), s); err != nil {
		b.Fatal(err)
	}
	if err := st.Close(); err != nil {
		b.Fatal(err)
	}
}
