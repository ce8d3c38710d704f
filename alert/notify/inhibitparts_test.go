package notify

import (
	"maps"
	"testing"

	"github.com/vigil-metrics/vigil/internal/metricpath"
)

// InhibitedByParts reads back the name the inhibitor gives a source
// (rule + FormatLabels of its labels), whatever its rule name and values
// hold (h30 D37).
func TestInhibitedByParts(t *testing.T) {
	for _, c := range []struct {
		rule   string
		labels map[string]string
	}{
		{"node_down", map[string]string{"host": "a"}},
		{"node_down", map[string]string{}},
		{"odd{name", map[string]string{"host": "x\x1b]0;pwn\a\"q\\", "dc": `{a="1"}`}},
		{`n{a="1"}`, map[string]string{}},
	} {
		by := c.rule + metricpath.FormatLabels(c.labels)
		rule, labels, ok := InhibitedByParts(by)
		if !ok || rule != c.rule || !maps.Equal(labels, c.labels) {
			t.Errorf("%s: %q %v %v", by, rule, labels, ok)
		}
	}
	for _, by := range []string{"", "node_down", "{}", `node_down{host=a}`} {
		if rule, labels, ok := InhibitedByParts(by); ok {
			t.Errorf("%q read as %q %v", by, rule, labels)
		}
	}
}
