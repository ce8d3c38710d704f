package promstore

import (
	"context"
	"log/slog"
	"time"

	"github.com/prometheus/prometheus/promql"
)

// Limits are Prometheus's query limits, by its flag names; DefaultLimits
// has its defaults.
type Limits struct {
	MaxSamples     int           // --query.max-samples
	Timeout        time.Duration // --query.timeout
	MaxConcurrency int           // --query.max-concurrency
	LookbackDelta  time.Duration // --query.lookback-delta
}

// DefaultLimits are Prometheus's defaults.
var DefaultLimits = Limits{MaxSamples: 50_000_000, Timeout: 2 * time.Minute, MaxConcurrency: 20, LookbackDelta: 5 * time.Minute}

// NewEngine is Prometheus's PromQL engine with the limits, the @
// modifier and negative offsets on (as Prometheus has them).
func NewEngine(l Limits, log *slog.Logger) *promql.Engine {
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	return promql.NewEngine(promql.EngineOpts{
		Logger:               log,
		MaxSamples:           l.MaxSamples,
		Timeout:              l.Timeout,
		LookbackDelta:        l.LookbackDelta,
		ActiveQueryTracker:   newGate(l.MaxConcurrency),
		EnableAtModifier:     true,
		EnableNegativeOffset: true,
		NoStepSubqueryIntervalFn: func(int64) int64 {
			return time.Minute.Milliseconds() // Prometheus's global evaluation_interval default
		},
	})
}

// gate is a QueryTracker that only bounds concurrency: a query waits for
// a free slot (Prometheus's tracker also logs active queries to a file,
// which a read-only server does not want).
type gate struct{ slots chan struct{} }

func newGate(n int) *gate {
	if n <= 0 {
		n = 1
	}
	return &gate{slots: make(chan struct{}, n)}
}

func (g *gate) GetMaxConcurrent() int { return cap(g.slots) }

func (g *gate) Insert(ctx context.Context, _ string) (int, error) {
	select {
	case g.slots <- struct{}{}:
		return 0, nil
	case <-ctx.Done():
		return 0, ctx.Err()
	}
}

func (g *gate) Delete(int)   { <-g.slots }
func (g *gate) Close() error { return nil }
