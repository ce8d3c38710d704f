package report

import (
	"errors"
	"strings"
	"testing"

	"github.com/vigil-metrics/vigil/internal/fuzzseed"
	"github.com/vigil-metrics/vigil/internal/yamlconf"
)

// FuzzParseFile: the report: section of any file decodes or gives an
// error naming the file (a problem with its place where the report's
// own keys are wrong; yaml's type errors are wrapped as they come).
func FuzzParseFile(f *testing.F) {
	for _, b := range fuzzseed.Files(f, "examples/*.yaml", "alert/config/testdata/*.yaml") {
		f.Add(b)
	}
	for _, b := range fuzzseed.Sections(f, "cmd/vigil/testdata/script/report*.txtar", "*.yaml") {
		f.Add(b)
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		_, err := ParseFile("vigil.yaml", data)
		var p yamlconf.Problem
		switch {
		case err == nil:
		case errors.As(err, &p):
			fuzzseed.CheckProblems(t, "vigil.yaml", data, yamlconf.Problems{p})
		case !strings.HasPrefix(err.Error(), "vigil.yaml"):
			t.Fatalf("error does not name the file: %v", err)
		}
	})
}
