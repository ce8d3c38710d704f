package main

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"time"

	"github.com/spf13/cobra"

	"github.com/vigil-metrics/vigil/alert/channels"
	alertconfig "github.com/vigil-metrics/vigil/alert/config"
	"github.com/vigil-metrics/vigil/analyze/promstore"
	"github.com/vigil-metrics/vigil/cmd/internal/cli"
	"github.com/vigil-metrics/vigil/internal/vtime"
	"github.com/vigil-metrics/vigil/report"
	"github.com/vigil-metrics/vigil/report/dashboards"
)

type dashboardsOptions struct {
	Out, DatasourceUID, URL, ScrapeInterval, File, At string
	Force                                             bool
}

// newDashboardsCmd writes Grafana dashboards over vigil serve
// (docs/dashboards.md).
func newDashboardsCmd(a *app) *cobra.Command {
	o := &dashboardsOptions{}
	cmd := &cobra.Command{
		Use:   "dashboards",
		Short: "Write Grafana dashboards (SLO overview, one per service, hosts) and provisioning files for vigil serve",
		Long: `Write Grafana dashboard JSON files into --out: vigil-overview.json (every
SLO's compliance, error budget remaining and burn rates), one
vigil-service-NAME.json per service (request and error rates, key
histograms' percentiles, the alert rules' paths with their thresholds
drawn) and vigil-hosts.json (the agent's CPU, memory, disk and network),
plus provisioning/datasources/vigil.yaml (a Prometheus data source at
--url, vigil serve) and provisioning/dashboards/vigil.yaml (a file
provider for --out).

The stores, when --db or the config's db: names them, say which metrics
and services exist; without them the dashboards show what the config's
rules and SLOs name. A file in --out that vigil did not write (a
dashboard without the vigil-generated tag, a YAML file without vigil's
first line) is not replaced unless --force. See docs/dashboards.md.`,
		Example: `  vigil dashboards --config vigil.yaml --db 'hosts/*.db' --out grafana/
  vigil dashboards --config vigil.yaml --out grafana/ --datasource-uid vigil-prod --url http://vigil:9464`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error { return a.runDashboards(cmd, o) },
	}
	f := cmd.Flags()
	f.StringVar(&o.Out, "out", "", "folder to write the dashboards and provisioning files into (required)")
	f.StringVar(&o.DatasourceUID, "datasource-uid", "vigil", "uid of the Grafana data source the panels query")
	f.StringVar(&o.URL, "url", "http://127.0.0.1:9464", "vigil serve's address, for the data source's provisioning file")
	f.StringVar(&o.ScrapeInterval, "scrape-interval", "", "the data source's timeInterval, the least $__interval (default: the stores' sample interval, else 10s)")
	f.StringVar(&o.File, "slo-file", "", "objectives file: slos: entries or OpenSLO v1 documents")
	f.StringVar(&o.At, "at", "", "the instant a calendar SLO window is measured at, RFC 3339 or unix seconds (default now)")
	f.BoolVar(&o.Force, "force", false, "replace files in --out that vigil did not write")
	// Store files only (a Prometheus-compatible URL is refused): their
	// series list says which services and metrics exist.
	f.StringSlice("db", nil, "store file saying which services and metrics exist (default from config db:, else none); repeat or use globs ('hosts/*.db')")
	f.String("cache-dir", "", "where DuckDB caches live, for the stores' sample interval (default: beside each store)")
	return cmd
}

func (a *app) runDashboards(cmd *cobra.Command, o *dashboardsOptions) error {
	if o.Out == "" {
		return cli.Usagef("--out is required: the folder to write the dashboards into")
	}
	if err := dashboards.CheckUID(o.DatasourceUID); err != nil {
		return cli.Usagef("--datasource-uid: %v", err)
	}
	if err := dashboards.CheckURL(o.URL); err != nil {
		return cli.Usagef("--url: %v", err)
	}
	var scrape time.Duration
	if o.ScrapeInterval != "" {
		d, err := vtime.ParseDuration(o.ScrapeInterval)
		if err != nil || d < time.Second {
			return cli.Usagef("--scrape-interval %q: want a duration of a second or more, like 10s", o.ScrapeInterval)
		}
		scrape = d
	}
	at, err := a.at(o.At)
	if err != nil {
		return err
	}
	in := dashboards.Input{DatasourceUID: o.DatasourceUID, At: at}
	// What vigil serve will serve NAME_bucket for: percentiles only there.
	if in.Buckets, err = promstore.FromConfig(a.file); err != nil {
		return err
	}
	if in.Objectives, err = a.objectives(o.File, "", ""); err != nil {
		return err
	}
	var rulePaths []string
	if a.file != nil && a.file.Path != "" && a.file.Section("alert_rules") != nil {
		cfg, err := a.dashboardRules()
		if err != nil {
			return err
		}
		for _, r := range cfg.Rules {
			in.Rules = append(in.Rules, dashboards.Rule{Name: r.Name, Description: r.Description, Path: r.MetricPath,
				Condition: r.Condition, Severity: r.Severity, Threshold: r.Threshold, Window: r.EvaluationWindow})
			rulePaths = append(rulePaths, r.MetricPath)
		}
	}
	cf, err := a.reportFile()
	if err != nil {
		return err
	}
	in.Histograms = report.KeyHistograms(rulePaths, in.Objectives, cf.Report.Metrics)
	if len(a.cfg.DB) > 0 { // the stores, when given
		paths, err := a.storeFiles()
		if err != nil {
			return err
		}
		if in.Catalog, err = dashboards.ReadCatalog(cmd.Context(), paths); err != nil {
			return err
		}
		if scrape == 0 {
			if scrape, err = a.storesResolution(cmd, paths); err != nil {
				return err
			}
		}
	}
	files, warnings, err := dashboards.Build(in)
	if err != nil {
		return err
	}
	for _, w := range warnings {
		fmt.Fprintf(a.stderr, "vigil: warning: %s\n", w)
	}
	abs, err := filepath.Abs(o.Out)
	if err != nil {
		return err
	}
	files = append(files, dashboards.Provisioning{DatasourceUID: o.DatasourceUID, URL: o.URL,
		ScrapeInterval: dashboards.TimeInterval(scrape), DashboardsPath: abs}.Files()...)
	if err := dashboards.WriteAll(o.Out, files, o.Force); err != nil {
		var no *dashboards.NotOursError
		if errors.As(err, &no) {
			return cli.WithHint(err, "move it away, or --force replaces it")
		}
		return err
	}
	for _, f := range files {
		fmt.Fprintln(a.stdout, filepath.Join(o.Out, f.Name))
	}
	return nil
}

// dashboardRules decodes the alert rules as evaluate does, every problem
// listed, exit 2; the channels' ${ENV} references read a placeholder
// where unset, since dashboards send nothing (as replay does, silently).
func (a *app) dashboardRules() (*alertconfig.Config, error) {
	lookup := func(name string) (string, bool) {
		if v, ok := os.LookupEnv(name); ok && v != "" {
			return v, true
		}
		return replayPlaceholder, true
	}
	cfg, err := alertconfig.Decode(a.file, lookup, channels.Types())
	if ps, invalid := alertconfig.AsProblems(err); invalid {
		for _, p := range ps {
			fmt.Fprintf(a.stderr, "vigil: error: %s\n", p.Error())
		}
		return nil, &cli.SilentError{Code: cli.ExitUsage}
	}
	if err != nil {
		return nil, cli.Usagef("%s: %v", a.file.Path, err)
	}
	return cfg, nil
}

// storesResolution is the stores' sample interval as analyze estimates it
// (the median series' mean interval); 0 when no series has two samples.
// Grafana's $__rate_interval is four of it: rate() then has samples.
func (a *app) storesResolution(cmd *cobra.Command, paths []string) (time.Duration, error) {
	db, err := a.openStores(cmd, paths, 0)
	if err != nil {
		return 0, err
	}
	defer db.Close()
	d, _, err := db.Resolution(cmd.Context())
	return d, err
}
