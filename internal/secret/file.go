package secret

import (
	"errors"
	"fmt"
	"io"
	"os"
	"strings"
	"syscall"
)

// MaxFileBytes bounds a secret file (a password, a token): a secret is
// short, and a file that is not one (a log, a disk image) must not be
// read whole at every start.
const MaxFileBytes = 64 << 10

// ReadFile reads the secret file path: a regular file (a link to one is
// followed) of at most MaxFileBytes. It is opened without blocking and
// checked before a byte is read: a FIFO or a device named there by
// mistake (h32 D1: /dev/zero, a named pipe) would block every command
// that registers the config's secrets, out of reach of SIGTERM.
func ReadFile(path string) ([]byte, error) {
	f, err := os.OpenFile(path, os.O_RDONLY|syscall.O_NONBLOCK, 0)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	fi, err := f.Stat()
	if err != nil {
		return nil, err
	}
	if !fi.Mode().IsRegular() {
		return nil, &os.PathError{Op: "read", Path: path, Err: errors.New("not a regular file")}
	}
	b, err := io.ReadAll(io.LimitReader(f, MaxFileBytes+1))
	if err != nil {
		return nil, err
	}
	if len(b) > MaxFileBytes {
		return nil, &os.PathError{Op: "read", Path: path, Err: fmt.Errorf("larger than %d KiB: not a secret", MaxFileBytes>>10)}
	}
	return b, nil
}

// FileProblem says what keeps path from serving as a secret file now,
// for a warning that names the path itself (`vigil check`: the file is
// read at send or request time): "" when nothing; "is a directory"; "is
// empty" (nothing but line ends); or "cannot be read" and why, without
// the path. It reads the file as ReadFile does and never returns what
// the file holds.
func FileProblem(path string) (problem string, why error) {
	if fi, err := os.Stat(path); err == nil && fi.IsDir() {
		return "is a directory", nil
	}
	b, err := ReadFile(path)
	if err != nil {
		var pe *os.PathError
		if errors.As(err, &pe) {
			err = pe.Err
		}
		return "cannot be read", err
	}
	if strings.TrimRight(string(b), "\r\n") == "" {
		return "is empty", nil
	}
	return "", nil
}
