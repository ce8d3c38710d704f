package store

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"sort"
	"strings"
	"time"
	"unicode/utf8"
)

// Type is a metric type. Counters hold increments, gauges values and
// histograms raw observations.
type Type string

// The three metric types of the store format.
const (
	Counter   Type = "counter"
	Gauge     Type = "gauge"
	Histogram Type = "histogram"
)

// ParseType validates a type name.
func ParseType(s string) (Type, error) {
	switch Type(s) {
	case Counter, Gauge, Histogram:
		return Type(s), nil
	}
	return "", invalid("unknown type %q (want counter, gauge or histogram)", s)
}

// Limits on labels, as the import contract states.
const (
	MaxLabels          = 64
	MaxLabelValueBytes = 4096
)

// Sample is one point as written to the store.
type Sample struct {
	Name    string
	Type    Type
	Labels  map[string]string
	Service string
	TS      int64 // unix milliseconds
	Value   float64
}

// ValidName reports whether s follows the Prometheus metric name rule
// [a-zA-Z_:][a-zA-Z0-9_:]*.
func ValidName(s string) bool {
	if s == "" {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c == '_' || c == ':' || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (i > 0 && c >= '0' && c <= '9') {
			continue
		}
		return false
	}
	return true
}

// ValidLabelName reports whether s matches [a-zA-Z_][a-zA-Z0-9_]*.
func ValidLabelName(s string) bool {
	if s == "" {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c == '_' || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (i > 0 && c >= '0' && c <= '9') {
			continue
		}
		return false
	}
	return true
}

// ReservedLabelPrefix starts the label names Prometheus keeps for itself
// (__name__, __meta_*, ...); the store refuses them, so a label set means
// the same here as in Prometheus.
const ReservedLabelPrefix = "__"

// ValidateSeries checks a series' identity against the store contract.
// Every text must be valid UTF-8: a store never holds bytes it could only
// show as U+FFFD.
func ValidateSeries(name string, typ Type, labels map[string]string) error {
	if name == "" {
		return invalid("empty metric name")
	}
	if !utf8.ValidString(name) {
		return invalid("metric name %q is not valid UTF-8", name)
	}
	if !ValidName(name) {
		return invalid("invalid metric name %q (want [a-zA-Z_:][a-zA-Z0-9_:]*)", name)
	}
	if _, err := ParseType(string(typ)); err != nil {
		return err
	}
	if len(labels) > MaxLabels {
		return invalid("%d labels, more than the limit of %d", len(labels), MaxLabels)
	}
	// The first bad label in name order, so the error does not depend on
	// map order.
	var bad string
	var badErr error
	for k, v := range labels {
		if badErr != nil && k >= bad {
			continue
		}
		if err := validateLabel(k, v); err != nil {
			bad, badErr = k, err
		}
	}
	return badErr
}

func validateLabel(k, v string) error {
	switch {
	case !utf8.ValidString(k):
		return invalid("label name %q is not valid UTF-8", k)
	case !ValidLabelName(k):
		return invalid("invalid label name %q (want [a-zA-Z_][a-zA-Z0-9_]*)", k)
	case strings.HasPrefix(k, ReservedLabelPrefix):
		return invalid("label name %q is reserved (Prometheus reserves names starting with %s)", k, ReservedLabelPrefix)
	case len(v) > MaxLabelValueBytes:
		return invalid("label %q value is %d bytes, over the limit of %d", k, len(v), MaxLabelValueBytes)
	case !utf8.ValidString(v):
		return invalid("label %q value is not valid UTF-8", k)
	}
	return nil
}

// ValidateService checks a series' service name.
func ValidateService(service string) error {
	if !utf8.ValidString(service) {
		return invalid("service %q is not valid UTF-8", service)
	}
	return nil
}

// The range of times an import takes: anything outside is a unit mistake
// (milliseconds given as seconds) or a placeholder (0, 9999-01-01), not a
// measurement.
var (
	MinTime = time.Date(2000, 1, 1, 0, 0, 0, 0, time.UTC)
	MaxTime = time.Date(2100, 1, 1, 0, 0, 0, 0, time.UTC)
)

// MinTimeMS and MaxTimeMS are MinTime and MaxTime in unix milliseconds,
// both included.
const (
	MinTimeMS = 946684800000
	MaxTimeMS = 4102444800000
)

// TimeRange names the accepted range in errors.
const TimeRange = "from 2000-01-01 to 2100-01-01"

// ValidateTime checks that tsMS (unix milliseconds) lies in
// [MinTimeMS, MaxTimeMS].
func ValidateTime(tsMS int64) error {
	if tsMS >= MinTimeMS && tsMS <= MaxTimeMS {
		return nil
	}
	t := time.UnixMilli(tsMS).UTC()
	return invalid("timestamp %s is in the year %d (want a time %s)", t.Format(time.RFC3339Nano), t.Year(), TimeRange)
}

// ValidateValue checks a sample value for its type.
func ValidateValue(typ Type, v float64) error {
	switch {
	case math.IsNaN(v):
		return invalid("value is NaN")
	case math.IsInf(v, 0):
		return invalid("value is infinite")
	case typ == Counter && v < 0:
		return invalid("counter increment %v is negative (counters store increments)", v)
	}
	return nil
}

// Validate checks the whole sample. It does not apply ValidateTime's
// range (2000 to 2100): that is for times a person typed or a file
// carried (import and push check it); a program's own clock or a test's
// small numbers are only required to be after 1970.
func (s *Sample) Validate() error {
	if err := ValidateSeries(s.Name, s.Type, s.Labels); err != nil {
		return err
	}
	if err := ValidateService(s.Service); err != nil {
		return err
	}
	if s.TS < 0 {
		return invalid("timestamp before 1970")
	}
	return ValidateValue(s.Type, s.Value)
}

// CanonicalLabels encodes labels as JSON with sorted keys and no HTML
// escaping, the one spelling a label set has in the store.
func CanonicalLabels(labels map[string]string) string {
	if len(labels) == 0 {
		return "{}"
	}
	keys := make([]string, 0, len(labels))
	for k := range labels {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false)
	buf.WriteByte('{')
	for i, k := range keys {
		if i > 0 {
			buf.WriteByte(',')
		}
		enc.Encode(k) //nolint:errcheck // strings always encode
		buf.Truncate(buf.Len() - 1)
		buf.WriteByte(':')
		enc.Encode(labels[k]) //nolint:errcheck
		buf.Truncate(buf.Len() - 1)
	}
	buf.WriteByte('}')
	return buf.String()
}

func seriesKey(name, labels, service string) string {
	return name + "\x00" + labels + "\x00" + service
}

// InvalidError is input that breaks the store contract (as opposed to an
// I/O failure): callers map it to a usage exit code.
type InvalidError struct{ msg string }

func (e *InvalidError) Error() string { return e.msg }

func invalid(format string, args ...any) error {
	return &InvalidError{msg: fmt.Sprintf(format, args...)}
}

// IsInvalid reports whether err is (or wraps) an InvalidError.
func IsInvalid(err error) bool {
	var ie *InvalidError
	return errors.As(err, &ie)
}
