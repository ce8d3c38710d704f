package main

import (
	"errors"
	"fmt"
	"io/fs"
	"math"
	"os"

	"github.com/spf13/cobra"

	"github.com/vigil-metrics/vigil/analyze"
	"github.com/vigil-metrics/vigil/cmd/internal/cli"
	"github.com/vigil-metrics/vigil/internal/vtime"
)

type exportOptions struct {
	Format string
	Out    string
	Since  string
	Until  string
}

// newExportCmd writes the stores' samples as Parquet or CSV files, one
// folder per UTC day (day=YYYY-MM-DD), through DuckDB's COPY.
func newExportCmd(a *app) *cobra.Command {
	o := &exportOptions{}
	cmd := &cobra.Command{
		Use:   "export",
		Short: "Write samples to Parquet or CSV files partitioned by day",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if o.Format != "parquet" && o.Format != "csv" {
				return cli.Usagef("--format %q: want parquet or csv", o.Format)
			}
			if o.Out == "" {
				return cli.Usagef("--out: name the folder to write")
			}
			since, until := int64(math.MinInt64), int64(math.MaxInt64)
			if o.Since != "" {
				t, err := vtime.ParseInstant(o.Since)
				if err != nil {
					return cli.Usagef("--since: %v", err)
				}
				since = t.UnixMilli()
			}
			if o.Until != "" {
				t, err := vtime.ParseInstant(o.Until)
				if err != nil {
					return cli.Usagef("--until: %v", err)
				}
				until = t.UnixMilli()
			}
			if since >= until {
				return cli.Usagef("--since %s is not before --until %s", o.Since, o.Until)
			}
			if ents, err := os.ReadDir(o.Out); err == nil && len(ents) > 0 {
				return cli.WithHint(cli.Usagef("--out %s is not empty", o.Out), "export into a new or empty folder")
			} else if err != nil && !errors.Is(err, fs.ErrNotExist) {
				return cli.Usagef("--out %s: %v", o.Out, err)
			}
			paths, err := a.storeFiles()
			if err != nil {
				return err
			}
			n, err := analyze.Export(cmd.Context(), paths, a.cfg.CacheDir, o.Format, o.Out, since, until)
			if err != nil {
				return err
			}
			fmt.Fprintf(a.stdout, "wrote %d samples to %s (%s, one folder per day)\n", n, o.Out, o.Format)
			return nil
		},
	}
	cmd.Flags().StringVar(&o.Format, "format", "parquet", "file format: parquet or csv")
	cmd.Flags().StringVar(&o.Out, "out", "", "folder to write (new or empty)")
	cmd.Flags().StringVar(&o.Since, "since", "", "first instant to export (inclusive; default the oldest sample)")
	cmd.Flags().StringVar(&o.Until, "until", "", "instant to stop at (exclusive; default after the newest sample)")
	addDBFlag(cmd.Flags(), false)
	return cmd
}
