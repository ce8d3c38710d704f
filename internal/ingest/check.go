package ingest

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/vigil-metrics/vigil/internal/store"
	"github.com/vigil-metrics/vigil/internal/vtime"
)

// Checks every import format shares: the time range, label objects and
// invalid UTF-8. Each returns a plain error; the readers place it.

// secondsMS converts unix seconds (spelled spell in the input) to the
// store's milliseconds, refusing times outside store.MinTime..MaxTime.
// The fast readers call it too, so both paths keep the same instants.
func secondsMS(spell string, f float64) (int64, error) {
	if math.IsNaN(f) || math.IsInf(f, 0) {
		return 0, fmt.Errorf("ts %s is not a time", spell)
	}
	if f >= 0 && f <= 1e11 {
		t, err := vtime.FromUnixSeconds(f)
		if err == nil {
			if ms := vtime.UnixMilli(t); ms >= store.MinTimeMS && ms <= store.MaxTimeMS {
				return ms, nil
			}
		}
	}
	return 0, secondsRangeError(spell, f)
}

// secondsRangeError words a time outside the range given in unix seconds,
// naming the unit it looks like when that puts it in range (1795946400000
// is milliseconds, not the year 58881).
func secondsRangeError(spell string, f float64) error {
	if math.Abs(f) >= 1e17 {
		return fmt.Errorf("ts %s is out of range (want unix seconds, a time %s)", spell, store.TimeRange)
	}
	year := time.Unix(int64(f), 0).UTC().Year()
	for _, u := range []struct {
		div  float64
		name string
	}{{1e3, "milliseconds"}, {1e6, "microseconds"}, {1e9, "nanoseconds"}} {
		if ms := f / u.div * 1000; ms >= store.MinTimeMS && ms <= store.MaxTimeMS {
			return fmt.Errorf("ts %s is in the year %d; looks like %s (want unix seconds)", spell, year, u.name)
		}
	}
	return fmt.Errorf("ts %s is in the year %d (want a time %s)", spell, year, store.TimeRange)
}

// checkMS refuses a time in milliseconds outside the range; spell is how
// the input wrote it.
func checkMS(spell string, ms int64) error {
	if ms >= store.MinTimeMS && ms <= store.MaxTimeMS {
		return nil
	}
	return fmt.Errorf("ts %s is in the year %d (want a time %s)", spell, time.UnixMilli(ms).UTC().Year(), store.TimeRange)
}

// instantMS reads a text time, unix seconds or RFC 3339, as the store's
// milliseconds. A syntax error is reported as "ts: ...", a time out of
// range as in secondsMS; rangeErr separates the two, so readers can check
// the rest of the record before naming the time.
func instantMS(text string) (ms int64, rangeErr, err error) {
	in := strings.TrimSpace(text)
	if f, perr := strconv.ParseFloat(in, 64); perr == nil {
		ms, rerr := secondsMS(in, f)
		return ms, rerr, nil
	}
	t, err := vtime.ParseInstant(in)
	if err != nil {
		return 0, nil, fmt.Errorf("ts: %w", err)
	}
	ms = vtime.UnixMilli(t)
	return ms, checkMS(in, ms), nil
}

// parseLabels decodes a JSON object of label values, as CSV, the reference
// SQLite schema and a fast reader's first sight of a label set hold it,
// refusing what json.Unmarshal lets pass: a repeated key (it keeps the
// last) and invalid UTF-8 (it becomes U+FFFD). numbers takes numeric
// values as written (the reference design's collector may store
// {"status": 200}). JSON null and blank text are no labels.
func parseLabels(raw []byte, numbers bool) (map[string]string, error) {
	if len(bytes.TrimSpace(raw)) == 0 {
		return nil, nil
	}
	dec := json.NewDecoder(bytes.NewReader(raw))
	tok, err := dec.Token()
	if err != nil {
		return nil, labelsError(err)
	}
	if tok == nil {
		return nil, labelsEnd(dec)
	}
	if tok != json.Delim('{') {
		return nil, fmt.Errorf("labels: want a JSON object of strings, got %s", jsonKind(raw[skipWS(raw, 0):]))
	}
	labels := map[string]string{}
	for dec.More() {
		start := dec.InputOffset()
		kt, err := dec.Token()
		if err != nil {
			return nil, labelsError(err)
		}
		k, _ := kt.(string)
		if rk := rawString(raw[start:dec.InputOffset()]); !utf8.Valid(rk) {
			return nil, fmt.Errorf("label name %q is not valid UTF-8", rk)
		}
		if _, dup := labels[k]; dup {
			return nil, fmt.Errorf("label %q appears twice", k)
		}
		var v json.RawMessage
		if err := dec.Decode(&v); err != nil {
			return nil, labelsError(err)
		}
		switch {
		case v[0] == '"':
			if !utf8.Valid(v) {
				return nil, fmt.Errorf("label %q value is not valid UTF-8", k)
			}
			var s string
			if err := json.Unmarshal(v, &s); err != nil {
				return nil, labelsError(err)
			}
			labels[k] = s
		case numbers && (v[0] == '-' || v[0] >= '0' && v[0] <= '9'):
			labels[k] = string(v)
		default:
			want := "a string"
			if numbers {
				want = "a string or a number"
			}
			return nil, fmt.Errorf("labels: label %q value is %s, want %s", k, jsonKind(v), want)
		}
	}
	if _, err := dec.Token(); err != nil {
		return nil, labelsError(err)
	}
	return labels, labelsEnd(dec)
}

// labelsEnd refuses data after the labels value, as json.Unmarshal does.
func labelsEnd(dec *json.Decoder) error {
	if _, err := dec.Token(); err != io.EOF {
		return errors.New("labels: want a JSON object of strings: data after the object")
	}
	return nil
}

func labelsError(err error) error {
	if errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF) {
		return errors.New("labels: want a JSON object of strings: unexpected end of JSON input")
	}
	return fmt.Errorf("labels: want a JSON object of strings: %v", strings.TrimPrefix(err.Error(), "json: "))
}

// jsonKind names the kind of the JSON value that b starts.
func jsonKind(b []byte) string {
	if len(b) == 0 {
		return "nothing"
	}
	switch c := b[0]; {
	case c == '"':
		return "a string"
	case c == '{':
		return "an object"
	case c == '[':
		return "an array"
	case c == 't' || c == 'f':
		return "a bool"
	case c == 'n':
		return "null"
	case c == '-' || c >= '0' && c <= '9':
		return "a number"
	}
	return "not JSON"
}

// rawString is the content of the JSON string in b, as written (escapes
// left alone), with what precedes it (',' '{' ':' and spaces) dropped.
func rawString(b []byte) []byte {
	if i := bytes.IndexByte(b, '"'); i >= 0 {
		b = b[i+1:]
	}
	if n := len(b); n > 0 && b[n-1] == '"' {
		b = b[:n-1]
	}
	return b
}

// recordKeys are the JSON Lines fields, in jsonFields' bit order.
var recordKeys = [...]string{"ts", "name", "type", "value", "labels", "service"}

// checkJSONRecord refuses what encoding/json would let pass in a JSON
// Lines record: invalid UTF-8 (it decodes as U+FFFD), field names in
// another case ("Name" fills name) and repeated keys (the last wins),
// at top level and among the labels. Syntax errors are left to the
// decoder, which words them.
func checkJSONRecord(line []byte) error {
	if !utf8.Valid(line) {
		return utf8Error(line)
	}
	err := checkRecordKeys(line)
	if err != nil && !json.Valid(line) {
		return nil // a syntax error comes first; the decoder names it
	}
	return err
}

func checkRecordKeys(line []byte) error {
	dec := json.NewDecoder(bytes.NewReader(line))
	if t, err := dec.Token(); err != nil || t != json.Delim('{') {
		return nil
	}
	var seen uint8
	for dec.More() {
		kt, err := dec.Token()
		if err != nil {
			return nil
		}
		key, _ := kt.(string)
		bit := -1
		for i, k := range recordKeys {
			if key == k {
				bit = i
			}
		}
		if bit < 0 {
			for _, k := range recordKeys {
				if strings.EqualFold(key, k) {
					return fmt.Errorf("bad JSON: unknown field %q (field names are case-sensitive: want %q)", key, k)
				}
			}
			return fmt.Errorf("bad JSON: unknown field %q", key)
		}
		if seen&(1<<bit) != 0 {
			return fmt.Errorf("bad JSON: field %q appears twice", key)
		}
		seen |= 1 << bit
		var v json.RawMessage
		if dec.Decode(&v) != nil {
			return nil
		}
		if key == "labels" && v[0] == '{' {
			if err := checkLabelKeys(v); err != nil {
				return err
			}
		}
	}
	return nil
}

func checkLabelKeys(obj []byte) error {
	dec := json.NewDecoder(bytes.NewReader(obj))
	dec.Token() //nolint:errcheck // the '{' that obj starts with
	seen := map[string]bool{}
	for dec.More() {
		kt, err := dec.Token()
		if err != nil {
			return nil
		}
		k, _ := kt.(string)
		if seen[k] {
			return fmt.Errorf("bad JSON: label %q appears twice", k)
		}
		seen[k] = true
		var v json.RawMessage
		if dec.Decode(&v) != nil {
			return nil
		}
	}
	return nil
}

// utf8Error names the field of a JSON Lines record that holds invalid
// UTF-8, in the store's words where there are some, or else the byte.
func utf8Error(line []byte) error {
	dec := json.NewDecoder(bytes.NewReader(line))
	if t, err := dec.Token(); err == nil && t == json.Delim('{') {
		for dec.More() {
			start := dec.InputOffset()
			kt, err := dec.Token()
			if err != nil {
				break
			}
			if rk := rawString(line[start:dec.InputOffset()]); !utf8.Valid(rk) {
				return fmt.Errorf("field name %q is not valid UTF-8", rk)
			}
			key, _ := kt.(string)
			var v json.RawMessage
			if dec.Decode(&v) != nil {
				break
			}
			if utf8.Valid(v) {
				continue
			}
			switch key {
			case "labels":
				if _, err := parseLabels(v, false); err != nil && strings.Contains(err.Error(), "UTF-8") {
					return err
				}
			case "name":
				return fmt.Errorf("metric name %q is not valid UTF-8", rawString(v))
			default:
				return fmt.Errorf("%s %q is not valid UTF-8", key, rawString(v))
			}
			break
		}
	}
	off := 0
	for off < len(line) {
		r, n := utf8.DecodeRune(line[off:])
		if r == utf8.RuneError && n == 1 {
			break
		}
		off += n
	}
	return fmt.Errorf("line is not valid UTF-8 (byte %d)", off+1)
}
