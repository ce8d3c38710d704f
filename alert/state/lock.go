package state

import (
	"context"
	"errors"
	"fmt"
	"os"
	"strconv"
	"strings"
	"syscall"
	"time"
)

// runLock is the run lock: an exclusive flock on the sidecar file
// <state>.lock. SQLite's own write lock cannot serve, because a run must
// commit several times while excluding others (intent before sending,
// outcome after). flock is released by the kernel when the process dies,
// so a killed run never leaves a stale lock; it is taken on a separate file
// because closing any descriptor of the database file would drop SQLite's
// POSIX locks on it. The file's content names the holder for the error a
// refused run prints.
type runLock struct{ f *os.File }

// acquire takes the lock at p for holder, trying every 50ms until wait has
// passed (0: once) or ctx ends.
func acquire(ctx context.Context, p, holder string, now time.Time, wait time.Duration) (*runLock, error) {
	f, err := openLockFile(p)
	if err != nil {
		return nil, err
	}
	deadline := time.Now().Add(wait) // waiting is I/O, not a decision: the real clock
	for {
		err := syscall.Flock(int(f.Fd()), syscall.LOCK_EX|syscall.LOCK_NB)
		if err == nil {
			break
		}
		if !errors.Is(err, syscall.EWOULDBLOCK) && !errors.Is(err, syscall.EINTR) {
			f.Close()
			return nil, fmt.Errorf("state lock %s: %w", p, err)
		}
		if ctx.Err() != nil || !time.Now().Before(deadline) {
			le := readHolder(p)
			f.Close()
			if ctx.Err() != nil && time.Now().Before(deadline) {
				return nil, fmt.Errorf("state lock: %w (%w)", ctx.Err(), le)
			}
			return nil, le
		}
		select {
		case <-ctx.Done():
		case <-time.After(min(50*time.Millisecond, max(time.Until(deadline), time.Millisecond))):
		}
	}
	// Name ourselves: "unix-ms holder". Truncate first so a shorter name
	// leaves no tail of the previous one.
	if err := f.Truncate(0); err == nil {
		f.WriteAt([]byte(strconv.FormatInt(now.UnixMilli(), 10)+" "+holder), 0) //nolint:errcheck // the name only helps an error message
	}
	return &runLock{f: f}, nil
}

// openLockFile opens (creating) the lock file at p without following a
// symbolic link, and refuses anything but a plain file with that one name:
// the lock truncates the file and writes the holder's name into it, so a
// link planted there would have a run overwrite the link's target.
func openLockFile(p string) (*os.File, error) {
	f, err := os.OpenFile(p, os.O_RDWR|os.O_CREATE|syscall.O_NOFOLLOW, 0o644)
	if errors.Is(err, syscall.ELOOP) {
		return nil, fmt.Errorf("state lock %s: is a symbolic link; vigil does not write through one (remove it)", p)
	}
	if err != nil {
		return nil, fmt.Errorf("state lock: %w", err)
	}
	st, err := f.Stat()
	if err != nil {
		f.Close()
		return nil, fmt.Errorf("state lock: %w", err)
	}
	if sys, ok := st.Sys().(*syscall.Stat_t); !st.Mode().IsRegular() || ok && sys.Nlink != 1 {
		f.Close()
		return nil, fmt.Errorf("state lock %s: not a plain file of its own (a special file or a hard link); vigil does not write to it (remove it)", p)
	}
	return f, nil
}

func (l *runLock) release() {
	l.f.Truncate(0)                               //nolint:errcheck // a stale name names nobody once the lock is free
	syscall.Flock(int(l.f.Fd()), syscall.LOCK_UN) //nolint:errcheck // closing the file releases it anyway
	l.f.Close()
}

// readHolder reads who holds the lock. The holder may be between taking
// the lock and naming itself: then the holder is unknown.
func readHolder(p string) *LockedError {
	b, err := os.ReadFile(p)
	if err != nil {
		return &LockedError{}
	}
	ms, holder, ok := strings.Cut(string(b), " ")
	if !ok || holder == "" {
		return &LockedError{}
	}
	n, err := strconv.ParseInt(ms, 10, 64)
	if err != nil {
		return &LockedError{Holder: holder}
	}
	return &LockedError{Holder: holder, Since: time.UnixMilli(n).UTC()}
}
