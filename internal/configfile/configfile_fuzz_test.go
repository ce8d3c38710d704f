package configfile

import (
	"testing"

	"github.com/vigil-metrics/vigil/internal/fuzzseed"
)

// configSeeds are the repository's config files and every YAML file in the
// CLI's scripts.
func configSeeds(f *testing.F) {
	for _, b := range fuzzseed.Files(f, "examples/*.yaml", "testdata/alerting/*.yaml", "alert/config/testdata/*.yaml") {
		f.Add(b)
	}
	for _, b := range fuzzseed.Sections(f, "cmd/vigil/testdata/script/*.txtar", "*.yaml") {
		f.Add(b)
	}
}

// FuzzParse: whatever the bytes, Parse answers (no panic, no hang) and
// every problem names a place in the file.
func FuzzParse(f *testing.F) {
	configSeeds(f)
	f.Fuzz(func(t *testing.T, data []byte) {
		_, err := Parse("vigil.yaml", data)
		fuzzseed.CheckPlaces(t, "vigil.yaml", data, err)
	})
}
