// Closing: the final flush, and the bound on how long it waits for a store
// that takes no write (locked by another process, failing), which never
// cuts a write that is under way.

package collect

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"net/url"
	"time"

	"modernc.org/sqlite"

	"github.com/vigil-metrics/vigil/internal/store"
)

// A WaitError is what a bounded Close returns when its bound on waiting
// for the store ran out before the store took everything; Unwritten holds
// the rest.
type WaitError struct {
	// Locked is set when another connection was seen holding the store's
	// write lock (SQLITE_BUSY); otherwise the store failed or was slow to
	// let a write begin.
	Locked bool
	// Err is the last write's error.
	Err error
}

func (e *WaitError) Error() string {
	if e.Locked {
		return "another process holds the store's write lock: " + e.Err.Error()
	}
	return e.Err.Error()
}

func (e *WaitError) Unwrap() error { return e.Err }

// Close stops the background flusher, flushes, and closes the store.
func (r *Recorder) Close() error { return r.closeBounded(context.Background(), 0) }

// CloseContext is Close with its waits for the store bounded by ctx: the
// wait for the write lock of a store that another process holds locked,
// and the pauses between retries of a failing write. A write transaction
// that has begun is never cut: it runs to its commit (or its error). When
// ctx ends, what was not written is left to Unwritten and the error is a
// *WaitError.
func (r *Recorder) CloseContext(ctx context.Context) error { return r.closeBounded(ctx, 0) }

// CloseWithin is Close giving up once the store has taken no write for d:
// the bound starts when CloseWithin is called and starts again after each
// write the store takes, so it cuts only waits for a store that makes no
// progress (locked by another process, failing), never a big or slow
// write under way. What was not written is left to Unwritten and the
// error is a *WaitError.
func (r *Recorder) CloseWithin(d time.Duration) error {
	return r.closeBounded(context.Background(), d)
}

func (r *Recorder) closeBounded(ctx context.Context, d time.Duration) error {
	if r == nil || r.closed.Swap(true) {
		return nil
	}
	defer r.loopCancel()
	r.lockSeen.Store(false)
	r.progress.Store(time.Now().UnixNano())
	r.waitFor.Store(int64(d))
	// What Options.Gatherers hold since the last flush is recorded before
	// the Recorder stops accepting (the flushes from now on skip them).
	gerr := r.recordGatherers(ctx)
	r.mu.Lock()
	r.closing = true // what was queued before this is flushed below
	r.mu.Unlock()
	close(r.stop)
	r.awaitFlusher(ctx)
	// A short outage at shutdown should not lose what was accepted: try
	// the final flush a few times before giving up.
	err := r.Flush(ctx)
	for wait := 100 * time.Millisecond; err != nil && wait <= 800*time.Millisecond && !r.waitOver(ctx); wait *= 2 {
		rctx, cancel := r.waitCtx(ctx)
		r.reopenAfter(rctx, err)
		select {
		case <-time.After(wait):
		case <-rctx.Done():
		}
		cancel()
		if r.waitOver(ctx) {
			break // err says why the store took nothing
		}
		err = r.Flush(ctx)
	}
	if err != nil && r.waitOver(ctx) {
		err = &WaitError{Locked: r.lockSeen.Load() || isCtxErr(err) && r.lockedByOther(), Err: err}
	}
	// From now on a handle's record is counted as dropped (rollover).
	r.amu.Lock()
	r.cur.Store(closedBucket)
	r.amu.Unlock()
	if err != nil {
		r.mu.Lock()
		r.unwritten, r.pending, r.npend = r.pending, nil, 0
		r.mu.Unlock()
	}
	if st := r.st.Load(); st != nil {
		if cerr := st.Close(); err == nil {
			err = cerr
		}
	}
	r.flushMu.Lock()
	for _, st := range r.retired {
		st.Close()
	}
	r.retired = nil
	r.flushMu.Unlock()
	if gerr != nil {
		err = errors.Join(err, fmt.Errorf("close: record gatherers: %w", gerr))
	}
	return err
}

// awaitFlusher waits for the background flusher, stopped, to return. If it
// is waiting for the store's write lock it is cut when ctx ends or the
// bound runs out; a write of its that has begun runs to its end, and moves
// the bound on when it commits.
func (r *Recorder) awaitFlusher(ctx context.Context) {
	for {
		var over <-chan time.Time
		if dl, ok := r.deadline(); ok {
			over = time.After(time.Until(dl))
		}
		select {
		case <-r.done:
			return
		case <-ctx.Done():
		case <-over:
			if !r.waitOver(ctx) {
				continue // it wrote meanwhile: a new bound
			}
		}
		r.loopCancel()
		<-r.done
		return
	}
}

// begin starts a write transaction on st. The end of ctx or of a bounded
// Close's bound cuts the wait for the write lock (another process holding
// it), never the transaction once begun: that one makes progress, however
// big or slow the disk. The transaction runs under the ctx returned; end
// releases it once the transaction is over.
func (r *Recorder) begin(ctx context.Context, st *store.Store) (tx *store.Tx, txCtx context.Context, end context.CancelFunc, err error) {
	wctx, wcancel := r.waitCtx(ctx)
	defer wcancel()
	// database/sql rolls a transaction back when its context ends, so the
	// wait's end cancels the transaction's context only while it begins.
	txCtx, end = context.WithCancel(context.WithoutCancel(ctx))
	stop := context.AfterFunc(wctx, end)
	tx, err = st.Begin(txCtx)
	if !stop() && err == nil {
		tx.Rollback() // the bound ran out as the lock was taken
		err = errors.New("begin write: gave up")
	}
	if err != nil {
		end()
		if wctx.Err() != nil {
			err = fmt.Errorf("begin write: %w", wctx.Err())
		}
		return nil, nil, nil, err
	}
	return tx, txCtx, end, nil
}

// deadline is when the bound of CloseWithin runs out, if one is set.
func (r *Recorder) deadline() (time.Time, bool) {
	d := r.waitFor.Load()
	if d <= 0 {
		return time.Time{}, false
	}
	return time.Unix(0, r.progress.Load()+d), true
}

// waitOver reports whether ctx has ended or the bound has run out.
func (r *Recorder) waitOver(ctx context.Context) bool {
	if ctx.Err() != nil {
		return true
	}
	dl, ok := r.deadline()
	return ok && !time.Now().Before(dl)
}

// waitCtx is ctx ending when the bound runs out too: what a wait for the
// store (the write lock, a reopen, a pause before a retry) is given.
func (r *Recorder) waitCtx(ctx context.Context) (context.Context, context.CancelFunc) {
	if dl, ok := r.deadline(); ok {
		return context.WithDeadline(ctx, dl)
	}
	return ctx, func() {}
}

// noteWrite records the outcome of a write for the bound: a write the
// store took moves the bound on; one refused for a lock is remembered.
func (r *Recorder) noteWrite(err error) {
	if err == nil {
		r.progress.Store(time.Now().UnixNano())
		return
	}
	if isBusy(err) {
		r.lockSeen.Store(true)
	}
}

func isCtxErr(err error) bool {
	return errors.Is(err, context.Canceled) || errors.Is(err, context.DeadlineExceeded)
}

// isBusy reports whether err is SQLite's "locked" (SQLITE_BUSY or
// SQLITE_LOCKED, extended codes included).
func isBusy(err error) bool {
	var se *sqlite.Error
	if !errors.As(err, &se) {
		return false
	}
	c := se.Code() & 0xff
	return c == 5 || c == 6
}

// lockedByOther reports whether another connection holds the store's
// write lock now: a write that gave up on the bound was cut in a wait
// whose cause SQLite does not tell, so a write transaction is tried on a
// connection of its own that does not wait (busy_timeout 0).
func (r *Recorder) lockedByOther() bool {
	st := r.st.Load()
	if st == nil || st.Path == "" || st.Path == ":memory:" {
		return false
	}
	h, err := sql.Open("sqlite", "file:"+(&url.URL{Path: st.Path}).EscapedPath()+"?_pragma=busy_timeout(0)&_txlock=immediate")
	if err != nil {
		return false
	}
	defer h.Close()
	ctx, cancel := context.WithTimeout(context.Background(), time.Second)
	defer cancel()
	tx, err := h.BeginTx(ctx, nil)
	if err != nil {
		return isBusy(err)
	}
	tx.Rollback() //nolint:errcheck // it wrote nothing
	return false
}
