// The series registry: one *series per name, labels and service, shared
// by every handle that records it, and the epochs that let idle ones go.

package collect

import (
	"errors"
	"fmt"
	"hash/maphash"
	"math"
	"sync/atomic"

	"github.com/vigil-metrics/vigil/internal/store"
)

type series struct {
	name    string
	typ     store.Type
	labels  map[string]string
	service string
	rate    float64 // sampling rate, 1 = keep all
	// external: recorded from a client_golang Gatherer (RecordGatherer),
	// which serves it itself: left out of Handler. Set under smu.
	external bool
	id       int64 // store id; touched only by the flushing goroutine
	// idGen is the store generation id belongs to (Recorder.storeGen):
	// after a reopen every id is stale, held by a handle or not.
	idGen uint64
	// refused is set when the store rejects the series (its name has
	// another type on disk): its samples are dropped as invalid.
	refused atomic.Bool
	// forgotten is set when ForgetIdle drops the series from the index
	// (a vec's cache then looks it up again).
	forgotten atomic.Bool
	// seen is the Recorder's epoch when the series was last recorded.
	seen atomic.Uint32

	// coalesce: the handles accumulate here and the flusher drains one row
	// per resolution bucket (counters and gauges when Resolution > 0 and
	// the series is not sampled).
	coalesce bool
	// bucket is the start (ms) of the bucket being accumulated, or
	// unregistered while the series is not in Recorder.active.
	bucket atomic.Int64
	// The accumulators are written by every record: kept on a cache line
	// of their own, apart from the fields each record reads.
	_      [64]byte
	accInt atomic.Uint64 // counter: integral increments
	accF   atomic.Uint64 // counter: other increments (float64 bits)
	gval   atomic.Uint64 // gauge: current value (float64 bits)
	gdirty atomic.Bool   // gauge: set since the last drain

	// Read by Handler: a counter's total since start (float64 bits; the
	// coalesced increments are added when drained) and a histogram's
	// buckets.
	total atomic.Uint64
	hist  *histState
}

const (
	unregistered = math.MinInt64
	// closedBucket is Recorder.cur after Close: no series is in it.
	closedBucket = math.MinInt64 + 1
)

// ForgetIdle starts a new epoch and forgets the series not recorded in
// the last idle epochs (call it on a timer: with a call a minute, idle is
// in minutes), so series that stopped do not pin memory. A handle to a
// forgotten series keeps working; recording its identity again makes a
// new entry, written to the same store series. It returns how many were
// forgotten. It waits for a RecordGatherer under way (do not call it from
// a gatherer or a GaugeFunc).
func (r *Recorder) ForgetIdle(idle uint32) int {
	if r == nil {
		return 0
	}
	// Not between a gather and its check of the Recorder's own series
	// (see recordGatherer).
	r.gmu.Lock()
	defer r.gmu.Unlock()
	e := r.epoch.Add(1)
	r.touchPending()
	var gone []*series
	defer func() { r.unregister(gone) }()
	defer r.pruneVecs()
	r.smu.Lock()
	defer r.smu.Unlock()
	n := 0
	for h, l := range r.byHash {
		kept := l[:0]
		for _, s := range l {
			if e-s.seen.Load() > idle {
				n++
				s.forgotten.Store(true)
				r.nbytes -= seriesSize(s.name, s.labels, s.service)
				if s.coalesce {
					gone = append(gone, s)
				}
				continue
			}
			kept = append(kept, s)
		}
		if len(kept) == 0 {
			delete(r.byHash, h)
		} else {
			clear(l[len(kept):])
			r.byHash[h] = kept
		}
	}
	r.nseries -= n
	return n
}

func (r *Recorder) touch(s *series) {
	if e := r.epoch.Load(); s.seen.Load() != e {
		s.seen.Store(e)
	}
}

// lookupErr finds or creates a series (without allocating when it exists:
// the label set is hashed order-independently and compared in place) and
// says why one is refused: ErrTooManySeries
// (MaxSeries), ErrLabelsTooLarge, ErrSeriesBytes, ErrInvalid or
// ErrTypeConflict. The mistake is logged once (see lookupQ).
func (r *Recorder) lookupErr(name string, typ store.Type, labels map[string]string, service string) (*series, error) {
	return r.lookupQ(name, typ, labels, service, false, false)
}

// lookupQ is lookupErr; quiet neither logs the mistake nor marks it
// logged (the error-returning forms: NewCounter, GetMetricWithLabelValues
// return it instead), so a later logging form still logs it once. handle:
// the series is for a handle, which a series RecordGatherer records
// refuses (ErrGathered).
func (r *Recorder) lookupQ(name string, typ store.Type, labels map[string]string, service string, quiet, handle bool) (*series, error) {
	h := r.hash(name, labels, service)
	r.smu.RLock()
	for _, s := range r.byHash[h] {
		if s.name == name && s.service == service && sameLabels(s.labels, labels) {
			external := s.external
			r.smu.RUnlock()
			r.touch(s)
			if s.typ != typ {
				if !quiet {
					r.warnOnce("type:"+name+string(typ), "metric recorded with two types; dropping", "name", name, "type", typ, "was", s.typ)
				}
				return nil, typeConflict(name, typ, s.typ)
			}
			if handle && external {
				return nil, r.gatheredSeries(s, quiet)
			}
			return s, nil
		}
	}
	r.smu.RUnlock()
	return r.create(h, name, typ, labels, service, quiet, handle)
}

// ErrGathered: a handle was asked for a series that RecordGatherer (or
// Options.Gatherers) records: the gatherer's registry owns it.
var ErrGathered = errors.New("series recorded from a gatherer")

// gatheredSeries is the error of a handle asked for s, a gathered series,
// logged once unless quiet.
func (r *Recorder) gatheredSeries(s *series, quiet bool) error {
	if !quiet {
		r.warnOnce("gathered:"+s.name, "a handle for a series a gatherer records; its samples are dropped", "name", s.name, "labels", s.labels)
	}
	return fmt.Errorf("metric %q%s: %w: a client_golang registry serves it", s.name, store.CanonicalLabels(s.labels), ErrGathered)
}

func (r *Recorder) create(h uint64, name string, typ store.Type, labels map[string]string, service string, quiet, handle bool) (*series, error) {
	if err := store.ValidateSeries(name, typ, labels); err != nil {
		if !quiet {
			r.warnOnce("invalid:"+name, "invalid series; dropping its samples", "name", name, "err", err)
		}
		return nil, fmt.Errorf("metric %q: %w: %w", name, ErrInvalid, err)
	}
	r.smu.Lock()
	defer r.smu.Unlock()
	s, err := r.createLocked(h, name, typ, labels, service)
	if handle && s != nil && s.external {
		s, err = nil, r.gatheredSeries(s, true)
		if !quiet {
			r.warnOnceLocked("gathered:"+name, "a handle for a series a gatherer records; its samples are dropped", "name", name, "labels", labels)
		}
	}
	switch {
	case quiet:
		if refusedForRoom(err) {
			r.seriesRefused.Add(1)
		}
	case errors.Is(err, ErrTypeConflict):
		r.warnOnceLocked("type:"+name+string(typ), "metric recorded with two types; dropping", "name", name, "type", typ, "was", r.types[name])
	case errors.Is(err, ErrTooManySeries):
		r.seriesRefused.Add(1)
		r.warnOnceLocked("max-series", "series limit reached; samples of new series are refused", "max_series", r.opt.MaxSeries)
	case errors.Is(err, ErrSeriesBytes):
		r.seriesRefused.Add(1)
		r.warnOnceLocked("max-series-bytes", "series bytes limit reached; samples of new series are refused", "max_series_bytes", r.opt.MaxSeriesBytes, "held", r.nbytes)
	case errors.Is(err, ErrLabelsTooLarge):
		r.seriesRefused.Add(1)
		r.warnOnceLocked("label-bytes:"+name, "series over the label bytes limit; its samples are refused", "name", name, "err", err)
	}
	return s, err
}

// seriesSize is a series' size as MaxLabelBytes and MaxSeriesBytes count
// it: the bytes of its name, service, and label names and values.
func seriesSize(name string, labels map[string]string, service string) int64 {
	n := len(name) + len(service)
	for k, v := range labels {
		if v != "" { // an empty value is no label
			n += len(k) + len(v)
		}
	}
	return int64(n)
}

// refusedForRoom: a series refused by a limit on what is held, not a
// mistake in it; such a refusal never panics, and is counted.
func refusedForRoom(err error) bool {
	return errors.Is(err, ErrTooManySeries) || errors.Is(err, ErrSeriesBytes) || errors.Is(err, ErrLabelsTooLarge)
}

// labelBytes refuses a series over MaxLabelBytes.
func (r *Recorder) labelBytes(name string, size int64) error {
	if r.opt.MaxLabelBytes > 0 && size > int64(r.opt.MaxLabelBytes) {
		return fmt.Errorf("metric %s: %w: %d bytes of name, labels and service, over the limit of %d", name, ErrLabelsTooLarge, size, r.opt.MaxLabelBytes)
	}
	return nil
}

// checkSize refuses a series over MaxLabelBytes, or one that would take
// the series held past MaxSeriesBytes; smu must be held.
func (r *Recorder) checkSize(name string, size int64) error {
	if err := r.labelBytes(name, size); err != nil {
		return err
	}
	if r.opt.MaxSeriesBytes > 0 && r.nbytes+size > r.opt.MaxSeriesBytes {
		return fmt.Errorf("metric %s: %w: the series held take %d bytes, the limit is %d", name, ErrSeriesBytes, r.nbytes, r.opt.MaxSeriesBytes)
	}
	return nil
}

// createLocked finds or creates a validated series; smu must be held. It
// returns nil and ErrTooManySeries when a new series would pass MaxSeries
// (ErrLabelsTooLarge, ErrSeriesBytes: MaxLabelBytes, MaxSeriesBytes),
// nil and ErrTypeConflict for a type clash.
func (r *Recorder) createLocked(h uint64, name string, typ store.Type, labels map[string]string, service string) (*series, error) {
	for _, s := range r.byHash[h] { // created meanwhile
		if s.name == name && s.service == service && sameLabels(s.labels, labels) {
			if s.typ != typ {
				return nil, typeConflict(name, typ, s.typ)
			}
			r.touch(s)
			return s, nil
		}
	}
	if t, ok := r.types[name]; ok && t != typ {
		return nil, typeConflict(name, typ, t)
	}
	if r.opt.MaxSeries > 0 && r.nseries >= r.opt.MaxSeries {
		return nil, ErrTooManySeries
	}
	size := seriesSize(name, labels, service)
	if err := r.checkSize(name, size); err != nil {
		return nil, err
	}
	r.types[name] = typ
	// A label with an empty value is no label, as Prometheus reads it:
	// {a=""} and {} are one series, kept without it.
	cp := make(map[string]string, len(labels))
	for k, v := range labels {
		if v != "" {
			cp[k] = v
		}
	}
	rate := 1.0
	if sr, ok := r.opt.Sampling[name]; ok && sr > 0 && sr < 1 {
		rate = sr
	}
	s := &series{name: name, typ: typ, labels: cp, service: service, rate: rate}
	s.coalesce = r.opt.Resolution > 0 && rate == 1 && typ != store.Histogram
	if typ == store.Histogram {
		s.hist = newHist(r.bucketsFor(name))
	}
	s.bucket.Store(unregistered)
	s.seen.Store(r.epoch.Load())
	r.byHash[h] = append(r.byHash[h], s)
	r.nseries++
	r.nbytes += size
	return s, nil
}

func (r *Recorder) hash(name string, labels map[string]string, service string) uint64 {
	h := maphash.String(r.seed, name) ^ maphash.String(r.seed, service)*31
	var sum uint64
	for k, v := range labels {
		if v == "" {
			continue // no label: {a=""} is {}
		}
		// Summing per-pair hashes makes the result independent of map order.
		sum += maphash.String(r.seed, k) * (maphash.String(r.seed, v) | 1)
	}
	return h ^ sum
}

// sameLabels: b, whose empty values are no labels, is a series' labels
// (which hold none).
func sameLabels(a, b map[string]string) bool {
	n := 0
	for k, v := range b {
		if v == "" {
			continue
		}
		if av, ok := a[k]; !ok || av != v {
			return false
		}
		n++
	}
	return n == len(a)
}

func typeConflict(name string, typ, was store.Type) error {
	return fmt.Errorf("metric %q as a %s: %w (a %s)", name, typ, ErrTypeConflict, was)
}

// invalidValue refuses a value: a panic in Strict mode, else counted and
// logged once per metric.
func (r *Recorder) invalidValue(s *series, err error) {
	if r.opt.Strict {
		panic(fmt.Sprintf("collect: metric %q: %v", s.name, err))
	}
	r.invalid.Add(1)
	r.warnOnce("value:"+s.name, "invalid value; dropping", "name", s.name, "err", err)
}

func (r *Recorder) warnOnce(key, msg string, args ...any) {
	r.smu.Lock()
	defer r.smu.Unlock()
	r.warnOnceLocked(key, msg, args...)
}

func (r *Recorder) warnOnceLocked(key, msg string, args ...any) {
	if r.warned[key] {
		return
	}
	r.warned[key] = true
	r.opt.Logger.Warn(msg, args...)
}
