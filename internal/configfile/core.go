package configfile

import (
	"bytes"
	"errors"
	"io"
	"strings"

	"go.yaml.in/yaml/v3"

	"github.com/vigil-metrics/vigil/internal/yamlconf"
)

// core reads the plain settings. A null value leaves a setting unset, as
// if the key were not there.
func (f *File) core(d *yamlconf.Decoder) {
	text := func(key string, into *string) {
		n := f.sections[key]
		if n == nil || yamlconf.IsNull(n) {
			return
		}
		if n.Kind != yaml.ScalarNode {
			d.Errf(n, "%s: want a string, got %s", key, yamlconf.Kind(n))
			return
		}
		*into = n.Value
		f.Core.Set = append(f.Core.Set, key)
	}
	text("cache_dir", &f.Core.CacheDir)
	text("state", &f.Core.State)
	// Relative paths are the file's folder's (yamlconf.FromFile).
	f.Core.CacheDir = yamlconf.FromFile(f.Path, f.Core.CacheDir)
	f.Core.State = yamlconf.FromFile(f.Path, f.Core.State)
	text("log_level", &f.Core.LogLevel)
	text("log_format", &f.Core.LogFormat)
	if n := f.sections["retention"]; n != nil && n.Kind != yaml.ScalarNode {
		d.Errf(n, "retention: want a duration like 30d")
	} else {
		text("retention", &f.Core.Retention)
	}
	n := f.sections["db"]
	switch {
	case n == nil || yamlconf.IsNull(n):
		return
	case n.Kind == yaml.ScalarNode:
		f.Core.DB = []string{f.store(n.Value)}
	case n.Kind == yaml.SequenceNode:
		f.Core.DB = []string{}
		for _, c := range n.Content {
			if c.Kind != yaml.ScalarNode || yamlconf.IsNull(c) {
				d.Errf(c, "db: want a store path, got %s", yamlconf.Kind(c))
				continue
			}
			f.Core.DB = append(f.Core.DB, f.store(c.Value))
		}
	default:
		d.Errf(n, "db: want a store path or a list of them, got %s", yamlconf.Kind(n))
		return
	}
	f.Core.Set = append(f.Core.Set, "db")
}

// store is a db: entry with its relative paths read from the file's
// folder: each of its comma-separated stores (the command line's --db
// form, cmd/vigil's storePaths), globs included; a Prometheus-compatible
// source's URL is kept (sources.IsURL, which configfile may not import).
func (f *File) store(entry string) string {
	parts := strings.Split(entry, ",")
	for i, p := range parts {
		t := strings.TrimSpace(p)
		if l := strings.ToLower(t); t == "" || strings.HasPrefix(l, "http://") || strings.HasPrefix(l, "https://") {
			continue
		}
		parts[i] = yamlconf.FromFile(f.Path, t)
	}
	if len(parts) == 1 {
		return parts[0]
	}
	return strings.Join(parts, ",")
}

// Documents parses every YAML document of data (`---` separated) up to
// the first that does not parse; that one is the error.
func Documents(file string, data []byte) ([]*yaml.Node, error) {
	dec := yaml.NewDecoder(bytes.NewReader(data))
	var docs []*yaml.Node
	for {
		var doc yaml.Node
		err := dec.Decode(&doc)
		if errors.Is(err, io.EOF) {
			return docs, nil
		}
		if err != nil {
			return docs, yamlconf.Problems{yamlconf.SyntaxProblem(file, err)}
		}
		docs = append(docs, &doc)
	}
}
