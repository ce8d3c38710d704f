// Package agent runs vigil's collection agent: every interval it reads the
// host (and GPUs), scrapes Prometheus endpoints, takes pushes over HTTP,
// and writes everything through one buffered Recorder into a store, while
// pruning samples past the retention. It owns the agent's loop and the
// wiring of its parts (store, system, gpu, scrape, push, remotewrite), the
// defaults of its Config and the spill file written when the store fails at
// shutdown.
//
// It must not import analyze, alert or report: the agent binary does not
// link DuckDB, and collecting stays free of analysis.
package agent

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"os"
	"strings"
	"sync"
	"time"

	"github.com/vigil-metrics/vigil/collect"
	"github.com/vigil-metrics/vigil/internal/collectlink"
	"github.com/vigil-metrics/vigil/internal/gpu"
	"github.com/vigil-metrics/vigil/internal/push"
	"github.com/vigil-metrics/vigil/internal/remotewrite"
	"github.com/vigil-metrics/vigil/internal/scrape"
	"github.com/vigil-metrics/vigil/internal/secret"
	"github.com/vigil-metrics/vigil/internal/sources"
	"github.com/vigil-metrics/vigil/internal/store"
	"github.com/vigil-metrics/vigil/internal/system"
)

// Config is the agent's whole configuration.
type Config struct {
	DB              string
	Interval        time.Duration // default 10s
	Once            bool          // collect once and exit
	Targets         []scrape.Target
	Listen          string // push and health endpoints; empty: none
	Token           string // bearer token for pushes
	GPU             string // auto (default), on, off
	Service         string // service column for host and GPU metrics
	Host            string // host label
	Retention       time.Duration
	BufferSize      int
	MaxBuffer       int
	ScrapeTimeout   time.Duration
	ScrapeBodyLimit int64
	// OnceDelay separates the two readings of --once (default 200ms, at
	// most 250ms) so CPU percentages exist after one run.
	OnceDelay time.Duration
	UserAgent string
	Now       func() time.Time
	// Secrets are scrubbed from remote-write receivers' answers before
	// they are cut to a quotable length (the log itself is scrubbed by
	// the caller's handler).
	Secrets    *secret.Set
	Logger     *slog.Logger
	GPULibrary gpu.Library       // default NVML
	Ready      func(addr string) // called once the HTTP endpoint listens
	// StatusInterval is how often the agent logs, at info level, what it
	// did since the last such line (samples written, series held, scrapes
	// ok and failed, pushes accepted and refused): so that `journalctl -u
	// vigil-agent` shows life. Default 1m; negative: never; shorter than
	// MinStatusInterval: that. It only logs: rounds keep to Interval.
	StatusInterval time.Duration

	// MaxSeries caps the series held in memory (default 100000); samples
	// of further series are refused (pushes get 429) and counted.
	MaxSeries int
	// MaxLabelBytes caps one series' name, service and label names and
	// values, in bytes (default 8 KiB), and MaxSeriesBytes the sum over
	// the series held (default 64 MiB): MaxSeries bounds how many series
	// are held, these how big. Past either a push gets 429 and a scraped
	// series is dropped (logged once, counted).
	MaxLabelBytes  int
	MaxSeriesBytes int64
	// SeriesIdle: series (and pushed counter baselines) not seen for this
	// long are forgotten (default 1h).
	SeriesIdle time.Duration
	// PushBodyLimit (default 16 MiB, after decompression) and
	// MaxConcurrentPushes (default 2) bound the memory pushes take.
	PushBodyLimit       int64
	MaxConcurrentPushes int
	// ReadTimeout bounds reading a whole request, body included (default
	// 1m); IdleTimeout closes idle keep-alive connections (default 2m).
	ReadTimeout time.Duration
	IdleTimeout time.Duration

	// RemoteWrite are Prometheus remote-write endpoints that get
	// everything collected, besides the store or (NoStore) instead of it.
	RemoteWrite []string
	// NoStore writes no store at all (DB is ignored, as are Retention and
	// the spill file); it needs at least one RemoteWrite.
	NoStore bool
	// RemoteWriteQueue bounds the samples queued per endpoint (default
	// 100000); beyond it the oldest are dropped and counted.
	RemoteWriteQueue int
	// RemoteWriteProtocol is auto (default: 2.0, falling back to 1.0),
	// 1.0 or 2.0.
	RemoteWriteProtocol string
	// RemoteWriteTimeout bounds one remote-write request, reading the
	// answer included (default 30s); one past it is retried.
	RemoteWriteTimeout time.Duration
	// RemoteWriteFlushTimeout bounds sending what is queued at shutdown
	// (default 10s); what is left is counted and logged.
	RemoteWriteFlushTimeout time.Duration
	// RemoteWriteTransports are the HTTP transports (credentials, headers,
	// TLS) of the --remote-write URLs that have one (from the config's
	// sources: section).
	RemoteWriteTransports map[string]http.RoundTripper
	// remoteWrite adjusts the writers' options (tests).
	remoteWrite func(*remotewrite.Options)

	// ShutdownTimeout bounds how long the final writes at shutdown wait
	// for a store that takes no write (default 5s): a write lock held by
	// another process, retries of a failing write. It starts again after
	// each write the store takes and never cuts a write under way. What
	// was not written then is spilled (see SpillDir), well within a
	// service manager's stop timeout (Docker's 10s, Kubernetes' 30s).
	ShutdownTimeout time.Duration

	// SpillDir is where the samples the final flush could not write go
	// when a spill file beside the store fails too (its disk is full);
	// the temp folder is tried last. Default DefaultSpillDir(). At start
	// the agent loads its spills from all three places.
	SpillDir string

	// checkWritable tests that the store can be written (tests replace it).
	checkWritable func(*store.Store) error
	// createSpill creates a spill file (tests make it fail as a full disk).
	createSpill func(path string, perm os.FileMode) (spillFile, error)
}

// ErrGPURequired is returned when --gpu on finds no usable GPU library.
var ErrGPURequired = errors.New("--gpu on: no GPU metrics")

type agent struct {
	cfg     Config
	rec     *collect.Recorder
	sys     *system.Collector
	gpu     *gpu.Collector
	scraper *scrape.Scraper
	push    *push.Server
	log     *slog.Logger
	writers []*remotewrite.Writer
	wclosed bool

	mu         sync.Mutex
	types      map[string]store.Type // metric types read from the store
	scrapeErrs map[string]float64
	// scrapesOK and scrapesFailed count the scrapes since the start, for
	// the status line; under mu.
	scrapesOK, scrapesFailed int64
	last                     statusCounts // at the last status line
	busy                     map[string]bool
}

func (c *Config) defaults() {
	if c.Interval <= 0 {
		c.Interval = 10 * time.Second
	}
	if c.OnceDelay <= 0 || c.OnceDelay > 250*time.Millisecond {
		c.OnceDelay = 200 * time.Millisecond
	}
	if c.GPU == "" {
		c.GPU = "auto"
	}
	if c.Now == nil {
		c.Now = time.Now
	}
	if c.StatusInterval == 0 {
		c.StatusInterval = time.Minute
	}
	if c.StatusInterval > 0 && c.StatusInterval < MinStatusInterval {
		c.StatusInterval = MinStatusInterval // a line per nanosecond would spin and fill the disk
	}
	if c.Logger == nil {
		c.Logger = slog.New(slog.DiscardHandler)
	}
	if c.GPULibrary == nil {
		c.GPULibrary = gpu.NVML{}
	}
	if c.ScrapeTimeout <= 0 {
		c.ScrapeTimeout = min(c.Interval, 10*time.Second)
	}
	if c.MaxSeries <= 0 {
		c.MaxSeries = 100000
	}
	if c.MaxLabelBytes <= 0 {
		c.MaxLabelBytes = 8 << 10
	}
	if c.MaxSeriesBytes <= 0 {
		c.MaxSeriesBytes = 64 << 20
	}
	if c.SeriesIdle <= 0 {
		c.SeriesIdle = time.Hour
	}
	if c.ReadTimeout <= 0 {
		c.ReadTimeout = time.Minute
	}
	if c.IdleTimeout <= 0 {
		c.IdleTimeout = 2 * time.Minute
	}
	if c.checkWritable == nil {
		c.checkWritable = checkWritable
	}
	if c.createSpill == nil {
		c.createSpill = createSpill
	}
	if c.SpillDir == "" {
		c.SpillDir = DefaultSpillDir()
	}
	if c.ShutdownTimeout <= 0 {
		c.ShutdownTimeout = 5 * time.Second
	}
	if c.RemoteWriteFlushTimeout <= 0 {
		c.RemoteWriteFlushTimeout = 10 * time.Second
	}
}

// ErrNoOutput is returned for NoStore without a RemoteWrite.
var ErrNoOutput = errors.New("--no-store needs at least one --remote-write")

// ErrStoreNotWritable is returned at start for a store that cannot be
// written: accepting pushes into it would only lose them.
var ErrStoreNotWritable = errors.New("store cannot be written")

// checkWritable tries a write (store.CheckWritable): permission bits say
// nothing about a read-only mount, a root-owned file seen by root, or a
// full disk's journal, while SQLite's own write path does.
func checkWritable(st *store.Store) error {
	ctx, cancel := context.WithTimeout(context.Background(), 15*time.Second)
	defer cancel()
	return st.CheckWritable(ctx)
}

// Run collects until ctx ends (SIGINT/SIGTERM), then flushes what is
// buffered and returns nil. With Once it collects one round and returns.
func Run(ctx context.Context, cfg Config) error {
	cfg.defaults()
	if cfg.NoStore && len(cfg.RemoteWrite) == 0 {
		return ErrNoOutput
	}
	a := &agent{cfg: cfg, log: cfg.Logger, scrapeErrs: map[string]float64{}, busy: map[string]bool{},
		sys:     system.New(cfg.Host),
		scraper: &scrape.Scraper{Timeout: cfg.ScrapeTimeout, BodyLimit: cfg.ScrapeBodyLimit, UserAgent: cfg.UserAgent}}
	if err := a.openGPU(); err != nil {
		return err
	}
	if a.gpu != nil {
		defer a.gpu.Close()
	}
	if err := a.startWriters(); err != nil {
		return err
	}
	defer a.closeWriters()
	var st *store.Store
	if !cfg.NoStore {
		var err error
		if st, err = openStore(ctx, cfg); err != nil {
			return err
		}
		a.loadSpills(ctx, st) // before the Recorder learns the store's types
	}
	a.startRecorder(st)
	defer a.rec.Close()
	a.types = map[string]store.Type{}
	if cfg.NoStore {
		a.cfg.Retention = 0 // nothing to prune
	}
	if a.cfg.Retention > 0 {
		a.logRetention(ctx)
	}

	if cfg.Once {
		return a.once(ctx)
	}
	srv, err := a.listen()
	if err != nil {
		return err
	}
	return a.loop(ctx, srv)
}

// openGPU opens the GPU library as --gpu asks: off, auto (without one is
// fine) or on (without one is an error).
func (a *agent) openGPU() error {
	switch a.cfg.GPU {
	case "off":
	case "auto", "on":
		c, err := gpu.Open(a.cfg.GPULibrary)
		switch {
		case err == nil:
			a.gpu = c
		case a.cfg.GPU == "on":
			return fmt.Errorf("%w: %s", ErrGPURequired, strings.TrimPrefix(err.Error(), gpu.ErrUnavailable.Error()+": "))
		default:
			a.log.Info("no GPU metrics", "reason", err)
		}
	default:
		return fmt.Errorf("--gpu %q: want auto, on or off", a.cfg.GPU)
	}
	return nil
}

// openStore opens the store and refuses one that cannot be written.
func openStore(ctx context.Context, cfg Config) (*store.Store, error) {
	st, err := store.Open(ctx, cfg.DB, store.Options{})
	if err != nil {
		return nil, err
	}
	if err := cfg.checkWritable(st); err != nil {
		st.Close()
		return nil, fmt.Errorf("%w: %s: %w", ErrStoreNotWritable, cfg.DB, err)
	}
	return st, nil
}

// startRecorder starts the one Recorder everything is written through
// (st is nil with NoStore), forwarding to the remote writers if any.
func (a *agent) startRecorder(st *store.Store) {
	interval := a.cfg.Interval
	if a.cfg.Once {
		interval = -1
	}
	ropt := collect.Options{
		BufferSize: a.cfg.BufferSize, MaxBuffer: a.cfg.MaxBuffer, FlushInterval: interval,
		Now: a.cfg.Now, Logger: a.cfg.Logger, Reopen: true, MaxSeries: a.cfg.MaxSeries,
		MaxLabelBytes: a.cfg.MaxLabelBytes, MaxSeriesBytes: a.cfg.MaxSeriesBytes,
	}
	if len(a.writers) > 0 {
		ropt = collectlink.WithForward(ropt, a.forward)
	}
	a.rec = collectlink.New[*collect.Recorder](st, ropt)
}

// listen starts the push endpoint when Listen is set; the server is nil
// otherwise.
func (a *agent) listen() (*http.Server, error) {
	cfg := a.cfg
	if cfg.Listen == "" {
		return nil, nil
	}
	ln, err := net.Listen("tcp", cfg.Listen)
	if err != nil {
		return nil, fmt.Errorf("listen on %s: %w", cfg.Listen, err)
	}
	a.push = &push.Server{Sink: push.RecorderSink(a.rec), Token: cfg.Token, Now: cfg.Now, Health: a.health, Types: a.checkTypes,
		BodyLimit: cfg.PushBodyLimit, MaxConcurrent: cfg.MaxConcurrentPushes}
	if cfg.NoStore {
		a.push.Types = nil // no store to hold other types
	}
	// A body trickling in at a byte a second is cut off by
	// ReadTimeout; idle keep-alives are closed by IdleTimeout.
	srv := &http.Server{Handler: a.withRemoteWriteMetrics(a.push.Handler()), ReadHeaderTimeout: min(10*time.Second, cfg.ReadTimeout),
		ReadTimeout: cfg.ReadTimeout, WriteTimeout: cfg.ReadTimeout + 30*time.Second, IdleTimeout: cfg.IdleTimeout,
		MaxHeaderBytes: 64 << 10}
	go func() {
		if err := srv.Serve(ln); err != nil && !errors.Is(err, http.ErrServerClosed) {
			a.log.Error("push endpoint stopped", "err", err)
		}
	}()
	a.log.Info("listening", "addr", ln.Addr().String())
	a.warnOpen(ln.Addr())
	if cfg.Ready != nil {
		cfg.Ready(ln.Addr().String())
	}
	return srv, nil
}

// warnOpen warns when pushes need no token on an address others can
// reach: every interface (0.0.0.0, [::], :port) or one that is not
// loopback. Anyone who reaches the port can then write into the store.
func (a *agent) warnOpen(addr net.Addr) {
	tcp, ok := addr.(*net.TCPAddr)
	if a.cfg.Token != "" || !ok || tcp.IP.IsLoopback() {
		return
	}
	msg := "listening on all interfaces without a token: anyone who can reach this port can push samples"
	if !tcp.IP.IsUnspecified() {
		msg = "listening on a non-loopback address without a token: anyone who can reach it can push samples"
	}
	a.log.Warn(msg, "addr", addr.String(), "hint", "give --token-file, or listen on 127.0.0.1 (or a private address behind a firewall)")
}

// MinStatusInterval floors Config.StatusInterval: a status line is for a
// person reading the journal, and a tiny interval would only spin.
const MinStatusInterval = 100 * time.Millisecond

// loop collects a round at start and every Interval, prunes past the
// retention and forgets idle series, until ctx ends; then it stops the push
// endpoint, waits for the rounds and prunes under way, and flushes. Only
// the Interval ticker runs rounds: the status and forget timers do their
// own work and nothing else (a status tick that collected made
// --status-interval the collection rate, h30 D3).
func (a *agent) loop(ctx context.Context, srv *http.Server) error {
	cfg := a.cfg
	tick := time.NewTicker(cfg.Interval)
	defer tick.Stop()
	// Idle series are forgotten on a timer of a quarter of SeriesIdle: a
	// series goes between SeriesIdle and 1.25 SeriesIdle after it was seen.
	forget := time.NewTicker(max(cfg.SeriesIdle/idleEpochs, 100*time.Millisecond))
	defer forget.Stop()
	var status <-chan time.Time
	if cfg.StatusInterval > 0 {
		t := time.NewTicker(cfg.StatusInterval)
		defer t.Stop()
		status = t.C
	}
	pruneEvery := pruneInterval(cfg.Retention)
	var lastPrune time.Time
	var wg sync.WaitGroup
	collect := func() {
		if cfg.Retention > 0 && (lastPrune.IsZero() || cfg.Now().Sub(lastPrune) >= pruneEvery) {
			lastPrune = cfg.Now()
			wg.Add(1)
			go func() { defer wg.Done(); a.prune(ctx) }()
		}
		a.round(ctx, &wg)
	}
	collect()
	for {
		select {
		case <-ctx.Done():
			if srv != nil {
				sctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
				srv.Shutdown(sctx) //nolint:errcheck // best effort on the way out
				cancel()
			}
			wg.Wait()
			a.log.Info("stopping: flushing the buffer", "buffered", a.rec.Stats().Buffered)
			return a.close()
		case <-forget.C:
			a.forgetIdle()
		case <-status:
			a.logStatus()
		case <-tick.C:
			collect()
		}
	}
}

// idleEpochs: series are forgotten after this many ticks of
// SeriesIdle/idleEpochs without a sample.
const idleEpochs = 4

func (a *agent) forgetIdle() {
	n := a.rec.ForgetIdle(idleEpochs)
	if a.push != nil {
		a.push.ForgetIdle(idleEpochs)
	}
	a.mu.Lock()
	if len(a.types) > a.cfg.MaxSeries { // names, rarely many: start again
		a.types = map[string]store.Type{}
	}
	a.mu.Unlock()
	if n > 0 {
		a.log.Debug("forgot idle series", "series", n, "idle", a.cfg.SeriesIdle)
	}
}

// logRetention says at start what retention will delete: the cut, and the
// time of the store's first row (store.FirstSample).
func (a *agent) logRetention(ctx context.Context) {
	cut := a.cfg.Now().Add(-a.cfg.Retention)
	first, ok, err := collectlink.Store(a.rec).FirstSample(ctx)
	switch {
	case err == nil && !ok:
		a.log.Info("retention: samples older than the cut will be deleted", "retention", a.cfg.Retention, "cut", cut.UTC(), "store", "empty")
	case err != nil:
		a.log.Info("retention: samples older than the cut will be deleted", "retention", a.cfg.Retention, "cut", cut.UTC())
	default:
		oldest := time.UnixMilli(first).UTC()
		a.log.Info("retention: samples older than the cut will be deleted", "retention", a.cfg.Retention, "cut", cut.UTC(),
			"first_sample", oldest, "deletes_now", oldest.Before(cut))
	}
}

// checkTypes refuses a pushed batch whose metric names have another type
// in the store. Types found in the store are remembered; a name the store
// does not hold yet is looked up again at its next push (another process
// may add it), and a remembered type that clashes is looked up again
// before refusing, so the answer follows the store.
func (a *agent) checkTypes(samples []store.Sample) error {
	checked := map[string]bool{}
	for _, s := range samples {
		if checked[s.Name] {
			continue
		}
		checked[s.Name] = true
		a.mu.Lock()
		t, ok := a.types[s.Name]
		a.mu.Unlock()
		if ok && t == s.Type {
			continue
		}
		t, ok, err := a.storeType(s.Name)
		if err != nil {
			a.log.Debug("read metric type", "name", s.Name, "err", err)
			continue // the flush checks again
		}
		if !ok {
			continue
		}
		a.mu.Lock()
		a.types[s.Name] = t
		a.mu.Unlock()
		if t != s.Type {
			return fmt.Errorf("metric %s is a %s in the store, not a %s", s.Name, t, s.Type)
		}
	}
	return nil
}

func (a *agent) storeType(name string) (store.Type, bool, error) {
	return collectlink.Store(a.rec).MetricType(context.Background(), name)
}

// pruneInterval spreads retention work: often enough that little piles
// up, rarely enough that scanning for old rows costs nothing noticeable.
func pruneInterval(retention time.Duration) time.Duration {
	return min(max(retention/10, time.Minute), time.Hour)
}

func (a *agent) prune(ctx context.Context) {
	cut := a.cfg.Now().Add(-a.cfg.Retention).UnixMilli()
	n, err := collectlink.Store(a.rec).Prune(ctx, cut, 5000)
	if err != nil {
		a.log.Error("retention", "err", err)
		return
	}
	if n > 0 {
		a.log.Info("retention", "deleted", n, "before", time.UnixMilli(cut).UTC())
	}
}

func (a *agent) add(samples []store.Sample, service string) {
	for i := range samples {
		if service != "" && samples[i].Service == "" {
			samples[i].Service = service
		}
		if err := collectlink.Add(a.rec, samples[i]); err != nil {
			a.log.Debug("sample refused", "name", samples[i].Name, "err", err)
		}
	}
}

// Heartbeat is the gauge the agent records (1, labelled with its host)
// every round; internal/starter's heartbeat rule reads it.
const Heartbeat = "vigil_agent_up"

func (a *agent) host(ctx context.Context) {
	ts := a.cfg.Now().UnixMilli()
	// The heartbeat: 1 every round, whatever the host readings did, so
	// that a rule on its absence (vigil init's agent_down) tells a dead
	// agent from a quiet host. First, so that its series holds a place
	// under --max-series before the host metrics take them all (h30 D36):
	// written every round, it is never idle, never forgotten.
	a.add([]store.Sample{{Name: Heartbeat, Type: store.Gauge, Labels: map[string]string{"host": a.cfg.Host}, TS: ts, Value: 1}}, a.cfg.Service)
	samples, err := a.sys.Collect(ctx, ts)
	if err != nil {
		a.log.Debug("some host metrics unavailable", "err", err)
	}
	a.add(samples, a.cfg.Service)
	if a.gpu != nil {
		a.add(a.gpu.Collect(a.cfg.Host, ts), a.cfg.Service)
	}
}

// round reads the host now and starts the scrapes, which run beside the
// next tick if slow (a target still being scraped is skipped).
func (a *agent) round(ctx context.Context, wg *sync.WaitGroup) {
	a.host(ctx)
	now := a.cfg.Now()
	for _, t := range a.cfg.Targets {
		a.mu.Lock()
		if a.busy[t.Key()] {
			a.mu.Unlock()
			continue
		}
		a.busy[t.Key()] = true
		a.mu.Unlock()
		wg.Add(1)
		go func() {
			defer wg.Done()
			a.scrapeOne(ctx, t, now)
			a.mu.Lock()
			a.busy[t.Key()] = false
			a.mu.Unlock()
		}()
	}
}

func (a *agent) scrapeOne(ctx context.Context, t scrape.Target, now time.Time) {
	samples, err := a.scraper.Scrape(ctx, t, now)
	if err != nil {
		if ctx.Err() != nil {
			return
		}
		a.mu.Lock()
		a.scrapeErrs["job="+t.Job]++
		a.scrapesFailed++
		a.mu.Unlock()
		a.log.Warn("scrape failed; nothing from it is stored", "job", t.Job, "url", sources.Redact(t.URL), "err", redactErr(err, t.URL))
		return
	}
	a.mu.Lock()
	a.scrapesOK++
	a.mu.Unlock()
	a.add(samples, "")
}

// statusCounts are the totals the status line reports the change of.
type statusCounts struct {
	written, dropped, invalid, scrapesOK, scrapesFailed, pushesOK, pushesRefused int64
}

// logStatus logs what the agent did since the last status line.
func (a *agent) logStatus() {
	st := a.rec.Stats()
	a.mu.Lock()
	now := statusCounts{written: st.Written, dropped: st.Dropped, invalid: st.Invalid, scrapesOK: a.scrapesOK, scrapesFailed: a.scrapesFailed}
	a.mu.Unlock()
	if a.push != nil {
		now.pushesOK, now.pushesRefused = a.push.Pushes()
	}
	was := a.last
	a.last = now
	a.log.Info("agent status", "since", a.cfg.StatusInterval.String(), "samples_written", now.written-was.written,
		"series_held", st.Series, "buffered", st.Buffered, "scrapes_ok", now.scrapesOK-was.scrapesOK,
		"scrapes_failed", now.scrapesFailed-was.scrapesFailed, "pushes_accepted", now.pushesOK-was.pushesOK,
		"pushes_refused", now.pushesRefused-was.pushesRefused, "samples_dropped", now.dropped-was.dropped,
		"samples_invalid", now.invalid-was.invalid)
}

func (a *agent) once(ctx context.Context) error {
	if a.cfg.Retention > 0 {
		a.prune(ctx) // cron users of --once get retention too
	}
	// The first reading is only the baseline for CPU percentages and I/O
	// increments; the second, a moment later, is what gets stored.
	if _, err := a.sys.Collect(ctx, a.cfg.Now().UnixMilli()); err != nil {
		a.log.Debug("some host metrics unavailable", "err", err)
	}
	var wg sync.WaitGroup
	now := a.cfg.Now()
	for _, t := range a.cfg.Targets {
		wg.Add(1)
		go func() { defer wg.Done(); a.scrapeOne(ctx, t, now) }()
	}
	select {
	case <-ctx.Done():
	case <-time.After(a.cfg.OnceDelay):
	}
	a.host(ctx)
	wg.Wait()
	return a.close()
}

func (a *agent) health() map[string]map[string]float64 {
	a.mu.Lock()
	defer a.mu.Unlock()
	errs := make(map[string]float64, len(a.scrapeErrs))
	for k, v := range a.scrapeErrs {
		errs[k] = v
	}
	for _, t := range a.cfg.Targets {
		if _, ok := errs["job="+t.Job]; !ok {
			errs["job="+t.Job] = 0
		}
	}
	return map[string]map[string]float64{"vigil_scrape_errors_total": errs}
}

func redactErr(err error, raw string) string {
	return strings.ReplaceAll(err.Error(), raw, sources.Redact(raw))
}
