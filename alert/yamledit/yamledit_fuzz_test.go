package yamledit

import (
	"bytes"
	"math"
	"testing"

	"go.yaml.in/yaml/v3"

	"github.com/vigil-metrics/vigil/internal/fuzzseed"
)

// FuzzSetThresholds: rewriting the threshold of rule "cpu_high" in any
// file (vigil threshold --write) either refuses or gives YAML that parses,
// and applying the same value again changes nothing more.
func FuzzSetThresholds(f *testing.F) {
	for _, b := range fuzzseed.Files(f, "examples/*.yaml", "testdata/alerting/*.yaml", "alert/config/testdata/*.yaml") {
		f.Add(b, 91.5)
	}
	for _, b := range fuzzseed.Sections(f, "cmd/vigil/testdata/script/threshold*.txtar", "*.yaml") {
		f.Add(b, 1e-9)
	}
	f.Add([]byte("alert_rules:\n  - name: cpu_high\n    threshold: &t 80\n  - name: b\n    threshold: *t\n"), 90.0)
	f.Add([]byte("alert_rules:\n  - name: cpu_high\n    threshold: \"80\" # comment\n"), -3.25)
	f.Fuzz(func(t *testing.T, src []byte, v float64) {
		if math.IsNaN(v) || math.IsInf(v, 0) {
			return
		}
		vals := map[string]float64{"cpu_high": v}
		out, err := SetThresholds(src, vals)
		if err != nil {
			return
		}
		var doc yaml.Node
		if err := yaml.Unmarshal(out, &doc); err != nil {
			t.Fatalf("result does not parse: %v\n%s", err, out)
		}
		again, err := SetThresholds(out, vals)
		if err != nil || !bytes.Equal(again, out) {
			t.Fatalf("a second write changed the file (err %v):\n%s\n---\n%s", err, out, again)
		}
	})
}
