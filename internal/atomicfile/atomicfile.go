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
func Write(path string, write func(io.Writer) error) error {
	if err := Replaceable(path); err != nil {
		return fmt.Errorf("write %s: it %v, not a file: left as it is", path, err)
	}
	tmp, err := stage(path, write)
	if err != nil {
		return err
	}
	if err := os.Rename(tmp, path); err != nil {
		os.Remove(tmp)
		return fmt.Errorf("write %s: %w", path, err)
	}
	return nil
}

// Replaceable refuses a path that holds something other than a file: a
// device, a named pipe, a socket or a folder, or a link to one. Renamed
// over, /dev/null became a report (`vigil report --out /dev/null` as
// root, h33), and a link such as /dev/stdout would be replaced the same
// way; a link to a file, or to nothing, is replaced as WriteFile says.
// Write checks it; a caller that writes other files first (a report's
// charts beside it) asks it before them.
func Replaceable(path string) error {
	st, err := os.Stat(path) // a link: what it points to
	if err != nil || st.Mode().IsRegular() {
		return nil // nothing there (or a dangling link): made anew
	}
	if st.IsDir() {
		return errors.New("is a folder")
	}
	return errors.New("is a device, named pipe or socket")
}

// WriteNew is WriteFile for a file that must not exist: the final step
// is link(2), which fails when the name exists, rather than rename(2),
// which replaces it. A file created at path by someone else after the
// caller looked is left as it was, and WriteNew fails with an error that
// is fs.ErrExist (h30 D16: vigil init never overwrites a config).
func WriteNew(path string, data []byte) error {
	tmp, err := stage(path, func(w io.Writer) error {
		_, err := w.Write(data)
		return err
	})
	if err != nil {
		return err
	}
	defer os.Remove(tmp) // the name linked into place stays
	if beforeLink != nil {
		beforeLink()
	}
	if err = os.Link(tmp, path); err == nil || errors.Is(err, fs.ErrExist) {
		if err != nil {
			err = fmt.Errorf("write %s: %w", path, err)
		}
		return err
	}
	// A filesystem without hard links (vfat, some FUSE mounts): O_EXCL
	// still never opens an existing file, though a reader may see the
	// file before it is whole.
	if err := writeExcl(path, data); err != nil {
		return fmt.Errorf("write %s: %w", path, err)
	}
	return nil
}

// stage writes what write makes into a new temporary file beside path,
// synced and closed, and returns its name: the caller puts it in place
// (renamed over path, or linked where none is). On an error nothing is
// left behind.
func stage(path string, write func(io.Writer) error) (tmp string, err error) {
	dir, base := filepath.Split(path)
	if dir == "" {
		dir = "."
	}
	f, tmp, err := createTemp(dir, "."+base+".tmp-")
	if err != nil {
		return "", fmt.Errorf("write %s: %w", path, err)
	}
	defer func() {
		if err != nil {
			f.Close()
			os.Remove(tmp)
			err = fmt.Errorf("write %s: %w", path, err)
		}
	}()
	if err = write(f); err != nil {
		return "", err
	}
	if err = f.Sync(); err != nil {
		return "", err
	}
	if err = f.Close(); err != nil {
		return "", err
	}
	return tmp, nil
}

func writeExcl(path string, data []byte) error {
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o644)
	if err != nil {
		return err
	}
	if _, err := f.Write(data); err != nil {
		f.Close()
		os.Remove(path)
		return err
	}
	if err := f.Sync(); err != nil {
		f.Close()
		os.Remove(path)
		return err
	}
	return f.Close()
}

// beforeLink, when set (by a test), runs just before WriteNew's final
// step: where a concurrent writer would create the file.
var beforeLink func()

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
