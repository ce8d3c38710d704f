package collect

import (
	"context"
	"errors"
	"hash/maphash"
	"log/slog"
	"maps"
	"math/rand/v2"
	"sync"
	"sync/atomic"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/vigil-metrics/vigil/internal/cumulative"
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
	// MaxLabelBytes caps the size of one series: its name, service and
	// label names and values, in bytes (0: no cap). A sample of a bigger
	// series is refused (ErrLabelsTooLarge) and counted in
	// Stats().SeriesRefused: MaxSeries alone bounds how many series are
	// held, not how big each is.
	MaxLabelBytes int
	// MaxSeriesBytes caps the sum of those sizes over the series held (0:
	// no cap); a new series beyond it is refused (ErrSeriesBytes) and
	// counted in Stats().SeriesRefused. ForgetIdle frees room.
	MaxSeriesBytes int64
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
	// Naming picks the names and duration unit of the metrics the
	// Recorder names itself (Middleware, Monitor, the SLI helpers) and the
	// unit of durations given to a histogram whose name does not say one:
	// NamingReference (the default: response_time_ms, milliseconds) or
	// NamingPrometheus (http_request_duration_seconds, base units).
	Naming Naming
	// Gatherers are recorded into the store at every flush (the
	// interval and Flush) with RecordGatherer: client_golang registries
	// whose metrics vigil should keep too. A gatherer listed twice (the
	// same pointer) is gathered once and the repeat logged (a panic with
	// Strict).
	Gatherers []prometheus.Gatherer
	// Buckets are the upper bounds of the histogram buckets Handler
	// exposes, for every histogram (default: DefBuckets for names ending
	// in _seconds and names without a unit, DefBuckets converted to the
	// unit of time a name says: x1000 for _ms, x1e6 for _us, ...; 1 KiB
	// to 1 GiB by powers of 4 for _bytes, the same in MiB for _mb).
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
	Forward func([]Sample)
	// forwardStore is Forward given the store's samples (vigil's agent,
	// through internal/collectlink); it wins over Forward.
	forwardStore func([]store.Sample)

	// testInTx is called inside each write transaction, once it has
	// begun (tests: a write that takes long).
	testInTx func()
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
	SeriesRefused int64 // samples of new series refused by MaxSeries, MaxLabelBytes or MaxSeriesBytes
	SeriesBytes   int64 // sizes of the series held, as MaxSeriesBytes counts them
	Reopens       int64 // store reopened after a failed write
	// MetadataDropped counts help texts the store refused (dropped,
	// logged once): they never hold samples back.
	MetadataDropped int64
	// GatherErrors counts calls of Options.Gatherers that failed or
	// panicked (each gatherer's first error is logged).
	GatherErrors int64
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
	// ErrLabelsTooLarge: a series is over Options.MaxLabelBytes.
	ErrLabelsTooLarge = errors.New("series labels too large")
	// ErrSeriesBytes: a new series would pass Options.MaxSeriesBytes.
	ErrSeriesBytes = errors.New("series bytes limit reached")
	// ErrInvalid: a metric name, label or value is not valid.
	ErrInvalid = errors.New("invalid metric")
	// ErrTypeConflict: the name is already used with another type.
	ErrTypeConflict = errors.New("metric name already used with another type")
)

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
	nbytes  int64 // seriesSize summed over the series held; under smu
	types   map[string]store.Type
	warned  map[string]bool
	// help is each name's help text; helpPending the names whose help
	// the store has not been given yet.
	help        map[string]string
	helpPending []string
	vecs        []*vec            // every vec made, for ForgetIdle to prune
	vecByName   map[string][]*vec // the vecs of a name, to give a repeat the first
	epoch       atomic.Uint32
	// unwritten holds what the final flush of Close could not write.
	unwritten [][]sample

	flushMu                              writerSlot     // one writer at a time; a wait for it ends with its context
	retired                              []*store.Store // replaced by reopen, closed later; under flushMu
	fwdBuf                               []store.Sample // forwardStore's reused slice; under flushMu
	fwdPub                               []Sample       // Forward's reused slice; under flushMu
	storeGen                             uint64         // bumped by reopen; under flushMu
	helpGen                              uint64         // the storeGen the help was written to; under flushMu
	written, dropped, invalid, flushErrs atomic.Int64
	seriesRefused, reopens               atomic.Int64
	metaDropped, gatherErrs              atomic.Int64
	lastFlush                            atomic.Int64
	lastRows                             atomic.Int64

	// gmu guards gtrack, RecordGatherer's counter baselines: one tracker
	// per gatherer (see gathererKey). RecordGatherer holds it from its
	// gather on, and ForgetIdle takes it first: taken before smu and amu.
	gmu    writerSlot // a wait for it ends with RecordGatherer's context
	gtrack map[any]*cumulative.Tracker

	// amu guards the coalesced series and the gauge callbacks.
	amu     sync.Mutex
	active  []*series
	limbo   []*series // unregistered, drained once more by the next drain
	funcs   []gaugeFunc
	drained []sample

	stop   chan struct{}
	done   chan struct{}
	closed atomic.Bool
	// loopCtx is the background flusher's; a bounded Close cancels it when
	// its bound runs out, so a wait of the flusher for a locked store ends.
	loopCtx    context.Context
	loopCancel context.CancelFunc
	// The bound of CloseWithin on waiting for the store (0: none): a wait
	// for the write lock ends waitFor after progress, the UnixNano of the
	// start of the close or of the last write the store took since.
	waitFor, progress atomic.Int64
	// lockSeen is set when a write of the close found the store locked by
	// another connection (SQLITE_BUSY).
	lockSeen atomic.Bool
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
	return startRecorder(st, opt), nil
}

// New starts a Recorder on a store opened by OpenStore (or another
// Recorder's Store); Close closes the store too. A nil store writes no
// file: flushes only hand the samples to Options.Forward (which must then
// be set).
func New(st *Store, opt Options) *Recorder {
	var s *store.Store
	if st != nil {
		s = st.st
	}
	return startRecorder(s, opt)
}

func startRecorder(st *store.Store, opt Options) *Recorder {
	if st == nil && opt.Forward == nil && opt.forwardStore == nil {
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
	opt.Gatherers = uniqueGatherers(opt.Gatherers, opt.Logger, opt.Strict)
	if opt.ErrorClassifier == nil {
		opt.ErrorClassifier = func(error) string { return "error" }
	}
	r := &Recorder{
		opt: opt, seed: maphash.MakeSeed(),
		buf:    make([]sample, 0, opt.BufferSize),
		rng:    rand.New(rand.NewPCG(uint64(opt.Now().UnixNano()), 0x5eed)),
		wake:   make(chan struct{}, 1),
		byHash: map[uint64][]*series{}, types: map[string]store.Type{}, warned: map[string]bool{}, help: map[string]string{},
		stop: make(chan struct{}), done: make(chan struct{}), flushMu: make(writerSlot, 1), gmu: make(writerSlot, 1),
	}
	r.loopCtx, r.loopCancel = context.WithCancel(context.Background())
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

// storeNow is the store written now (nil without one).
func (r *Recorder) storeNow() *store.Store {
	if r == nil {
		return nil
	}
	return r.st.Load()
}

// Store is the store the Recorder writes (another one after a reopen);
// nil for a Recorder made by New(nil, ...).
func (r *Recorder) Store() *Store {
	st := r.storeNow()
	if st == nil {
		return nil
	}
	return &Store{Path: st.Path, st: st}
}

// reopen opens the store's file again and swaps it in, so connections
// that a permission or mount problem left read-only are dropped. Only the
// flushing goroutine (under flushMu) calls it.
func (r *Recorder) reopen(ctx context.Context) error {
	old := r.st.Load()
	st, err := store.Open(ctx, old.Path, store.Options{})
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

// Flush drains the coalesced handles and the gauge callbacks, writes
// everything buffered now and waits for it. Its waits end with ctx: for
// a store another process holds locked (SQLite's busy timeout is 10s),
// for the background flusher's write, which may itself be waiting on
// that lock, and for its gathering of Options.Gatherers. Then it returns ctx's error and nothing is lost: what it did
// not write stays buffered for the next flush.
func (r *Recorder) Flush(ctx context.Context) error {
	if r == nil {
		return nil
	}
	r.drainCtx(ctx, r.opt.Now(), true)
	r.mu.Lock()
	r.handoffLocked()
	r.mu.Unlock()
	return r.writePending(ctx)
}

// Unwritten returns, after Close failed, the samples its final flush could
// not write (so that a caller can keep them elsewhere); nil otherwise.
func (r *Recorder) Unwritten() []Sample {
	var out []Sample
	for _, s := range r.unwrittenStore() {
		out = append(out, fromStore(s))
	}
	return out
}

func (r *Recorder) unwrittenStore() []store.Sample {
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
	nseries, nbytes := r.nseries, r.nbytes
	r.smu.RUnlock()
	return Stats{
		Series: nseries, SeriesBytes: nbytes, SeriesRefused: r.seriesRefused.Load(), Reopens: r.reopens.Load(),
		Written: r.written.Load(), Dropped: r.dropped.Load(), Invalid: r.invalid.Load(),
		FlushErrors: r.flushErrs.Load(), Buffered: buffered,
		LastFlush: time.Duration(r.lastFlush.Load()), LastFlushRows: int(r.lastRows.Load()),
		MetadataDropped: r.metaDropped.Load(), GatherErrors: r.gatherErrs.Load(),
	}
}
