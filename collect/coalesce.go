package collect

import (
	"context"
	"math"
	"sync/atomic"
	"time"

	"github.com/vigil-metrics/vigil/internal/store"
)

// gaugeFunc is a callback gauge, read at every flush.
type gaugeFunc struct {
	s  *series
	fn func() float64
}

// bucketOf is the start (ms) of the resolution bucket holding t.
func (r *Recorder) bucketOf(t time.Time) int64 {
	ms := t.UnixMilli()
	res := r.opt.Resolution.Milliseconds()
	if res <= 0 {
		return ms
	}
	b := ms - ms%res
	if ms < 0 && ms%res != 0 {
		b -= res
	}
	return b
}

// addFloat adds v to the float64 held as bits in a.
func addFloat(a *atomic.Uint64, v float64) float64 {
	for {
		old := a.Load()
		n := math.Float64frombits(old) + v
		if a.CompareAndSwap(old, math.Float64bits(n)) {
			return n
		}
	}
}

// rollover runs on the first record of a coalesced series in a new
// bucket (or ever): it registers the series for draining, or writes what
// it holds for its old bucket before moving it to the current one. It
// returns false after Close: the record is dropped.
func (r *Recorder) rollover(s *series) bool {
	r.amu.Lock()
	cur := r.cur.Load()
	if cur == closedBucket {
		r.amu.Unlock()
		r.dropped.Add(1)
		return false
	}
	b := s.bucket.Load()
	if b == cur {
		r.amu.Unlock()
		return true
	}
	var rows []sample
	if b == unregistered {
		r.active = append(r.active, s)
		r.touch(s)
	} else {
		rows = r.takeLocked(s, b, nil)
	}
	s.bucket.Store(cur)
	r.amu.Unlock()
	r.emit(rows)
	return true
}

// takeLocked appends s's accumulation as a row stamped ts; amu is held.
func (r *Recorder) takeLocked(s *series, ts int64, rows []sample) []sample {
	switch s.typ {
	case store.Counter:
		if s.accInt.Load() == 0 && s.accF.Load() == 0 {
			return rows
		}
		v := float64(s.accInt.Swap(0)) + math.Float64frombits(s.accF.Swap(0))
		if v != 0 {
			addFloat(&s.total, v)
			rows = append(rows, sample{s, ts, v})
			r.touch(s)
		}
	case store.Gauge:
		if s.gdirty.Load() && s.gdirty.Swap(false) {
			rows = append(rows, sample{s, ts, math.Float64frombits(s.gval.Load())})
			r.touch(s)
		}
	}
	return rows
}

// drain starts the bucket holding now and writes a row per coalesced
// series that was recorded since the last drain, stamped with the start
// of the bucket it was recorded in. With funcs it reads the callback
// gauges too (at every flush).
func (r *Recorder) drain(now time.Time, funcs bool) { r.drainCtx(r.loopCtx, now, funcs) }

// drainCtx is drain with the waits of its gathering (the write of a part
// of a big registry) bounded by ctx: Flush's.
func (r *Recorder) drainCtx(ctx context.Context, now time.Time, funcs bool) {
	if funcs && len(r.opt.Gatherers) > 0 && !r.closed.Load() {
		r.recordGatherers(ctx) // errors logged there; Close gathers itself
	}
	r.amu.Lock()
	var fs []gaugeFunc
	if funcs && len(r.funcs) > 0 {
		fs = append(fs, r.funcs...)
	}
	if r.opt.Resolution <= 0 {
		r.amu.Unlock()
		r.readFuncs(fs, now)
		return
	}
	if r.cur.Load() == closedBucket {
		r.amu.Unlock()
		return
	}
	cur := r.bucketOf(now)
	r.cur.Store(cur)
	rows := r.drained[:0]
	for _, s := range r.active {
		rows = r.takeLocked(s, s.bucket.Load(), rows)
		s.bucket.Store(cur)
	}
	// An increment that raced unregister landed after its final take.
	for _, s := range r.limbo {
		rows = r.takeLocked(s, cur, rows)
	}
	clear(r.limbo)
	r.limbo = r.limbo[:0]
	r.emit(rows)
	r.drained = rows[:0]
	r.amu.Unlock()
	r.readFuncs(fs, now)
}

// readFuncs calls the callback gauges (outside amu: a callback may use
// the Recorder) and records their values at now.
func (r *Recorder) readFuncs(fs []gaugeFunc, now time.Time) {
	for _, f := range fs {
		v := f.fn()
		if err := store.ValidateValue(store.Gauge, v); err != nil {
			r.invalid.Add(1)
			r.warnOnce("value:"+f.s.name, "invalid value; dropping", "name", f.s.name, "err", err)
			continue
		}
		r.touch(f.s)
		f.s.gval.Store(math.Float64bits(v))
		r.emit([]sample{{f.s, now.UnixMilli(), v}})
	}
}

// emit buffers drained rows (they were validated when recorded).
func (r *Recorder) emit(rows []sample) {
	if len(rows) == 0 {
		return
	}
	r.mu.Lock()
	for _, smp := range rows {
		r.buf = append(r.buf, smp)
		if len(r.buf) >= r.opt.BufferSize {
			r.handoffLocked()
		}
	}
	r.mu.Unlock()
}

// touchPending marks the coalesced series holding an undrained record as
// recorded now, so ForgetIdle does not take a busy series for an idle one.
func (r *Recorder) touchPending() {
	r.amu.Lock()
	for _, s := range r.active {
		if s.accInt.Load() != 0 || s.accF.Load() != 0 || s.gdirty.Load() {
			r.touch(s)
		}
	}
	r.amu.Unlock()
}

// unregister drains forgotten coalesced series and stops draining them;
// a handle still held registers its series again when it records.
func (r *Recorder) unregister(gone []*series) {
	if len(gone) == 0 {
		return
	}
	drop := make(map[*series]bool, len(gone))
	for _, s := range gone {
		drop[s] = true
	}
	r.amu.Lock()
	var rows []sample
	kept := r.active[:0]
	for _, s := range r.active {
		if !drop[s] {
			kept = append(kept, s)
			continue
		}
		rows = r.takeLocked(s, s.bucket.Load(), rows)
		s.bucket.Store(unregistered)
		r.limbo = append(r.limbo, s)
	}
	clear(r.active[len(kept):])
	r.active = kept
	r.amu.Unlock()
	r.emit(rows)
}
