package promstore

import (
	"os"
	"path/filepath"
	"testing"
	"time"
)

// A store replaced by another file of the same size and modification
// time (a restore with cp -p or rsync -a, moved into place) is a change:
// the served points must not stay the old file's until its next write.
func TestFingerprintSeesAReplacedFile(t *testing.T) {
	dir := t.TempDir()
	p, q := filepath.Join(dir, "s.db"), filepath.Join(dir, "s.db.tmp")
	mtime := time.Date(2026, 12, 1, 0, 0, 0, 0, time.UTC)
	for _, f := range []struct{ path, body string }{{p, "aaaa"}, {q, "bbbb"}} {
		if err := os.WriteFile(f.path, []byte(f.body), 0o600); err != nil {
			t.Fatal(err)
		}
		if err := os.Chtimes(f.path, mtime, mtime); err != nil {
			t.Fatal(err)
		}
	}
	before := fingerprint([]string{p})
	if err := os.Rename(q, p); err != nil {
		t.Fatal(err)
	}
	if after := fingerprint([]string{p}); after == before {
		t.Errorf("fingerprint %q unchanged after the file was replaced", after)
	}
}
