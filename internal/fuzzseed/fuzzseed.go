// Package fuzzseed gives fuzz targets real inputs as seeds: files of the
// repository and the files inside its testscript archives, named by globs
// relative to the module root, so that a target starts from what vigil
// actually reads (configs, rule tests, imports) and a new fixture seeds it
// without an edit. Tests only: it must not be linked into a binary.
package fuzzseed

import (
	"bytes"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"

	"github.com/rogpeppe/go-internal/txtar"

	"github.com/vigil-metrics/vigil/internal/yamlconf"
)

// Root is the module root: the nearest folder above the test's working
// directory holding go.mod.
func Root(tb testing.TB) string {
	tb.Helper()
	dir, err := os.Getwd()
	if err != nil {
		tb.Fatal(err)
	}
	for {
		if _, err := os.Stat(filepath.Join(dir, "go.mod")); err == nil {
			return dir
		}
		up := filepath.Dir(dir)
		if up == dir {
			tb.Fatal("fuzzseed: no go.mod above the working directory")
		}
		dir = up
	}
}

// Files is the content of every file matching the globs (relative to the
// module root). A glob matching nothing is an error: a moved fixture must
// not quietly leave a target unseeded.
func Files(tb testing.TB, globs ...string) [][]byte {
	tb.Helper()
	root := Root(tb)
	var out [][]byte
	for _, g := range globs {
		names, err := filepath.Glob(filepath.Join(root, g))
		if err != nil || len(names) == 0 {
			tb.Fatalf("fuzzseed: %s matches no file", g)
		}
		for _, n := range names {
			b, err := os.ReadFile(n)
			if err != nil {
				tb.Fatal(err)
			}
			out = append(out, b)
		}
	}
	return out
}

// Sections is the content of every file whose name matches nameGlob
// (filepath.Match against its base name) inside the txtar archives
// matching archiveGlob: the configs, rule tests and inputs the CLI's
// scripts use.
func Sections(tb testing.TB, archiveGlob, nameGlob string) [][]byte {
	tb.Helper()
	root := Root(tb)
	names, err := filepath.Glob(filepath.Join(root, archiveGlob))
	if err != nil || len(names) == 0 {
		tb.Fatalf("fuzzseed: %s matches no archive", archiveGlob)
	}
	var out [][]byte
	for _, n := range names {
		a, err := txtar.ParseFile(n)
		if err != nil {
			tb.Fatal(err)
		}
		for _, f := range a.Files {
			if ok, _ := filepath.Match(nameGlob, filepath.Base(f.Name)); ok {
				out = append(out, f.Data)
			}
		}
	}
	if len(out) == 0 {
		tb.Fatalf("fuzzseed: no %s in %s", nameGlob, archiveGlob)
	}
	return out
}

// CheckPlaces asserts what every config decoder promises about its
// errors: each line of the message starts with the file's name and a
// place inside data, "FILE:LINE:COL: ", "FILE:LINE: " or "FILE: " (the
// whole file), never a line past its last; yamlconf.Problems are checked
// field by field.
func CheckPlaces(tb testing.TB, file string, data []byte, err error) {
	tb.Helper()
	if err == nil {
		return
	}
	lines := Lines(data)
	if ps, ok := yamlconf.AsProblems(err); ok {
		for _, p := range ps {
			if p.File != file || p.Line < 0 || p.Line > lines || p.Message == "" {
				tb.Fatalf("problem %q (file %q, line %d) does not name a place in the %d-line %s", p.Error(), p.File, p.Line, lines, file)
			}
		}
		return
	}
	place := regexp.MustCompile(`^` + regexp.QuoteMeta(file) + `(?::(\d+)(?::\d+)?)?: \S`)
	for _, l := range strings.Split(err.Error(), "\n") {
		m := place.FindStringSubmatch(l)
		if m == nil {
			tb.Fatalf("error does not start with %s:LINE: %q", file, err.Error())
		}
		if n, _ := strconv.Atoi(m[1]); n > lines {
			tb.Fatalf("error names line %d of the %d-line %s: %q", n, lines, file, err.Error())
		}
	}
}

// Lines is how many lines YAML sees in data: it breaks lines at \n, \r\n,
// a lone \r, NEL, LS and PS alike.
func Lines(data []byte) int {
	n := 1
	for _, br := range []string{"\r\n", "\n", "\r", "\u0085", "\u2028", "\u2029"} {
		n += bytes.Count(data, []byte(br))
		data = bytes.ReplaceAll(data, []byte(br), nil)
	}
	return n
}
