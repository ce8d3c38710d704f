package main

import (
	"context"
	"fmt"
	"time"

	"github.com/spf13/cobra"

	"github.com/vigil-metrics/vigil/analyze"
	"github.com/vigil-metrics/vigil/analyze/promstore"
	"github.com/vigil-metrics/vigil/cmd/internal/cli"
)

type serveOptions struct {
	Listen          string
	TokenFile       string
	TLSCert, TLSKey string
	Limits          promstore.Limits
}

func newServeCmd(a *app) *cobra.Command {
	o := &serveOptions{Limits: promstore.DefaultLimits}
	cmd := &cobra.Command{
		Use:   "serve",
		Short: "Serve the stores as a Prometheus data source (the query API's read side)",
		Long: `Serve the stores read-only over Prometheus's HTTP API (/api/v1/query,
query_range, series, labels, label/NAME/values, metadata,
status/buildinfo, /-/ready, /-/healthy), with Prometheus's own PromQL
engine: Grafana's Prometheus data source, promtool and client libraries
query them as they would a Prometheus. Counters are served as running
totals, raw-observation histograms as NAME_count, NAME_sum and, for the
bounds in the config's serve: buckets:, NAME_bucket (docs/serve.md).
New samples appear as the stores grow.`,
		Example: `  vigil serve --db 'hosts/*.db'
  vigil serve --db vigil.db --listen 0.0.0.0:9464 --token-file /etc/vigil/token --tls-cert c.pem --tls-key k.pem`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error { return a.runServe(cmd, o) },
	}
	f := cmd.Flags()
	f.StringVar(&o.Listen, "listen", "127.0.0.1:9464", "address to listen on (host:port)")
	f.StringVar(&o.TokenFile, "token-file", "", "file holding the bearer token clients must send (mode 600)")
	f.StringVar(&o.TLSCert, "tls-cert", "", "TLS certificate file (PEM); serve HTTPS")
	f.StringVar(&o.TLSKey, "tls-key", "", "TLS private key file (PEM)")
	limitFlags(cmd, &o.Limits)
	addDBFlag(f, false)
	// serve keeps its own caches (held open while it runs), not the
	// ones beside each store the other commands share.
	f.Lookup("cache-dir").Usage = "folder under whose serve/ its own caches live (default: $XDG_CACHE_HOME/vigil/serve, else ~/.cache/vigil/serve)"
	return cmd
}

// limitFlags are Prometheus's query limit flags, by its names.
func limitFlags(cmd *cobra.Command, l *promstore.Limits) {
	f := cmd.Flags()
	f.IntVar(&l.MaxSamples, "query.max-samples", l.MaxSamples, "most samples one query may hold in memory")
	f.DurationVar(&l.Timeout, "query.timeout", l.Timeout, "longest a query may run")
	f.IntVar(&l.MaxConcurrency, "query.max-concurrency", l.MaxConcurrency, "queries run at once (others wait)")
	f.DurationVar(&l.LookbackDelta, "query.lookback-delta", l.LookbackDelta, "how far back an instant selector looks for a sample")
}

// promSource opens the stores for Prometheus's engine, with the caches
// in cacheDir: it re-reads --db's globs and syncs the caches again when
// a store changed.
func (a *app) promSource(ctx context.Context, cacheDir string) (*promstore.Source, error) {
	buckets, err := promstore.FromConfig(a.file)
	if err != nil {
		return nil, cli.Usage(err)
	}
	if _, err := a.storeFiles(); err != nil {
		return nil, err
	}
	return promstore.NewSource(ctx, promstore.Config{
		Paths: a.storeFiles,
		Open: func(ctx context.Context, paths []string) (*analyze.DB, error) {
			return analyze.Open(ctx, paths, analyze.Options{CacheDir: cacheDir, Logger: a.log})
		},
		Buckets: buckets,
		Logger:  a.log,
	})
}

func (a *app) runServe(cmd *cobra.Command, o *serveOptions) error {
	if (o.TLSCert == "") != (o.TLSKey == "") {
		return cli.Usagef("--tls-cert and --tls-key go together")
	}
	if o.Limits.MaxConcurrency < 1 || o.Limits.MaxSamples < 1 || o.Limits.Timeout <= 0 || o.Limits.LookbackDelta <= 0 {
		return cli.Usagef("query limits must be positive")
	}
	token := ""
	if o.TokenFile != "" {
		var err error
		if token, err = promstore.ReadToken(o.TokenFile); err != nil {
			return cli.Usagef("--token-file: %v", err)
		}
		a.secrets.Add(token) // never in a log line or an error
	}
	cacheDir, err := promstore.CacheDir(a.cfg.CacheDir)
	if err != nil {
		return err
	}
	src, err := a.promSource(cmd.Context(), cacheDir)
	if err != nil {
		return err
	}
	defer src.Close()
	api := &promstore.API{Source: src, Engine: promstore.NewEngine(o.Limits, a.log), Limits: o.Limits,
		Now: a.now, Version: version()}
	scheme := "http"
	if o.TLSCert != "" {
		scheme = "https"
	}
	err = api.Serve(cmd.Context(), promstore.ServeOptions{Listen: o.Listen, Token: token, TLSCert: o.TLSCert, TLSKey: o.TLSKey,
		Logger: a.log, Ready: func(addr string) {
			fmt.Fprintf(a.stderr, "vigil: serving %d store(s) on %s://%s (first sync took %s)\n", src.Stores(), scheme, addr, src.LastSync.Round(time.Millisecond))
		}})
	if err != nil {
		return fmt.Errorf("serve: %w", err)
	}
	return nil
}
