// Package retry is the one retry policy of vigil's channels (every HTTP
// channel through alert/httpsend, and email): the defaults a channel
// leaves out, how its timeout, retry_attempts and retry_delay are read,
// and the loop that runs attempts with exponential backoff within one
// run.
//
// It owns when to try again and how long to wait; it must not decide
// what is worth retrying (each transport reads its own failures: HTTP
// status codes in httpsend, SMTP reply codes in email) nor retry across
// runs (that is the outbox's job, alert/notify).
package retry

import (
	"context"
	"fmt"
	"time"

	"github.com/cenkalti/backoff/v5"

	"github.com/vigil-metrics/vigil/alert/config"
)

// Defaults for what a channel leaves out. The timeout matches the
// reference design; three tries with a short first delay ride out a
// receiver restart without holding a cron run for long.
const (
	DefaultTimeout  = 10 * time.Second
	DefaultAttempts = 3
	DefaultDelay    = time.Second
	// MaxRetryAfter caps a server's Retry-After, so a receiver cannot stall
	// an evaluate run; beyond it the next run retries instead.
	MaxRetryAfter = 30 * time.Second
)

// maxIntervalFactor caps the backoff delay at this multiple of the first
// delay, and never past MaxRetryAfter: no wait between two tries of one run
// is longer than the longest one a receiver may ask for, so retries cannot
// hold a run for long (later runs retry instead).
const maxIntervalFactor = 64

// Policy runs attempts: each under Timeout, at most Attempts in all, the
// n-th retry after Delay·2^(n-1) (no jitter: one process per cron run has
// no herd to spread; capped at 64·Delay and at MaxRetryAfter), or after the wait a failed
// attempt asks for (a server's Retry-After), which also restarts the
// doubling from Delay.
type Policy struct {
	Timeout  time.Duration // per attempt; 0: none beyond ctx
	Attempts int           // all tries, the first included; below 1 means 1
	Delay    time.Duration // before the first retry
	// MaxWait is the longest wait an attempt may ask for; a longer one ends
	// the run with retry true (a later run tries again).
	MaxWait time.Duration
	// Sleep waits d or until ctx is done (then it returns ctx's error);
	// nil means a timer. Tests set it to record the delays.
	Sleep func(ctx context.Context, d time.Duration) error
}

// FromChannel reads ch's timeout, retry_attempts and retry_delay, with
// the defaults for what it leaves out: retry_attempts counts all tries;
// unset means DefaultAttempts, an explicit 0 one try. MaxWait is
// MaxRetryAfter.
func FromChannel(ch config.Channel) Policy {
	p := Policy{Timeout: ch.Timeout, Attempts: ch.RetryAttempts, Delay: ch.RetryDelay, MaxWait: MaxRetryAfter}
	if p.Timeout <= 0 {
		p.Timeout = DefaultTimeout
	}
	if !ch.RetryAttemptsSet && p.Attempts <= 0 {
		p.Attempts = DefaultAttempts
	}
	if p.Attempts < 1 {
		p.Attempts = 1
	}
	if p.Delay <= 0 {
		p.Delay = DefaultDelay
	}
	return p
}

// Outcome is a transport's reading of one attempt.
type Outcome struct {
	Err   error         // nil: success
	Retry bool          // the failure is worth another try
	Wait  time.Duration // > 0: the server asked for this wait before the next
}

// Result is what Run did.
type Result struct {
	Tries int     // attempts made
	Last  Outcome // the last attempt's
	// Err is nil on success; else the last attempt's error when it was
	// permanent, or that error wrapped with why the run stopped.
	Err error
	// Retry is true when a later run may try again: attempts ran out on
	// a transient failure, ctx ended, or the server asked for too long a
	// wait.
	Retry bool
}

// Run calls attempt, with a context under the policy's timeout, until it
// succeeds, fails permanently, asks for a wait beyond MaxWait, the
// attempts run out, or ctx is done. It always attempts at least once.
func (p Policy) Run(ctx context.Context, attempt func(ctx context.Context) Outcome) Result {
	attempts := max(p.Attempts, 1)
	b := backoff.NewExponentialBackOff()
	b.InitialInterval = p.Delay
	b.Multiplier = 2
	b.RandomizationFactor = 0
	b.MaxInterval = min(maxIntervalFactor*p.Delay, MaxRetryAfter)
	b.Reset()
	sleep := p.Sleep
	if sleep == nil {
		sleep = sleepTimer
	}

	var r Result
	for {
		r.Tries++
		r.Last = p.try(ctx, attempt)
		last := r.Last
		switch {
		case last.Err == nil:
			return r
		case !last.Retry:
			r.Err = last.Err
			return r
		case last.Wait > p.MaxWait:
			r.Err, r.Retry = fmt.Errorf("%w; not waiting longer than %s in this run, a later run retries", last.Err, p.MaxWait), true
			return r
		}
		if r.Tries >= attempts || ctx.Err() != nil {
			break
		}
		next := b.NextBackOff()
		if last.Wait > 0 {
			next = last.Wait
			b.Reset()
		}
		if sleep(ctx, next) != nil {
			break
		}
	}
	r.Retry = true
	if ctx.Err() != nil {
		cerr := context.Cause(ctx) // the run deadline says so, not "context deadline exceeded"
		r.Err = fmt.Errorf("gave up after %d of %d attempts: %w (last error: %w)", r.Tries, attempts, cerr, r.Last.Err)
	} else {
		r.Err = fmt.Errorf("%d attempts failed, last: %w", r.Tries, r.Last.Err)
	}
	return r
}

// try makes one attempt under the policy's timeout.
func (p Policy) try(ctx context.Context, attempt func(ctx context.Context) Outcome) Outcome {
	if p.Timeout > 0 {
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(ctx, p.Timeout)
		defer cancel()
	}
	return attempt(ctx)
}

func sleepTimer(ctx context.Context, d time.Duration) error {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}
