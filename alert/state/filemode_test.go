package state

import (
	"context"
	"io/fs"
	"os"
	"path/filepath"
	"syscall"
	"testing"
)

// A new state DB holds alert history and notices (label values, receiver
// answers): it is created 0600 whatever the umask, and the -wal and -shm
// files SQLite makes beside it while it is open are no wider (SQLite gives
// them the main file's mode).
func TestNewStateDBIsPrivate(t *testing.T) {
	old := syscall.Umask(0o022)
	defer syscall.Umask(old)
	ctx := context.Background()
	p := filepath.Join(t.TempDir(), "vigil-state.db")
	d, err := Open(ctx, p)
	if err != nil {
		t.Fatal(err)
	}
	defer d.Close()
	// A write keeps the -wal and -shm files in place until Close.
	r, err := d.Begin(ctx, "test", 0)
	if err != nil {
		t.Fatal(err)
	}
	if err := r.Commit(); err != nil {
		t.Fatal(err)
	}
	for _, f := range []string{p, p + "-wal", p + "-shm"} {
		st, err := os.Stat(f)
		if err != nil {
			t.Fatal(err)
		}
		if got := st.Mode().Perm(); got != 0o600 {
			t.Errorf("%s: mode %v, want %v", filepath.Base(f), got, fs.FileMode(0o600))
		}
	}
}
