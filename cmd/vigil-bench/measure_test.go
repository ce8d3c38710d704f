package main

import (
	"errors"
	"os/exec"
	"slices"
	"testing"
	"time"
)

// The user-timed query and its scan are measured in turns, so that both
// see the same load (issue 26: a ratio from runs minutes apart moved from
// 0.88x to 1.2x with what else ran on the machine).
func TestInterleave(t *testing.T) {
	var order []string
	step := func(name string, wall time.Duration) func() (run, error) {
		return func() (run, error) {
			order = append(order, name)
			return run{wall: wall, cpu: wall / 2}, nil
		}
	}
	a, b, err := interleave(3, step("scan", 2*time.Second), step("query", time.Second))
	if err != nil {
		t.Fatal(err)
	}
	if want := []string{"scan", "query", "scan", "query", "scan", "query"}; !slices.Equal(order, want) {
		t.Fatalf("order %v, want %v", order, want)
	}
	if len(a) != 3 || len(b) != 3 || a.best() != 2*time.Second || b.bestCPU() != time.Second/2 {
		t.Fatalf("runs %v %v", a, b)
	}

	order = nil
	boom := errors.New("boom")
	_, _, err = interleave(3, step("scan", time.Second), func() (run, error) { order = append(order, "query"); return run{}, boom })
	if !errors.Is(err, boom) || len(order) != 2 {
		t.Fatalf("err %v after %v, want boom after one pair", err, order)
	}
}

// measure reports the process's CPU time (user + system), not only its
// wall time: a command that sleeps takes wall time and almost no CPU, one
// that spins takes both.
func TestMeasureCPU(t *testing.T) {
	sh, err := exec.LookPath("sh")
	if err != nil {
		t.Skip("no sh")
	}
	sleep, err := measure(sh, "-c", "sleep 0.3")
	if err != nil {
		t.Fatal(err)
	}
	if sleep.wall < 300*time.Millisecond || sleep.cpu > 100*time.Millisecond {
		t.Fatalf("sleep: wall %v cpu %v, want wall >= 300ms, cpu < 100ms", sleep.wall, sleep.cpu)
	}
	spin, err := measure(sh, "-c", "i=0; while [ $i -lt 200000 ]; do i=$((i+1)); done")
	if err != nil {
		t.Fatal(err)
	}
	if spin.cpu < 50*time.Millisecond {
		t.Fatalf("spin: cpu %v (wall %v), want >= 50ms", spin.cpu, spin.wall)
	}
}
