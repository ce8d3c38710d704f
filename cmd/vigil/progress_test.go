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
	master.SetReadDeadline(time.Now().Add(2 * time.Second))
	buf := make([]byte, 4096)
	n, _ := master.Read(buf)
	if got := string(buf[:n]); !strings.Contains(got, "importing:  50% (50 of 100 MiB)") {
		t.Errorf("terminal shows %q, want a progress line at 50%%", got)
	}

	// A quick import draws nothing, and neither does a non-terminal.
	stop = a.progress(&read, 100<<20)
	stop()
	master.SetReadDeadline(time.Now().Add(300 * time.Millisecond))
	if n, _ := master.Read(buf); n != 0 {
		t.Errorf("a quick import drew %q", buf[:n])
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
