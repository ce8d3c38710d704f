package main

import (
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/vigil-metrics/vigil/cmd/internal/cli"
	"github.com/vigil-metrics/vigil/internal/store"
	"github.com/vigil-metrics/vigil/internal/vtime"
)

type recordOptions struct {
	Type    store.Type
	Name    string
	Value   float64
	Labels  []string
	Service string
	At      string
}

func newRecordCmd(a *app) *cobra.Command {
	o := &recordOptions{}
	cmd := &cobra.Command{
		Use:   "record counter|gauge|histogram NAME VALUE",
		Short: "Record one sample (for shell scripts and CI jobs)",
		Example: `  vigil record counter deploys_total 1 --label env=prod --service api
  vigil record histogram build_seconds 93.4 --label branch=main
  vigil record gauge queue_depth 17 --at 2026-11-29T10:00:00Z
  vigil record gauge temperature_celsius -- -4.5     (-- before a negative value)`,
		Args: cobra.ExactArgs(3),
		RunE: func(cmd *cobra.Command, args []string) error {
			t, err := store.ParseType(args[0])
			if err != nil {
				return cli.Usage(err)
			}
			v, err := strconv.ParseFloat(args[2], 64)
			if err != nil {
				return cli.Usagef("value %q is not a number", args[2])
			}
			o.Type, o.Name, o.Value = t, args[1], v
			return a.runRecord(cmd, o)
		},
	}
	cmd.Flags().StringArrayVarP(&o.Labels, "label", "l", nil, "label as name=value (repeatable)")
	cmd.Flags().StringVar(&o.Service, "service", "", "service name")
	cmd.Flags().StringVar(&o.At, "at", "", "sample time, RFC 3339 or unix seconds (default now)")
	addDBFlag(cmd.Flags(), true)
	return cmd
}

func parseLabels(flags []string) (map[string]string, error) {
	labels := map[string]string{}
	for _, l := range flags {
		k, v, ok := strings.Cut(l, "=")
		if !ok {
			return nil, cli.Usagef("--label %q: want name=value", l)
		}
		if _, dup := labels[k]; dup {
			return nil, cli.Usagef("--label %q: label %s given twice", l, k)
		}
		labels[k] = v
	}
	return labels, nil
}

func (a *app) at(s string) (time.Time, error) {
	if s == "" {
		return a.now().UTC(), nil
	}
	t, err := vtime.ParseInstant(s)
	if err != nil {
		return time.Time{}, cli.Usagef("--at: %v", err)
	}
	return t, nil
}

func (a *app) runRecord(cmd *cobra.Command, o *recordOptions) error {
	labels, err := parseLabels(o.Labels)
	if err != nil {
		return err
	}
	t, err := a.at(o.At)
	if err != nil {
		return err
	}
	s := store.Sample{Name: o.Name, Type: o.Type, Labels: labels, Service: o.Service, TS: vtime.UnixMilli(t), Value: o.Value}
	if err := s.Validate(); err != nil {
		return cli.Usage(err)
	}
	if err := store.ValidateTime(s.TS); err != nil {
		return cli.Usage(fmt.Errorf("--at: %w", err))
	}
	path, err := a.oneStore()
	if err != nil {
		return err
	}
	st, err := store.Open(cmd.Context(), path, store.Options{})
	if err != nil {
		return err
	}
	defer st.Close()
	if _, err := st.Write(cmd.Context(), []store.Sample{s}); err != nil {
		return fmt.Errorf("record into %s: %w", path, err)
	}
	return nil
}
