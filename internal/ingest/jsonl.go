package ingest

import (
	"bufio"
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"strconv"
	"strings"

	"github.com/vigil-metrics/vigil/internal/store"
)

type jsonRecord struct {
	TS      json.RawMessage   `json:"ts"`
	Name    *string           `json:"name"`
	Type    *string           `json:"type"`
	Value   json.RawMessage   `json:"value"`
	Labels  map[string]string `json:"labels"`
	Service string            `json:"service"`
}

// ParseJSONRecord decodes one JSON Lines record (the import format, also
// taken by the agent's push endpoint). Field names are exact, each given
// once, labels too, and the line must be valid UTF-8: encoding/json alone
// would match "Name", keep the last of two keys and turn bad bytes into
// U+FFFD. A time outside 2000..2100 is refused after the rest of the
// record is checked.
func ParseJSONRecord(line []byte) (store.Sample, error) {
	if err := checkJSONRecord(line); err != nil {
		return store.Sample{}, err
	}
	var rec jsonRecord
	dec := json.NewDecoder(bytes.NewReader(line))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&rec); err != nil {
		return store.Sample{}, jsonError(err)
	}
	if dec.More() {
		return store.Sample{}, errors.New("bad JSON: more than one value on the line")
	}
	var s store.Sample
	if rec.Name == nil {
		return s, errors.New("missing name")
	}
	if rec.Type == nil {
		return s, errors.New("missing type")
	}
	typ, err := store.ParseType(*rec.Type)
	if err != nil {
		return s, err
	}
	if len(rec.TS) == 0 || string(rec.TS) == "null" {
		return s, errors.New("missing ts")
	}
	ts, tsRange, err := parseJSONTime(rec.TS)
	if err != nil {
		return s, err
	}
	if len(rec.Value) == 0 || string(rec.Value) == "null" {
		return s, errors.New("missing value")
	}
	v, err := parseJSONValue(rec.Value)
	if err != nil {
		return s, err
	}
	s = store.Sample{Name: *rec.Name, Type: typ, Labels: rec.Labels, Service: rec.Service, TS: ts, Value: v}
	if err := s.Validate(); err != nil {
		return s, err
	}
	return s, tsRange
}

func jsonError(err error) error {
	var te *json.UnmarshalTypeError
	if errors.As(err, &te) {
		if strings.HasPrefix(te.Field, "labels") {
			return fmt.Errorf("bad JSON: label values must be strings (field %s is a %s)", te.Field, te.Value)
		}
		return fmt.Errorf("bad JSON: field %s cannot be a %s", te.Field, te.Value)
	}
	msg := err.Error()
	msg = strings.TrimPrefix(msg, "json: ")
	return fmt.Errorf("bad JSON: %s", msg)
}

// parseJSONTime reads ts; rangeErr is a well-formed time outside the
// store's range, err anything else.
func parseJSONTime(raw json.RawMessage) (ms int64, rangeErr, err error) {
	if raw[0] == '"' {
		var s string
		if err := json.Unmarshal(raw, &s); err != nil {
			return 0, nil, fmt.Errorf("bad ts: %w", err)
		}
		return instantMS(s)
	}
	f, err := strconv.ParseFloat(string(raw), 64)
	if err != nil {
		return 0, nil, fmt.Errorf("ts %s is neither unix seconds nor an RFC 3339 string", raw)
	}
	ms, rangeErr = secondsMS(string(raw), f)
	return ms, rangeErr, nil
}

func parseJSONValue(raw json.RawMessage) (float64, error) {
	s := string(raw)
	if raw[0] == '"' {
		// "NaN" and "Inf" can only arrive quoted; name them plainly.
		if err := json.Unmarshal(raw, &s); err != nil {
			return 0, fmt.Errorf("bad value: %w", err)
		}
		f, err := strconv.ParseFloat(s, 64)
		if err != nil {
			return 0, fmt.Errorf("value %q is not a number", s)
		}
		if math.IsNaN(f) || math.IsInf(f, 0) {
			return f, nil // ValidateValue names it
		}
		return 0, fmt.Errorf("value %q is a string, want a JSON number", s)
	}
	f, err := strconv.ParseFloat(s, 64)
	if err != nil {
		if errors.Is(err, strconv.ErrRange) {
			return 0, fmt.Errorf("value %s is out of range", s)
		}
		return 0, fmt.Errorf("value %s is not a number", s)
	}
	return f, nil
}

func readJSONL(s *sink, name string, r *bufio.Reader) error {
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 0, 1<<20), maxLine)
	var line int64
	var f jsonFields
	for sc.Scan() {
		line++
		b := bytes.TrimSpace(sc.Bytes())
		if line == 1 {
			b = bytes.TrimPrefix(b, []byte("\ufeff"))
		}
		if len(b) == 0 {
			continue
		}
		if fastPath && scanJSONRecord(b, &f) {
			ok, err := s.fastJSON(&f)
			if err != nil {
				return fmt.Errorf("import %s: %w", name, err)
			}
			if ok {
				continue
			}
		}
		smp, err := ParseJSONRecord(b)
		if err != nil {
			return &InputError{File: name, Line: line, Err: err}
		}
		if err := s.addSample(name, line, smp); err != nil {
			return err
		}
	}
	if err := sc.Err(); err != nil {
		if errors.Is(err, bufio.ErrTooLong) {
			return &InputError{File: name, Line: line + 1, Err: fmt.Errorf("line longer than the limit of %d MiB", maxLine>>20)}
		}
		return &InputError{File: name, Line: line + 1, Err: fmt.Errorf("read: %w", err)}
	}
	return nil
}

// maxLine is the longest record a text import takes.
const maxLine = 16 << 20

// fastJSON resolves and queues a record split by scanJSONRecord. It
// returns false, with no error, for anything it does not accept as is:
// the caller then takes the full decoder's path, which words the error.
// Its error is an I/O failure.
func (s *sink) fastJSON(f *jsonFields) (bool, error) {
	typ, ok := rawType(f.typ)
	if !ok {
		return false, nil
	}
	var tsMS int64
	var err error
	if f.tsString {
		var rangeErr error
		tsMS, rangeErr, err = instantMS(string(f.ts))
		if err == nil {
			err = rangeErr
		}
	} else {
		var x float64
		if x, err = parseFloat(f.ts); err == nil {
			tsMS, err = secondsMS("", x)
		}
	}
	if err != nil {
		return false, nil
	}
	v, err := parseFloat(f.value)
	if err != nil || store.ValidateValue(typ, v) != nil {
		return false, nil
	}
	return fastRow(s, typ, f.name, f.service, f.labels, tsMS, v)
}

func rawType(b []byte) (store.Type, bool) {
	switch string(b) {
	case "counter":
		return store.Counter, true
	case "gauge":
		return store.Gauge, true
	case "histogram":
		return store.Histogram, true
	}
	return "", false
}
