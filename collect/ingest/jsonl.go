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

	"github.com/vigil-metrics/vigil/collect/store"
	"github.com/vigil-metrics/vigil/collect/vtime"
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
// taken by the agent's push endpoint).
func ParseJSONRecord(line []byte) (store.Sample, error) {
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
	ts, err := parseJSONTime(rec.TS)
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
	return s, s.Validate()
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

func parseJSONTime(raw json.RawMessage) (int64, error) {
	if raw[0] == '"' {
		var s string
		if err := json.Unmarshal(raw, &s); err != nil {
			return 0, fmt.Errorf("bad ts: %w", err)
		}
		t, err := vtime.ParseInstant(s)
		if err != nil {
			return 0, fmt.Errorf("ts: %w", err)
		}
		return vtime.UnixMilli(t), nil
	}
	f, err := strconv.ParseFloat(string(raw), 64)
	if err != nil {
		return 0, fmt.Errorf("ts %s is neither unix seconds nor an RFC 3339 string", raw)
	}
	t, err := vtime.FromUnixSeconds(f)
	if err != nil {
		return 0, fmt.Errorf("ts: %w", err)
	}
	return vtime.UnixMilli(t), nil
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

func readJSONL(name string, r *bufio.Reader, add func(int64, store.Sample) error) error {
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 0, 64<<10), 16<<20)
	var line int64
	for sc.Scan() {
		line++
		b := bytes.TrimSpace(sc.Bytes())
		if line == 1 {
			b = bytes.TrimPrefix(b, []byte("\ufeff"))
		}
		if len(b) == 0 {
			continue
		}
		s, err := ParseJSONRecord(b)
		if err != nil {
			return &InputError{File: name, Line: line, Err: err}
		}
		if err := add(line, s); err != nil {
			return err
		}
	}
	if err := sc.Err(); err != nil {
		return &InputError{File: name, Line: line + 1, Err: fmt.Errorf("read: %w", err)}
	}
	return nil
}
