package config_test

import (
	"testing"

	"github.com/vigil-metrics/vigil/alert/channels"
	"github.com/vigil-metrics/vigil/alert/config"
	"github.com/vigil-metrics/vigil/internal/fuzzseed"
)

// FuzzParseEnv: the alerting sections (rules, channels of every type,
// escalation, settings, silences, correlation and recording rules) of
// any file decode to a config or to problems that each name a place in
// the file; never a panic. ${ENV} references expand to a fixed value.
func FuzzParseEnv(f *testing.F) {
	for _, b := range fuzzseed.Files(f, "examples/*.yaml", "testdata/alerting/*.yaml", "alert/config/testdata/*.yaml") {
		f.Add(b)
	}
	for _, b := range fuzzseed.Sections(f, "cmd/vigil/testdata/script/*.txtar", "*.yaml") {
		f.Add(b)
	}
	env := func(string) (string, bool) { return "https://hooks.example/T0/B0/secret", true }
	f.Fuzz(func(t *testing.T, data []byte) {
		_, err := config.ParseEnv("vigil.yaml", data, env, channels.Types())
		fuzzseed.CheckPlaces(t, "vigil.yaml", data, err)
	})
}
