// Package agent runs vigil's collection agent: every interval it reads the
// host (and GPUs), scrapes Prometheus endpoints, takes pushes over HTTP,
// and writes everything through one buffered Recorder into a store, while
// pruning samples past the retention. It never imports package analyze, so
// the agent binary does not link DuckDB.
package agent

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"time"

	"github.com/vigil-metrics/vigil/collect"
	"github.com/vigil-metrics/vigil/collect/gpu"
	"github.com/vigil-metrics/vigil/collect/push"
	"github.com/vigil-metrics/vigil/collect/scrape"
	"github.com/vigil-metrics/vigil/collect/store"
	"github.com/vigil-metrics/vigil/collect/system"
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
	OnceDelay  time.Duration
	UserAgent  string
	Now        func() time.Time
	Logger     *slog.Logger
	GPULibrary gpu.Library       // default NVML
	Ready      func(addr string) // called once the HTTP endpoint listens
}

// ErrGPURequired is returned when --gpu on finds no usable GPU library.
var ErrGPURequired = errors.New("--gpu on: no GPU metrics")

type agent struct {
	cfg     Config
	rec     *collect.Recorder
	sys     *system.Collector
	gpu     *gpu.Collector
	scraper *scrape.Scraper
	log     *slog.Logger

	mu         sync.Mutex
	scrapeErrs map[string]float64
	busy       map[string]bool
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
	if c.Logger == nil {
		c.Logger = slog.New(slog.DiscardHandler)
	}
	if c.GPULibrary == nil {
		c.GPULibrary = gpu.NVML{}
	}
	if c.ScrapeTimeout <= 0 {
		c.ScrapeTimeout = min(c.Interval, 10*time.Second)
	}
}

// Run collects until ctx ends (SIGINT/SIGTERM), then flushes what is
// buffered and returns nil. With Once it collects one round and returns.
func Run(ctx context.Context, cfg Config) error {
	cfg.defaults()
	a := &agent{cfg: cfg, log: cfg.Logger, scrapeErrs: map[string]float64{}, busy: map[string]bool{},
		sys:     system.New(cfg.Host),
		scraper: &scrape.Scraper{Timeout: cfg.ScrapeTimeout, BodyLimit: cfg.ScrapeBodyLimit, UserAgent: cfg.UserAgent}}
	switch cfg.GPU {
	case "off":
	case "auto", "on":
		c, err := gpu.Open(cfg.GPULibrary)
		switch {
		case err == nil:
			a.gpu = c
			defer c.Close()
		case cfg.GPU == "on":
			return fmt.Errorf("%w: %s", ErrGPURequired, strings.TrimPrefix(err.Error(), gpu.ErrUnavailable.Error()+": "))
		default:
			a.log.Info("no GPU metrics", "reason", err)
		}
	default:
		return fmt.Errorf("--gpu %q: want auto, on or off", cfg.GPU)
	}
	interval := cfg.Interval
	if cfg.Once {
		interval = -1
	}
	rec, err := collect.Open(cfg.DB, collect.Options{
		BufferSize: cfg.BufferSize, MaxBuffer: cfg.MaxBuffer, FlushInterval: interval,
		Now: cfg.Now, Logger: cfg.Logger,
	})
	if err != nil {
		return err
	}
	a.rec = rec
	defer rec.Close()

	if cfg.Once {
		return a.once(ctx)
	}

	var srv *http.Server
	if cfg.Listen != "" {
		ln, err := net.Listen("tcp", cfg.Listen)
		if err != nil {
			return fmt.Errorf("listen on %s: %w", cfg.Listen, err)
		}
		ps := &push.Server{Sink: rec, Token: cfg.Token, Now: cfg.Now, Health: a.health}
		srv = &http.Server{Handler: ps.Handler(), ReadHeaderTimeout: 10 * time.Second}
		go func() {
			if err := srv.Serve(ln); err != nil && !errors.Is(err, http.ErrServerClosed) {
				a.log.Error("push endpoint stopped", "err", err)
			}
		}()
		a.log.Info("listening", "addr", ln.Addr().String())
		if cfg.Ready != nil {
			cfg.Ready(ln.Addr().String())
		}
	}

	tick := time.NewTicker(cfg.Interval)
	defer tick.Stop()
	pruneEvery := pruneInterval(cfg.Retention)
	var lastPrune time.Time
	var wg sync.WaitGroup
	for {
		if cfg.Retention > 0 && (lastPrune.IsZero() || cfg.Now().Sub(lastPrune) >= pruneEvery) {
			lastPrune = cfg.Now()
			wg.Add(1)
			go func() { defer wg.Done(); a.prune(ctx) }()
		}
		a.round(ctx, &wg)
		select {
		case <-ctx.Done():
			if srv != nil {
				sctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
				srv.Shutdown(sctx) //nolint:errcheck // best effort on the way out
				cancel()
			}
			wg.Wait()
			a.log.Info("stopping: flushing the buffer", "buffered", rec.Stats().Buffered)
			return rec.Close()
		case <-tick.C:
		}
	}
}

// pruneInterval spreads retention work: often enough that little piles
// up, rarely enough that scanning for old rows costs nothing noticeable.
func pruneInterval(retention time.Duration) time.Duration {
	return min(max(retention/10, time.Minute), time.Hour)
}

func (a *agent) prune(ctx context.Context) {
	cut := a.cfg.Now().Add(-a.cfg.Retention).UnixMilli()
	n, err := a.rec.Store().Prune(ctx, cut, 5000)
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
		if err := a.rec.Add(samples[i]); err != nil {
			a.log.Debug("sample refused", "name", samples[i].Name, "err", err)
		}
	}
}

func (a *agent) host(ctx context.Context) {
	ts := a.cfg.Now().UnixMilli()
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
		a.mu.Unlock()
		a.log.Warn("scrape failed; nothing from it is stored", "job", t.Job, "url", RedactURL(t.URL), "err", redactErr(err, t.URL))
		return
	}
	a.add(samples, "")
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
	return a.rec.Close()
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

// RedactURL hides credentials in a URL before it reaches a log.
func RedactURL(raw string) string {
	u, err := url.Parse(raw)
	if err != nil {
		return "<unparsable URL>"
	}
	if u.User != nil {
		u.User = url.User("xxxxx")
	}
	if u.RawQuery != "" {
		u.RawQuery = "xxxxx"
	}
	return u.String()
}

func redactErr(err error, raw string) string {
	return strings.ReplaceAll(err.Error(), raw, RedactURL(raw))
}
