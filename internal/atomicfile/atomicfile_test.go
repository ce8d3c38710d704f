package atomicfile

import (
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"syscall"
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

// A path holding a named pipe, a folder, or a link to either is not a
// file to replace: refused, and left as it was (renamed over, /dev/null
// became a report, h33). A link to a file is still replaced, the file
// untouched.
func TestWriteRefusesNonFiles(t *testing.T) {
	dir := t.TempDir()
	fifo := filepath.Join(dir, "pipe")
	if err := syscall.Mkfifo(fifo, 0o644); err != nil {
		t.Skip("no mkfifo:", err)
	}
	folder := filepath.Join(dir, "d")
	if err := os.Mkdir(folder, 0o755); err != nil {
		t.Fatal(err)
	}
	toPipe := filepath.Join(dir, "to-pipe")
	if err := os.Symlink(fifo, toPipe); err != nil {
		t.Fatal(err)
	}
	for _, p := range []string{fifo, folder, toPipe} {
		err := WriteFile(p, []byte("report\n"))
		if err == nil || !strings.Contains(err.Error(), "not a file: left as it is") {
			t.Errorf("%s: %v, want it refused", p, err)
		}
	}
	if st, err := os.Stat(fifo); err != nil || st.Mode()&os.ModeNamedPipe == 0 {
		t.Errorf("the pipe is no longer one: %v %v", st, err)
	}
	if st, err := os.Lstat(toPipe); err != nil || st.Mode()&os.ModeSymlink == 0 {
		t.Errorf("the link to the pipe was replaced: %v %v", st, err)
	}
	ents, _ := os.ReadDir(dir)
	if len(ents) != 3 {
		t.Errorf("%d entries, want the 3 made (no temporary file left)", len(ents))
	}
	file := filepath.Join(dir, "f")
	if err := os.WriteFile(file, []byte("theirs\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	toFile := filepath.Join(dir, "to-file")
	if err := os.Symlink(file, toFile); err != nil {
		t.Fatal(err)
	}
	if err := WriteFile(toFile, []byte("report\n")); err != nil {
		t.Fatal(err)
	}
	if b, _ := os.ReadFile(file); string(b) != "theirs\n" {
		t.Errorf("the link's target was written: %q", b)
	}
}
