// Package queries holds vigil's analytic SQL as embedded files, one
// statement per file, so that SQL is reviewed as SQL and user input only
// ever reaches it as bound parameters.
package queries

import (
	"embed"
	"fmt"
	"io/fs"
	"strings"
)

//go:embed *.sql
var files embed.FS

// FS exposes the embedded files (for tests that run every query).
var FS fs.FS = files

// Get returns the SQL text of name (without the .sql suffix). It panics on
// an unknown name: the set is fixed at build time and a typo is a bug.
func Get(name string) string {
	b, err := files.ReadFile(name + ".sql")
	if err != nil {
		panic(fmt.Sprintf("queries: no query %q", name))
	}
	return strings.TrimSpace(string(b))
}
