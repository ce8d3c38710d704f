// Package collect is vigil's instrumentation library and the base of its
// collection agent. A Recorder keeps counters, gauges and histograms in
// memory and flushes them into a SQLite store in batches, when the buffer
// fills and on an interval. Recording never blocks on I/O: when the store
// cannot be written, at most MaxBuffer rows wait and the rest are counted
// as dropped.
//
// # Handles and mistakes
//
// Counter, Gauge and Histogram return handles; keep them on hot paths
// (package-level handles with MustCounter, MustGauge, MustHistogram).
// NewCounter, NewGauge and NewHistogram return an error for a mistake
// made when the handle is made: an invalid name or label (errors.Is
// ErrInvalid) or a name already used with another type
// (ErrTypeConflict). The forms without an error log the mistake once
// through Options.Logger (default slog.Default()), count it in
// Stats().Invalid and return a handle that records nothing; so are a
// negative counter increment and a NaN or infinite value. Options.Strict
// turns every one of these mistakes into a panic where it is made: set
// it in tests.
//
// A Gauge has Set, Add, Inc and Dec; GaugeFunc registers a gauge read at
// every flush. Options.ConstLabels are merged into every series the
// handles make. StartTimer times an operation into a histogram
// (ObserveDuration, or ObserveDurationWith for labels known at the end);
// durations are recorded in seconds for names ending in _seconds and in
// milliseconds otherwise (_ms), by Timer, StartTimer and
// Histogram.ObserveDuration alike. Monitor labels failures with
// Options.ErrorClassifier (ClassifyErrors matches sentinel errors).
//
// # Resolution
//
// Handles coalesce in memory per series and per Options.Resolution
// (default 1s): a counter's increments within one resolution bucket
// become one row holding their sum, stamped with the bucket's start, so a
// hot counter writes one row a second however often it is incremented,
// and sums, rates and increases over windows aligned to the resolution
// are unchanged. A gauge keeps its last value per bucket. Histogram
// observations are all kept. The bucket clock is read by the flusher
// every Resolution and at every Flush, never on the increment path (an
// increment is an atomic add); with FlushInterval < 0 it advances only at
// Flush. A negative Resolution writes a row per call, as Add and AddBatch
// always do (they carry their own timestamps).
//
// # HTTP
//
// Middleware records http_requests_total{method,endpoint,status} and the
// histogram response_time_ms{method,endpoint} for every request. The
// endpoint is the route pattern a Go 1.22+ ServeMux matched, and
// "unmatched" for a request no route matched (a 404 for /wp-admin, a
// 405); a method outside MiddlewareOptions.Methods is "other": a scanner
// cannot make new series. The wrapped writer keeps http.Flusher,
// http.Hijacker and io.ReaderFrom; a panicking handler is recorded as a
// 500 and re-panics. MiddlewareOptions.SLIService records
// TrackAvailability (5xx is a failure) and, with LatencyThreshold,
// TrackLatency for every request.
//
// # Prometheus
//
// Handler serves the Recorder's series in the Prometheus text format:
// counters as totals since start, gauges as their last value (a GaugeFunc
// read at the scrape), histograms as buckets (Options.Buckets, by default
// DefBuckets for _seconds and DefBuckets x1000 for _ms) with _sum and
// _count. Mount it on /metrics and one service is both scraped by
// Prometheus and stored by vigil. A service that keeps client_golang can
// instead be scraped by the agent: vigil collect --scrape.
//
// # Testing
//
// Methods on a nil *Recorder (except Middleware), and the handles and
// timers it returns, do nothing, so a component can be given a nil
// Recorder. Package collecttest gives a test a Recorder on a temporary
// store and reads counters, gauges and histograms back from it;
// Open(":memory:") keeps a store in memory.
package collect

import (
	"context"
	"errors"
	"fmt"
	"hash/maphash"
	"log/slog"
	"maps"
	"math"
	"math/rand/v2"
	"sync"
	"sync/atomic"
	"time"

	"github.com/vigil-metrics/vigil/internal/store"
)

// Options tune a Recorder.
type Options struct {
	// Service is the store's service column for samples recorded through
	// the handles (Counter, Gauge, Histogram).
	Service string
	// BufferSize is how many samples are buffered before a flush is
	// started (default 1000).
	BufferSize int
	// MaxBuffer caps the samples held while the store cannot be written
	// (default 100000); beyond it new samples are dropped and counted.
	MaxBuffer int
	// FlushInterval flushes in the background this often (default 10s;
	// negative disables the timer, leaving flushes to BufferSize and Flush).
	FlushInterval time.Duration
	// Sampling keeps only this fraction of samples of the named
	// high-volume metrics (0 < rate <= 1). Kept counter increments are
	// scaled by 1/rate so rates and increases stay unbiased. A sampled
	// series is not coalesced (see Resolution): each kept sample is a row.
	Sampling map[string]float64
	// Now is the clock (default time.Now).
	Now func() time.Time
	// Logger receives each mistake once (invalid names, values, type
	// conflicts) and the flush errors (default slog.Default()).
	Logger *slog.Logger
	// Reopen closes and opens the store again after a failed write,
	// before the next retry, so a store whose permissions are fixed or
	// whose file system is remounted recovers (connections opened
	// read-only stay read-only). Only for a Recorder made by Open.
	Reopen bool
	// MaxSeries caps the series the Recorder holds (0: no cap); a sample
	// of a new series beyond it is refused (ErrTooManySeries) and counted
	// in Stats().SeriesRefused. ForgetIdle frees room.
	MaxSeries int
	// Resolution is the bucket handles coalesce into (default 1s; see the
	// package doc). Negative: every Add, Set and Inc is its own row.
	Resolution time.Duration
	// Strict panics on every mistake where it is made (invalid name or
	// label, type conflict, negative counter increment, NaN or infinite
	// value) instead of logging it once and counting it in Stats().Invalid.
	Strict bool
	// ConstLabels are merged into every series made through the handles,
	// timers, Monitor, Middleware and the SLI helpers (Add and AddBatch
	// store samples as given); a label given at the call wins.
	ConstLabels map[string]string
	// ErrorClassifier names the error label of Monitor's
	// <op>_failed_total (default: "error" for every error). Keep its
	// values few: ClassifyErrors matches sentinels with errors.Is, and
	// ErrorType gives the error's Go type name.
	ErrorClassifier func(error) string
	// Buckets are the upper bounds of the histogram buckets Handler
	// exposes, for every histogram (default: DefBuckets for names ending
	// in _seconds and names without a unit, DefBuckets x1000 for _ms).
	// The store keeps every observation whatever the buckets.
	Buckets []float64
	// Forward, if set, is called by the flusher with the samples of each
	// successful write, after they are committed, in commit order (one
	// call at a time, a write's samples in one or more calls). It must not
	// block (enqueue and return), must not modify the samples (their
	// Labels maps are the series' own, never changed, so they may be kept)
	// and must not keep the slice after it returns (it is reused). On a Recorder made by New(nil, ...) there is
	// no store: every flush hands its samples to Forward alone, and
	// Stats().Written counts them.
	Forward func([]store.Sample)
}

// Stats are the Recorder's own health counters.
type Stats struct {
	Written       int64         // samples committed to the store (handed to Forward when there is none)
	Dropped       int64         // samples dropped (buffer full while the store failed)
	Invalid       int64         // samples refused (NaN, negative counter increment, bad name)
	FlushErrors   int64         // failed flush attempts
	Buffered      int           // samples waiting
	LastFlush     time.Duration // duration of the last successful flush
	LastFlushRows int
	Series        int   // series held in memory
	SeriesRefused int64 // samples of new series refused by MaxSeries
	Reopens       int64 // store reopened after a failed write
}

// Errors of Add and AddBatch.
var (
	// ErrBufferFull: the batch does not fit now; retry later.
	ErrBufferFull = errors.New("buffer full: the store is not keeping up or cannot be written")
	// ErrBatchTooLarge: the batch can never fit (over MaxBuffer).
	ErrBatchTooLarge = errors.New("batch larger than the whole buffer")
	// ErrClosed: the Recorder is closed.
	ErrClosed = errors.New("recorder closed")
	// ErrTooManySeries: a new series would pass Options.MaxSeries.
	ErrTooManySeries = errors.New("series limit reached")
	// ErrInvalid: a metric name, label or value is not valid.
	ErrInvalid = errors.New("invalid metric")
	// ErrTypeConflict: the name is already used with another type.
	ErrTypeConflict = errors.New("metric name already used with another type")
)

type series struct {
	name    string
	typ     store.Type
	labels  map[string]string
	service string
	rate    float64 // sampling rate, 1 = keep all
	id      int64   // store id; touched only by the flushing goroutine
	// idGen is the store generation id belongs to (Recorder.storeGen):
	// after a reopen every id is stale, held by a handle or not.
	idGen uint64
	// refused is set when the store rejects the series (its name has
	// another type on disk): its samples are dropped as invalid.
	refused atomic.Bool
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

type sample struct {
	s  *series
	ts int64
	v  float64
}

// Recorder records samples into one store. It is safe for concurrent use.
type Recorder struct {
	// cur is the start (ms) of the current resolution bucket, read on
	// every increment: kept on a cache line of its own.
	_   [64]byte
	cur atomic.Int64
	_   [56]byte

	st   atomic.Pointer[store.Store]
	opt  Options
	seed maphash.Seed

	mu      sync.Mutex
	buf     []sample
	pending [][]sample // full buffers waiting for the flusher, oldest first
	npend   int
	// inflight counts samples being written: they still count against
	// MaxBuffer, so a failed write can requeue them without dropping any.
	inflight int
	// reserved is room AddBatch holds while it validates a batch.
	reserved int
	// closing is set under mu by Close: nothing is accepted after it.
	closing bool
	free    [][]sample
	rng     *rand.Rand
	wake    chan struct{}

	smu     sync.RWMutex
	byHash  map[uint64][]*series
	nseries int
	types   map[string]store.Type
	warned  map[string]bool
	epoch   atomic.Uint32
	// unwritten holds what the final flush of Close could not write.
	unwritten [][]sample

	flushMu                              sync.Mutex     // one writer at a time
	retired                              []*store.Store // replaced by reopen, closed later; under flushMu
	fwdBuf                               []store.Sample // Forward's reused slice; under flushMu
	storeGen                             uint64         // bumped by reopen; under flushMu
	written, dropped, invalid, flushErrs atomic.Int64
	seriesRefused, reopens               atomic.Int64
	lastFlush                            atomic.Int64
	lastRows                             atomic.Int64

	// amu guards the coalesced series and the gauge callbacks.
	amu     sync.Mutex
	active  []*series
	limbo   []*series // unregistered, drained once more by the next drain
	funcs   []gaugeFunc
	drained []sample

	stop   chan struct{}
	done   chan struct{}
	closed atomic.Bool
}

// Open opens (or creates) the store at path and starts a Recorder on it.
// The path ":memory:" opens a store in memory, held on one connection (a
// second connection would see another, empty database).
func Open(path string, opt Options) (*Recorder, error) {
	st, err := store.Open(context.Background(), path, store.Options{})
	if err != nil {
		return nil, err
	}
	if path == ":memory:" {
		st.KeepOneConnection()
	}
	return New(st, opt), nil
}

// New starts a Recorder on an open store; Close closes the store too. A
// nil store writes no file: flushes only hand the samples to
// Options.Forward (which must then be set).
func New(st *store.Store, opt Options) *Recorder {
	if st == nil && opt.Forward == nil {
		panic("collect.New: a nil store needs Options.Forward")
	}
	if opt.BufferSize <= 0 {
		opt.BufferSize = 1000
	}
	if opt.MaxBuffer <= 0 {
		opt.MaxBuffer = 100000
	}
	if opt.MaxBuffer < opt.BufferSize {
		opt.MaxBuffer = opt.BufferSize
	}
	if opt.FlushInterval == 0 {
		opt.FlushInterval = 10 * time.Second
	}
	if opt.Now == nil {
		opt.Now = time.Now
	}
	if opt.Logger == nil {
		opt.Logger = slog.Default()
	}
	if opt.Resolution == 0 {
		opt.Resolution = time.Second
	}
	if opt.Resolution > 0 && opt.Resolution < time.Millisecond {
		opt.Resolution = time.Millisecond
	}
	opt.Buckets = cleanBuckets(opt.Buckets)
	if opt.ErrorClassifier == nil {
		opt.ErrorClassifier = func(error) string { return "error" }
	}
	r := &Recorder{
		opt: opt, seed: maphash.MakeSeed(),
		buf:    make([]sample, 0, opt.BufferSize),
		rng:    rand.New(rand.NewPCG(uint64(opt.Now().UnixNano()), 0x5eed)),
		wake:   make(chan struct{}, 1),
		byHash: map[uint64][]*series{}, types: map[string]store.Type{}, warned: map[string]bool{},
		stop: make(chan struct{}), done: make(chan struct{}),
	}
	r.st.Store(st)
	r.cur.Store(r.bucketOf(opt.Now()))
	r.loadTypes()
	go r.flushLoop()
	return r
}

// loadTypes learns the store's metric types, so a sample whose name has
// another type on disk is refused when recorded rather than failing every
// flush.
func (r *Recorder) loadTypes() {
	if r.st.Load() == nil {
		return
	}
	types, err := r.st.Load().MetricTypes(context.Background())
	maps.Copy(r.types, types)
	if err != nil {
		r.opt.Logger.Warn("read metric types", "err", err)
	}
}

// Store is the store the Recorder writes (another one after a reopen);
// nil for a Recorder made by New(nil, ...).
func (r *Recorder) Store() *store.Store {
	if r == nil {
		return nil
	}
	return r.st.Load()
}

// reopen opens the store's file again and swaps it in, so connections
// that a permission or mount problem left read-only are dropped. Only the
// flushing goroutine (under flushMu) calls it.
func (r *Recorder) reopen() error {
	old := r.st.Load()
	st, err := store.Open(context.Background(), old.Path, store.Options{})
	if err != nil {
		return err
	}
	r.st.Store(st)
	// Others may still be using the old handle (the agent's prune, a type
	// lookup): it is closed two reopens later, or at Close, not now.
	r.retired = append(r.retired, old)
	if len(r.retired) > 2 {
		r.retired[0].Close()
		r.retired = r.retired[1:]
	}
	// Series ids are re-resolved in the new store (the file may have been
	// replaced): every id of an older generation is stale, whether its
	// series is in the index, forgotten with samples queued, or only held
	// by a handle. Touched only under flushMu, which the caller holds.
	r.storeGen++
	r.reopens.Add(1)
	return nil
}

// ForgetIdle starts a new epoch and forgets the series not recorded in
// the last idle epochs (call it on a timer: with a call a minute, idle is
// in minutes), so series that stopped do not pin memory. A handle to a
// forgotten series keeps working; recording its identity again makes a
// new entry, written to the same store series. It returns how many were
// forgotten.
func (r *Recorder) ForgetIdle(idle uint32) int {
	if r == nil {
		return 0
	}
	e := r.epoch.Add(1)
	r.touchPending()
	var gone []*series
	defer func() { r.unregister(gone) }()
	r.smu.Lock()
	defer r.smu.Unlock()
	n := 0
	for h, l := range r.byHash {
		kept := l[:0]
		for _, s := range l {
			if e-s.seen.Load() > idle {
				n++
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
// (MaxSeries), ErrInvalid or ErrTypeConflict.
func (r *Recorder) lookupErr(name string, typ store.Type, labels map[string]string, service string) (*series, error) {
	h := r.hash(name, labels, service)
	r.smu.RLock()
	for _, s := range r.byHash[h] {
		if s.name == name && s.service == service && sameLabels(s.labels, labels) {
			r.smu.RUnlock()
			r.touch(s)
			if s.typ != typ {
				r.warnOnce("type:"+name+string(typ), "metric recorded with two types; dropping", "name", name, "type", typ, "was", s.typ)
				return nil, typeConflict(name, typ, s.typ)
			}
			return s, nil
		}
	}
	r.smu.RUnlock()
	return r.create(h, name, typ, labels, service)
}

func (r *Recorder) create(h uint64, name string, typ store.Type, labels map[string]string, service string) (*series, error) {
	if err := store.ValidateSeries(name, typ, labels); err != nil {
		r.warnOnce("invalid:"+name, "invalid series; dropping its samples", "name", name, "err", err)
		return nil, fmt.Errorf("metric %q: %w: %w", name, ErrInvalid, err)
	}
	r.smu.Lock()
	defer r.smu.Unlock()
	s, err := r.createLocked(h, name, typ, labels, service)
	if errors.Is(err, ErrTooManySeries) {
		r.seriesRefused.Add(1)
		r.warnOnceLocked("max-series", "series limit reached; samples of new series are refused", "max_series", r.opt.MaxSeries)
	}
	return s, err
}

// createLocked finds or creates a validated series; smu must be held. It
// returns nil and ErrTooManySeries when a new series would pass MaxSeries,
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
		r.warnOnceLocked("type:"+name+string(typ), "metric recorded with two types; dropping", "name", name, "type", typ, "was", t)
		return nil, typeConflict(name, typ, t)
	}
	if r.opt.MaxSeries > 0 && r.nseries >= r.opt.MaxSeries {
		return nil, ErrTooManySeries
	}
	r.types[name] = typ
	cp := make(map[string]string, len(labels))
	for k, v := range labels {
		cp[k] = v
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
	return s, nil
}

func (r *Recorder) hash(name string, labels map[string]string, service string) uint64 {
	h := maphash.String(r.seed, name) ^ maphash.String(r.seed, service)*31
	var sum uint64
	for k, v := range labels {
		// Summing per-pair hashes makes the result independent of map order.
		sum += maphash.String(r.seed, k) * (maphash.String(r.seed, v) | 1)
	}
	return h ^ sum
}

func sameLabels(a, b map[string]string) bool {
	if len(a) != len(b) {
		return false
	}
	for k, v := range a {
		if bv, ok := b[k]; !ok || bv != v {
			return false
		}
	}
	return true
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
func (r *Recorder) Add(s store.Sample) error {
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
func (r *Recorder) AddBatch(samples []store.Sample) error {
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

	refs, err := r.batchSeries(samples)
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
func (r *Recorder) batchSeries(samples []store.Sample) ([]*series, error) {
	r.smu.Lock()
	defer r.smu.Unlock()
	inBatch := map[string]store.Type{}
	for i := range samples {
		s := &samples[i]
		err := s.Validate()
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
		if err != nil && !errors.Is(err, ErrTooManySeries) {
			return nil, fmt.Errorf("sample %d: %w", i+1, err)
		}
		if err != nil {
			// The batch's series created so far stay (they are valid and
			// will be forgotten when idle): counting them off again would
			// race with other batches.
			r.seriesRefused.Add(int64(len(samples) - i))
			return nil, fmt.Errorf("sample %d: %w (%d series held)", i+1, err, r.nseries)
		}
		if refs[i] == nil || refs[i].refused.Load() {
			// Only a series the store refused gets here (types were checked).
			return nil, fmt.Errorf("sample %d: metric %s was refused by the store", i+1, s.Name)
		}
	}
	return refs, nil
}

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
		if err := r.writePending(context.Background()); err != nil {
			backoff = min(max(2*backoff, 100*time.Millisecond), max(r.opt.FlushInterval, time.Second))
			retry = time.After(backoff)
			r.opt.Logger.Error("flush failed; will retry", "err", err, "buffered", r.Stats().Buffered, "retry_in", backoff)
			r.reopenAfter(err)
		} else {
			backoff, retry = 0, nil
		}
	}
}

// reopenAfter reopens the store after a failed write when Options.Reopen
// asks for it; a failed reopen keeps the old store until the next retry.
func (r *Recorder) reopenAfter(err error) {
	if !r.opt.Reopen || err == nil || r.st.Load() == nil {
		return
	}
	r.flushMu.Lock()
	defer r.flushMu.Unlock()
	if rerr := r.reopen(); rerr != nil {
		r.opt.Logger.Warn("reopen store after a failed write", "err", rerr)
		return
	}
	r.opt.Logger.Info("reopened the store after a failed write", "path", r.st.Load().Path)
}

// writePending writes every queued buffer in one transaction. On failure
// the buffers go back to the front of the queue.
func (r *Recorder) writePending(ctx context.Context) error {
	r.flushMu.Lock()
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
	tx, err := st.Begin(ctx)
	if err != nil {
		return err
	}
	var resolved, refused []*series
	fail := func(err error) error {
		tx.Rollback()
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
	if r.opt.Forward != nil {
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
	if r.fwdBuf == nil {
		r.fwdBuf = make([]store.Sample, 0, forwardChunk)
	}
	buf := r.fwdBuf[:0]
	for _, c := range chunks {
		for _, smp := range c {
			s := smp.s
			buf = append(buf, store.Sample{Name: s.name, Type: s.typ, Labels: s.labels, Service: s.service, TS: smp.ts, Value: smp.v})
			if len(buf) == forwardChunk {
				r.opt.Forward(buf)
				buf = buf[:0]
			}
		}
	}
	if len(buf) > 0 {
		r.opt.Forward(buf)
	}
	clear(buf[:cap(buf)]) // do not pin the label maps of forgotten series
}

// forwardChunk is the most samples of one Forward call.
const forwardChunk = 4096

// Flush drains the coalesced handles and the gauge callbacks, writes
// everything buffered now and waits for it.
func (r *Recorder) Flush(ctx context.Context) error {
	if r == nil {
		return nil
	}
	r.drain(r.opt.Now(), true)
	r.mu.Lock()
	r.handoffLocked()
	r.mu.Unlock()
	return r.writePending(ctx)
}

// Close stops the background flusher, flushes, and closes the store.
func (r *Recorder) Close() error {
	if r == nil || r.closed.Swap(true) {
		return nil
	}
	r.mu.Lock()
	r.closing = true // what was queued before this is flushed below
	r.mu.Unlock()
	close(r.stop)
	<-r.done
	// A short outage at shutdown should not lose what was accepted: try
	// the final flush a few times before giving up.
	err := r.Flush(context.Background())
	for wait := 100 * time.Millisecond; err != nil && wait <= 800*time.Millisecond; wait *= 2 {
		r.reopenAfter(err)
		time.Sleep(wait)
		err = r.Flush(context.Background())
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
	return err
}

// Unwritten returns, after Close failed, the samples its final flush could
// not write (so that a caller can keep them elsewhere); nil otherwise.
func (r *Recorder) Unwritten() []store.Sample {
	if r == nil {
		return nil
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	var out []store.Sample
	for _, c := range r.unwritten {
		for _, smp := range c {
			if smp.s.refused.Load() {
				continue
			}
			out = append(out, store.Sample{Name: smp.s.name, Type: smp.s.typ, Labels: smp.s.labels,
				Service: smp.s.service, TS: smp.ts, Value: smp.v})
		}
	}
	return out
}

// Stats reports the Recorder's health.
func (r *Recorder) Stats() Stats {
	if r == nil {
		return Stats{}
	}
	r.mu.Lock()
	buffered := r.npend + r.inflight + len(r.buf)
	r.mu.Unlock()
	r.smu.RLock()
	nseries := r.nseries
	r.smu.RUnlock()
	return Stats{
		Series: nseries, SeriesRefused: r.seriesRefused.Load(), Reopens: r.reopens.Load(),
		Written: r.written.Load(), Dropped: r.dropped.Load(), Invalid: r.invalid.Load(),
		FlushErrors: r.flushErrs.Load(), Buffered: buffered,
		LastFlush: time.Duration(r.lastFlush.Load()), LastFlushRows: int(r.lastRows.Load()),
	}
}
