// The flusher: one goroutine drains the handles and the buffers into the
// store, reopens it after an error and forwards what it wrote.

package collect

import (
	"context"
	"fmt"
	"time"

	"github.com/vigil-metrics/vigil/internal/store"
)

func (r *Recorder) flushLoop() {
	defer close(r.done)
	var tick, resTick <-chan time.Time
	if r.opt.FlushInterval > 0 {
		t := time.NewTicker(r.opt.FlushInterval)
		defer t.Stop()
		tick = t.C
		if r.opt.Resolution > 0 && r.opt.Resolution < r.opt.FlushInterval {
			rt := time.NewTicker(r.opt.Resolution)
			defer rt.Stop()
			resTick = rt.C
		}
	}
	backoff := time.Duration(0)
	var retry <-chan time.Time // set while the store is failing; wake-ups do not reset it
	for {
		select {
		case <-r.stop:
			return
		case <-r.wake:
			if backoff > 0 {
				continue // a failing store is retried on its own schedule
			}
		case <-resTick:
			r.drain(r.opt.Now(), false)
			continue
		case <-tick:
			r.drain(r.opt.Now(), true)
			r.mu.Lock()
			r.handoffLocked()
			r.mu.Unlock()
		case <-retry:
		}
		if err := r.writePending(r.loopCtx); err != nil {
			if r.loopCtx.Err() != nil {
				return // a bounded Close gave up: it reports what is left
			}
			backoff = min(max(2*backoff, 100*time.Millisecond), max(r.opt.FlushInterval, time.Second))
			retry = time.After(backoff)
			r.opt.Logger.Error("flush failed; will retry", "err", err, "buffered", r.Stats().Buffered, "retry_in", backoff)
			r.reopenAfter(r.loopCtx, err)
		} else {
			backoff, retry = 0, nil
		}
	}
}

// reopenAfter reopens the store after a failed write when Options.Reopen
// asks for it; a failed reopen keeps the old store until the next retry.
func (r *Recorder) reopenAfter(ctx context.Context, err error) {
	if !r.opt.Reopen || err == nil || r.st.Load() == nil || ctx.Err() != nil {
		return
	}
	if r.flushMu.LockCtx(ctx) != nil {
		return // the retry reopens
	}
	defer r.flushMu.Unlock()
	if rerr := r.reopen(ctx); rerr != nil {
		r.opt.Logger.Warn("reopen store after a failed write", "err", rerr)
		return
	}
	r.opt.Logger.Info("reopened the store after a failed write", "path", r.st.Load().Path)
}

// writerSlot is a mutex whose wait can end with a context: a Flush whose
// deadline passes while the background flusher holds the slot (waiting
// out SQLite's busy timeout on a store another process holds locked)
// returns then, its samples still queued.
type writerSlot chan struct{}

func (w writerSlot) Lock()   { w <- struct{}{} }
func (w writerSlot) Unlock() { <-w }

// LockCtx is Lock, or ctx's error if ctx ends first.
func (w writerSlot) LockCtx(ctx context.Context) error {
	select {
	case w <- struct{}{}:
		return nil
	default:
	}
	select {
	case w <- struct{}{}:
		return nil
	case <-ctx.Done():
		return fmt.Errorf("wait for the flush or gathering under way: %w", ctx.Err())
	}
}

// writePending writes every queued buffer in one transaction. On failure
// the buffers go back to the front of the queue. The wait for another
// writer (the background flusher) ends with ctx: what is queued stays
// queued.
func (r *Recorder) writePending(ctx context.Context) error {
	if err := r.flushMu.LockCtx(ctx); err != nil {
		return err
	}
	defer r.flushMu.Unlock()
	r.mu.Lock()
	chunks := r.pending
	n := r.npend
	r.pending, r.npend = nil, 0
	r.inflight = n
	r.mu.Unlock()
	if n == 0 {
		return nil
	}
	start := r.opt.Now()
	err := r.write(ctx, chunks)
	r.noteWrite(err)
	n = 0 // write may have dropped a refused series' samples
	for _, c := range chunks {
		n += len(c)
	}
	if err != nil {
		r.flushErrs.Add(1)
		r.mu.Lock()
		r.pending = append(chunks, r.pending...)
		r.npend += n
		r.inflight = 0
		r.mu.Unlock()
		return err
	}
	r.written.Add(int64(n))
	r.lastFlush.Store(int64(r.opt.Now().Sub(start)))
	r.lastRows.Store(int64(n))
	r.mu.Lock()
	r.inflight = 0
	for _, c := range chunks {
		if cap(c) == r.opt.BufferSize && len(r.free) < 8 {
			r.free = append(r.free, c[:0])
		}
	}
	r.mu.Unlock()
	return nil
}

// write writes chunks in one transaction. A series the store refuses (its
// name has another type on disk, added by another process) is marked
// refused, its samples are dropped as invalid and the name's on-disk type
// is learnt, all in the same pass: one refused series costs no retry.
func (r *Recorder) write(ctx context.Context, chunks [][]sample) error {
	st := r.st.Load()
	if st == nil { // no store: Forward alone
		r.forward(chunks)
		return nil
	}
	tx, ctx, end, err := r.begin(ctx, st)
	if err != nil {
		return err
	}
	defer end()
	if r.opt.testInTx != nil {
		r.opt.testInTx() // a slow write, for tests
	}
	var resolved, refused []*series
	md := r.takeHelp(r.helpGen != r.storeGen)
	r.helpGen = r.storeGen
	fail := func(err error) error {
		tx.Rollback()
		r.requeueHelp(md)
		for _, s := range resolved {
			s.id = 0 // the series rows were rolled back with the samples
		}
		return err
	}
	for _, c := range chunks {
		for i := range c {
			s := c[i].s
			if (s.id != 0 && s.idGen == r.storeGen) || s.refused.Load() {
				continue
			}
			id, err := tx.Series(ctx, s.name, s.typ, s.labels, s.service)
			if err != nil {
				if !store.IsInvalid(err) {
					return fail(err)
				}
				s.refused.Store(true)
				refused = append(refused, s)
				r.warnOnce("refused:"+s.name, "the store refused a series; dropping its samples", "name", s.name, "err", err)
				continue
			}
			s.id, s.idGen = id, r.storeGen
			resolved = append(resolved, s)
		}
	}
	for i, m := range md {
		if err := tx.SetMetadata(ctx, m); err != nil {
			if !store.IsInvalid(err) {
				return fail(err)
			}
			// A row the store refuses would fail every flush: dropped,
			// never requeued, so it holds no sample back.
			md[i] = store.Metadata{}
			r.metaDropped.Add(1)
			r.warnOnce("metadata:"+m.Name, "the store refused a metric's help text; dropping it", "name", m.Name, "err", err)
		}
	}
	for ci, c := range chunks {
		kept := c[:0]
		for _, smp := range c {
			if smp.s.refused.Load() {
				r.invalid.Add(1)
				continue
			}
			if err := tx.Append(ctx, smp.s.id, smp.ts, smp.v); err != nil {
				return fail(err)
			}
			kept = append(kept, smp)
		}
		chunks[ci] = kept
	}
	if _, err := tx.Commit(ctx); err != nil {
		return fail(err)
	}
	if r.opt.Forward != nil || r.opt.forwardStore != nil {
		r.forward(chunks)
	}
	if len(refused) > 0 {
		// New label sets of a refused name are refused when recorded or
		// pushed (a 400), not accepted and dropped at the next flush.
		r.smu.Lock()
		for _, s := range refused {
			if t, ok := tx.TypeOf(s.name); ok {
				r.types[s.name] = t
			}
		}
		r.smu.Unlock()
	}
	return nil
}

// forward hands written samples to Options.Forward, in slices of at most
// forwardChunk reused from call to call (under flushMu, held by every
// caller of write), so forwarding makes no garbage per sample.
func (r *Recorder) forward(chunks [][]sample) {
	if r.opt.forwardStore == nil {
		r.forwardPub(chunks)
		return
	}
	if r.fwdBuf == nil {
		r.fwdBuf = make([]store.Sample, 0, forwardChunk)
	}
	buf := r.fwdBuf[:0]
	for _, c := range chunks {
		for _, smp := range c {
			s := smp.s
			buf = append(buf, store.Sample{Name: s.name, Type: s.typ, Labels: s.labels, Service: s.service, TS: smp.ts, Value: smp.v})
			if len(buf) == forwardChunk {
				r.opt.forwardStore(buf)
				buf = buf[:0]
			}
		}
	}
	if len(buf) > 0 {
		r.opt.forwardStore(buf)
	}
	clear(buf[:cap(buf)]) // do not pin the label maps of forgotten series
}

// forwardPub is forward for Options.Forward, with collect's Sample.
func (r *Recorder) forwardPub(chunks [][]sample) {
	if r.fwdPub == nil {
		r.fwdPub = make([]Sample, 0, forwardChunk)
	}
	buf := r.fwdPub[:0]
	for _, c := range chunks {
		for _, smp := range c {
			s := smp.s
			buf = append(buf, Sample{Name: s.name, Type: Type(s.typ), Labels: s.labels, Service: s.service, TS: smp.ts, Value: smp.v})
			if len(buf) == forwardChunk {
				r.opt.Forward(buf)
				buf = buf[:0]
			}
		}
	}
	if len(buf) > 0 {
		r.opt.Forward(buf)
	}
	clear(buf[:cap(buf)])
}

// forwardChunk is the most samples of one Forward call.
const forwardChunk = 4096
