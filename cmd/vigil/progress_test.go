package main

import (
	"bytes"
	"fmt"
	"os"
	"strings"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"golang.org/x/sys/unix"
)

// openPTY returns a pseudo-terminal pair, so the progress line can be
// tested where it is drawn: on a terminal only.
func openPTY(t *testing.T) (master, slave *os.File) {
	t.Helper()
	// Non-blocking, so os.NewFile registers it with the poller and read
	// deadlines work.
	fd, err := unix.Open("/dev/ptmx", unix.O_RDWR|unix.O_NOCTTY|unix.O_NONBLOCK|unix.O_CLOEXEC, 0)
	if err != nil {
		t.Skipf("no pseudo-terminals here: %v", err)
	}
	m := os.NewFile(uintptr(fd), "/dev/ptmx")
	if err := unix.IoctlSetPointerInt(int(m.Fd()), unix.TIOCSPTLCK, 0); err != nil {
		t.Skipf("unlockpt: %v", err)
	}
	n, err := unix.IoctlGetInt(int(m.Fd()), unix.TIOCGPTN)
	if err != nil {
		t.Skipf("ptsname: %v", err)
	}
	s, err := os.OpenFile(fmt.Sprintf("/dev/pts/%d", n), os.O_RDWR|syscall.O_NOCTTY, 0)
	if err != nil {
		t.Skipf("open pts: %v", err)
	}
	t.Cleanup(func() { s.Close(); m.Close() })
	return m, s
}

func TestProgressOnlyOnATerminalAndOnlyWhenSlow(t *testing.T) {
	master, slave := openPTY(t)
	var read atomic.Int64
	read.Store(50 << 20)
	a := &app{stderr: slave}
	stop := a.progress(&read, 100<<20)
	time.Sleep(1400 * time.Millisecond)
	stop()
	got := drain(master, 500*time.Millisecond)
	if !strings.Contains(got, "importing:  50% (50 of 100 MiB)") || !strings.HasSuffix(got, "\r\x1b[K") {
		t.Errorf("terminal shows %q, want a progress line at 50%%, then cleared", got)
	}

	// A quick import draws nothing, and neither does a non-terminal.
	stop = a.progress(&read, 100<<20)
	stop()
	if got := drain(master, 300*time.Millisecond); got != "" {
		t.Errorf("a quick import drew %q", got)
	}
	var plain bytes.Buffer
	b := &app{stderr: &plain}
	stop = b.progress(&read, 100<<20)
	time.Sleep(1300 * time.Millisecond)
	stop()
	if plain.Len() != 0 {
		t.Errorf("non-terminal got %q", plain.String())
	}
}

// drain reads what the terminal shows until it has been quiet for quiet.
func drain(master *os.File, quiet time.Duration) string {
	var out bytes.Buffer
	buf := make([]byte, 4096)
	for {
		master.SetReadDeadline(time.Now().Add(quiet))
		n, err := master.Read(buf)
		out.Write(buf[:n])
		if err != nil {
			return out.String()
		}
	}
}
