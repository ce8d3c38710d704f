package report

import (
	"testing"

	"github.com/vigil-metrics/vigil/internal/fuzzseed"
)

// FuzzParseFile: the report: section of any file decodes or gives an
// error naming a place in the file.
func FuzzParseFile(f *testing.F) {
	for _, b := range fuzzseed.Files(f, "examples/*.yaml", "alert/config/testdata/*.yaml") {
		f.Add(b)
	}
	for _, b := range fuzzseed.Sections(f, "cmd/vigil/testdata/script/report*.txtar", "*.yaml") {
		f.Add(b)
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		_, err := ParseFile("vigil.yaml", data)
		fuzzseed.CheckPlaces(t, "vigil.yaml", data, err)
	})
}

// Found by FuzzParseFile: a value of the wrong type gave yaml's own
// words, "vigil.yaml: report: yaml: unmarshal errors:" and the line on a
// line of its own; each is now FILE:LINE: what.
func TestConfigTypeErrorsNameTheirLine(t *testing.T) {
	for in, want := range map[string]string{
		"report:\n  title: [1]\n":              `vigil.yaml:2: report: cannot unmarshal !!seq into string`,
		"report: 5\n":                          "vigil.yaml:1: report: cannot unmarshal !!int `5` into report.Config",
		"alert_rules:\n  - metric_path: [x]\n": `vigil.yaml:2: alert_rules: cannot unmarshal !!seq into string`,
	} {
		if _, err := ParseFile("vigil.yaml", []byte(in)); err == nil || err.Error() != want {
			t.Errorf("%q: got %v, want %s", in, err, want)
		}
	}
}
