package ingest

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"io"
	"strconv"
	"strings"

	"github.com/prometheus/common/model"
	"github.com/prometheus/prometheus/model/labels"
	"github.com/prometheus/prometheus/model/textparse"

	"github.com/vigil-metrics/vigil/internal/store"
)

// The OpenMetrics reader takes the files promtool tsdb create-blocks-from
// openmetrics takes: OpenMetrics 1.0 text, every sample with a timestamp
// in seconds, ending with "# EOF". Parsing is Prometheus's own textparse.
//
// textparse parses a []byte, so the input is cut into chunks of complete
// lines, each with its own parser; what must survive a chunk boundary
// (family types, per-series order and counter baselines, line numbers) is
// kept here, so results do not depend on where the cuts fall.
//
// Samples map to the store the way internal/scrape.Convert maps a scrape
// of the same values: the sample's own name (foo_total, foo_bucket, ...)
// and labels; counters, and histogram and summary _bucket/_sum/_count,
// become reset-aware increments (the first sample of a series only sets
// its baseline); gauges, untyped, info, stateset, summary quantiles and
// gauge histograms stay values; le and quantile values are spelled as a
// scrape spells them (le="1.0" is le="1"). _created series are skipped.
// A NaN or infinite value is refused, as in the other import formats,
// rather than skipped like a scrape's staleness markers: a file is data
// someone chose to import, so a hole in it is worth an error.

// chunkSize is how many bytes of complete lines one parser gets. A
// variable so that tests can cut tiny chunks.
var chunkSize = 4 << 20

// maxLineBytes bounds a line; a chunk grows to hold one line up to it.
var maxLineBytes = 16 << 20

var omEOF = []byte("# EOF\n")

type omFamily struct {
	typ  model.MetricType
	line int64
}

// omSeries is one series' state, by its canonical key (name and labels
// as the store spells them), whatever spellings the file gives it.
type omSeries struct {
	lastTS   int64
	lastLine int64
	// The counter's last total (cumulative.Tracker's rule, kept here so
	// that a known series costs no second map lookup): counted is false
	// until a counter sample set the baseline.
	counted bool
	lastV   float64
}

type omReader struct {
	name     string
	sink     *sink
	families map[string]omFamily
	series   map[string]*omSeries
	// spellings maps a series as written (name{labels}, the parser's raw
	// bytes) to what it resolved to, so a known series costs one lookup:
	// no label decoding, canonical spelling or store lookup (see
	// omseries.go). gen invalidates it when a # TYPE changes families.
	spellings map[string]*omSpelling
	gen       uint64
	lbls      labels.Labels
	line      int64 // lines in the chunks already parsed
	eofSeen   bool
}

func readOpenMetrics(s *sink, name string, r *bufio.Reader) error {
	if r == nil {
		return &InputError{File: name, Err: errors.New("no input to read")}
	}
	if b, _ := r.Peek(3); bytes.Equal(b, []byte("\ufeff")) {
		r.Discard(3) //nolint:errcheck // the bytes are buffered
	}
	o := &omReader{
		name:      name,
		sink:      s,
		families:  map[string]omFamily{},
		series:    map[string]*omSeries{},
		spellings: map[string]*omSpelling{},
	}
	size := max(chunkSize, 1)
	// Two buffers: one is parsed (with room for a synthetic "# EOF\n")
	// while the other holds the partial line that follows the chunk.
	cur := make([]byte, 0, size+len(omEOF))
	other := make([]byte, 0, size+len(omEOF))
	atEOF := false
	for {
		for !atEOF && len(cur) < cap(cur)-len(omEOF) {
			n, err := r.Read(cur[len(cur) : cap(cur)-len(omEOF)])
			cur = cur[:len(cur)+n]
			if err == io.EOF {
				atEOF = true
			} else if err != nil {
				return o.errorf(o.line+1, "read: %w", err)
			}
		}
		if len(cur) == 0 {
			break
		}
		end := len(cur)
		if i := bytes.LastIndexByte(cur, '\n'); !atEOF {
			if i < 0 {
				if len(cur) > maxLineBytes {
					return o.errorf(o.line+1, "line longer than %s", sizeName(maxLineBytes))
				}
				// One line fills the buffer: grow it, up to the line limit.
				grown := make([]byte, len(cur), min(2*(cap(cur)-len(omEOF)), maxLineBytes+1)+len(omEOF))
				copy(grown, cur)
				cur = grown
				continue
			}
			end = i + 1
		} else if len(cur)-(i+1) > maxLineBytes {
			return o.errorf(o.line+1+int64(bytes.Count(cur, []byte{'\n'})), "line longer than %s", sizeName(maxLineBytes))
		}
		rest := cur[end:]
		if cap(other) < cap(cur) {
			other = make([]byte, 0, cap(cur))
		}
		next := other[:0]
		next = append(next, rest...)
		if err := o.chunk(cur[:end], atEOF); err != nil {
			return err
		}
		cur, other = next, cur
	}
	if !o.eofSeen {
		return o.errorf(o.line+1, "data does not end with # EOF")
	}
	return nil
}

func sizeName(n int) string {
	if n%(1<<20) == 0 {
		return fmt.Sprintf("%d MiB", n>>20)
	}
	return fmt.Sprintf("%d bytes", n)
}

func (o *omReader) errorf(line int64, format string, args ...any) error {
	return &InputError{File: o.name, Line: line, Err: fmt.Errorf(format, args...)}
}

const omSpace = " \t\r\n"

// chunk parses data, complete lines (the last one may lack its newline
// when final), the first of which is line o.line+1. data has room for
// omEOF after it.
func (o *omReader) chunk(data []byte, final bool) error {
	nl := int64(bytes.Count(data, []byte{'\n'}))
	if o.eofSeen {
		if i := firstNonSpace(data); i >= 0 {
			return o.errorf(o.line+1+int64(bytes.Count(data[:i], []byte{'\n'})), "unexpected data after # EOF")
		}
		o.line += nl
		return nil
	}
	// The real "# EOF" must be the last line that is not white space; the
	// parser refuses anything after it, white space included, so that is
	// cut off. A chunk that does not end the data gets a synthetic "# EOF".
	t := bytes.TrimRight(data, omSpace)
	buf := data
	switch {
	case bytes.Equal(t, omEOF[:5]) || bytes.HasSuffix(t, []byte("\n# EOF")):
		buf = t
		o.eofSeen = true
	case !final:
		buf = data // spare capacity is kept for this (see readOpenMetrics)
		buf = append(buf, omEOF...)
	}
	if err := o.parse(buf); err != nil {
		return err
	}
	o.line += nl
	return nil
}

func firstNonSpace(b []byte) int {
	for i, c := range b {
		if !strings.ContainsRune(omSpace, rune(c)) {
			return i
		}
	}
	return -1
}

func (o *omReader) parse(buf []byte) error {
	// WithOMParserSTSeriesSkipped is not used: the parser knows a family's
	// type only within its chunk, so it would skip _created lines in one
	// chunk and not in the next, and a skipped line would throw off the
	// line of a later parse error. _created series are skipped below.
	p := textparse.NewOpenMetricsParser(buf, labels.NewSymbolTable())
	base := cap(buf)
	pos := 0           // offset in buf already counted into line
	line := o.line + 1 // the line holding pos
	lastEntry := o.line
	entries := 0
	// at moves to the entry that b (a slice of buf) lies in.
	at := func(b []byte) int64 {
		off := base - cap(b)
		line += int64(bytes.Count(buf[pos:off], []byte{'\n'}))
		pos = off
		lastEntry = line
		entries++
		return line
	}
	for {
		et, err := p.Next()
		if errors.Is(err, io.EOF) {
			return nil
		}
		if err != nil {
			return o.parseError(buf, err, pos, entries, lastEntry)
		}
		switch et {
		case textparse.EntryType:
			name, typ := p.Type()
			l := at(name)
			fam := string(name)
			if prev, ok := o.families[fam]; ok && prev.typ != typ {
				return o.errorf(l, "# TYPE %s %s contradicts # TYPE %s %s at line %d", fam, typ, fam, prev.typ, prev.line)
			}
			o.families[fam] = omFamily{typ: typ, line: l}
			o.gen++
		case textparse.EntryHelp:
			name, _ := p.Help()
			at(name)
		case textparse.EntryUnit:
			name, _ := p.Unit()
			at(name)
		case textparse.EntrySeries:
			series, ts, v := p.Series()
			l := at(series)
			if err := o.sample(p, l, series, ts, v); err != nil {
				return err
			}
		default:
			return o.errorf(lastEntry+1, "unexpected entry")
		}
	}
}

// parseError places a textparse error: every OpenMetrics entry is one
// line, so the failing line is the one after the last entry parsed.
func (o *omReader) parseError(buf []byte, err error, pos, entries int, lastEntry int64) error {
	line := lastEntry + 1
	start := 0 // where the failing line starts
	if entries > 0 {
		start = pos + bytes.IndexByte(buf[pos:], '\n') + 1
	}
	msg := err.Error()
	switch {
	case start < len(buf) && buf[start] == '\n':
		return o.errorf(line, "malformed line: empty line (OpenMetrics has none)")
	case msg == "unexpected data after # EOF":
		// Point at the data, not at the # EOF line.
		after := min(start+len("# EOF"), len(buf))
		if i := firstNonSpace(buf[after:]); i >= 0 {
			line += int64(bytes.Count(buf[after:after+i], []byte{'\n'}))
		}
		return o.errorf(line, "%s", msg)
	case msg == "data does not end with # EOF":
		return o.errorf(line, "%s", msg)
	}
	return o.errorf(line, "malformed line: %s", cleanParseError(msg))
}

// cleanParseError drops the lexer's token names from a textparse error
// (`got " x" ("INVALID")` reads better without ("INVALID")) and names a
// bad number plainly.
func cleanParseError(msg string) string {
	if i := strings.Index(msg, `" ("`); i >= 0 {
		if j := strings.Index(msg[i+2:], `")`); j >= 0 {
			msg = msg[:i+1] + msg[i+2+j+2:]
		}
	}
	if rest, ok := strings.CutPrefix(msg, `strconv.ParseFloat: parsing "`); ok {
		if i := strings.Index(rest, `": invalid syntax`); i >= 0 {
			msg = strconv.Quote(rest[:i]) + " is not a number" + rest[i+len(`": invalid syntax`):]
		}
	}
	return msg
}

func omSeconds(ms int64) string {
	return strconv.FormatFloat(float64(ms)/1000, 'f', -1, 64)
}

// classify finds a sample's family by its name and gives its store type,
// the label whose value is a float to normalise (le or quantile), and
// whether to skip it (_created). A sample of no declared family is
// untyped: a gauge.
func (o *omReader) classify(name string) (typ store.Type, norm string, skip bool, err error) {
	if f, ok := o.families[name]; ok {
		switch f.typ {
		case model.MetricTypeCounter:
			return store.Counter, "", false, nil
		case model.MetricTypeSummary:
			return store.Gauge, model.QuantileLabel, false, nil
		case model.MetricTypeHistogram, model.MetricTypeGaugeHistogram:
			return "", "", false, fmt.Errorf("%s family %s has no sample named %s (want %s_bucket and the like)", f.typ, name, name, name)
		default: // gauge, unknown, info, stateset
			return store.Gauge, "", false, nil
		}
	}
	for _, suf := range []string{"_total", "_created", "_bucket", "_sum", "_count", "_gsum", "_gcount", "_info"} {
		base, ok := strings.CutSuffix(name, suf)
		if !ok {
			continue
		}
		f, ok := o.families[base]
		if !ok {
			continue
		}
		switch t := f.typ; {
		case suf == "_total" && t == model.MetricTypeCounter:
			return store.Counter, "", false, nil
		case suf == "_created" && (t == model.MetricTypeCounter || t == model.MetricTypeSummary || t == model.MetricTypeHistogram):
			return "", "", true, nil
		case suf == "_bucket" && t == model.MetricTypeHistogram:
			return store.Counter, model.BucketLabel, false, nil
		case suf == "_bucket" && t == model.MetricTypeGaugeHistogram:
			return store.Gauge, model.BucketLabel, false, nil
		case (suf == "_sum" || suf == "_count") && (t == model.MetricTypeHistogram || t == model.MetricTypeSummary):
			return store.Counter, "", false, nil
		case (suf == "_gsum" || suf == "_gcount") && t == model.MetricTypeGaugeHistogram:
			return store.Gauge, "", false, nil
		case suf == "_info" && t == model.MetricTypeInfo:
			return store.Gauge, "", false, nil
		}
	}
	return store.Gauge, "", false, nil
}
