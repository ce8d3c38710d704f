package slo

import (
	"testing"

	"github.com/vigil-metrics/vigil/internal/fuzzseed"
)

// FuzzParse: the slos: section (OpenSLO-style objectives included) of any
// file decodes or gives problems that each name a place in the file.
func FuzzParse(f *testing.F) {
	for _, b := range fuzzseed.Files(f, "examples/*.yaml", "alert/config/testdata/*.yaml", "analyze/slo/testdata/openslo-spec/*.yaml") {
		f.Add(b)
	}
	for _, b := range fuzzseed.Sections(f, "cmd/vigil/testdata/script/slo*.txtar", "*.yaml") {
		f.Add(b)
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		_, _, err := Parse("vigil.yaml", data)
		fuzzseed.CheckPlaces(t, "vigil.yaml", data, err)
	})
}

// FuzzParseWindow: any window text (an objective's window, --window)
// parses or is refused, never panics.
func FuzzParseWindow(f *testing.F) {
	for _, s := range []string{"30d", "7d", "1w", "calendar_month", "90s", "", "-1d", "1e300d"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		ParseWindow(s) //nolint:errcheck // only a panic fails
	})
}
