package atomicfile

import (
	"os"
	"path/filepath"
	"testing"
)

// WriteFile replaces a file whole, and a failed write leaves no temporary
// file and the destination as it was.
func TestWriteFile(t *testing.T) {
	dir := t.TempDir()
	p := filepath.Join(dir, "r.md")
	for _, text := range []string{"first\n", "second\n"} {
		if err := WriteFile(p, []byte(text)); err != nil {
			t.Fatal(err)
		}
		if got, _ := os.ReadFile(p); string(got) != text {
			t.Errorf("got %q, want %q", got, text)
		}
	}
	// A folder where the report should go: the rename fails.
	sub := filepath.Join(dir, "sub.md")
	if err := os.Mkdir(sub, 0o755); err != nil {
		t.Fatal(err)
	}
	if err := WriteFile(sub, []byte("x")); err == nil {
		t.Error("wrote over a folder")
	}
	ents, _ := os.ReadDir(dir)
	if len(ents) != 2 {
		for _, e := range ents {
			t.Logf("%s", e.Name())
		}
		t.Errorf("%d entries, want r.md and sub.md only", len(ents))
	}
}
