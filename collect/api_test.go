package collect

import (
	"go/ast"
	"go/parser"
	"go/token"
	"io/fs"
	"strings"
	"testing"
)

// parsePackage parses collect's non-test files with their comments.
func parsePackage(t *testing.T) []*ast.File {
	t.Helper()
	fset := token.NewFileSet()
	pkgs, err := parser.ParseDir(fset, ".", func(fi fs.FileInfo) bool {
		return !strings.HasSuffix(fi.Name(), "_test.go")
	}, parser.ParseComments)
	if err != nil {
		t.Fatal(err)
	}
	var files []*ast.File
	for _, f := range pkgs["collect"].Files {
		files = append(files, f)
	}
	return files
}

// Of the two timer APIs, Recorder.Timer is the deprecated one (issue 29):
// its doc comment says so in the form tools recognise.
func TestTimerDeprecated(t *testing.T) {
	var doc string
	for _, f := range parsePackage(t) {
		for _, d := range f.Decls {
			if fd, ok := d.(*ast.FuncDecl); ok && fd.Name.Name == "Timer" && fd.Recv != nil {
				doc = fd.Doc.Text()
			}
		}
	}
	if !strings.Contains(doc, "\nDeprecated: use StartTimer") {
		t.Errorf("Recorder.Timer doc has no \"Deprecated: use StartTimer\" paragraph:\n%s", doc)
	}
}
