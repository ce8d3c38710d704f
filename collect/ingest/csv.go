package ingest

import (
	"bufio"
	"encoding/csv"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math"
	"strconv"
	"strings"

	"github.com/vigil-metrics/vigil/collect/store"
	"github.com/vigil-metrics/vigil/collect/vtime"
)

var csvColumns = []string{"ts", "name", "type", "value", "labels", "service"}

func readCSV(s *sink, name string, r *bufio.Reader) error {
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
	t, err := vtime.ParseInstant(rec[c.ts])
	if err != nil {
		return false, nil
	}
	tsMS := vtime.UnixMilli(t)
	v, err := strconv.ParseFloat(strings.TrimSpace(rec[c.value]), 64)
	if err != nil || tsMS < 0 || store.ValidateValue(typ, v) != nil {
		return false, nil
	}
	var labels, service string
	if c.labels >= 0 {
		labels = rec[c.labels]
	}
	if c.service >= 0 {
		service = rec[c.service]
	}
	s.key = spellKey(s.key[:0], typ, rec[c.name], service, labels)
	ref, hit := s.lookup()
	if !hit {
		var lm map[string]string
		if strings.TrimSpace(labels) != "" {
			if json.Unmarshal([]byte(labels), &lm) != nil {
				return false, nil
			}
		}
		id, err := s.tx.Series(s.ctx, rec[c.name], typ, lm, service)
		if err != nil {
			if store.IsInvalid(err) {
				return false, nil
			}
			return false, err
		}
		ref = seriesRef{id, typ}
		s.remember(ref)
	}
	return true, s.row(ref.id, tsMS, v)
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
	t, err := vtime.ParseInstant(tsText)
	if err != nil {
		return s, fmt.Errorf("ts: %w", err)
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
	if i, ok := col["labels"]; ok && strings.TrimSpace(rec[i]) != "" {
		if err := json.Unmarshal([]byte(rec[i]), &labels); err != nil {
			return s, fmt.Errorf("labels: want a JSON object of strings: %v", strings.TrimPrefix(err.Error(), "json: "))
		}
	}
	var service string
	if i, ok := col["service"]; ok {
		service = rec[i]
	}
	s = store.Sample{Name: rec[col["name"]], Type: typ, Labels: labels, Service: service, TS: vtime.UnixMilli(t), Value: v}
	return s, s.Validate()
}
