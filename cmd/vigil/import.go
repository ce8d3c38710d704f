package main

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"sync/atomic"
	"time"

	"github.com/mattn/go-isatty"
	"github.com/spf13/cobra"

	"github.com/vigil-metrics/vigil/cmd/internal/cli"
	"github.com/vigil-metrics/vigil/internal/ingest"
	"github.com/vigil-metrics/vigil/internal/store"
)

type importOptions struct {
	Files  []string
	Format string
	Output string
	Force  bool
}

func newImportCmd(a *app) *cobra.Command {
	o := &importOptions{}
	cmd := &cobra.Command{
		Use:   "import FILE... (- for stdin)",
		Short: "Import samples from JSON Lines, CSV, OpenMetrics or a reference-schema SQLite file, atomically",
		Long: `Import samples into a store in one transaction. A single bad record rejects
the whole import with FILE:LINE and the reason, and leaves the store unchanged.

Formats (detected from the name or content, or set with --format):
  jsonl   {"ts": 1732870000.5 or "2026-11-29T10:00:00Z", "name": "...", "type":
          "counter|gauge|histogram", "value": 1, "labels": {...}, "service": "..."}
  csv     a header of ts,name,type,value[,labels][,service]; labels as JSON
  sqlite  the reference design's metrics(timestamp, name, type, value, labels,
          service_name) table, or another vigil store
  openmetrics  OpenMetrics 1.0 text with a timestamp (unix seconds) on every
          sample, ending with # EOF
A gzip-compressed file (name.jsonl.gz, or any gzip content) is decompressed.

Refused, naming the file: a file given twice, the store itself, and a file
whose content (SHA-256) this store has already imported; --force imports
such content again on purpose. See docs/cli.md for what records are refused.`,
		Args: cobra.MinimumNArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			o.Files = args
			return a.runImport(cmd, o)
		},
	}
	cmd.Flags().StringVar(&o.Format, "format", "", "input format: jsonl, csv, sqlite or openmetrics (default: detect)")
	cmd.Flags().BoolVar(&o.Force, "force", false, "import content this store has already imported, or a file given twice")
	outputFlag(cmd, &o.Output, "table", "json")
	addDBFlag(cmd.Flags(), true)
	return cmd
}

func (a *app) runImport(cmd *cobra.Command, o *importOptions) error {
	var format ingest.Format
	if o.Format != "" {
		f, err := ingest.ParseFormat(o.Format)
		if err != nil {
			return cli.Usage(err)
		}
		format = f
	}
	if err := checkOutput(cmd); err != nil {
		return err
	}
	path, err := a.oneStore()
	if err != nil {
		return err
	}
	var srcs []ingest.Source
	var total int64
	var read atomic.Int64
	// The store, if it exists, and each file given, to refuse the same
	// file twice (also by another path or a symlink) and the store itself.
	dbInfo, _ := os.Stat(path)
	type given struct {
		name string
		info os.FileInfo
	}
	var seen []given
	stdin := false
	for _, f := range o.Files {
		if f == "-" {
			if stdin {
				return cli.Usagef("standard input (-) given twice")
			}
			stdin = true
			srcs = append(srcs, ingest.Source{Name: "<stdin>", R: &countingReader{r: a.stdin, n: &read}, Format: format})
			continue
		}
		fh, err := os.Open(f)
		if err != nil {
			var pe *os.PathError
			if errors.As(err, &pe) {
				err = pe.Err
			}
			return cli.Usage(fmt.Errorf("open %s: %w", f, err))
		}
		defer fh.Close()
		info, err := fh.Stat()
		if err != nil {
			return fmt.Errorf("open %s: %w", f, err)
		}
		if info.IsDir() {
			return cli.Usagef("open %s: is a directory", f)
		}
		if dbInfo != nil && os.SameFile(info, dbInfo) {
			return cli.Usagef("%s is the store being imported into (--db %s): a store cannot import itself", f, path)
		}
		for _, g := range seen {
			if os.SameFile(info, g.info) && !o.Force {
				return cli.WithHint(cli.Usagef("%s is given twice (also as %s)", f, g.name), "--force imports a file twice on purpose")
			}
		}
		seen = append(seen, given{f, info})
		total += info.Size()
		srcs = append(srcs, ingest.Source{Name: f, Path: f, R: &countingReader{r: fh, n: &read}, Format: format})
	}
	st, err := store.Open(cmd.Context(), path, store.Options{})
	if err != nil {
		return err
	}
	defer st.Close()
	stop := a.progress(&read, total)
	n, err := ingest.ImportWith(cmd.Context(), st, srcs, ingest.Options{Force: o.Force})
	stop()
	if err != nil {
		return err
	}
	if o.Output == "json" {
		return json.NewEncoder(a.stdout).Encode(map[string]any{"db": path, "files": o.Files, "samples": n})
	}
	fmt.Fprintf(a.stdout, "imported %d samples from %d file(s) into %s\n", n, len(o.Files), path)
	return nil
}

type countingReader struct {
	r io.Reader
	n *atomic.Int64
}

func (c *countingReader) Read(p []byte) (int, error) {
	n, err := c.r.Read(p)
	c.n.Add(int64(n))
	return n, err
}

// progress draws a progress line on a terminal for imports that take more
// than a second; elsewhere it does nothing.
func (a *app) progress(read *atomic.Int64, total int64) func() {
	term := a.term
	if term == nil {
		term = a.stderr
	}
	f, ok := term.(*os.File)
	if !ok || !isatty.IsTerminal(f.Fd()) {
		return func() {}
	}
	done := make(chan struct{})
	finished := make(chan struct{})
	go func() {
		defer close(finished)
		start := time.Now()
		tick := time.NewTicker(250 * time.Millisecond)
		defer tick.Stop()
		drawn := false
		for {
			select {
			case <-done:
				if drawn {
					fmt.Fprint(f, "\r\033[K")
				}
				return
			case <-tick.C:
				if time.Since(start) < time.Second {
					continue
				}
				drawn = true
				n := read.Load()
				if total > 0 {
					fmt.Fprintf(f, "\rimporting: %3.0f%% (%d of %d MiB)", 100*float64(n)/float64(total), n>>20, total>>20)
				} else {
					fmt.Fprintf(f, "\rimporting: %d MiB", n>>20)
				}
			}
		}
	}()
	return func() { close(done); <-finished }
}
