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

// CheckProblems asserts what every config decoder promises about its
// errors: they are yamlconf.Problems, each naming file and a place inside
// data (line 0: the whole file; never past its last line).
func CheckProblems(tb testing.TB, file string, data []byte, err error) {
	tb.Helper()
	if err == nil {
		return
	}
	ps, ok := yamlconf.AsProblems(err)
	if !ok {
		tb.Fatalf("error is not a list of problems with places: %v", err)
	}
	lines := bytes.Count(data, []byte("\n")) + 1
	for _, p := range ps {
		if p.File != file || p.Line < 0 || p.Line > lines || p.Message == "" {
			tb.Fatalf("problem %q (file %q, line %d) does not name a place in the %d-line %s", p.Error(), p.File, p.Line, lines, file)
		}
	}
}
