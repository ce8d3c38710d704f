package metricpath

import (
	"slices"
	"strconv"
	"strings"
)

// FormatLabels writes a label set as paths write matchers, names sorted:
// {a="1", b="x\"y"} ({} for none). Tables, test diffs and messages all
// show label sets this way.
func FormatLabels(m map[string]string) string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	var b strings.Builder
	b.WriteByte('{')
	for i, k := range keys {
		if i > 0 {
			b.WriteString(", ")
		}
		b.WriteString(k)
		b.WriteByte('=')
		b.WriteString(strconv.Quote(m[k]))
	}
	b.WriteByte('}')
	return b.String()
}
