package retry

import (
	"context"
	"errors"
	"slices"
	"testing"
	"time"

	"github.com/vigil-metrics/vigil/alert/config"
)

var errBoom = errors.New("boom")

// script runs p over outcomes (the last repeats) and returns the result
// and the delays slept, recorded instead of waited.
func script(t *testing.T, ctx context.Context, p Policy, outcomes ...Outcome) (Result, []time.Duration) {
	t.Helper()
	var slept []time.Duration
	p.Sleep = func(ctx context.Context, d time.Duration) error {
		slept = append(slept, d)
		return ctx.Err()
	}
	i := 0
	r := p.Run(ctx, func(context.Context) Outcome {
		o := outcomes[min(i, len(outcomes)-1)]
		i++
		return o
	})
	if i != r.Tries {
		t.Errorf("%d attempts made, Tries %d", i, r.Tries)
	}
	return r, slept
}

var transient = Outcome{Err: errBoom, Retry: true}

func policy(attempts int) Policy {
	return Policy{Timeout: time.Second, Attempts: attempts, Delay: time.Second, MaxWait: MaxRetryAfter}
}

func sec(s ...int) []time.Duration {
	out := make([]time.Duration, len(s))
	for i, n := range s {
		out[i] = time.Duration(n) * time.Second
	}
	return out
}

func TestDelaysDouble(t *testing.T) {
	r, slept := script(t, context.Background(), policy(5), transient)
	if want := sec(1, 2, 4, 8); !slices.Equal(slept, want) {
		t.Errorf("slept %v, want %v", slept, want)
	}
	if r.Tries != 5 || !r.Retry || r.Err == nil || r.Err.Error() != "5 attempts failed, last: boom" || !errors.Is(r.Err, errBoom) {
		t.Errorf("result %+v", r)
	}
}

func TestDelaysCapped(t *testing.T) {
	// 1s doubling, capped at 30 s (MaxRetryAfter; 64 times the first delay
	// would be 64 s): ten tries of a run wait 1+2+4+8+16+30·4 = 151 s at
	// most, not 255 s (issue 23: settings are bounded).
	_, slept := script(t, context.Background(), policy(10), transient)
	if want := sec(1, 2, 4, 8, 16, 30, 30, 30, 30); !slices.Equal(slept, want) {
		t.Errorf("slept %v, want %v", slept, want)
	}
	// A short first delay is still capped at 64 times itself.
	p := policy(10)
	p.Delay = 100 * time.Millisecond
	_, slept = script(t, context.Background(), p, transient)
	ms := func(n int) time.Duration { return time.Duration(n) * time.Millisecond }
	if want := []time.Duration{ms(100), ms(200), ms(400), ms(800), ms(1600), ms(3200), ms(6400), ms(6400), ms(6400)}; !slices.Equal(slept, want) {
		t.Errorf("slept %v, want %v", slept, want)
	}
}

// The longest retry_delay the config accepts is the longest wait a run
// takes between two tries.
func TestMaxRetryDelayIsMaxRetryAfter(t *testing.T) {
	if config.MaxRetryDelay != MaxRetryAfter {
		t.Errorf("config.MaxRetryDelay %s, MaxRetryAfter %s", config.MaxRetryDelay, MaxRetryAfter)
	}
}

func TestWaitReplacesDelayAndRestarts(t *testing.T) {
	asks := Outcome{Err: errBoom, Retry: true, Wait: 5 * time.Second}
	_, slept := script(t, context.Background(), policy(5), transient, asks, transient)
	// 1s, then the 5s asked for (instead of 2s), then the doubling from 1s again.
	if want := sec(1, 5, 1, 2); !slices.Equal(slept, want) {
		t.Errorf("slept %v, want %v", slept, want)
	}
}

func TestSuccessAfterRetries(t *testing.T) {
	r, slept := script(t, context.Background(), policy(3), transient, transient, Outcome{})
	if r.Err != nil || r.Retry || r.Tries != 3 || !slices.Equal(slept, sec(1, 2)) {
		t.Errorf("result %+v, slept %v", r, slept)
	}
}

func TestPermanentStops(t *testing.T) {
	perm := errors.New("550 unknown recipient")
	r, slept := script(t, context.Background(), policy(3), transient, Outcome{Err: perm})
	if r.Err != perm || r.Retry || r.Tries != 2 || !slices.Equal(slept, sec(1)) {
		t.Errorf("result %+v, slept %v", r, slept)
	}
}

func TestWaitTooLong(t *testing.T) {
	r, slept := script(t, context.Background(), policy(3), Outcome{Err: errBoom, Retry: true, Wait: time.Minute})
	if r.Err == nil || r.Err.Error() != "boom; not waiting longer than 30s in this run, a later run retries" || !r.Retry || r.Tries != 1 || len(slept) != 0 {
		t.Errorf("result %+v, slept %v", r, slept)
	}
}

func TestOneAttempt(t *testing.T) {
	r, slept := script(t, context.Background(), policy(0), transient)
	if r.Tries != 1 || len(slept) != 0 || r.Err.Error() != "1 attempts failed, last: boom" {
		t.Errorf("result %+v, slept %v", r, slept)
	}
}

func TestCancelledWhileWaiting(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	p := policy(3)
	p.Sleep = func(context.Context, time.Duration) error { cancel(); return context.Canceled }
	r := p.Run(ctx, func(context.Context) Outcome { return transient })
	if r.Tries != 1 || !r.Retry || !errors.Is(r.Err, context.Canceled) || !errors.Is(r.Err, errBoom) ||
		r.Err.Error() != "gave up after 1 of 3 attempts: context canceled (last error: boom)" {
		t.Errorf("result %+v", r)
	}
}

func TestAttemptTimeout(t *testing.T) {
	p := Policy{Timeout: time.Hour, Attempts: 1}
	p.Run(context.Background(), func(ctx context.Context) Outcome {
		if dl, ok := ctx.Deadline(); !ok || time.Until(dl) > time.Hour {
			t.Errorf("attempt's deadline %v, %v; want within the hour", dl, ok)
		}
		return Outcome{}
	})
	p.Timeout = 0
	p.Run(context.Background(), func(ctx context.Context) Outcome {
		if _, ok := ctx.Deadline(); ok {
			t.Error("no timeout, but the attempt has a deadline")
		}
		return Outcome{}
	})
}

func TestRealSleep(t *testing.T) {
	p := Policy{Attempts: 2, Delay: 20 * time.Millisecond}
	start := time.Now()
	r := p.Run(context.Background(), func(context.Context) Outcome { return transient })
	if d := time.Since(start); r.Tries != 2 || d < 20*time.Millisecond {
		t.Errorf("%d tries in %v", r.Tries, d)
	}
}

func TestFromChannel(t *testing.T) {
	if p := FromChannel(config.Channel{}); p.Timeout != 10*time.Second || p.Attempts != 3 || p.Delay != time.Second || p.MaxWait != 30*time.Second || p.Sleep != nil {
		t.Errorf("defaults: %+v", p)
	}
	if p := FromChannel(config.Channel{RetryAttemptsSet: true}); p.Attempts != 1 {
		t.Errorf("retry_attempts 0: %d attempts, want 1", p.Attempts)
	}
	ch := config.Channel{Timeout: 2 * time.Second, RetryAttempts: 5, RetryDelay: 250 * time.Millisecond, RetryAttemptsSet: true}
	if p := FromChannel(ch); p.Timeout != 2*time.Second || p.Attempts != 5 || p.Delay != 250*time.Millisecond {
		t.Errorf("given: %+v", p)
	}
}
