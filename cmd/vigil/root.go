package main

import (
	"errors"
	"fmt"
	"io"
	"io/fs"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/go-viper/mapstructure/v2"
	"github.com/spf13/cobra"
	"github.com/spf13/pflag"
	"github.com/spf13/viper"

	"github.com/vigil-metrics/vigil/alert/channels"
	alertconfig "github.com/vigil-metrics/vigil/alert/config"
	"github.com/vigil-metrics/vigil/analyze"
	"github.com/vigil-metrics/vigil/cmd/internal/agentcmd"
	"github.com/vigil-metrics/vigil/cmd/internal/cli"
	"github.com/vigil-metrics/vigil/internal/configfile"
	"github.com/vigil-metrics/vigil/internal/secret"
	"github.com/vigil-metrics/vigil/internal/sources"
	"github.com/vigil-metrics/vigil/internal/yamlconf"
)

// app is what every command shares: streams, the clock and the decoded
// configuration. Nothing below cmd/ sees viper.
type app struct {
	stdin          io.Reader
	stdout, stderr io.Writer // behind secrets: scrubbed
	// term is stderr itself, for drawing progress on a terminal (it
	// prints numbers only); nil means stderr.
	term io.Writer
	now  func() time.Time
	// secrets are every secret the config gives (channels, sources),
	// registered when it is read; stdout and stderr scrub them.
	secrets *secret.Set

	// file is vigil.yaml as read once by configfile (no sections without
	// a file); each command hands the sections it needs to their owners.
	file *configfile.File
	cfg  config
	// dbFrom names where cfg.DB came from, for its errors: "--db",
	// "VIGIL_DB", or the config file's db: key (h31 H12).
	dbFrom  string
	cfgFile string
	log     *slog.Logger
	// cmdPath is the command run ("vigil threshold list"), for hints
	// that name it.
	cmdPath string
	// duckMemory is DuckDB's memory limit for the command's stores ("":
	// analyze's default); replay lowers it (ReplayDuckDBMemory).
	duckMemory string
}

// config is the plain settings of vigil.yaml, VIGIL_* and flags, flags
// winning. The file's sections are read from a.file by their owners.
type config struct {
	DB        []string `mapstructure:"db"`
	CacheDir  string   `mapstructure:"cache_dir"`
	State     string   `mapstructure:"state"`
	LogLevel  string   `mapstructure:"log_level"`
	LogFormat string   `mapstructure:"log_format"`
	// Retention is the agent's and store compact's, as written (nil when
	// the file does not give it).
	Retention any `mapstructure:"retention"`
}

func newRootCmd(a *app) *cobra.Command {
	root := &cobra.Command{
		Use:   "vigil",
		Short: "Turn metrics into decisions: record, import, query, alert and report from SQLite stores",
		Long: `vigil records metrics into SQLite stores and answers questions about them
with DuckDB: percentiles, rates and ratios over a window, for cron jobs, CI
gates and reports.`,
		SilenceUsage:  true,
		SilenceErrors: true,
		PersistentPreRunE: func(cmd *cobra.Command, _ []string) error {
			if cmd.HasSubCommands() {
				return nil // a group only shows its help: a broken config must not stop that
			}
			return a.load(cmd)
		},
	}
	root.PersistentFlags().StringVar(&a.cfgFile, "config", "", "config file (default ./vigil.yaml if present)")
	root.PersistentFlags().String("log-level", "warn", "log level: debug, info, warn, error")
	root.PersistentFlags().String("log-format", "text", "log format: text or json")
	root.AddCommand(newVersionCmd(a), newRecordCmd(a), newImportCmd(a), newQueryCmd(a), newStoreCmd(a), newCheckCmd(a), newEvaluateCmd(a), newAlertsCmd(a), newSLOCmd(a), newBudgetCmd(a), newNotifyCmd(a), newThresholdCmd(a), newRulesCmd(a), newLintCmd(a), newExportCmd(a), newReportCmd(a), newReplayCmd(a), newInitCmd(a), newDashboardsCmd(a),
		agentcmd.New("collect", func() *slog.Logger { return a.log }, a.oneStore, func() *configfile.File { return a.file }, version()))
	root.AddCommand(newServeCmd(a))
	// Last, so that it covers every command above (exit 2 for any mistake
	// on the command line, see docs/cli.md).
	cli.UsageErrors(root)
	return root
}

// load reads configuration once per invocation: flags win over VIGIL_*
// environment variables, which win over the config file.
func (a *app) load(cmd *cobra.Command) error {
	a.cmdPath = cmd.CommandPath()
	file := a.cfgFile
	if file == "" && cmd.Annotations[noImplicitConfig] == "" {
		if _, err := os.Stat("vigil.yaml"); err == nil {
			file = "vigil.yaml"
		}
	}
	a.file = &configfile.File{}
	if file != "" {
		f, err := a.readConfig(file)
		if err != nil {
			return err
		}
		a.file = f
		a.registerSecrets(f)
	}
	v := viper.New()
	v.SetEnvPrefix("VIGIL")
	v.SetEnvKeyReplacer(strings.NewReplacer("-", "_"))
	v.AutomaticEnv()
	for key, val := range a.file.Core.Given() {
		v.SetDefault(key, val) // the file's: below flags and VIGIL_*
	}
	bind := map[string]string{"db": "db", "cache_dir": "cache-dir", "state": "state", "log_level": "log-level", "log_format": "log-format"}
	for key, flag := range bind {
		if f := cmd.Flags().Lookup(flag); f != nil {
			if err := v.BindPFlag(key, f); err != nil {
				return err
			}
		}
		if err := v.BindEnv(key); err != nil {
			return err
		}
	}
	var cfg config
	if err := v.UnmarshalExact(&cfg, func(dc *mapstructure.DecoderConfig) { dc.WeaklyTypedInput = true }); err != nil {
		return cli.Usagef("config %s: %v", file, err)
	}
	if file != "" && cfg.State == "" {
		cfg.State = filepath.Join(filepath.Dir(file), "vigil-state.db")
	}
	a.cfg = cfg
	a.dbFrom = "--db"
	if f := cmd.Flags().Lookup("db"); f == nil || !f.Changed {
		if _, ok := os.LookupEnv("VIGIL_DB"); ok {
			a.dbFrom = "VIGIL_DB"
		} else if len(a.file.Core.DB) > 0 {
			a.dbFrom = file + ": db:"
		}
	}
	return a.setupLog()
}

// registerSecrets puts the secrets of every channel and source of f in
// a.secrets, before any command prints anything: what the file cannot
// decode has none to register (its problems are reported by the command
// that reads it).
func (a *app) registerSecrets(f *configfile.File) {
	if cfg, _ := alertconfig.Decode(f, os.LookupEnv, channels.Types()); cfg != nil {
		channels.RegisterSecrets(cfg, a.secrets, os.LookupEnv)
	}
	if section, err := sources.FromConfig(f); err == nil {
		sources.RegisterAllSecrets(section, a.secrets)
	}
}

// readConfig reads the config file: its problems (an unknown top-level
// key, a bad plain setting) are listed on stderr, every one, exit 2.
func (a *app) readConfig(file string) (*configfile.File, error) {
	f, err := configfile.Read(file)
	if ps, invalid := yamlconf.AsProblems(err); invalid {
		for _, p := range ps {
			fmt.Fprintf(a.stderr, "vigil: error: %s\n", p.Error())
		}
		return nil, &cli.SilentError{Code: cli.ExitUsage}
	}
	if err != nil {
		var pe *fs.PathError
		if errors.As(err, &pe) {
			return nil, cli.Usagef("read config %s: %v", file, pe.Err)
		}
		return nil, cli.Usagef("read config %s: %v", file, err)
	}
	return f, nil
}

func (a *app) setupLog() error {
	var level slog.Level
	if err := level.UnmarshalText([]byte(a.cfg.LogLevel)); err != nil {
		return cli.Usagef("--log-level %q: want debug, info, warn or error", a.cfg.LogLevel)
	}
	opts := &slog.HandlerOptions{Level: level}
	switch a.cfg.LogFormat {
	case "text", "":
		a.log = slog.New(slog.NewTextHandler(a.stderr, opts))
	case "json":
		a.log = slog.New(slog.NewJSONHandler(a.stderr, opts))
	default:
		return cli.Usagef("--log-format %q: want text or json", a.cfg.LogFormat)
	}
	return nil
}

// storePaths expands --db values (globs allowed) into store files, in a
// stable order and without duplicates.
func (a *app) storePaths() ([]string, error) {
	pats := a.cfg.DB
	if len(pats) == 0 {
		pats = []string{"vigil.db"}
	}
	seen := map[string]bool{}
	var out []string
	for _, p := range pats {
		for _, part := range strings.Split(p, ",") {
			part = strings.TrimSpace(part)
			if part == "" {
				continue
			}
			matches := []string{part}
			if sources.IsURL(part) {
				if err := sources.CheckURL(part); err != nil {
					return nil, cli.Usagef("%s: %v", strings.TrimSuffix(a.dbName(), ":"), err)
				}
			} else if strings.ContainsAny(part, "*?[") {
				m, err := filepath.Glob(part)
				if err != nil {
					return nil, cli.Usagef("%s %q: %v", a.dbName(), part, err)
				}
				if len(m) == 0 {
					return nil, cli.Usagef("%s %q matches no store", a.dbName(), part)
				}
				matches = m
			}
			for _, m := range matches {
				if strings.HasSuffix(m, ".duckdb") || strings.HasSuffix(m, ".wal") ||
					strings.HasSuffix(m, "-wal") || strings.HasSuffix(m, "-shm") {
					continue // caches and journals that a broad glob picks up
				}
				if !seen[m] {
					seen[m] = true
					out = append(out, m)
				}
			}
		}
	}
	if len(out) == 0 {
		return nil, cli.Usagef("%s names no store", a.dbName())
	}
	return out, nil
}

// dbName is where the stores were named, for an error about them.
func (a *app) dbName() string {
	if a.dbFrom == "" {
		return "--db"
	}
	return a.dbFrom
}

// oneStore is for commands that write: they take exactly one store.
func (a *app) oneStore() (string, error) {
	ps, err := a.storeFiles()
	if err != nil {
		return "", err
	}
	if len(ps) != 1 {
		return "", cli.Usagef("this command writes one store, got %d (%s)", len(ps), strings.Join(ps, ", "))
	}
	return ps[0], nil
}

func addDBFlag(fs *pflag.FlagSet, write bool) {
	if write {
		fs.StringSlice("db", nil, "store file (default from config db:, else ./vigil.db)")
		return
	}
	fs.StringSlice("db", nil, "store file, or a Prometheus-compatible API base URL (http(s)://host:port[/prefix]); repeat or use globs ('hosts/*.db') to query many as one")
	fs.String("cache-dir", "", "where DuckDB caches live (default: beside each store)")
	fs.Duration("timeout", time.Minute, "bound on each request to a Prometheus-compatible --db source")
}

// storeFiles is storePaths for commands that read or write the store
// files themselves: a Prometheus-compatible source is refused.
func (a *app) storeFiles() ([]string, error) {
	ps, err := a.storePaths()
	if err != nil {
		return nil, err
	}
	for _, p := range ps {
		if sources.IsURL(p) {
			return nil, cli.WithHint(cli.Usagef("--db %s: this command reads store files, not a Prometheus-compatible source", sources.Redact(p)),
				"query, evaluate, slo, budget, threshold tune and report read sources")
		}
	}
	return ps, nil
}

// openStores opens stores and sources as one analyze.DB, with the
// sources: settings of the config file.
func (a *app) openStores(cmd *cobra.Command, stores []string, lockWait time.Duration) (*analyze.DB, error) {
	opt := analyze.Options{CacheDir: a.cfg.CacheDir, Logger: a.log, LockWait: lockWait, MemoryLimit: a.duckMemory}
	hasURL := false
	for _, s := range stores {
		hasURL = hasURL || sources.IsURL(s)
	}
	if hasURL {
		if f := cmd.Flags().Lookup("timeout"); f != nil {
			opt.Timeout, _ = cmd.Flags().GetDuration("timeout")
		}
		var err error
		if opt.Sources, err = sources.FromConfig(a.file); err != nil {
			return nil, cli.Usagef("%v", err)
		}
	}
	return analyze.Open(cmd.Context(), stores, opt)
}

// noImplicitConfig marks a command that reads nothing of ./vigil.yaml:
// a broken one there must not stop it (vigil version; vigil init, which
// writes a new config beside it, h30 D34). An explicit --config is read.
const noImplicitConfig = "vigil.no-implicit-config"

func newVersionCmd(a *app) *cobra.Command {
	return &cobra.Command{
		Use:         "version",
		Short:       "Print the version",
		Annotations: map[string]string{noImplicitConfig: "true"},
		Args:        cobra.NoArgs,
		RunE: func(*cobra.Command, []string) error {
			fmt.Fprintln(a.stdout, "vigil", version())
			return nil
		},
	}
}
