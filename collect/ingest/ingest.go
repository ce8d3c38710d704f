// Package ingest reads metric samples from files (JSON Lines, CSV, and the
// reference design's SQLite schema) and writes them into a store in one
// transaction: a single bad record rejects the whole import and names the
// place where it is.
package ingest

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"path/filepath"
	"strings"

	"github.com/vigil-metrics/vigil/collect/store"
)

// Format is an input format.
type Format string

// The formats import understands.
const (
	JSONL  Format = "jsonl"
	CSV    Format = "csv"
	SQLite Format = "sqlite"
	// OpenMetrics is OpenMetrics 1.0 text with timestamps in seconds, the
	// input of promtool tsdb create-blocks-from openmetrics.
	OpenMetrics Format = "openmetrics"
)

// ParseFormat validates a --format value.
func ParseFormat(s string) (Format, error) {
	switch Format(s) {
	case JSONL, CSV, SQLite, OpenMetrics:
		return Format(s), nil
	case "json", "ndjson":
		return JSONL, nil
	case "om":
		return OpenMetrics, nil
	}
	return "", fmt.Errorf("unknown format %q (want jsonl, csv, sqlite or openmetrics)", s)
}

var sqliteMagic = []byte("SQLite format 3\x00")

// Detect picks a format from a file name, falling back to its first bytes.
func Detect(name string, head []byte) Format {
	if bytes.HasPrefix(head, sqliteMagic) {
		return SQLite
	}
	switch strings.ToLower(filepath.Ext(name)) {
	case ".jsonl", ".ndjson", ".json":
		return JSONL
	case ".csv":
		return CSV
	case ".db", ".sqlite", ".sqlite3":
		return SQLite
	case ".om", ".prom":
		return OpenMetrics
	}
	t := bytes.TrimLeft(head, " \t\r\n\ufeff")
	if len(t) > 0 && t[0] == '{' {
		return JSONL
	}
	for _, p := range []string{"# HELP ", "# TYPE ", "# UNIT ", "# EOF"} {
		if bytes.HasPrefix(t, []byte(p)) {
			return OpenMetrics
		}
	}
	return CSV
}

// InputError is a bad record: where it is and what is wrong with it.
type InputError struct {
	File string
	Line int64 // 0 when the error concerns the whole file
	Err  error
}

func (e *InputError) Error() string {
	if e.Line > 0 {
		return fmt.Sprintf("%s:%d: %v", e.File, e.Line, e.Err)
	}
	return fmt.Sprintf("%s: %v", e.File, e.Err)
}

func (e *InputError) Unwrap() error { return e.Err }

// Source is one input. Path is set for files (needed for SQLite input);
// R reads the content for text formats.
type Source struct {
	Name   string
	Path   string
	R      io.Reader
	Format Format // empty: detect
}

// Import writes every sample of every source into st in one transaction and
// returns how many it wrote. On any error the store is unchanged.
func Import(ctx context.Context, st *store.Store, srcs []Source) (int64, error) {
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	tx, err := st.Begin(ctx)
	if err != nil {
		return 0, err
	}
	defer tx.Rollback()
	s := newSink(ctx, tx)
	for _, src := range srcs {
		if err := importOne(ctx, s, src); err != nil {
			s.stop()
			return 0, err
		}
	}
	if err := s.close(); err != nil {
		return 0, err
	}
	return tx.Commit(ctx)
}

func importOne(ctx context.Context, s *sink, src Source) error {
	format := src.Format
	var r *bufio.Reader
	if src.R != nil {
		r = bufio.NewReaderSize(src.R, 1<<20)
	}
	if format == "" {
		var head []byte
		if r != nil {
			head, _ = r.Peek(64)
		}
		format = Detect(src.Name, head)
	}
	add := func(line int64, smp store.Sample) error {
		return s.addSample(src.Name, line, smp)
	}
	switch format {
	case JSONL:
		return readJSONL(s, src.Name, r)
	case CSV:
		return readCSV(s, src.Name, r)
	case SQLite:
		if src.Path == "" {
			return &InputError{File: src.Name, Err: errors.New("SQLite input must be a file, not standard input")}
		}
		return readSQLite(ctx, src.Name, src.Path, add)
	case OpenMetrics:
		return readOpenMetrics(src.Name, r, add)
	}
	return &InputError{File: src.Name, Err: fmt.Errorf("unknown format %q", format)}
}
