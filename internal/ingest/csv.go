package ingest

import (
	"bufio"
	"bytes"
	"encoding/csv"
	"errors"
	"fmt"
	"io"
	"math"
	"strconv"
	"strings"

	"github.com/vigil-metrics/vigil/internal/store"
)

var csvColumns = []string{"ts", "name", "type", "value", "labels", "service"}

// lineLimiter passes a text through, failing once a line runs past
// maxLine bytes: encoding/csv has no limit of its own and would hold a
// line of any length in memory.
type lineLimiter struct {
	r     io.Reader
	lines int64 // newlines passed before the current line
	cur   int   // bytes of the current line passed
	long  bool  // the current line is over the limit
}

var errLineTooLong = fmt.Errorf("line longer than the limit of %d MiB", maxLine>>20)

func (l *lineLimiter) Read(p []byte) (int, error) {
	if l.long {
		return 0, errLineTooLong
	}
	n, err := l.r.Read(p)
	b := p[:n]
	for {
		i := bytes.IndexByte(b, '\n')
		if i < 0 {
			l.cur += len(b)
			break
		}
		if l.cur+i > maxLine {
			l.cur += i
			break
		}
		l.lines++
		l.cur = 0
		b = b[i+1:]
	}
	if l.cur > maxLine {
		l.long = true
		return n, errLineTooLong
	}
	return n, err
}

func readCSV(s *sink, name string, r *bufio.Reader) error {
	lim := &lineLimiter{r: r}
	err := readCSVRecords(s, name, bufio.NewReaderSize(lim, 1<<20))
	if errors.Is(err, errLineTooLong) {
		return &InputError{File: name, Line: lim.lines + 1, Err: errLineTooLong}
	}
	return err
}

func readCSVRecords(s *sink, name string, r io.Reader) error {
	cr := csv.NewReader(r)
	cr.ReuseRecord = true
	header, err := cr.Read()
	if errors.Is(err, io.EOF) {
		return nil // an empty file imports nothing
	}
	if err != nil {
		return csvError(name, err)
	}
	col := map[string]int{}
	for i, h := range header {
		h = strings.TrimSpace(strings.TrimPrefix(h, "\ufeff"))
		known := false
		for _, c := range csvColumns {
			known = known || c == h
		}
		if !known {
			return &InputError{File: name, Line: 1, Err: fmt.Errorf("unknown column %q (want %s)", h, strings.Join(csvColumns, ", "))}
		}
		if _, dup := col[h]; dup {
			return &InputError{File: name, Line: 1, Err: fmt.Errorf("column %q appears twice", h)}
		}
		col[h] = i
	}
	for _, req := range []string{"ts", "name", "type", "value"} {
		if _, ok := col[req]; !ok {
			return &InputError{File: name, Line: 1, Err: fmt.Errorf("missing column %q in the header", req)}
		}
	}
	at := csvIndex(col)
	cr.FieldsPerRecord = len(header)
	for {
		rec, err := cr.Read()
		if errors.Is(err, io.EOF) {
			return nil
		}
		if err != nil {
			return csvError(name, err)
		}
		if fastPath {
			ok, err := s.fastCSV(rec, at)
			if err != nil {
				return fmt.Errorf("import %s: %w", name, err)
			}
			if ok {
				continue
			}
		}
		line, _ := cr.FieldPos(0)
		smp, err := csvSample(rec, col)
		if err != nil {
			return &InputError{File: name, Line: int64(line), Err: err}
		}
		if err := s.addSample(name, int64(line), smp); err != nil {
			return err
		}
	}
}

// csvCols are the column indexes; -1 for an optional column not given.
type csvCols struct{ ts, name, typ, value, labels, service int }

func csvIndex(col map[string]int) csvCols {
	get := func(k string) int {
		if i, ok := col[k]; ok {
			return i
		}
		return -1
	}
	return csvCols{get("ts"), get("name"), get("type"), get("value"), get("labels"), get("service")}
}

// fastCSV resolves and queues a record of a known series by the raw
// spelling of its name, type, labels and service; a record it does not
// take returns false and goes through csvSample, which words any error.
// Its error is an I/O failure.
func (s *sink) fastCSV(rec []string, c csvCols) (bool, error) {
	typ, ok := rawType([]byte(strings.TrimSpace(rec[c.typ])))
	if !ok {
		return false, nil
	}
	tsMS, rangeErr, err := instantMS(rec[c.ts])
	if err != nil || rangeErr != nil {
		return false, nil
	}
	v, err := strconv.ParseFloat(strings.TrimSpace(rec[c.value]), 64)
	if err != nil || store.ValidateValue(typ, v) != nil {
		return false, nil
	}
	var labels, service string
	if c.labels >= 0 {
		labels = rec[c.labels]
	}
	if c.service >= 0 {
		service = rec[c.service]
	}
	return fastRow(s, typ, rec[c.name], service, labels, tsMS, v)
}

func csvError(name string, err error) error {
	var pe *csv.ParseError
	if errors.As(err, &pe) {
		return &InputError{File: name, Line: int64(pe.Line), Err: fmt.Errorf("bad CSV: %w", pe.Err)}
	}
	return &InputError{File: name, Err: err}
}

func csvSample(rec []string, col map[string]int) (store.Sample, error) {
	var s store.Sample
	typ, err := store.ParseType(strings.TrimSpace(rec[col["type"]]))
	if err != nil {
		return s, err
	}
	tsText := strings.TrimSpace(rec[col["ts"]])
	if tsText == "" {
		return s, errors.New("missing ts")
	}
	ts, tsRange, err := instantMS(tsText)
	if err != nil {
		return s, err
	}
	vText := strings.TrimSpace(rec[col["value"]])
	v, err := strconv.ParseFloat(vText, 64)
	if err != nil {
		if vText == "" {
			return s, errors.New("missing value")
		}
		if errors.Is(err, strconv.ErrRange) && !math.IsInf(v, 0) {
			return s, fmt.Errorf("value %s is out of range", vText)
		}
		if !errors.Is(err, strconv.ErrRange) {
			return s, fmt.Errorf("value %q is not a number", vText)
		}
	}
	var labels map[string]string
	if i, ok := col["labels"]; ok {
		if labels, err = parseLabels([]byte(rec[i]), false); err != nil {
			return s, err
		}
	}
	var service string
	if i, ok := col["service"]; ok {
		service = rec[i]
	}
	s = store.Sample{Name: rec[col["name"]], Type: typ, Labels: labels, Service: service, TS: ts, Value: v}
	if err := s.Validate(); err != nil {
		return s, err
	}
	return s, tsRange
}
