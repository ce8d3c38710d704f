package layout

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestReadmeLinksEveryDoc: a page under docs/ that the README does not
// link is a page a newcomer never finds (issue 30).
func TestReadmeLinksEveryDoc(t *testing.T) {
	readme, err := os.ReadFile("../../README.md")
	if err != nil {
		t.Fatal(err)
	}
	pages, err := filepath.Glob("../../docs/*.md")
	if err != nil || len(pages) == 0 {
		t.Fatalf("docs/*.md: %v (%d pages)", err, len(pages))
	}
	for _, p := range pages {
		link := "](docs/" + filepath.Base(p) + ")"
		if !strings.Contains(string(readme), link) {
			t.Errorf("README.md does not link docs/%s (want a line with %q)", filepath.Base(p), link)
		}
	}
}
