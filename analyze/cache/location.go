package cache

import (
	"fmt"
	"os"
	"path/filepath"
	"syscall"
)

// Location is where the cache of one store lives for one run.
type Location struct {
	// File is the cache file; empty for a cache held in memory for the run.
	File string
	// Reason says why the cache is not beside its store, when it is not
	// and no cache folder was given; empty otherwise.
	Reason string
}

// InMemory reports whether the cache lives in memory for this run only.
func (l Location) InMemory() bool { return l.File == "" }

// Writable reports whether files can be created in dir (created first if
// missing). access(2) answers for this user as the kernel will, read-only
// mounts and root included, without creating anything in a store's folder
// on every run. A variable so that tests, which may run as root, can stand
// in for folders they cannot make unwritable.
var Writable = accessWritable

func accessWritable(dir string) bool {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return false
	}
	return syscall.Access(dir, 2 /* W_OK */) == nil
}

// UserDir is the user's cache folder for vigil: $XDG_CACHE_HOME/vigil, else
// $HOME/.cache/vigil.
func UserDir() (string, error) {
	d, err := os.UserCacheDir()
	if err != nil {
		return "", err
	}
	return filepath.Join(d, "vigil"), nil
}

// Locate decides where the cache of storePath lives for this run. With a
// cacheDir it is there (FileFor). Otherwise it is beside the store when the
// store's folder is writable, else in the user's cache folder (UserDir,
// named as in a cacheDir), else in memory.
func Locate(storePath, cacheDir string) (Location, error) {
	f, err := FileFor(storePath, cacheDir)
	if err != nil {
		return Location{}, err
	}
	if cacheDir != "" {
		if err := EnsureDir(f); err != nil {
			return Location{}, fmt.Errorf("cache dir: %w", err)
		}
		return Location{File: f}, nil
	}
	dir := filepath.Dir(f)
	if Writable(dir) {
		return Location{File: f}, nil
	}
	why := "store folder " + dir + " is not writable"
	ud, err := UserDir()
	if err != nil {
		return Location{Reason: why + ", and there is no user cache folder (" + err.Error() + ")"}, nil
	}
	if !Writable(ud) {
		return Location{Reason: why + ", nor is the user cache folder " + ud}, nil
	}
	f, err = FileFor(storePath, ud)
	if err != nil {
		return Location{}, err
	}
	if err := EnsureDir(f); err != nil {
		return Location{Reason: why + ", nor is the user cache folder " + ud}, nil
	}
	return Location{File: f, Reason: why}, nil
}
