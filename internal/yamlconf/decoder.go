package yamlconf

import (
	"errors"
	"fmt"
	"maps"
	"regexp"
	"slices"
	"strconv"
	"strings"

	"go.yaml.in/yaml/v3"
)

var yamlLine = regexp.MustCompile(`^line (\d+): (.*)$`)

// SyntaxProblem is a YAML parse error of file as a Problem: the line the
// parser names, and its message without the "yaml: line N: " prefix.
func SyntaxProblem(file string, err error) Problem {
	p := Problem{File: file, Message: strings.TrimPrefix(err.Error(), "yaml: ")}
	if m := yamlLine.FindStringSubmatch(p.Message); m != nil {
		p.Line, _ = strconv.Atoi(m[1])
		p.Message = m[2]
	}
	var te *yaml.TypeError
	if errors.As(err, &te) {
		p.Message = strings.Join(te.Errors, "; ")
	}
	return p
}

// Parse reads data's first document (later ones are not read, as
// yaml.Unmarshal does). root is nil when the document is empty or null.
func Parse(file string, data []byte) (root *yaml.Node, ps Problems) {
	var doc yaml.Node
	if err := yaml.Unmarshal(data, &doc); err != nil {
		return nil, Problems{SyntaxProblem(file, err)}
	}
	if len(doc.Content) == 0 {
		return nil, nil
	}
	root = doc.Content[0]
	if IsNull(root) {
		return nil, nil
	}
	return root, nil
}

// IsNull reports whether n is a null scalar (`key:` with no value).
func IsNull(n *yaml.Node) bool { return n.Kind == yaml.ScalarNode && n.Tag == "!!null" }

// Wording is how a file's messages about its structure read. The zero
// Wording is vigil.yaml's; files whose messages users and tests already
// know (rule test files, SLO objectives) set the ones they word otherwise.
type Wording struct {
	// Unknown is the message for an unknown key; want holds the known
	// keys, sorted.
	Unknown func(what, key string, want []string) string
	// Twice is the message for a key given twice in one mapping.
	Twice func(what, key string) string
	// Missing is the message for a required key that is not there.
	Missing func(what, key string) string
	// NotMapping and NotList are the messages for a node that should be
	// a mapping, or a list.
	NotMapping func(what string, got *yaml.Node) string
	NotList    func(what string, got *yaml.Node) string
}

// Decoder collects the problems and warnings found while walking one
// file's nodes.
type Decoder struct {
	File string
	// Env expands ${NAME} in strings read with Str and its kin; nil
	// leaves strings as written.
	Env func(string) (string, bool)
	// Lines makes positions name the line only (FILE:LINE: reason), for
	// files whose messages always did.
	Lines    bool
	Wording  Wording
	Problems Problems
	Warnings Problems
}

func (d *Decoder) at(n *yaml.Node, format string, args []any) Problem {
	p := Problem{File: d.File, Message: fmt.Sprintf(format, args...)}
	if n != nil {
		p.Line, p.Col = n.Line, n.Column
	}
	if d.Lines {
		p.Col = 0
	}
	return p
}

// Errf records a problem at n (nil: the file as a whole).
func (d *Decoder) Errf(n *yaml.Node, format string, args ...any) {
	d.Problems = append(d.Problems, d.at(n, format, args))
}

// ErrLine records a problem at a line that no one node stands for.
func (d *Decoder) ErrLine(line int, format string, args ...any) {
	d.Errf(&yaml.Node{Line: line}, format, args...)
}

// Warnf records a warning at n: something that does not make the file
// invalid.
func (d *Decoder) Warnf(n *yaml.Node, format string, args ...any) {
	d.Warnings = append(d.Warnings, d.at(n, format, args))
}

// Err is the problems found so far, sorted by position, as an error (nil
// when there are none).
func (d *Decoder) Err() error {
	d.Problems.Sort()
	return d.Problems.Err()
}

// Fields walks a mapping: it refuses other kinds, duplicate and unknown
// keys, calls each key's handler (nil: none) in the file's order and
// returns the value nodes by key. what names the mapping in messages
// ("alert rule \"cpu\"", "settings").
func (d *Decoder) Fields(n *yaml.Node, what string, fs map[string]func(*yaml.Node)) map[string]*yaml.Node {
	seen := map[string]*yaml.Node{}
	if n.Kind != yaml.MappingNode {
		if w := d.Wording.NotMapping; w != nil {
			d.Errf(n, "%s", w(what, n))
		} else {
			d.Errf(n, "%s: want a mapping, got %s", what, Kind(n))
		}
		return seen
	}
	for i := 0; i+1 < len(n.Content); i += 2 {
		k, v := n.Content[i], n.Content[i+1]
		if k.Kind != yaml.ScalarNode {
			d.Errf(k, "%s: want a field name, got %s", what, Kind(k))
			continue
		}
		h, ok := fs[k.Value]
		if !ok {
			d.unknown(k, what, slices.Sorted(maps.Keys(fs)))
			continue
		}
		if _, dup := seen[k.Value]; dup {
			if w := d.Wording.Twice; w != nil {
				d.Errf(k, "%s", w(what, k.Value))
			} else {
				d.Errf(k, "field %q appears twice in %s", k.Value, what)
			}
			continue
		}
		seen[k.Value] = v
		if h != nil {
			h(v)
		}
	}
	return seen
}

func (d *Decoder) unknown(k *yaml.Node, what string, want []string) {
	if w := d.Wording.Unknown; w != nil {
		d.Errf(k, "%s", w(what, k.Value, want))
		return
	}
	d.Errf(k, "unknown field %q in %s (want %s)", k.Value, what, strings.Join(want, ", "))
}

// Keys is a field table whose keys need no handler: Fields(n, what,
// Keys(names...)) only checks the names.
func Keys(names ...string) map[string]func(*yaml.Node) {
	fs := make(map[string]func(*yaml.Node), len(names))
	for _, k := range names {
		fs[k] = nil
	}
	return fs
}

// Required reports each of keys missing from seen (what Fields returned
// for the mapping n) at n, and whether none was. A node that is not a
// mapping was already reported by Fields.
func (d *Decoder) Required(n *yaml.Node, seen map[string]*yaml.Node, what string, keys ...string) bool {
	if n.Kind != yaml.MappingNode {
		return false
	}
	ok := true
	for _, k := range keys {
		if _, has := seen[k]; has {
			continue
		}
		ok = false
		if w := d.Wording.Missing; w != nil {
			d.Errf(n, "%s", w(what, k))
		} else {
			d.Errf(n, "%s: missing required field %q", what, k)
		}
	}
	return ok
}

// List walks a sequence (null counts as empty).
func (d *Decoder) List(n *yaml.Node, what string, each func(*yaml.Node)) {
	if IsNull(n) {
		return
	}
	if n.Kind != yaml.SequenceNode {
		if w := d.Wording.NotList; w != nil {
			d.Errf(n, "%s", w(what, n))
		} else {
			d.Errf(n, "%s: want a list, got %s", what, Kind(n))
		}
		return
	}
	for _, c := range n.Content {
		each(c)
	}
}

// Kind names what n is, for "want X, got Y" messages.
func Kind(n *yaml.Node) string {
	switch n.Kind {
	case yaml.MappingNode:
		return "a mapping"
	case yaml.SequenceNode:
		return "a list"
	case yaml.AliasNode:
		return "an alias"
	}
	switch n.Tag {
	case "!!null":
		return "nothing"
	case "!!int", "!!float":
		return "the number " + n.Value
	case "!!bool":
		return "the boolean " + n.Value
	case "!!str":
		return fmt.Sprintf("the string %q", n.Value)
	}
	return fmt.Sprintf("%q", n.Value)
}

// Value is the value node of key in the mapping n, or nil.
func Value(n *yaml.Node, key string) *yaml.Node {
	if n == nil || n.Kind != yaml.MappingNode {
		return nil
	}
	for i := 0; i+1 < len(n.Content); i += 2 {
		if n.Content[i].Value == key {
			return n.Content[i+1]
		}
	}
	return nil
}
