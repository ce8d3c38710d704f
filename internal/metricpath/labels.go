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

// ParseLabels reads a label set as FormatLabels writes one back into its
// map: FormatLabels(m) read by ParseLabels is m. It takes exactly that
// form (names sorted or not), nothing looser: it is for values vigil
// wrote, such as the state DB's inhibited_by, not for people's input.
func ParseLabels(s string) (map[string]string, bool) {
	rest, ok := strings.CutPrefix(s, "{")
	if !ok {
		return nil, false
	}
	m := map[string]string{}
	if rest == "}" {
		return m, true
	}
	for {
		k, after, ok := strings.Cut(rest, "=")
		if !ok || k == "" || strings.ContainsAny(k, "{}\", ") {
			return nil, false
		}
		q, err := strconv.QuotedPrefix(after)
		if err != nil || !strings.HasPrefix(q, `"`) {
			return nil, false
		}
		v, err := strconv.Unquote(q)
		if _, dup := m[k]; err != nil || dup {
			return nil, false
		}
		m[k] = v
		rest = after[len(q):]
		if rest == "}" {
			return m, true
		}
		if rest, ok = strings.CutPrefix(rest, ", "); !ok {
			return nil, false
		}
	}
}
