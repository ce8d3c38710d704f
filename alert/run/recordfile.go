package run

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"

	"github.com/vigil-metrics/vigil/analyze/cache"
)

// createRecordStore makes a new, empty record store at p before SQLite
// would (with 0644 less the umask): the recording rules copy values and
// label sets out of the stores, so the file gets no permission bit one of
// them lacks (cache.CopyMode); SQLite reads a 0-byte file as a new
// database and gives its -wal and -shm files the same mode. An existing
// record store is left as it is.
func createRecordStore(p string, stores []string) error {
	if _, err := os.Lstat(p); !errors.Is(err, fs.ErrNotExist) {
		return nil
	}
	mode, err := cache.CopyMode(stores)
	if err != nil {
		return fmt.Errorf("record store %s: %w", p, err)
	}
	if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
		return fmt.Errorf("record store %s: %w", p, err)
	}
	f, err := os.OpenFile(p, os.O_WRONLY|os.O_CREATE|os.O_EXCL, mode)
	if errors.Is(err, fs.ErrExist) {
		return nil // another run made it first
	}
	if err != nil {
		return fmt.Errorf("record store %s: %w", p, err)
	}
	return f.Close()
}
