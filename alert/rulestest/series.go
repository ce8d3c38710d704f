package rulestest

import (
	"fmt"
	"strconv"
	"strings"

	"github.com/vigil-metrics/vigil/internal/metricpath"
	"github.com/vigil-metrics/vigil/internal/store"
)

// ParseSeries reads a series in Prometheus notation,
// name{label="value", ...}; values are double-quoted Go/PromQL strings
// (single quotes and backquotes are accepted too, as PromQL does).
func ParseSeries(s string) (string, map[string]string, error) {
	s = strings.TrimSpace(s)
	i := strings.IndexByte(s, '{')
	name := s
	if i >= 0 {
		name = strings.TrimSpace(s[:i])
	}
	if !store.ValidName(name) {
		return "", nil, fmt.Errorf("series %q: invalid metric name %q (want [a-zA-Z_:][a-zA-Z0-9_:]*)", s, name)
	}
	labels := map[string]string{}
	if i < 0 {
		return name, labels, nil
	}
	rest := s[i+1:]
	for {
		rest = strings.TrimLeft(rest, " \t")
		if strings.HasPrefix(rest, "}") {
			if strings.TrimSpace(rest[1:]) != "" {
				return "", nil, fmt.Errorf("series %q: unexpected %q after }", s, strings.TrimSpace(rest[1:]))
			}
			return name, labels, nil
		}
		j := strings.IndexByte(rest, '=')
		if j < 0 {
			return "", nil, fmt.Errorf("series %q: want label=\"value\" or }", s)
		}
		l := strings.TrimSpace(rest[:j])
		if !store.ValidLabelName(l) {
			return "", nil, fmt.Errorf("series %q: invalid label name %q", s, l)
		}
		if l == "__name__" {
			return "", nil, fmt.Errorf("series %q: give the name before the braces, not as __name__", s)
		}
		if _, dup := labels[l]; dup {
			return "", nil, fmt.Errorf("series %q: label %s given twice", s, l)
		}
		rest = strings.TrimLeft(rest[j+1:], " \t")
		q, v, err := quoted(rest)
		if err != nil {
			return "", nil, fmt.Errorf("series %q: label %s: want a quoted value", s, l)
		}
		labels[l] = v
		rest = strings.TrimLeft(rest[len(q):], " \t")
		switch {
		case strings.HasPrefix(rest, ","):
			rest = rest[1:]
		case strings.HasPrefix(rest, "}"):
		default:
			return "", nil, fmt.Errorf("series %q: want , or } after label %s", s, l)
		}
	}
}

// quoted reads the quoted string rest starts with: "..." or `...` as in
// Go, '...' as PromQL reads it (Go escapes, ' instead of ").
func quoted(rest string) (q, v string, err error) {
	if !strings.HasPrefix(rest, "'") {
		if q, err = strconv.QuotedPrefix(rest); err != nil {
			return "", "", err
		}
		v, err = strconv.Unquote(q)
		return q, v, err
	}
	for i := 1; i < len(rest); i++ {
		switch rest[i] {
		case '\\':
			i++
		case '\'':
			inner := rest[1:i]
			inner = strings.ReplaceAll(inner, `\'`, "'")
			inner = strings.ReplaceAll(inner, `"`, `\"`)
			v, err = strconv.Unquote(`"` + inner + `"`)
			return rest[:i+1], v, err
		}
	}
	return "", "", fmt.Errorf("unterminated quote")
}

// TypeOf is the store type an input series gets from its name when the
// test does not give one: the names Prometheus gives cumulative counters
// (_total, and the _bucket, _count and _sum of histograms and summaries)
// are counters, everything else a gauge. Histograms of raw observations
// (vigil's own _ms and _seconds timings) need an explicit type: a
// _seconds or _bytes name is as often a gauge (process_start_time_seconds,
// node_memory_MemAvailable_bytes).
func TypeOf(name string) store.Type {
	for _, suf := range []string{"_total", "_bucket", "_count", "_sum"} {
		if strings.HasSuffix(name, suf) {
			return store.Counter
		}
	}
	return store.Gauge
}

func seriesString(name string, labels map[string]string) string {
	if len(labels) == 0 {
		return name
	}
	return name + metricpath.FormatLabels(labels)
}
