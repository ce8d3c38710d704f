// The record path: a sample joins the buffer, which is handed to the
// flusher when full; Add and AddBatch carry their own timestamps.

package collect

import (
	"errors"
	"fmt"

	"github.com/vigil-metrics/vigil/internal/store"
)

type sample struct {
	s  *series
	ts int64
	v  float64
}

// record buffers one sample. It never blocks on I/O.
func (r *Recorder) record(s *series, ts int64, v float64) {
	if s == nil {
		return
	}
	if s.refused.Load() {
		r.invalid.Add(1)
		return
	}
	r.touch(s)
	if err := store.ValidateValue(s.typ, v); err != nil {
		r.invalidValue(s, err)
		return
	}
	r.mu.Lock()
	if r.closing {
		r.mu.Unlock()
		r.dropped.Add(1)
		return
	}
	if s.rate < 1 {
		if r.rng.Float64() >= s.rate {
			r.mu.Unlock()
			return
		}
		if s.typ == store.Counter {
			v /= s.rate
		}
	}
	switch {
	case s.typ == store.Counter:
		addFloat(&s.total, v)
	case s.hist != nil:
		s.hist.observe(v)
	}
	r.buf = append(r.buf, sample{s, ts, v})
	if len(r.buf) >= r.opt.BufferSize {
		r.handoffLocked()
	}
	r.mu.Unlock()
}

// handoffLocked moves the current buffer to the flusher's queue, dropping
// it instead when the queue already holds MaxBuffer samples.
func (r *Recorder) handoffLocked() {
	if len(r.buf) == 0 {
		return
	}
	if r.npend+r.inflight+r.reserved+len(r.buf) > r.opt.MaxBuffer {
		r.dropped.Add(int64(len(r.buf)))
		r.buf = r.buf[:0]
		return
	}
	r.pending = append(r.pending, r.buf)
	r.npend += len(r.buf)
	if n := len(r.free); n > 0 {
		r.buf = r.free[n-1][:0]
		r.free = r.free[:n-1]
	} else {
		r.buf = make([]sample, 0, r.opt.BufferSize)
	}
	select {
	case r.wake <- struct{}{}:
	default:
	}
}

func (r *Recorder) now() int64 { return r.opt.Now().UnixMilli() }

// Add records one sample with its own time, service and labels (the path
// the agent's scrapes and pushes take). It validates the sample.
func (r *Recorder) Add(s Sample) error { return r.addStore(s.toStore()) }

func (r *Recorder) addStore(s store.Sample) error {
	if r == nil {
		return nil
	}
	if r.closed.Load() { // a racing Add is counted as dropped by record
		return ErrClosed
	}
	if err := s.Validate(); err != nil {
		r.invalid.Add(1)
		return err
	}
	ser, err := r.lookupErr(s.Name, s.Type, s.Labels, s.Service)
	if errors.Is(err, ErrTooManySeries) {
		return fmt.Errorf("metric %s: %w", s.Name, err)
	}
	if refusedForRoom(err) {
		return err
	}
	if ser == nil {
		r.invalid.Add(1)
		if err == nil {
			err = ErrInvalid
		}
		return fmt.Errorf("metric %s: refused: %w", s.Name, err)
	}
	r.record(ser, s.TS, s.Value)
	return nil
}

// AddBatch buffers all samples or none: it reserves room, validates every
// sample (types included, against the store and within the batch) and
// creates the batch's series under one lock, so a refused batch creates
// nothing; it refuses with ErrBufferFull when the batch does not fit now,
// ErrBatchTooLarge when it never will, and ErrClosed after Close began.
// The record path is never held up while a batch is validated.
func (r *Recorder) AddBatch(samples []Sample) error {
	if r == nil {
		return nil
	}
	if len(samples) > r.opt.MaxBuffer {
		return ErrBatchTooLarge
	}
	ss := make([]store.Sample, len(samples))
	for i, s := range samples {
		ss[i] = s.toStore()
	}
	return r.addBatch(ss, false)
}

// addBatch is AddBatch; external marks the series it makes as recorded
// from a Gatherer (left out of Handler).
func (r *Recorder) addBatch(samples []store.Sample, external bool) error {
	if r == nil {
		return nil
	}
	if len(samples) > r.opt.MaxBuffer {
		return ErrBatchTooLarge
	}
	r.mu.Lock()
	switch {
	case r.closing:
		r.mu.Unlock()
		return ErrClosed
	case r.npend+r.inflight+r.reserved+len(r.buf)+len(samples) > r.opt.MaxBuffer:
		r.mu.Unlock()
		return ErrBufferFull
	}
	r.reserved += len(samples)
	r.mu.Unlock()
	release := func() {
		r.mu.Lock()
		r.reserved -= len(samples)
		r.mu.Unlock()
	}

	refs, err := r.batchSeries(samples, external)
	if err != nil {
		release()
		return err
	}

	r.mu.Lock()
	defer r.mu.Unlock()
	r.reserved -= len(samples)
	if r.closing {
		return ErrClosed
	}
	chunk := make([]sample, len(samples))
	for i := range samples {
		chunk[i] = sample{refs[i], samples[i].TS, samples[i].Value}
	}
	// Queue at once: an accepted batch must never sit in the current
	// buffer, which a later overflow may drop.
	r.pending = append(r.pending, chunk)
	r.npend += len(chunk)
	if r.npend >= r.opt.BufferSize { // otherwise the interval flushes it
		select {
		case r.wake <- struct{}{}:
		default:
		}
	}
	return nil
}

// batchSeries validates a batch and resolves its series in one smu
// section: either every series exists afterwards, or none was created.
func (r *Recorder) batchSeries(samples []store.Sample, external bool) ([]*series, error) {
	r.smu.Lock()
	defer r.smu.Unlock()
	inBatch := map[string]store.Type{}
	for i := range samples {
		s := &samples[i]
		err := s.Validate()
		if err == nil {
			// Before any series is made: a fat series refuses its batch whole.
			if err = r.labelBytes(s.Name, seriesSize(s.Name, s.Labels, s.Service)); err != nil {
				r.seriesRefused.Add(int64(len(samples)))
				return nil, fmt.Errorf("sample %d: %w", i+1, err)
			}
		}
		if err == nil {
			if t, ok := inBatch[s.Name]; ok && t != s.Type {
				err = fmt.Errorf("metric %s is a %s earlier in the batch, not a %s", s.Name, t, s.Type)
			} else if t, ok := r.types[s.Name]; ok && t != s.Type {
				err = fmt.Errorf("metric %s is a %s in this store, not a %s", s.Name, t, s.Type)
			}
		}
		if err != nil {
			return nil, fmt.Errorf("sample %d: %w", i+1, err)
		}
		inBatch[s.Name] = s.Type
	}
	refs := make([]*series, len(samples))
	for i := range samples {
		s := &samples[i]
		var err error
		refs[i], err = r.createLocked(r.hash(s.Name, s.Labels, s.Service), s.Name, s.Type, s.Labels, s.Service)
		if err != nil && !refusedForRoom(err) {
			return nil, fmt.Errorf("sample %d: %w", i+1, err)
		}
		if err != nil {
			// The batch's series created so far stay (they are valid and
			// will be forgotten when idle): counting them off again would
			// race with other batches.
			r.seriesRefused.Add(int64(len(samples) - i))
			if errors.Is(err, ErrTooManySeries) {
				return nil, fmt.Errorf("sample %d: %w (%d series held)", i+1, err, r.nseries)
			}
			return nil, fmt.Errorf("sample %d: %w", i+1, err)
		}
		if external && refs[i] != nil {
			refs[i].external = true
		}
		if refs[i] == nil || refs[i].refused.Load() {
			// Only a series the store refused gets here (types were checked).
			return nil, fmt.Errorf("sample %d: metric %s was refused by the store", i+1, s.Name)
		}
	}
	return refs, nil
}
