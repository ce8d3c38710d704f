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

// The exported surface of collect uses collect's own types: no exported
// function, method, field, type or variable mentions a type of an
// internal package (store.Sample, *store.Store), which a user of the
// library cannot name (issue 29).
func TestNoInternalTypesExported(t *testing.T) {
	var bad []string
	for _, f := range parsePackage(t) {
		internal := map[string]bool{} // import names of internal packages
		for _, imp := range f.Imports {
			path := strings.Trim(imp.Path.Value, `"`)
			if !strings.Contains(path, "/internal/") {
				continue
			}
			name := path[strings.LastIndex(path, "/")+1:]
			if imp.Name != nil {
				name = imp.Name.Name
			}
			internal[name] = true
		}
		check := func(what string, n ast.Node) {
			if n == nil {
				return
			}
			ast.Inspect(n, func(n ast.Node) bool {
				if sel, ok := n.(*ast.SelectorExpr); ok {
					if id, ok := sel.X.(*ast.Ident); ok && internal[id.Name] {
						bad = append(bad, what+": "+id.Name+"."+sel.Sel.Name)
					}
				}
				return true
			})
		}
		exportedRecv := func(fd *ast.FuncDecl) bool {
			if fd.Recv == nil {
				return true
			}
			t := fd.Recv.List[0].Type
			if s, ok := t.(*ast.StarExpr); ok {
				t = s.X
			}
			id, ok := t.(*ast.Ident)
			return ok && id.IsExported()
		}
		for _, d := range f.Decls {
			switch d := d.(type) {
			case *ast.FuncDecl:
				if d.Name.IsExported() && exportedRecv(d) {
					check("func "+d.Name.Name, d.Type)
				}
			case *ast.GenDecl:
				for _, sp := range d.Specs {
					switch sp := sp.(type) {
					case *ast.TypeSpec:
						if !sp.Name.IsExported() {
							continue
						}
						switch ty := sp.Type.(type) {
						case *ast.StructType:
							for _, fl := range ty.Fields.List {
								for _, n := range fl.Names {
									if n.IsExported() {
										check("field "+sp.Name.Name+"."+n.Name, fl.Type)
									}
								}
								if len(fl.Names) == 0 { // embedded
									check("embedded in "+sp.Name.Name, fl.Type)
								}
							}
						default:
							check("type "+sp.Name.Name, sp.Type)
						}
					case *ast.ValueSpec:
						for _, n := range sp.Names {
							if n.IsExported() {
								check("var "+n.Name, sp.Type)
								for _, v := range sp.Values {
									check("var "+n.Name, v)
								}
							}
						}
					}
				}
			}
		}
	}
	if len(bad) > 0 {
		t.Errorf("exported identifiers mention internal types:\n%s", strings.Join(bad, "\n"))
	}
}
