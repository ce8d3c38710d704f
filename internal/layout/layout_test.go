package layout

import (
	"go/parser"
	"go/token"
	"io/fs"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"
)

const module = "github.com/vigil-metrics/vigil/"

// imports maps each package directory (relative to the module root, tests
// included) to the module packages its files import.
func imports(t *testing.T) map[string][]string {
	t.Helper()
	root, err := filepath.Abs("../..")
	if err != nil {
		t.Fatal(err)
	}
	out := map[string][]string{}
	err = filepath.WalkDir(root, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if d.IsDir() && (strings.HasPrefix(d.Name(), ".") || d.Name() == "testdata" || d.Name() == "node_modules") && p != root {
			return filepath.SkipDir
		}
		if d.IsDir() || !strings.HasSuffix(p, ".go") {
			return nil
		}
		f, err := parser.ParseFile(token.NewFileSet(), p, nil, parser.ImportsOnly)
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(root, filepath.Dir(p))
		rel = filepath.ToSlash(rel)
		for _, s := range f.Imports {
			path, _ := strconv.Unquote(s.Path.Value)
			if dep, ok := strings.CutPrefix(path, module); ok && !slices.Contains(out[rel], dep) {
				out[rel] = append(out[rel], dep)
			}
		}
		if _, ok := out[rel]; !ok {
			out[rel] = nil
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return out
}

func under(pkg string, trees ...string) bool {
	for _, t := range trees {
		if pkg == t || strings.HasPrefix(pkg, t+"/") {
			return true
		}
	}
	return false
}

var channels = []string{"alert/webhook", "alert/email", "alert/slack", "alert/github", "alert/sentry", "alert/pagerduty", "alert/alertmanager"}

// The rules of docs/architecture.md, as the issue that set them states
// them: no arrow from collect up into analyze, alert, report or cmd; none
// from analyze into alert or report; none between channels; the shared
// ground under internal/ imports nothing above it; the agent's parts link
// no analysis.
func TestImportsRunDownward(t *testing.T) {
	pkgs := imports(t)
	if len(pkgs) < 40 {
		t.Fatalf("found %d packages: is the walk rooted at the module?", len(pkgs))
	}
	agentParts := []string{"internal/agent", "internal/system", "internal/gpu", "internal/scrape", "internal/push",
		"internal/remotewrite", "internal/store", "internal/sqlmigrate", "internal/ingest", "internal/cumulative",
		"internal/vtime", "internal/sources", "internal/metricpath", "internal/yamlconf", "internal/demo", "cmd/vigil-agent", "cmd/internal/agentcmd"}
	for pkg, deps := range pkgs {
		for _, dep := range deps {
			var bad bool
			switch {
			case under(pkg, "collect"):
				bad = under(dep, "analyze", "alert", "report", "cmd")
			case under(pkg, "analyze"):
				bad = under(dep, "alert", "report", "cmd")
			case slices.Contains(channels, pkg) || slices.ContainsFunc(channels, func(c string) bool { return under(pkg, c) }):
				bad = under(dep, "cmd") || slices.ContainsFunc(channels, func(c string) bool { return under(dep, c) && !under(pkg, c) })
			case under(pkg, "internal"):
				bad = under(dep, "alert", "report", "cmd") || under(dep, "analyze")
			case under(pkg, "alert", "report", "queries"):
				bad = under(dep, "cmd")
			}
			if slices.Contains(agentParts, pkg) && under(dep, "analyze", "alert", "report") {
				bad = true
			}
			if bad {
				t.Errorf("%s imports %s", pkg, dep)
			}
		}
	}
}

// Import groups run standard library, third party, then vigil's own, in
// every file (gofmt sorts within a group, not across them).
func TestImportGroups(t *testing.T) {
	root, err := filepath.Abs("../..")
	if err != nil {
		t.Fatal(err)
	}
	class := func(path string) int {
		switch first, _, _ := strings.Cut(path, "/"); {
		case strings.HasPrefix(path, module):
			return 2
		case strings.Contains(first, "."):
			return 1
		}
		return 0
	}
	files := 0
	err = filepath.WalkDir(root, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if d.IsDir() && (strings.HasPrefix(d.Name(), ".") || d.Name() == "testdata") && p != root {
			return filepath.SkipDir
		}
		if d.IsDir() || !strings.HasSuffix(p, ".go") {
			return nil
		}
		fset := token.NewFileSet()
		f, err := parser.ParseFile(fset, p, nil, parser.ImportsOnly)
		if err != nil {
			return err
		}
		files++
		last := 0
		for _, s := range f.Imports {
			path, _ := strconv.Unquote(s.Path.Value)
			if c := class(path); c < last {
				t.Errorf("%s: %q after a later group", fset.Position(s.Pos()), path)
			} else {
				last = c
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if files < 200 {
		t.Fatalf("read %d files: is the walk rooted at the module?", files)
	}
}
