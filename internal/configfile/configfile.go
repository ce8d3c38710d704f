// Package configfile is the one reader of vigil.yaml: it parses the file
// once into YAML nodes, refuses a top-level key no one owns (with its
// place and the keys there are), reads the few plain settings every
// command shares (db, cache_dir, state, log_level, log_format) and hands
// each other section's node to its owner, which decodes it with
// internal/yamlconf:
//
//	alert_rules, channels, escalation, settings, silences,
//	correlation_rules, recording_rules      alert/config
//	slos                                    analyze/slo
//	report                                  report
//	sources                                 internal/sources
//	retention                               the agent (cmd/internal/agentcmd)
//	lint                                    internal/lint
//
// It imports none of the owners (the agent must not link the analytics)
// and decodes no section of theirs; a new section is one line in Sections
// and a decoder in its owner's package.
package configfile

import (
	"os"
	"slices"
	"strings"

	"go.yaml.in/yaml/v3"

	"github.com/vigil-metrics/vigil/internal/yamlconf"
)

// Sections are the top-level keys of vigil.yaml and the package that
// decodes each.
var Sections = map[string]string{
	"db":                "configfile",
	"cache_dir":         "configfile",
	"state":             "configfile",
	"log_level":         "configfile",
	"log_format":        "configfile",
	"alert_rules":       "alert/config",
	"channels":          "alert/config",
	"escalation":        "alert/config",
	"settings":          "alert/config",
	"silences":          "alert/config",
	"correlation_rules": "alert/config",
	"recording_rules":   "alert/config",
	"inhibit_rules":     "alert/config",
	"slos":              "analyze/slo",
	"report":            "report",
	"sources":           "internal/sources",
	"serve":             "analyze/promstore",
	"lint":              "internal/lint",
	"retention":         "the agent",
}

// File is a read vigil.yaml. The zero File (no file) has no sections.
type File struct {
	// Path is the file as named ("" without a file).
	Path string
	// Core are the plain settings, as the file gives them.
	Core     Core
	sections map[string]*yaml.Node
	data     []byte
}

// Core are the plain settings every command shares; the command line and
// VIGIL_* variables override them at the edge. Each is set only when the
// file gives it (Set names those given).
type Core struct {
	DB        []string
	CacheDir  string
	State     string
	LogLevel  string
	LogFormat string
	// Retention is the agent's and store compact's retention as written
	// (the agent checks it, with its place).
	Retention string
	Set       []string
}

// Given is the plain settings the file gives, by key.
func (c Core) Given() map[string]any {
	all := map[string]any{"db": c.DB, "cache_dir": c.CacheDir, "state": c.State,
		"log_level": c.LogLevel, "log_format": c.LogFormat, "retention": c.Retention}
	out := map[string]any{}
	for _, k := range c.Set {
		out[k] = all[k]
	}
	return out
}

// Read reads and parses path. The error is yamlconf.Problems when the
// file was read but its top level is wrong; the File returned with it
// holds what could be read.
func Read(path string) (*File, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	return Parse(path, b)
}

// Parse is Read of data read from file.
func Parse(file string, data []byte) (*File, error) {
	f := &File{Path: file, sections: map[string]*yaml.Node{}, data: data}
	root, ps := yamlconf.Parse(file, data)
	if len(ps) > 0 {
		return f, ps
	}
	if err := laterDocuments(file, data); err != nil {
		return f, err
	}
	if root == nil {
		return f, nil // an empty file configures nothing
	}
	d := &yamlconf.Decoder{File: file}
	fs := map[string]func(*yaml.Node){}
	for k := range Sections {
		fs[k] = nil
	}
	f.sections = d.Fields(root, "the config file", fs)
	for _, n := range f.sections {
		duplicates(d, n)
	}
	f.core(d)
	return f, d.Err()
}

// laterDocuments refuses what vigil would not read after the first
// document: a document that does not parse (keys after "..." are one),
// or one that is not OpenSLO's (apiVersion openslo/..., or kind SLO, which
// analyze/slo checks further) nor a lone slos: list. yaml would hand back
// the first document alone, and a key after "---" (the agent's
// "retension: 1s") would go unseen. An empty document says nothing.
func laterDocuments(file string, data []byte) error {
	docs, err := Documents(file, data)
	if err != nil {
		return err
	}
	for _, doc := range docs[min(1, len(docs)):] {
		if len(doc.Content) == 0 || yamlconf.IsNull(doc.Content[0]) || isObjectives(doc.Content[0]) {
			continue
		}
		return secondDocument(file, doc, " (after it, only OpenSLO documents: apiVersion: openslo/v1)")
	}
	return nil
}

// One is the one YAML document of a file that holds one (a rule test
// file): nil for none, and an error for a later document that is not
// empty, or one that does not parse, rather than yaml's silence.
func One(file string, data []byte) (*yaml.Node, error) {
	docs, err := Documents(file, data)
	if err != nil || len(docs) == 0 {
		return nil, err
	}
	for _, doc := range docs[1:] {
		if len(doc.Content) > 0 && !yamlconf.IsNull(doc.Content[0]) {
			return nil, secondDocument(file, doc, "")
		}
	}
	return docs[0], nil
}

func secondDocument(file string, doc *yaml.Node, more string) error {
	return yamlconf.Problems{{File: file, Line: doc.Line,
		Message: `a second YAML document ("---"); vigil reads one document per file` + more}}
}

// isObjectives reports whether n is a document analyze/slo reads after
// the first: an OpenSLO one (or the spec's list form, a list of them), or
// a mapping holding a slos: list alone.
func isObjectives(n *yaml.Node) bool {
	if n.Kind == yaml.SequenceNode {
		return len(n.Content) > 0 && !slices.ContainsFunc(n.Content, func(c *yaml.Node) bool {
			return c.Kind != yaml.MappingNode || !isObjectives(c) || yamlconf.Value(c, "slos") != nil
		})
	}
	if n.Kind != yaml.MappingNode {
		return false
	}
	if v := yamlconf.Value(n, "apiVersion"); v != nil && strings.HasPrefix(v.Value, "openslo/") {
		return true
	}
	if v := yamlconf.Value(n, "kind"); v != nil && v.Value == "SLO" {
		return true
	}
	return len(n.Content) == 2 && n.Content[0].Value == "slos"
}

// duplicates refuses a key given twice in any mapping under n. The file
// is one document whatever reads it: a command that decodes no section
// with a duplicate must not run on a file that says two things at once
// (the owner of the section reports it too, with its own words, at the
// same place; alert/config keeps its own).
func duplicates(d *yamlconf.Decoder, n *yaml.Node) {
	switch n.Kind {
	case yaml.MappingNode:
		first := map[string]int{}
		for i := 0; i+1 < len(n.Content); i += 2 {
			k := n.Content[i]
			if k.Kind == yaml.ScalarNode && k.Value != "<<" {
				if line, dup := first[k.Value]; dup {
					d.Errf(k, "field %q appears twice (first at line %d)", k.Value, line)
				} else {
					first[k.Value] = k.Line
				}
			}
			duplicates(d, n.Content[i+1])
		}
	case yaml.SequenceNode:
		for _, c := range n.Content {
			duplicates(d, c)
		}
	}
}

// Section is the node of a top-level key, or nil when the file does not
// give it.
func (f *File) Section(key string) *yaml.Node {
	if f == nil {
		return nil
	}
	return f.sections[key]
}

// Has reports whether the file gives any of keys.
func (f *File) Has(keys ...string) bool {
	return slices.ContainsFunc(keys, func(k string) bool { return f.Section(k) != nil })
}

// More are the YAML documents after the first (`---` separated), for a
// reader that takes more than vigil's own (OpenSLO objectives). Parse has
// refused a file where one does not parse or is not an objectives
// document, so every command stops on them alike.
func (f *File) More() ([]*yaml.Node, error) {
	if f == nil || len(f.data) == 0 {
		return nil, nil
	}
	docs, err := Documents(f.Path, f.data)
	if len(docs) > 0 {
		docs = docs[1:]
	}
	return docs, err
}
