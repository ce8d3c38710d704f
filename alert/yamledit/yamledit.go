// Package yamledit changes values in a YAML file in place: it finds a
// scalar with the go.yaml.in/yaml/v3 Node API, then replaces exactly the
// bytes of that scalar in the original text, so that comments, blank
// lines, key order, quoting and flow or block style all stay as written.
// Re-encoding the node tree would lose some of them and reformat the rest.
//
// It must not know what the values mean: callers (vigil threshold tune
// --write) choose the path and the value.
package yamledit

import (
	"bytes"
	"errors"
	"fmt"
	"math"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"unicode/utf8"

	"go.yaml.in/yaml/v3"
)

// FormatNumber is how a number is written into the file: the shortest
// text that reads back as the same float64, without an exponent for
// ordinary magnitudes (YAML reads 120 and 0.25 as numbers either way).
func FormatNumber(v float64) string {
	if a := math.Abs(v); a == 0 || (a >= 1e-4 && a < 1e15) {
		return strconv.FormatFloat(v, 'f', -1, 64)
	}
	return strconv.FormatFloat(v, 'g', -1, 64)
}

// SetThresholds returns src with the threshold of each named alert rule
// (alert_rules[*] whose name is the key) replaced by its value, every
// other byte as it was. It refuses, changing nothing, when a rule or its
// threshold is not found, or when the threshold is not written as a plain
// or quoted scalar of its own (an alias, a value from a merge key, a block
// scalar): changing such a value in place would change other rules too or
// cannot be done byte for byte.
func SetThresholds(src []byte, values map[string]float64) ([]byte, error) {
	edits := make(map[string]string, len(values))
	for rule, v := range values {
		if math.IsNaN(v) || math.IsInf(v, 0) {
			return nil, fmt.Errorf("rule %q: threshold %v is not a finite number", rule, v)
		}
		edits[rule] = FormatNumber(v)
	}
	return setRuleFields(src, "threshold", edits)
}

// span is the bytes [start, end) of one scalar's value, quotes excluded.
type span struct {
	start, end int
	text       string
}

func setRuleFields(src []byte, field string, edits map[string]string) ([]byte, error) {
	var doc yaml.Node
	if err := yaml.Unmarshal(src, &doc); err != nil {
		return nil, err
	}
	if doc.Kind != yaml.DocumentNode || len(doc.Content) == 0 || doc.Content[0].Kind != yaml.MappingNode {
		return nil, errors.New("not a YAML mapping")
	}
	rules := lookup(doc.Content[0], "alert_rules")
	if rules == nil || rules.Kind != yaml.SequenceNode {
		return nil, errors.New("no alert_rules list")
	}
	lines := lineStarts(src)
	var spans []span
	found := map[string]bool{}
	for _, item := range rules.Content {
		if item.Kind != yaml.MappingNode {
			continue
		}
		name := lookup(item, "name")
		if name == nil || name.Kind != yaml.ScalarNode {
			continue
		}
		text, ok := edits[name.Value]
		if !ok {
			continue
		}
		if found[name.Value] {
			return nil, fmt.Errorf("rule %q appears twice", name.Value)
		}
		found[name.Value] = true
		v := lookup(item, field)
		if v == nil {
			return nil, fmt.Errorf("rule %q (line %d): no %s of its own to change (from a merge key?)", name.Value, item.Line, field)
		}
		s, err := locate(src, lines, v)
		if err != nil {
			return nil, fmt.Errorf("rule %q: %s at line %d: %w", name.Value, field, v.Line, err)
		}
		s.text = text
		if s.start == s.end && s.start > 0 && src[s.start-1] == ':' {
			// An empty value ("threshold:" at the end of a line or of the
			// file): the number needs the space a mapping value takes.
			s.text = " " + text
		}
		spans = append(spans, s)
	}
	for rule := range edits {
		if !found[rule] {
			return nil, fmt.Errorf("rule %q not found in alert_rules", rule)
		}
	}
	sort.Slice(spans, func(i, j int) bool { return spans[i].start < spans[j].start })
	var out bytes.Buffer
	out.Grow(len(src) + 16*len(spans))
	last := 0
	for _, s := range spans {
		out.Write(src[last:s.start])
		out.WriteString(s.text)
		last = s.end
	}
	out.Write(src[last:])
	return out.Bytes(), nil
}

// lookup returns the value of key in mapping m (the last one, as YAML
// decoders do), nil when absent.
func lookup(m *yaml.Node, key string) *yaml.Node {
	var v *yaml.Node
	for i := 0; i+1 < len(m.Content); i += 2 {
		if k := m.Content[i]; k.Kind == yaml.ScalarNode && k.Value == key {
			v = m.Content[i+1]
		}
	}
	return v
}

// lineStarts returns the byte offset of each line's start (line 1 at 0).
func lineStarts(src []byte) []int {
	starts := []int{0}
	for i, b := range src {
		if b == '\n' {
			starts = append(starts, i+1)
		}
	}
	return starts
}

// locate finds n's value bytes in src from its line and column (the
// parser counts columns in characters, not bytes), after any tag or
// anchor written before it, and checks that they are what the node says,
// so that a surprise is an error rather than a corrupted file.
func locate(src []byte, lines []int, n *yaml.Node) (span, error) {
	switch {
	case n.Kind == yaml.AliasNode:
		return span{}, errors.New("an alias: it would change every rule sharing it")
	case n.Kind != yaml.ScalarNode:
		return span{}, errors.New("not a scalar")
	case n.Anchor != "":
		return span{}, fmt.Errorf("an anchor (&%s): it would change every rule sharing it", n.Anchor)
	case n.Style&(yaml.LiteralStyle|yaml.FoldedStyle) != 0:
		return span{}, errors.New("a block scalar")
	}
	if n.Line < 1 || n.Line > len(lines) || n.Column < 1 {
		return span{}, errors.New("no position")
	}
	off := lines[n.Line-1]
	for c := 1; c < n.Column; c++ {
		if off >= len(src) || src[off] == '\n' {
			return span{}, errors.New("position past the line's end")
		}
		_, w := utf8.DecodeRune(src[off:])
		off += w
	}
	// A tag (!!float) written before the value.
	for off < len(src) && src[off] == '!' {
		for off < len(src) && !isSpace(src[off]) {
			off++
		}
		for off < len(src) && (src[off] == ' ' || src[off] == '\t') {
			off++
		}
	}
	want := n.Value
	switch {
	case n.Style&yaml.DoubleQuotedStyle != 0:
		want = `"` + n.Value + `"`
	case n.Style&yaml.SingleQuotedStyle != 0:
		want = "'" + n.Value + "'"
	}
	if !bytes.HasPrefix(src[off:], []byte(want)) {
		return span{}, fmt.Errorf("the text at line %d column %d is not %q as parsed (escapes or a multi-line scalar?)", n.Line, n.Column, want)
	}
	end := off + len(want)
	if want != n.Value { // quoted: keep the quotes
		off, end = off+1, end-1
	} else if end < len(src) && !isSpace(src[end]) && src[end] != ',' && src[end] != '}' && src[end] != ']' && src[end] != '#' {
		return span{}, fmt.Errorf("the plain scalar at line %d column %d goes on past %q", n.Line, n.Column, want)
	}
	return span{start: off, end: end}, nil
}

func isSpace(b byte) bool { return b == ' ' || b == '\t' || b == '\n' || b == '\r' }

// WriteFile replaces the file at path with data atomically: it writes a
// temporary file in the same folder (so that the rename stays on one file
// system), syncs it, gives it the original's permission bits and renames
// it over the original. A reader sees the old file or the new one, never
// a mix; a failure leaves the original untouched. A symbolic link is
// followed: its target is replaced and the link stays.
func WriteFile(path string, data []byte) (err error) {
	if p, err := filepath.EvalSymlinks(path); err == nil {
		path = p
	}
	mode := os.FileMode(0o644)
	if st, err := os.Stat(path); err == nil {
		mode = st.Mode().Perm()
	} else if !errors.Is(err, os.ErrNotExist) {
		return err
	}
	f, err := os.CreateTemp(filepath.Dir(path), "."+filepath.Base(path)+".tmp-*")
	if err != nil {
		return err
	}
	tmp := f.Name()
	defer func() {
		if err != nil {
			f.Close()
			os.Remove(tmp)
		}
	}()
	if _, err = f.Write(data); err != nil {
		return err
	}
	if err = f.Chmod(mode); err != nil {
		return err
	}
	if err = f.Sync(); err != nil {
		return err
	}
	if err = f.Close(); err != nil {
		return err
	}
	if err = os.Rename(tmp, path); err != nil {
		return err
	}
	// Make the rename durable too; not every system can sync a folder.
	if d, derr := os.Open(filepath.Dir(path)); derr == nil {
		_ = d.Sync()
		d.Close()
	}
	return nil
}
