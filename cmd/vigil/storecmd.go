package main

import (
	"github.com/vigil-metrics/vigil/cmd/internal/cli"

	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"text/tabwriter"
	"time"

	"github.com/spf13/cobra"

	"github.com/vigil-metrics/vigil/collect/demo"
	"github.com/vigil-metrics/vigil/collect/store"
	"github.com/vigil-metrics/vigil/collect/vtime"
)

func newStoreCmd(a *app) *cobra.Command {
	cmd := &cobra.Command{
		Use:   "store",
		Short: "Inspect stores and generate the demo dataset",
	}
	cmd.AddCommand(newStoreInfoCmd(a), newStoreDemoCmd(a))
	return cmd
}

type storeDemoOptions struct {
	At    string
	Span  string
	Seed  uint64
	Force bool
}

func newStoreDemoCmd(a *app) *cobra.Command {
	o := &storeDemoOptions{}
	cmd := &cobra.Command{
		Use:   "demo",
		Short: "Generate the embedded demo dataset (a week of two services and three hosts, with an incident)",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			path, err := a.oneStore()
			if err != nil {
				return err
			}
			at, err := a.at(o.At)
			if err != nil {
				return err
			}
			span, err := vtime.ParseDuration(o.Span)
			if err != nil || span <= 0 {
				return cli.Usagef("--span %q: want a positive duration", o.Span)
			}
			if _, err := os.Stat(path); err == nil {
				if !o.Force {
					return cli.WithHint(cli.Usagef("%s exists", path), "pass --force to replace it")
				}
				for _, suffix := range []string{"", "-wal", "-shm"} {
					if err := os.Remove(path + suffix); err != nil && !errors.Is(err, fs.ErrNotExist) {
						return err
					}
				}
			}
			st, err := store.Open(cmd.Context(), path, store.Options{})
			if err != nil {
				return err
			}
			defer st.Close()
			n, err := demo.Generate(cmd.Context(), st, demo.Options{End: at, Span: span, Seed: o.Seed})
			if err != nil {
				return err
			}
			from, to := demo.Incident(at)
			fmt.Fprintf(a.stdout, "wrote %d samples to %s (%s to %s; api incident from %s)\n", n, path,
				at.Add(-span).Format(time.RFC3339), at.Format(time.RFC3339), from.Format(time.RFC3339))
			_ = to
			return nil
		},
	}
	cmd.Flags().StringVar(&o.At, "at", "", "end of the dataset (default now)")
	cmd.Flags().StringVar(&o.Span, "span", "7d", "how much history to generate")
	cmd.Flags().Uint64Var(&o.Seed, "seed", 1, "random seed (the same seed gives the same data)")
	cmd.Flags().BoolVar(&o.Force, "force", false, "replace an existing store")
	addDBFlag(cmd.Flags(), true)
	return cmd
}

type storeInfo struct {
	Path      string `json:"path"`
	Format    int    `json:"format_version"`
	StoreID   string `json:"store_id"`
	Series    int64  `json:"series"`
	Samples   int64  `json:"samples"`
	First     string `json:"first_sample,omitempty"`
	Last      string `json:"last_sample,omitempty"`
	HorizonMS int64  `json:"retention_horizon_ms"`
}

func newStoreInfoCmd(a *app) *cobra.Command {
	var output string
	cmd := &cobra.Command{
		Use:   "info",
		Short: "Show a store's format, size and time range",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			paths, err := a.storePaths()
			if err != nil {
				return err
			}
			var infos []storeInfo
			for _, p := range paths {
				st, err := store.Open(cmd.Context(), p, store.Options{ReadOnly: true})
				if err != nil {
					return err
				}
				m, err := store.ReadMeta(cmd.Context(), st.DB)
				if err != nil {
					st.Close()
					return err
				}
				in := storeInfo{Path: p, Format: store.Version, StoreID: m.StoreID, HorizonMS: m.HorizonMS}
				var first, last *int64
				err = st.DB.QueryRowContext(cmd.Context(),
					"SELECT (SELECT count(*) FROM series), (SELECT count(*) FROM samples), (SELECT min(ts) FROM samples), (SELECT max(ts) FROM samples)").
					Scan(&in.Series, &in.Samples, &first, &last)
				st.Close()
				if err != nil {
					return fmt.Errorf("read %s: %w", p, err)
				}
				if first != nil {
					in.First = time.UnixMilli(*first).UTC().Format(time.RFC3339Nano)
					in.Last = time.UnixMilli(*last).UTC().Format(time.RFC3339Nano)
				}
				infos = append(infos, in)
			}
			if output == "json" {
				enc := json.NewEncoder(a.stdout)
				enc.SetIndent("", "  ")
				return enc.Encode(map[string]any{"stores": infos})
			}
			tw := tabwriter.NewWriter(a.stdout, 0, 0, 2, ' ', 0)
			fmt.Fprintln(tw, "STORE\tSERIES\tSAMPLES\tFIRST\tLAST")
			for _, in := range infos {
				fmt.Fprintf(tw, "%s\t%d\t%d\t%s\t%s\n", in.Path, in.Series, in.Samples, in.First, in.Last)
			}
			return tw.Flush()
		},
	}
	cmd.Flags().StringVarP(&output, "output", "o", "table", "output: table or json")
	addDBFlag(cmd.Flags(), false)
	return cmd
}
