// Package agentcmd is the command line of the collection agent, shared by
// `vigil collect` and the standalone vigil-agent binary (which must not
// link DuckDB, so this package imports nothing from analyze).
package agentcmd

import (
	"errors"
	"fmt"
	"io/fs"
	"log/slog"
	"net/http"
	"net/url"
	"os"
	"runtime/debug"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/spf13/cobra"

	"github.com/vigil-metrics/vigil/cmd/internal/cli"
	"github.com/vigil-metrics/vigil/internal/agent"
	"github.com/vigil-metrics/vigil/internal/configfile"
	"github.com/vigil-metrics/vigil/internal/remotewrite"
	"github.com/vigil-metrics/vigil/internal/scrape"
	"github.com/vigil-metrics/vigil/internal/secret"
	"github.com/vigil-metrics/vigil/internal/sources"
	"github.com/vigil-metrics/vigil/internal/vtime"
	"github.com/vigil-metrics/vigil/internal/yamlconf"
)

type options struct {
	endpoints       map[string]sources.Config // the config's sources: section
	DB              string
	Interval        string
	Once            bool
	Scrape          []string
	Listen          string
	TokenFile       string
	GPU             string
	Service         string
	Host            string
	Retention       string
	BufferSize      int
	MaxBuffer       int
	ScrapeTimeout   string
	ScrapeBodyLimit int64
	MaxSeries       int
	MaxLabelBytes   int
	MaxSeriesBytes  int64
	SeriesIdle      string
	StatusInterval  string
	PushBodyLimit   int64
	MaxPushes       int
	RemoteWrite     []string
	NoStore         bool
	RWQueue         int
	RWProtocol      string
	RWFlushTimeout  string
	RWTimeout       string
	ShutdownTimeout string
	SpillDir        string

	retentionFromConfig string // where the config's retention: came from
}

// New returns the collect command. logger is called after flags are
// parsed, so a root command's --log-level applies. storePath, if not nil,
// resolves the store the way the host CLI does (vigil: --db, else the
// config's db:, else ./vigil.db); without it --db alone decides. file, if
// not nil, is the config file the host CLI has read; without it the
// command reads --config (else ./vigil.yaml if present) itself.
func New(use string, logger func() *slog.Logger, storePath func() (string, error), file func() *configfile.File, version string) *cobra.Command {
	o := &options{}
	cmd := &cobra.Command{
		Use:   use,
		Short: "Run the collection agent: host and GPU metrics, scrapes and pushes into a store or remote write",
		Long: `Collect host metrics (CPU, memory, swap, disk, network, load; GPUs through
NVML) every interval, scrape Prometheus endpoints, and take pushes over HTTP,
writing everything into one store through a bounded buffer.

SIGINT or SIGTERM flushes the buffer and exits 0; if the store takes no write
for --shutdown-timeout (locked by another process, disk full, read-only; a
write under way is never cut), what is left goes to a spill file that the next
start loads (docs/agent.md), and the exit is 1. With --once, one round is
collected (two readings 200 ms apart, so CPU percentages exist) and written.

--remote-write URL (repeatable) also sends everything collected to a
Prometheus remote-write endpoint (protocol 2.0 where the receiver takes it,
else 1.0): counters as cumulative totals, gauges as they are, histograms as
<name>_count and <name>_sum totals, the service as the label service. Each
URL has a queue of --remote-write-queue samples that drops the oldest when
full; batches are retried with backoff on 5xx and 429. With --no-store the
agent writes no store at all, only to the endpoints. The counters are in
GET /metrics (vigil_agent_remote_write_*); see docs/remote-write.md.`,
		Example: `  vigil collect --db /var/lib/vigil/host.db
  vigil collect --db host.db --scrape node=http://127.0.0.1:9100/metrics --listen 127.0.0.1:9091
  vigil collect --db host.db --once
  vigil collect --db host.db --remote-write http://127.0.0.1:9090/api/v1/write
  vigil collect --no-store --remote-write https://mimir.example/api/v1/push   # credentials in sources:`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if o.NoStore {
				if cmd.Flags().Changed("db") {
					return cli.Usagef("--db and --no-store: give one or the other")
				}
			} else if storePath != nil {
				p, err := storePath()
				if err != nil {
					return err
				}
				o.DB = p
			}
			if err := o.fromFile(cmd, file, cmd.Flags().Changed("retention")); err != nil {
				return err
			}
			cfg, err := o.config()
			if err != nil {
				return err
			}
			// The agent's log and its errors never show a secret of its
			// endpoints, even when a receiver echoes the request.
			secrets := o.secrets(cfg)
			cfg.Secrets = secrets
			cfg.Logger = slog.New(secrets.Handler(logger().Handler()))
			cfg.UserAgent = "vigil/" + version
			if os.Getenv("GOMEMLIMIT") == "" {
				// A soft limit: the GC works harder near it instead of
				// letting garbage double the heap (see docs/agent.md).
				debug.SetMemoryLimit(MemoryLimit)
			}
			err = secrets.Err(agent.Run(cmd.Context(), cfg))
			if errors.Is(err, agent.ErrGPURequired) {
				return cli.WithHint(err, "install the NVIDIA driver (libnvidia-ml.so.1), or use --gpu auto")
			}
			if errors.Is(err, agent.ErrStoreNotWritable) {
				return cli.WithHint(err, "check the file's owner and mode, the folder's (SQLite writes a -wal and -shm file beside the store), and that the file system is mounted read-write")
			}
			return err
		},
	}
	f := cmd.Flags()
	f.StringVar(&o.DB, "db", "vigil.db", "store to write (vigil collect: default from config db:, else ./vigil.db)")
	f.StringVar(&o.Interval, "interval", "10s", "collection and flush interval")
	f.BoolVar(&o.Once, "once", false, "collect one round and exit")
	f.StringArrayVar(&o.Scrape, "scrape", nil, "Prometheus endpoint to scrape, URL or JOB=URL (repeatable)")
	f.StringVar(&o.Listen, "listen", "", "address for push, /metrics and /healthz (e.g. 127.0.0.1:9091)")
	f.StringVar(&o.TokenFile, "token-file", "", "file holding the bearer token pushes must present")
	f.StringVar(&o.GPU, "gpu", "auto", "GPU metrics: auto (if NVML is present), on (required), off")
	f.StringVar(&o.Service, "service", "", "service name for host and GPU metrics")
	f.StringVar(&o.Host, "host", "", "host label (default: the hostname)")
	f.StringVar(&o.Retention, "retention", "30d", "delete samples older than this, with a unit (30d, 12h; 0 keeps everything); config key retention:")
	f.IntVar(&o.BufferSize, "buffer-size", 1000, "samples buffered before a flush")
	f.IntVar(&o.MaxBuffer, "max-buffer", 100000, "samples kept while the store cannot be written; more are dropped and counted")
	f.StringVar(&o.ScrapeTimeout, "scrape-timeout", "", "per-scrape timeout (default: the interval, at most 10s)")
	f.Int64Var(&o.ScrapeBodyLimit, "scrape-body-limit", 32<<20, "largest exposition read, in bytes")
	f.IntVar(&o.MaxSeries, "max-series", 100000, "series held in memory at most; samples of more are refused and counted")
	f.IntVar(&o.MaxLabelBytes, "max-label-bytes", 8<<10, "largest series, in bytes of its name, service and label names and values; bigger ones are refused (push: 429) and counted")
	f.Int64Var(&o.MaxSeriesBytes, "max-series-bytes", 64<<20, "bytes of the series held at most (as --max-label-bytes counts them); samples of new series past it are refused (push: 429) and counted")
	f.StringVar(&o.SeriesIdle, "series-idle", "1h", "forget series (and pushed counter baselines) not seen for this long")
	f.StringVar(&o.StatusInterval, "status-interval", "1m", "log a status line (samples written, series, scrapes and pushes) at info level this often (at least 1s; only a log line: rounds keep to --interval); 0: never")
	f.Int64Var(&o.PushBodyLimit, "push-body-limit", 16<<20, "largest push body, in bytes after decompression")
	f.IntVar(&o.MaxPushes, "max-concurrent-pushes", 2, "push bodies read at once; more get 503 with Retry-After")
	f.StringArrayVar(&o.RemoteWrite, "remote-write", nil, "also send what is collected to this Prometheus remote-write URL, e.g. http://127.0.0.1:9090/api/v1/write (repeatable)")
	f.BoolVar(&o.NoStore, "no-store", false, "write no store, only to the --remote-write endpoints (needs one; --db and --retention do not apply)")
	f.IntVar(&o.RWQueue, "remote-write-queue", 100000, "samples queued per remote-write URL; when full the oldest are dropped and counted")
	f.StringVar(&o.RWProtocol, "remote-write-protocol", "auto", "remote-write protocol: auto (2.0, else 1.0), 1.0 or 2.0")
	f.StringVar(&o.SpillDir, "spill-dir", "", "where samples the store could not take at shutdown go when a spill file beside the store fails too (default $XDG_STATE_HOME/vigil, else ~/.local/state/vigil; then the temp folder); the agent loads them at its next start")
	f.StringVar(&o.RWFlushTimeout, "remote-write-flush-timeout", "10s", "at shutdown, time allowed to send what is queued")
	f.StringVar(&o.RWTimeout, "remote-write-timeout", "30s", "time allowed for one remote-write request, reading the answer included; one past it is retried")
	f.StringVar(&o.ShutdownTimeout, "shutdown-timeout", "5s", "at shutdown, how long to wait for a store that takes no write (locked by another process, failing); a write under way is never cut; what is not written is spilled")
	return cmd
}

// MemoryLimit is the Go runtime's soft memory limit for the agent unless
// GOMEMLIMIT is set.
const MemoryLimit = 128 << 20

// ParseRetention reads a retention: a duration with a unit (30d, 12h,
// 90m), or 0 for none. A bare number is refused: `--retention 7` meant
// seven days far more often than seven seconds.
func ParseRetention(s string) (time.Duration, error) {
	s = strings.TrimSpace(s)
	if s == "" || s == "0" {
		return 0, nil
	}
	if _, err := strconv.ParseFloat(s, 64); err == nil {
		return 0, fmt.Errorf("%s: a duration needs a unit, e.g. %sd", s, s)
	}
	d, err := vtime.ParseDuration(s)
	if err != nil {
		return 0, fmt.Errorf("%q: want a duration like 30d", s)
	}
	return d, nil
}

// fromFile takes retention: (unless retentionSet: the flag was given) and
// sources: (the remote-write endpoints' credentials) from the config file,
// naming the place when it is wrong.
func (o *options) fromFile(cmd *cobra.Command, file func() *configfile.File, retentionSet bool) error {
	var f *configfile.File
	if file != nil {
		f = file()
	} else {
		var err error
		if f, err = readConfig(cmd); err != nil {
			return err
		}
	}
	if f == nil {
		return nil
	}
	var err error
	if o.endpoints, err = sources.FromConfig(f); err != nil {
		return cli.Usagef("%v", err)
	}
	v := f.Section("retention")
	if v == nil || retentionSet || yamlconf.IsNull(v) {
		return nil
	}
	// configfile refused a retention that is not a scalar.
	where := fmt.Sprintf("%s:%d:%d: retention", f.Path, v.Line, v.Column)
	if _, err := ParseRetention(v.Value); err != nil {
		return cli.Usagef("%s %v", where, err)
	}
	o.Retention, o.retentionFromConfig = v.Value, where
	return nil
}

// secrets are the secrets the agent sends with: the remote-write URLs'
// query values and their sources: credentials and headers, the scrape
// URLs' query values, the token pushes present.
func (o *options) secrets(cfg agent.Config) *secret.Set {
	set := secret.New()
	for _, raw := range o.RemoteWrite {
		set.AddURL(raw, false)
		if sc, ok := sources.Lookup(o.endpoints, raw); ok {
			sc.RegisterSecrets(set)
		}
	}
	for _, t := range cfg.Targets {
		set.AddURL(t.URL, false)
	}
	set.Add(cfg.Token)
	return set
}

// readConfig reads --config, else ./vigil.yaml if present (nil without
// one), as the standalone agent's config: an unknown top-level key is an
// error there too, with its place.
func readConfig(cmd *cobra.Command) (*configfile.File, error) {
	file := ""
	if f := cmd.Flag("config"); f != nil {
		file = f.Value.String()
	}
	explicit := file != ""
	if !explicit {
		file = "vigil.yaml"
	}
	f, err := configfile.Read(file)
	if ps, invalid := yamlconf.AsProblems(err); invalid {
		return nil, cli.Usage(ps[0]) // the first, as every other check here
	}
	if err != nil {
		if !explicit && errors.Is(err, fs.ErrNotExist) {
			return nil, nil
		}
		return nil, cli.Usagef("read config %s: %v", file, err)
	}
	return f, nil
}

func (o *options) config() (agent.Config, error) {
	cfg := agent.Config{DB: o.DB, Once: o.Once, Listen: o.Listen, GPU: o.GPU, Service: o.Service,
		Host: o.Host, BufferSize: o.BufferSize, MaxBuffer: o.MaxBuffer, ScrapeBodyLimit: o.ScrapeBodyLimit, SpillDir: o.SpillDir}
	var err error
	// Flag values become label values and a service: the store refuses
	// invalid UTF-8 there, so refuse it here, naming the flag, rather than
	// dropping every sample at flush.
	for flag, v := range map[string]string{"--host": o.Host, "--service": o.Service} {
		if !utf8.ValidString(v) {
			return cfg, cli.Usagef("%s %q: not valid UTF-8", flag, v)
		}
	}
	for _, v := range o.Scrape {
		if !utf8.ValidString(v) {
			return cfg, cli.Usagef("--scrape %q: not valid UTF-8", v)
		}
	}
	if cfg.Interval, err = vtime.ParseDuration(o.Interval); err != nil || cfg.Interval <= 0 {
		return cfg, cli.Usagef("--interval %q: want a positive duration like 10s", o.Interval)
	}
	if cfg.Retention, err = ParseRetention(o.Retention); err != nil {
		if o.retentionFromConfig != "" {
			return cfg, cli.Usagef("%s %v", o.retentionFromConfig, err)
		}
		return cfg, cli.Usagef("--retention %v", err)
	}
	if cfg.SeriesIdle, err = vtime.ParseDuration(o.SeriesIdle); err != nil || cfg.SeriesIdle <= 0 {
		return cfg, cli.Usagef("--series-idle %q: want a positive duration like 1h", o.SeriesIdle)
	}
	if cfg.StatusInterval, err = vtime.ParseDuration(o.StatusInterval); err != nil || cfg.StatusInterval < 0 {
		return cfg, cli.Usagef("--status-interval %q: want a duration like 1m (0: never)", o.StatusInterval)
	}
	if cfg.StatusInterval > 0 && cfg.StatusInterval < time.Second {
		// A line for a person reading the journal: faster only spins and
		// fills the disk (h30 D3).
		return cfg, cli.Usagef("--status-interval %q: want at least 1s (0: never)", o.StatusInterval)
	}
	if cfg.StatusInterval == 0 {
		cfg.StatusInterval = -1 // never (the agent's 0 is its default)
	}
	if o.MaxSeries <= 0 || o.MaxPushes <= 0 || o.PushBodyLimit <= 0 {
		return cfg, cli.Usagef("--max-series, --max-concurrent-pushes and --push-body-limit must be positive")
	}
	if o.MaxLabelBytes <= 0 || o.MaxSeriesBytes <= 0 {
		return cfg, cli.Usagef("--max-label-bytes and --max-series-bytes must be positive")
	}
	if int64(o.MaxLabelBytes) > o.MaxSeriesBytes {
		return cfg, cli.Usagef("--max-label-bytes %d is more than --max-series-bytes %d: no such series could be held", o.MaxLabelBytes, o.MaxSeriesBytes)
	}
	cfg.MaxSeries, cfg.MaxConcurrentPushes, cfg.PushBodyLimit = o.MaxSeries, o.MaxPushes, o.PushBodyLimit
	cfg.MaxLabelBytes, cfg.MaxSeriesBytes = o.MaxLabelBytes, o.MaxSeriesBytes
	if cfg.ShutdownTimeout, err = vtime.ParseDuration(o.ShutdownTimeout); err != nil || cfg.ShutdownTimeout <= 0 {
		return cfg, cli.Usagef("--shutdown-timeout %q: want a positive duration like 5s", o.ShutdownTimeout)
	}
	if o.ScrapeTimeout != "" {
		if cfg.ScrapeTimeout, err = vtime.ParseDuration(o.ScrapeTimeout); err != nil || cfg.ScrapeTimeout <= 0 {
			return cfg, cli.Usagef("--scrape-timeout %q: want a positive duration", o.ScrapeTimeout)
		}
	}
	switch o.GPU {
	case "auto", "on", "off":
	default:
		return cfg, cli.Usagef("--gpu %q: want auto, on or off", o.GPU)
	}
	if o.BufferSize <= 0 || o.MaxBuffer <= 0 {
		return cfg, cli.Usagef("--buffer-size and --max-buffer must be positive")
	}
	seen := map[string]bool{}
	for _, s := range o.Scrape {
		t, err := scrape.ParseTarget(s)
		if err != nil {
			return cfg, cli.Usage(err)
		}
		if seen[t.Key()] {
			return cfg, cli.Usagef("--scrape %q given twice", s)
		}
		seen[t.Key()] = true
		cfg.Targets = append(cfg.Targets, t)
	}
	if o.TokenFile != "" {
		b, err := os.ReadFile(o.TokenFile)
		if err != nil {
			return cfg, cli.Usagef("--token-file: %v", err)
		}
		cfg.Token = strings.TrimSpace(string(b))
		if cfg.Token == "" {
			return cfg, cli.Usagef("--token-file %s is empty", o.TokenFile)
		}
	}
	if err := o.remoteWrite(&cfg); err != nil {
		return cfg, err
	}
	if cfg.Host == "" {
		h, err := os.Hostname()
		if err != nil {
			return cfg, fmt.Errorf("hostname: %w (set --host)", err)
		}
		cfg.Host = h
	}
	return cfg, nil
}

// remoteWrite checks the remote-write flags.
func (o *options) remoteWrite(cfg *agent.Config) error {
	if o.NoStore && len(o.RemoteWrite) == 0 {
		return cli.Usagef("--no-store needs at least one --remote-write URL")
	}
	seen := map[string]bool{}
	for _, raw := range o.RemoteWrite {
		u, err := url.Parse(raw)
		if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
			return cli.Usagef("--remote-write %s: want an http:// or https:// URL with a host", sources.Redact(raw))
		}
		if u.User != nil {
			// A command line is in the shell's history and in ps.
			return cli.WithHint(cli.Usagef("--remote-write %s: credentials in the URL would be in your shell history and in ps", sources.Redact(raw)),
				"give them in the config's sources: section, keyed by the URL (basic_auth with password_env or password_file, bearer_token_env or bearer_token_file); see docs/remote-write.md")
		}
		if seen[sources.Canonical(raw)] {
			return cli.Usagef("--remote-write %s given twice", sources.Redact(raw))
		}
		seen[sources.Canonical(raw)] = true
	}
	if o.RWQueue <= 0 {
		return cli.Usagef("--remote-write-queue must be positive")
	}
	switch o.RWProtocol {
	case remotewrite.ProtocolAuto, remotewrite.ProtocolV1, remotewrite.ProtocolV2:
	default:
		return cli.Usagef("--remote-write-protocol %q: want auto, 1.0 or 2.0", o.RWProtocol)
	}
	d, err := vtime.ParseDuration(o.RWFlushTimeout)
	if err != nil || d <= 0 {
		return cli.Usagef("--remote-write-flush-timeout %q: want a positive duration like 10s", o.RWFlushTimeout)
	}
	if cfg.RemoteWriteTimeout, err = vtime.ParseDuration(o.RWTimeout); err != nil || cfg.RemoteWriteTimeout <= 0 {
		return cli.Usagef("--remote-write-timeout %q: want a positive duration like 30s", o.RWTimeout)
	}
	for _, raw := range o.RemoteWrite {
		sc, ok := sources.Lookup(o.endpoints, raw)
		if !ok {
			continue
		}
		rt, err := sources.RoundTripper(raw, sc)
		if err != nil {
			return cli.Usagef("%v", err)
		}
		if cfg.RemoteWriteTransports == nil {
			cfg.RemoteWriteTransports = map[string]http.RoundTripper{}
		}
		cfg.RemoteWriteTransports[raw] = rt
	}
	cfg.RemoteWrite, cfg.NoStore = o.RemoteWrite, o.NoStore
	cfg.RemoteWriteQueue, cfg.RemoteWriteProtocol, cfg.RemoteWriteFlushTimeout = o.RWQueue, o.RWProtocol, d
	return nil
}
