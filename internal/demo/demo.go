// Package demo generates vigil's embedded default dataset: a week of
// realistic, reproducible metrics for two services and three hosts, with an
// incident in the last two hours, so that `make demo` and the docs have
// something true to show without any outside data.
//
// It owns the dataset's shape (its services, hosts and incident) and
// writes through package store; it must not read the clock or an unseeded
// random source (the same Options give the same store) and must not import
// analyze, alert or report.
package demo

import (
	"context"
	"math"
	"math/rand/v2"
	"time"

	"github.com/vigil-metrics/vigil/internal/store"
)

// Options shape the dataset.
type Options struct {
	End  time.Time     // the last minute of data
	Span time.Duration // how far back it goes (default 7 days)
	Seed uint64
}

// Incident is the window in which the api service degrades.
func Incident(end time.Time) (time.Time, time.Time) {
	return end.Add(-2 * time.Hour), end
}

type endpoint struct {
	service, path string
	rpm           float64 // requests per minute at the daily peak
	latency       float64 // median latency in ms
}

var endpoints = []endpoint{
	{"api", "/api/users", 120, 45},
	{"api", "/api/orders", 60, 80},
	{"web", "/", 200, 25},
	{"web", "/checkout", 20, 120},
}

var hosts = []string{"web-01", "web-02", "db-01"}

// Generate writes the dataset into st in one transaction and returns the
// number of samples.
func Generate(ctx context.Context, st *store.Store, o Options) (int64, error) {
	if o.Span == 0 {
		o.Span = 7 * 24 * time.Hour
	}
	rng := rand.New(rand.NewPCG(o.Seed, 0x76696769))
	tx, err := st.Begin(ctx)
	if err != nil {
		return 0, err
	}
	defer tx.Rollback()
	incStart, _ := Incident(o.End)
	end := o.End.Truncate(time.Minute)
	start := end.Add(-o.Span)
	add := func(name string, typ store.Type, labels map[string]string, svc string, t time.Time, v float64) error {
		id, err := tx.Series(ctx, name, typ, labels, svc)
		if err != nil {
			return err
		}
		return tx.Append(ctx, id, t.UnixMilli(), v)
	}
	for t := start.Add(time.Minute); !t.After(end); t = t.Add(time.Minute) {
		// Daily load curve: quiet at 04:00 UTC, busiest at 16:00.
		hour := float64(t.Hour()) + float64(t.Minute())/60
		load := 0.55 + 0.45*math.Sin((hour-10)/24*2*math.Pi)
		incident := !t.Before(incStart)
		for _, h := range hosts {
			base := 25.0
			if h == "db-01" {
				base = 40
			}
			cpu := clamp(base+35*load+rng.NormFloat64()*4, 0, 100)
			if incident && h == "db-01" {
				cpu = clamp(92+rng.NormFloat64()*3, 0, 100)
			}
			mem := clamp(55+10*load+rng.NormFloat64(), 0, 100)
			lbl := map[string]string{"host": h}
			if err := add("cpu_usage_percent", store.Gauge, lbl, "", t, round(cpu, 2)); err != nil {
				return 0, err
			}
			if err := add("memory_usage_percent", store.Gauge, lbl, "", t, round(mem, 2)); err != nil {
				return 0, err
			}
		}
		for _, e := range endpoints {
			n := math.Round(e.rpm * load * (0.9 + 0.2*rng.Float64()))
			errRate := 0.002
			slow := 1.0
			if incident && e.service == "api" {
				errRate, slow = 0.04, 3
			}
			fails := 0.0
			for i := 0; i < int(n); i++ {
				if rng.Float64() < errRate {
					fails++
				}
			}
			ok := n - fails
			for status, v := range map[string]float64{"200": ok, "500": fails} {
				if v == 0 {
					continue
				}
				lbl := map[string]string{"method": "GET", "endpoint": e.path, "status": status}
				if err := add("http_requests_total", store.Counter, lbl, e.service, t, v); err != nil {
					return 0, err
				}
			}
			var fast, slowN float64
			for i := 0; i < 5; i++ {
				ms := e.latency * slow * math.Exp(rng.NormFloat64()*0.5)
				if ms <= 200 {
					fast++
				} else {
					slowN++
				}
				lbl := map[string]string{"endpoint": e.path}
				if err := add("response_time_ms", store.Histogram, lbl, e.service, t.Add(time.Duration(i)*10*time.Second), round(ms, 1)); err != nil {
					return 0, err
				}
			}
			// SLI counters as the reference design's helpers write them.
			for _, sli := range []struct {
				name, label string
				yes, no     float64
			}{
				{"sli_requests_total", "success", ok, fails},
				{"sli_latency_requests_total", "fast", fast / 5 * n, slowN / 5 * n},
			} {
				for val, v := range map[string]float64{"true": math.Round(sli.yes), "false": math.Round(sli.no)} {
					lbl := map[string]string{sli.label: val, "endpoint": e.path}
					if err := add(sli.name, store.Counter, lbl, e.service, t, v); err != nil {
						return 0, err
					}
				}
			}
		}
	}
	return tx.Commit(ctx)
}

func clamp(v, lo, hi float64) float64 { return math.Max(lo, math.Min(hi, v)) }

func round(v float64, digits int) float64 {
	p := math.Pow(10, float64(digits))
	return math.Round(v*p) / p
}
