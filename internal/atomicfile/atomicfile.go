// Package atomicfile writes a file whole: a reader sees the previous
// contents or the new, never half, and a link planted at the path is
// replaced, never written through. It owns nothing else and imports
// nothing of vigil's.
package atomicfile

import (
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
)

// WriteFile writes data to path as a whole: into a new file in the same
// folder, synced, then renamed over path. A reader (a web server serving
// the reports folder, a CI step attaching it) sees the previous report or
// the new one, never half of one, and a failure leaves the previous one.
// The rename replaces whatever is at path, a symbolic link included: the
// link's target is never written (a link planted there must not make vigil
// overwrite another file). The file gets mode 0644 less the umask, as
// os.WriteFile would give a new one.
func WriteFile(path string, data []byte) error {
	return Write(path, func(w io.Writer) error {
		_, err := w.Write(data)
		return err
	})
}

// Write is WriteFile for contents written by write as they are made (a
// large output need not be held whole first): path gets them only if
// write returns nil.
func Write(path string, write func(io.Writer) error) (err error) {
	dir, base := filepath.Split(path)
	if dir == "" {
		dir = "."
	}
	f, tmp, err := createTemp(dir, "."+base+".tmp-")
	if err != nil {
		return fmt.Errorf("write %s: %w", path, err)
	}
	defer func() {
		if err != nil {
			f.Close()
			os.Remove(tmp)
			err = fmt.Errorf("write %s: %w", path, err)
		}
	}()
	if err = write(f); err != nil {
		return err
	}
	if err = f.Sync(); err != nil {
		return err
	}
	if err = f.Close(); err != nil {
		return err
	}
	return os.Rename(tmp, path)
}

// createTemp is os.CreateTemp with the permissions of a new file (0644
// less the umask) rather than 0600: reports and JUnit files are read by others. O_EXCL
// never opens an existing file, nor follows a link someone planted there.
func createTemp(dir, prefix string) (*os.File, string, error) {
	var b [6]byte
	for range 100 {
		if _, err := rand.Read(b[:]); err != nil {
			return nil, "", err
		}
		name := filepath.Join(dir, prefix+hex.EncodeToString(b[:]))
		f, err := os.OpenFile(name, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o644)
		if errors.Is(err, fs.ErrExist) {
			continue
		}
		return f, name, err
	}
	return nil, "", fmt.Errorf("no free temporary name in %s", dir)
}
