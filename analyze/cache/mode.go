package cache

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"syscall"

	duckdb "github.com/duckdb/duckdb-go/v2"

	"github.com/vigil-metrics/vigil/internal/sources"
)

// A cache is a full copy of its store's samples and labels, so nobody may
// read it who may not read the store: its file and the WAL DuckDB writes
// beside it get at most the store's permission bits (a 0600 store, a 0600
// cache), whatever the umask. DuckDB itself creates both with 0666 less
// the umask, so vigil makes them first: Create for the file, protect for
// the WAL before each sync writes.

// StoreMode is the permission bits a copy of the store at storePath may
// have: the store's own.
func StoreMode(storePath string) (fs.FileMode, error) {
	st, err := os.Stat(storePath)
	if err != nil {
		return 0, err
	}
	return st.Mode().Perm(), nil
}

// CopyMode is the permission bits a file derived from the stores at paths
// (a record store, an export) may have: only those every one of them has.
// Sources (http(s) URLs) are skipped; with no store file at all it is 0600.
func CopyMode(paths []string) (fs.FileMode, error) {
	mode, any := fs.FileMode(0o777), false
	for _, p := range paths {
		if sources.IsURL(p) {
			continue
		}
		m, err := StoreMode(p)
		if err != nil {
			return 0, err
		}
		mode, any = mode&m, true
	}
	if !any {
		return 0o600, nil
	}
	return mode, nil
}

// FolderMode is mode for a folder: searchable wherever it is readable.
func FolderMode(mode fs.FileMode) fs.FileMode {
	return mode | (mode&0o444)>>2
}

// Create makes file a new, empty cache of the store at storePath, with no
// permission bit the store lacks; an existing file is left as it is (a
// sync narrows it, see protect). The file is made in a private temporary
// folder beside it and linked into place, so that it is never readable by
// others under its name, not even empty: a reader who opened it then
// would read every sample written later. Of two runs creating it at once,
// the first link wins.
func Create(file, storePath string) error {
	if _, err := os.Lstat(file); !errors.Is(err, fs.ErrNotExist) {
		return nil // there (or unknowable): ATTACH decides what it is
	}
	mode, err := StoreMode(storePath)
	if err != nil {
		return fmt.Errorf("create cache %s: %w", file, err)
	}
	if err := EnsureDir(file); err != nil {
		return fmt.Errorf("create cache %s: %w", file, err)
	}
	tmpDir, err := os.MkdirTemp(filepath.Dir(file), "."+filepath.Base(file)+".new-") // 0700
	if err != nil {
		return fmt.Errorf("create cache %s: %w", file, err)
	}
	defer os.RemoveAll(tmpDir)
	tmp := filepath.Join(tmpDir, "cache.duckdb")
	if err := emptyDuckDB(tmp); err != nil {
		return fmt.Errorf("create cache %s: %w", file, err)
	}
	if err := narrow(tmp, mode); err != nil {
		return fmt.Errorf("create cache %s: %w", file, err)
	}
	err = os.Link(tmp, file)
	if err == nil || errors.Is(err, fs.ErrExist) {
		return nil
	}
	// A file system without hard links: rename, only while there is
	// still no cache (a narrow race, on such file systems only).
	if _, serr := os.Lstat(file); errors.Is(serr, fs.ErrNotExist) {
		return os.Rename(tmp, file)
	}
	return nil
}

// emptyDuckDB writes a new DuckDB database file at p.
func emptyDuckDB(p string) error {
	c, err := duckdb.NewConnector(p+"?autoinstall_known_extensions=false&autoload_known_extensions=false", nil)
	if err != nil {
		return err
	}
	db := sql.OpenDB(c)
	_, err = db.Exec("CHECKPOINT")
	if cerr := db.Close(); err == nil {
		err = cerr
	}
	return err
}

// narrow removes from file's permissions every bit mode lacks.
func narrow(file string, mode fs.FileMode) error {
	st, err := os.Stat(file)
	if err != nil {
		return err
	}
	if p := st.Mode().Perm(); p&^mode != 0 {
		return os.Chmod(file, p&mode)
	}
	return nil
}

// protect prepares the cache attached as catalog for a sync of the store
// at storePath: the cache file loses any permission bit the store lacks
// (a cache made by an older vigil), and its WAL, which DuckDB creates on
// the first write, is made first with at most the store's mode. The
// returned func removes that WAL again if nothing was written to it (an
// unchanged sync must leave no file behind). A cache in memory needs
// nothing.
func protect(ctx context.Context, conn *sql.Conn, catalog, storePath string) (func(), error) {
	none := func() {}
	var file sql.NullString
	err := conn.QueryRowContext(ctx, "SELECT path FROM duckdb_databases() WHERE database_name = ?", catalog).Scan(&file)
	if err != nil {
		return none, fmt.Errorf("find cache file: %w", err)
	}
	if !file.Valid || file.String == "" || file.String == ":memory:" {
		return none, nil
	}
	mode, err := StoreMode(storePath)
	if err != nil {
		return none, fmt.Errorf("cache of %s: %w", storePath, err)
	}
	if err := narrow(file.String, mode); err != nil {
		return none, fmt.Errorf("cache %s: %w", file.String, err)
	}
	wal := file.String + ".wal"
	f, err := os.OpenFile(wal, os.O_WRONLY|os.O_CREATE|os.O_EXCL|syscall.O_NOFOLLOW, mode)
	switch {
	case errors.Is(err, fs.ErrExist):
		// DuckDB's own (it holds the cache, so it may be writing it).
		if err := narrow(wal, mode); err != nil {
			return none, fmt.Errorf("cache %s: %w", wal, err)
		}
		return none, nil
	case err != nil:
		return none, fmt.Errorf("cache %s: %w", wal, err)
	}
	f.Close()
	return func() {
		if st, err := os.Stat(wal); err == nil && st.Size() == 0 {
			os.Remove(wal)
		}
	}, nil
}
