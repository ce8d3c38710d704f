package notify

import (
	"context"
	"errors"
	"sync"
	"time"

	"github.com/vigil-metrics/vigil/alert/config"
	"github.com/vigil-metrics/vigil/alert/state"
)

// ErrRunDeadline is the cause of a run's context when its deadline
// (--run-timeout) passed: what was not sent by then stays queued for the
// next run, so a hung receiver cannot make a run overlap the next cron tick.
var ErrRunDeadline = errors.New("run deadline (--run-timeout) reached")

// sendAll sends the messages, each channel's in order, one request at a
// time, and the channels at the same time: a receiver that hangs holds up
// its own channel only, never another's. Per alert and channel there is
// at most one message (supersession), so the order a receiver sees is
// kept. A message whose turn comes after ctx ended (a signal, the run
// deadline) is not tried: it stays queued, with a history row saying why.
// The outcome is merged in message order whatever order the channels
// finished in.
func sendAll(ctx context.Context, w Writer, channels map[string]config.Channel, o Options, msgs []*message, at time.Time, out *Outcome) error {
	var order []string
	byChan := map[string][]int{}
	for i, m := range msgs {
		if _, ok := byChan[m.channel]; !ok {
			order = append(order, m.channel)
		}
		byChan[m.channel] = append(byChan[m.channel], i)
	}
	lw := &lockedWriter{w: w}
	results := make([]Outcome, len(msgs))
	errs := make([]error, len(order))
	var wg sync.WaitGroup
	for ci, name := range order {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for _, i := range byChan[name] {
				r := newOutcome()
				var err error
				if ctx.Err() != nil {
					err = deferMsg(lw, msgs[i], deferReason(ctx), at, &r)
				} else {
					err = send(ctx, lw, channels[name], o, msgs[i], at, &r)
				}
				results[i] = r
				if err != nil { // the state DB failed: stop this channel
					errs[ci] = err
					return
				}
			}
		}()
	}
	wg.Wait()
	for i := range results {
		out.merge(results[i])
	}
	if ctx.Err() != nil {
		out.Stopped = context.Cause(ctx)
	}
	return errors.Join(errs...)
}

// deferReason says why a message was not tried: it begins with "run
// deadline" when the run's deadline passed.
func deferReason(ctx context.Context) string {
	if errors.Is(context.Cause(ctx), ErrRunDeadline) {
		return "run deadline (--run-timeout) reached before its turn; the next run sends it"
	}
	return "the run was stopped (a signal) before its turn; the next run sends it"
}

func newOutcome() Outcome {
	return Outcome{Sent: map[uint64][]string{}, Held: map[uint64][]string{}, Failed: map[uint64][]string{},
		Waiting: map[uint64][]string{}, Deferred: map[uint64][]string{}}
}

// merge adds r's sends, failures, deferrals, unknowns and errors to o.
func (o *Outcome) merge(r Outcome) {
	for _, p := range []struct{ dst, src map[uint64][]string }{
		{o.Sent, r.Sent}, {o.Held, r.Held}, {o.Failed, r.Failed}, {o.Waiting, r.Waiting}, {o.Deferred, r.Deferred},
	} {
		for fp, chans := range p.src {
			p.dst[fp] = append(p.dst[fp], chans...)
		}
	}
	o.Interrupted += r.Interrupted
	o.Unknown = append(o.Unknown, r.Unknown...)
	o.Errors = append(o.Errors, r.Errors...)
}

// lockedWriter lets the channels' goroutines share one state run (which
// is not safe for concurrent use): each call holds the lock. A Save
// commits what every channel wrote so far, which is each one's intent or
// outcome, always in a consistent state.
type lockedWriter struct {
	mu sync.Mutex
	w  Writer
}

func (l *lockedWriter) Notices(statuses ...string) ([]state.Notice, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.w.Notices(statuses...)
}

func (l *lockedWriter) SetStatus(id int64, status string, tries int, lastError string, at time.Time) error {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.w.SetStatus(id, status, tries, lastError, at)
}

func (l *lockedWriter) RetryAt(id int64, tries int, lastError string, next time.Time) error {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.w.RetryAt(id, tries, lastError, next)
}

func (l *lockedWriter) AddAttempt(a state.Attempt) error {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.w.AddAttempt(a)
}

func (l *lockedWriter) SentBetween(from, to time.Time) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.w.SentBetween(from, to)
}

func (l *lockedWriter) Save() error {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.w.Save()
}
