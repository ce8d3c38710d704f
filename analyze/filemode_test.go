package analyze

import (
	"context"
	"io/fs"
	"os"
	"path/filepath"
	"syscall"
	"testing"
	"time"

	"github.com/vigil-metrics/vigil/analyze/cache"
	"github.com/vigil-metrics/vigil/internal/store"
)

// privateStore is a store with one sample, mode 0600, in a folder of its
// own; the umask is 022 (what makes 0644 files) until the test ends.
func privateStore(t *testing.T) (dir, p string) {
	t.Helper()
	old := syscall.Umask(0o022)
	t.Cleanup(func() { syscall.Umask(old) })
	f := newFixture(t)
	p = f.write("v.db", store.Sample{Name: "g", Type: store.Gauge, Labels: map[string]string{"secret": "s3"}, TS: atMS(-time.Second), Value: 1})
	if err := os.Chmod(p, 0o600); err != nil {
		t.Fatal(err)
	}
	return f.dir, p
}

func wantMode(t *testing.T, file string, want fs.FileMode) {
	t.Helper()
	st, err := os.Stat(file)
	if err != nil {
		t.Fatal(err)
	}
	if got := st.Mode().Perm(); got != want {
		t.Errorf("%s: mode %v, want %v", filepath.Base(file), got, want)
	}
}

// A cache is a full copy of its store: a 0600 store gets a 0600 cache (and
// WAL), beside the store or in a cache folder, never 0644 less the umask.
func TestCacheTakesTheStoresMode(t *testing.T) {
	for _, inDir := range []bool{false, true} {
		dir, p := privateStore(t)
		cacheDir := ""
		if inDir {
			cacheDir = filepath.Join(dir, "cache")
		}
		db, err := Open(context.Background(), []string{p}, Options{CacheDir: cacheDir})
		if err != nil {
			t.Fatal(err)
		}
		file, err := cache.FileFor(p, cacheDir)
		if err != nil {
			t.Fatal(err)
		}
		// The sync's rows are in the WAL until the cache is closed.
		wantMode(t, file, 0o600)
		wantMode(t, file+".wal", 0o600)
		db.Close()
		wantMode(t, file, 0o600)
	}
}

// A cache made 0644 by an older vigil loses the bits its store lacks at
// the next sync.
func TestCacheNarrowedToTheStoresMode(t *testing.T) {
	_, p := privateStore(t)
	db, err := Open(context.Background(), []string{p}, Options{})
	if err != nil {
		t.Fatal(err)
	}
	db.Close()
	file, _ := cache.FileFor(p, "")
	if err := os.Chmod(file, 0o644); err != nil {
		t.Fatal(err)
	}
	db, err = Open(context.Background(), []string{p}, Options{})
	if err != nil {
		t.Fatal(err)
	}
	db.Close()
	wantMode(t, file, 0o600)
}

// vigil store compact's new cache and vigil export's cache follow the
// same rule.
func TestRebuiltAndExportCachesTakeTheStoresMode(t *testing.T) {
	dir, p := privateStore(t)
	file, _ := cache.FileFor(p, "")
	if err := RebuildCache(context.Background(), p, file); err != nil {
		t.Fatal(err)
	}
	wantMode(t, file, 0o600)
	os.Remove(file)
	if _, err := Export(context.Background(), []string{p}, "", "csv", filepath.Join(dir, "out"), 0, atMS(time.Hour)); err != nil {
		t.Fatal(err)
	}
	wantMode(t, file, 0o600)
}
