package main

import (
	"bytes"
	"cmp"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"syscall"
	"time"
)

// run is one finished subprocess: its wall time, its CPU time (user +
// system, all its threads), its peak RSS and what it wrote on stdout. On a
// loaded machine CPU time is the steadier figure: wall time there depends
// on how many cores the other work leaves free.
type run struct {
	wall   time.Duration
	cpu    time.Duration
	rssKiB int64
	out    []byte
}

// measure runs a command to completion and times it. Its output is kept
// in memory rather than shown, so that the tables stay readable; on
// failure the error carries the command's last line on stderr, which is
// where vigil and promtool say what went wrong.
func measure(name string, args ...string) (run, error) {
	cmd := exec.Command(name, args...)
	var stdout, stderr bytes.Buffer
	cmd.Stdout = &stdout
	cmd.Stderr = &stderr
	start := time.Now()
	err := cmd.Run()
	r := run{wall: time.Since(start), out: stdout.Bytes()}
	if cmd.ProcessState != nil { // nil when the command did not start
		r.cpu = cmd.ProcessState.UserTime() + cmd.ProcessState.SystemTime()
		if ru, ok := cmd.ProcessState.SysUsage().(*syscall.Rusage); ok {
			r.rssKiB = ru.Maxrss // KiB on Linux
		}
	}
	if err != nil {
		if msg := lastLine(stderr.String()); msg != "" {
			return r, errors.New(msg) // vigil and promtool name themselves
		}
		return r, fmt.Errorf("%s: %w", filepath.Base(name), err)
	}
	return r, nil
}

// lastLine is stderr's last line, the error, skipping the hint lines that
// vigil prints after it ("vigil: hint: see 'vigil --help'").
func lastLine(s string) string {
	lines := strings.Split(strings.TrimSpace(s), "\n")
	for len(lines) > 1 && strings.HasPrefix(strings.TrimSpace(lines[len(lines)-1]), "vigil: hint:") {
		lines = lines[:len(lines)-1]
	}
	return strings.TrimSpace(lines[len(lines)-1])
}

// runs are repeated measurements of one thing. The machine is shared and
// noisy, so the best (fastest) run is the figure compared with targets:
// noise only ever adds time.
type runs []run

// repeat calls f n times, stopping at the first error.
func repeat(n int, f func() (run, error)) (runs, error) {
	rs := make(runs, 0, n)
	for range n {
		r, err := f()
		if err != nil {
			return rs, err
		}
		rs = append(rs, r)
	}
	return rs, nil
}

func (rs runs) best() time.Duration {
	return slices.MinFunc(rs, func(a, b run) int { return cmp.Compare(a.wall, b.wall) }).wall
}

// bestCPU is the least CPU time of the runs.
func (rs runs) bestCPU() time.Duration {
	return slices.MinFunc(rs, func(a, b run) int { return cmp.Compare(a.cpu, b.cpu) }).cpu
}

// interleave calls a then b, n times over (a, b, a, b, ...), stopping at
// the first error. Two commands compared by ratio are measured this way,
// so that both see the same load: measured one after the other, a change
// in what else runs on the machine moves the ratio.
func interleave(n int, a, b func() (run, error)) (runs, runs, error) {
	ra, rb := make(runs, 0, n), make(runs, 0, n)
	for range n {
		r, err := a()
		if err != nil {
			return ra, rb, err
		}
		ra = append(ra, r)
		if r, err = b(); err != nil {
			return ra, rb, err
		}
		rb = append(rb, r)
	}
	return ra, rb, nil
}

func (rs runs) median() time.Duration {
	ws := make([]time.Duration, len(rs))
	for i, r := range rs {
		ws[i] = r.wall
	}
	slices.Sort(ws)
	return ws[len(ws)/2]
}

func (rs runs) peakRSS() int64 {
	return slices.MaxFunc(rs, func(a, b run) int { return cmp.Compare(a.rssKiB, b.rssKiB) }).rssKiB
}

func mib(kib int64) float64 { return float64(kib) / 1024 }

func ms(d time.Duration) float64 { return float64(d) / float64(time.Millisecond) }

// removeStore deletes a store and everything vigil keeps beside it (WAL,
// shared memory, the DuckDB cache), so that the next command starts cold.
func removeStore(db string) error {
	for _, suffix := range []string{"", "-wal", "-shm", ".cache.duckdb", ".cache.duckdb.wal"} {
		if err := os.Remove(db + suffix); err != nil && !errors.Is(err, os.ErrNotExist) {
			return err
		}
	}
	return nil
}
