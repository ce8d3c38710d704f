package rulestest

import (
	"path/filepath"
	"testing"

	"github.com/vigil-metrics/vigil/internal/fuzzseed"
)

// FuzzParse: any rules test file (vigil rules test) parses or gives
// problems that each name a place in it. Its rule_files resolve in an
// empty folder.
func FuzzParse(f *testing.F) {
	for _, b := range fuzzseed.Sections(f, "cmd/vigil/testdata/script/rules_test*.txtar", "*.yaml") {
		f.Add(b)
	}
	dir := f.TempDir()
	f.Fuzz(func(t *testing.T, data []byte) {
		name := filepath.Join(dir, "t.test.yaml")
		_, err := Parse(name, data)
		if err == nil {
			return
		}
		ps, ok := err.(Errors)
		if !ok {
			t.Fatalf("not Errors: %v", err)
		}
		// The test file's own problems come first; a rule file's name
		// that file.
		own := ps[:0:0]
		for _, p := range ps {
			if p.File == name {
				own = append(own, p)
			}
		}
		fuzzseed.CheckPlaces(t, name, data, own.Err())
	})
}

// FuzzParseSeries: any input_series text parses or is refused; what
// parses has a valid name.
func FuzzParseSeries(f *testing.F) {
	for _, s := range []string{`cpu_usage_percent{host="a"}`, `m{a='x', b="y\"z"}`, "m{a=`q`}", `m`, `m{}`, `{a="b"}`, `m{a="\xff"}`} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		name, labels, err := ParseSeries(s)
		if err == nil && (name == "" || labels == nil) {
			t.Fatalf("%q: name %q labels %v", s, name, labels)
		}
	})
}

// FuzzParseValues: any values text expands or is refused, and never to
// more than MaxPoints samples (a small text must not take the memory).
func FuzzParseValues(f *testing.F) {
	for _, s := range []string{"50+10x10", "90x10", "_x3 1 stale", "-2+4x3", "1-2x4", "1e3 _ 2", "1x99999999999", "1+1e308x10"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		ps, err := ParseValues(s)
		if err == nil && len(ps) > MaxPoints {
			t.Fatalf("%q: %d points", s, len(ps))
		}
	})
}
