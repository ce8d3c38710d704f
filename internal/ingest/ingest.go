// Package ingest reads metric samples from files (JSON Lines, CSV, and the
// reference design's SQLite schema) and writes them into a store in one
// transaction: a single bad record rejects the whole import and names the
// place where it is.
//
// It owns the import formats and their checks; the agent uses it for
// pushes, so it must not import analyze, alert or report.
package ingest

import (
	"bufio"
	"bytes"
	"compress/gzip"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/vigil-metrics/vigil/internal/store"
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

// ErrAlreadyImported: the store has imported these bytes before (the agent
// loading its spill files tells a finished load from a failed one by it).
var ErrAlreadyImported = errors.New("already imported into this store")

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

// Source is one input. Path is set for files; R reads the content (when
// nil, Path is opened). A gzip stream (magic bytes 1f 8b, whatever the
// name) is decompressed, its format then detected from the name without
// ".gz", or from the content.
type Source struct {
	Name   string
	Path   string
	R      io.Reader
	Format Format // empty: detect
}

// Options tune an import.
type Options struct {
	// Force imports content this store has already imported (by SHA-256
	// of the bytes read), or that is given twice.
	Force bool
	// Now stamps the record of each imported file (default time.Now).
	Now func() time.Time
}

// Import writes every sample of every source into st in one transaction and
// returns how many it wrote. On any error the store is unchanged. Content
// the store has already imported is refused (see ImportWith).
func Import(ctx context.Context, st *store.Store, srcs []Source) (int64, error) {
	return ImportWith(ctx, st, srcs, Options{})
}

// ImportWith is Import with options. Each source's SHA-256 is taken while
// it streams (no second read), and the store remembers it, in the import's
// transaction, under the meta key store.MetaImportPrefix+hex: a second
// import of the same bytes, or the same bytes given twice in one import,
// is refused before commit unless opt.Force.
func ImportWith(ctx context.Context, st *store.Store, srcs []Source, opt Options) (int64, error) {
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	tx, err := st.Begin(ctx)
	if err != nil {
		return 0, err
	}
	defer tx.Rollback()
	tx.Backfill = true // an import of old samples is deliberate: see Tx.Backfill
	s := newSink(ctx, tx)
	digests := make([]string, len(srcs))
	counts := make([]int64, len(srcs))
	for i, src := range srcs {
		before := s.rows
		d, err := importOne(ctx, s, src)
		if err != nil {
			s.stop()
			return 0, err
		}
		digests[i], counts[i] = d, s.rows-before
	}
	if err := s.close(); err != nil {
		return 0, err
	}
	now := time.Now
	if opt.Now != nil {
		now = opt.Now
	}
	at := now().UTC().Format(time.RFC3339)
	first := map[string]string{}
	for i, src := range srcs {
		d := digests[i]
		if prev, ok := first[d]; ok && !opt.Force {
			return 0, &InputError{File: src.Name, Err: fmt.Errorf("same content as %s, given earlier in this import (--force imports it twice)", prev)}
		}
		first[d] = src.Name
		rec, seen, err := tx.LookupImport(ctx, d)
		if err != nil {
			return 0, err
		}
		if seen && !opt.Force {
			return 0, &InputError{File: src.Name, Err: fmt.Errorf("%w (as %s at %s, %d samples; --force imports it again)", ErrAlreadyImported, rec.File, rec.ImportedAt, rec.Samples)}
		}
		if err := tx.RecordImport(ctx, d, store.ImportRecord{File: src.Name, ImportedAt: at, Samples: counts[i]}); err != nil {
			return 0, err
		}
	}
	return tx.Commit(ctx)
}

var gzipMagic = []byte{0x1f, 0x8b}

// importOne reads one source into s and returns the hex SHA-256 of the
// bytes it read.
func importOne(ctx context.Context, s *sink, src Source) (string, error) {
	in := src.R
	if in == nil {
		if src.Path == "" {
			return "", &InputError{File: src.Name, Err: errors.New("no input to read")}
		}
		f, err := os.Open(src.Path)
		if err != nil {
			return "", &InputError{File: src.Name, Err: err}
		}
		defer f.Close()
		in = f
	}
	h := sha256.New()
	raw := bufio.NewReaderSize(io.TeeReader(in, h), 1<<20)
	r := raw
	name := src.Name
	compressed := false
	if head, _ := raw.Peek(len(gzipMagic)); bytes.Equal(head, gzipMagic) {
		zr, err := gzip.NewReader(raw)
		if err != nil {
			return "", &InputError{File: src.Name, Err: fmt.Errorf("gzip: %w", err)}
		}
		r = bufio.NewReaderSize(zr, 1<<20)
		compressed = true
		if ext := filepath.Ext(name); strings.EqualFold(ext, ".gz") {
			name = strings.TrimSuffix(name, ext)
		}
	}
	format := src.Format
	if format == "" {
		head, _ := r.Peek(64)
		format = Detect(name, head)
	}
	if err := readFormat(ctx, s, src, format, r, compressed); err != nil {
		return "", err
	}
	// The digest covers every byte, also those a reader left unread (after
	// a CSV's last record, a SQLite file's pages).
	if _, err := io.Copy(io.Discard, raw); err != nil {
		return "", &InputError{File: src.Name, Err: fmt.Errorf("read: %w", err)}
	}
	return hex.EncodeToString(h.Sum(nil)), nil
}

func readFormat(ctx context.Context, s *sink, src Source, format Format, r *bufio.Reader, compressed bool) error {
	add := func(line int64, smp store.Sample) error {
		return s.addSample(src.Name, line, smp)
	}
	switch format {
	case JSONL:
		return readJSONL(s, src.Name, r)
	case CSV:
		return readCSV(s, src.Name, r)
	case SQLite:
		if src.Path != "" && !compressed {
			return readSQLite(ctx, src.Name, src.Path, add)
		}
		// SQLite reads a file: standard input or a decompressed stream
		// goes through a temporary copy.
		tmp, err := os.CreateTemp("", "vigil-import-*.db")
		if err != nil {
			return fmt.Errorf("import %s: %w", src.Name, err)
		}
		defer os.Remove(tmp.Name())
		_, err = io.Copy(tmp, r)
		if cerr := tmp.Close(); err == nil {
			err = cerr
		}
		if err != nil {
			return &InputError{File: src.Name, Err: fmt.Errorf("copy to a temporary file: %w", err)}
		}
		return readSQLite(ctx, src.Name, tmp.Name(), add)
	case OpenMetrics:
		return readOpenMetrics(s, src.Name, r)
	}
	return &InputError{File: src.Name, Err: fmt.Errorf("unknown format %q", format)}
}
