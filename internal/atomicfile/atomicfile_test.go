package atomicfile

import (
	"errors"
	"io/fs"
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

// WriteNew never replaces a file, even one created after it looked (h30
// D16): a file that appears between the temporary file and the final
// step is left as it was, the call fails with fs.ErrExist, and no
// temporary file is left behind.
func TestWriteNewRace(t *testing.T) {
	dir := t.TempDir()
	p := filepath.Join(dir, "vigil.yaml")
	beforeLink = func() {
		if err := os.WriteFile(p, []byte("# precious\n"), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	defer func() { beforeLink = nil }()
	err := WriteNew(p, []byte("init's text\n"))
	if !errors.Is(err, fs.ErrExist) {
		t.Errorf("err %v, want fs.ErrExist", err)
	}
	if got, _ := os.ReadFile(p); string(got) != "# precious\n" {
		t.Errorf("the planted file now holds %q", got)
	}
	if ents, _ := os.ReadDir(dir); len(ents) != 1 {
		t.Errorf("%d entries, want vigil.yaml alone", len(ents))
	}
	beforeLink = nil
	q := filepath.Join(dir, "new.yaml")
	if err := WriteNew(q, []byte("x\n")); err != nil {
		t.Fatal(err)
	}
	if got, _ := os.ReadFile(q); string(got) != "x\n" {
		t.Errorf("new file holds %q", got)
	}
	if ents, _ := os.ReadDir(dir); len(ents) != 2 {
		t.Errorf("%d entries, want 2", len(ents))
	}
}
