package main

import (
	"bufio"
	"os"
	"strconv"
	"strings"
)

// The import data: one sample per series every importInterval seconds from
// importStart (unix seconds, as promtool wants them).
const (
	importStart    = 1764410000
	importInterval = 10
)

// family is a metric family of the import data, over the series
// [first, first+n).
type family struct {
	name, typ string
	first, n  int
}

// importFamilies splits the series into gauges and, one in ten, counters:
// counters are the type whose OpenMetrics form differs from the name
// stored (family bench_requests, samples bench_requests_total).
func importFamilies(series int) []family {
	counters := series / 10
	return []family{
		{name: "bench_metric", typ: "gauge", first: 0, n: series - counters},
		{name: "bench_requests_total", typ: "counter", first: series - counters, n: counters},
	}
}

// sample is one import sample; label is its series="N" value. A counter's
// value is its increment, which is what vigil stores (docs/storage.md) and
// what JSON Lines and CSV carry; total is its running total, which is what
// OpenMetrics carries and vigil's import turns back into the increment.
type sample struct {
	fam   *family
	label string
	ts    int64
	value float64
	total float64
}

// newSample is a pure function of family, series and step, so that every
// file holds the same samples whatever its order. Gauges wander in
// [0, 1000) with one decimal; a counter grows by 1 to 5 a step, the same
// each step so that its total needs no state.
func newSample(f *family, label string, series, step int) sample {
	s := sample{fam: f, label: label, ts: importStart + int64(step)*importInterval}
	if f.typ == "counter" {
		s.value = float64(1 + series%5)
		s.total = float64(step+1) * s.value
	} else {
		s.value = float64(splitmix(uint64(series)<<32|uint64(step))%10000) / 10
	}
	return s
}

func splitmix(x uint64) uint64 {
	x += 0x9e3779b97f4a7c15
	x = (x ^ x>>30) * 0xbf58476d1ce4e5b9
	x = (x ^ x>>27) * 0x94d049bb133111eb
	return x ^ x>>31
}

// textFormat writes samples as one text import format.
type textFormat struct {
	ext    string
	head   string                         // at the start of the file
	family func(*family, []string) []byte // before each family's samples
	line   func([]byte, *sample) []byte
	tail   string // at the end of the file
}

var (
	jsonlFormat = textFormat{ext: "jsonl", line: jsonlLine}
	csvFormat   = textFormat{ext: "csv", head: "ts,name,type,value,labels,service\n", line: csvLine}
	omFormat    = textFormat{ext: "om", family: omFamily, line: omLine, tail: "# EOF\n"}
)

// {"ts":1764410000,"name":"bench_metric","type":"gauge","value":12.5,"labels":{"series":"7"}}
func jsonlLine(b []byte, s *sample) []byte {
	b = append(b, `{"ts":`...)
	b = strconv.AppendInt(b, s.ts, 10)
	b = append(b, `,"name":"`...)
	b = append(b, s.fam.name...)
	b = append(b, `","type":"`...)
	b = append(b, s.fam.typ...)
	b = append(b, `","value":`...)
	b = strconv.AppendFloat(b, s.value, 'f', -1, 64)
	b = append(b, `,"labels":{"series":"`...)
	b = append(b, s.label...)
	return append(b, "\"}}\n"...)
}

// 1764410000,bench_metric,gauge,12.5,"{""series"":""7""}",
func csvLine(b []byte, s *sample) []byte {
	b = strconv.AppendInt(b, s.ts, 10)
	b = append(b, ',')
	b = append(b, s.fam.name...)
	b = append(b, ',')
	b = append(b, s.fam.typ...)
	b = append(b, ',')
	b = strconv.AppendFloat(b, s.value, 'f', -1, 64)
	b = append(b, `,"{""series"":""`...)
	b = append(b, s.label...)
	return append(b, "\"\"}\",\n"...)
}

// # TYPE bench_requests counter: OpenMetrics names a counter family
// without the _total its samples carry. A counter family starts with each
// series' zero total one interval before the first step: vigil's import
// takes a series' first total as the baseline of its increments, and
// stores no sample for it, so the baseline makes the file import the same
// samples as the others.
func omFamily(f *family, labels []string) []byte {
	b := []byte("# TYPE " + strings.TrimSuffix(f.name, "_total") + " " + f.typ + "\n")
	if f.typ != "counter" {
		return b
	}
	for id := f.first; id < f.first+f.n; id++ {
		b = omLine(b, &sample{fam: f, label: labels[id], ts: importStart - importInterval})
	}
	return b
}

// bench_metric{series="7"} 12.5 1764410000
func omLine(b []byte, s *sample) []byte {
	b = append(b, s.fam.name...)
	b = append(b, `{series="`...)
	b = append(b, s.label...)
	b = append(b, `"} `...)
	v := s.value
	if s.fam.typ == "counter" {
		v = s.total
	}
	b = strconv.AppendFloat(b, v, 'f', -1, 64)
	b = append(b, ' ')
	b = strconv.AppendInt(b, s.ts, 10)
	return append(b, '\n')
}

// textFile is a file being written in one format.
type textFile struct {
	format *textFormat
	path   string
	f      *os.File
	w      *bufio.Writer
	size   int64
}

func createText(path string, format *textFormat) (*textFile, error) {
	f, err := os.Create(path)
	if err != nil {
		return nil, err
	}
	t := &textFile{format: format, path: path, f: f, w: bufio.NewWriterSize(f, 1<<20)}
	t.write([]byte(format.head))
	return t, nil
}

// write ignores errors: bufio.Writer keeps the first one, and close
// reports it.
func (t *textFile) write(b []byte) {
	n, _ := t.w.Write(b)
	t.size += int64(n)
}

func (t *textFile) close() error {
	t.write([]byte(t.format.tail))
	err := t.w.Flush()
	if cerr := t.f.Close(); err == nil {
		err = cerr
	}
	return err
}

// writeImportFiles writes the same steps*series samples to one file per
// format, in one pass. The order is family by family (OpenMetrics forbids
// interleaving families), and within a family all series at t1, then all
// at t2 (how a scrape history reads, and what promtool expects); every
// format gets the same order so that order is no variable between them.
func writeImportFiles(dir string, steps, series int, formats []*textFormat) ([]*textFile, error) {
	files := make([]*textFile, 0, len(formats))
	for _, format := range formats {
		t, err := createText(dir+"/import."+format.ext, format)
		if err != nil {
			return nil, err
		}
		defer t.f.Close() // a second Close after close() is harmless
		files = append(files, t)
	}
	labels := seriesLabels(series)
	var buf []byte
	fams := importFamilies(series)
	for i := range fams {
		fam := &fams[i]
		for _, t := range files {
			if t.format.family != nil {
				t.write(t.format.family(fam, labels))
			}
		}
		for step := range steps {
			for id := fam.first; id < fam.first+fam.n; id++ {
				s := newSample(fam, labels[id], id, step)
				for _, t := range files {
					buf = t.format.line(buf[:0], &s)
					t.write(buf)
				}
			}
		}
	}
	for _, t := range files {
		if err := t.close(); err != nil {
			return nil, err
		}
	}
	return files, nil
}

// writeBigJSONL streams JSON Lines to path until it holds at least limit
// bytes, and returns how many samples it wrote. Unlike writeImportFiles it
// goes step by step across all series (JSON Lines has no family rule), so
// that it can stop at any size without knowing the count up front.
func writeBigJSONL(path string, limit int64, series int) (int, int64, error) {
	t, err := createText(path, &jsonlFormat)
	if err != nil {
		return 0, 0, err
	}
	defer t.f.Close()
	labels := seriesLabels(series)
	fams := importFamilies(series)
	var buf []byte
	n := 0
	for step := 0; t.size < limit; step++ {
		for i := range fams {
			fam := &fams[i]
			for id := fam.first; id < fam.first+fam.n; id++ {
				s := newSample(fam, labels[id], id, step)
				buf = jsonlLine(buf[:0], &s)
				t.write(buf)
				n++
			}
		}
	}
	return n, t.size, t.close()
}

func seriesLabels(series int) []string {
	labels := make([]string, series)
	for i := range labels {
		labels[i] = strconv.Itoa(i)
	}
	return labels
}
