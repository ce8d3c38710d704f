package collect

import (
	"context"
	"database/sql"
	"errors"
	"strconv"
	"strings"
	"testing"
	"time"
)

// CloseContext gives up when its context ends, even while SQLite waits
// for a store another connection holds locked (its busy timeout is 10s),
// a write of the background flusher under way included; what was not
// written is in Unwritten, whole.
func TestCloseContextLockedStore(t *testing.T) {
	r, _ := newRecorder(t, Options{Reopen: true, FlushInterval: 20 * time.Millisecond})
	h, err := sql.Open("sqlite", r.storeNow().Path)
	if err != nil {
		t.Fatal(err)
	}
	defer h.Close()
	conn, err := h.Conn(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	if _, err := conn.ExecContext(context.Background(), "BEGIN EXCLUSIVE"); err != nil {
		t.Fatal(err)
	}
	for i := 0; i < 5; i++ {
		if err := r.Add(Sample{Name: "locked_g", Type: TypeGauge, TS: int64(1000 * (i + 1)), Value: float64(i)}); err != nil {
			t.Fatal(err)
		}
	}
	time.Sleep(100 * time.Millisecond) // the flusher is now waiting on the lock
	ctx, cancel := context.WithTimeout(context.Background(), time.Second)
	defer cancel()
	began := time.Now()
	err = r.CloseContext(ctx)
	if took := time.Since(began); err == nil || took > 5*time.Second {
		t.Fatalf("CloseContext = %v after %v; want an error within about 1s", err, took)
	}
	if got := len(r.Unwritten()); got != 5 {
		t.Errorf("Unwritten holds %d samples, want the 5 added", got)
	}
	conn.ExecContext(context.Background(), "ROLLBACK")
}

// addGauges adds n samples of n series of slow_g, buffered (no flush).
func addGauges(t *testing.T, r *Recorder, n int) {
	t.Helper()
	for i := 0; i < n; i++ {
		s := Sample{Name: "slow_g", Type: TypeGauge, Labels: map[string]string{"i": strconv.Itoa(i)}, TS: 1000, Value: float64(i)}
		if err := r.Add(s); err != nil {
			t.Fatal(err)
		}
	}
}

// slowWrites makes each write transaction take at least d once begun.
func slowWrites(d time.Duration) func() { return func() { time.Sleep(d) } }

// A bound on CloseContext cuts waits for the store, never a write under
// way: a final flush that takes longer than the bound once begun (no lock
// anywhere) is written whole and Close succeeds.
func TestCloseContextSlowWriteCompletes(t *testing.T) {
	const n, bound = 200, 50 * time.Millisecond
	r, _ := newRecorder(t, Options{BufferSize: 2 * n, testInTx: slowWrites(6 * bound)})
	path := r.storeNow().Path
	addGauges(t, r, n)
	ctx, cancel := context.WithTimeout(context.Background(), bound)
	defer cancel()
	began := time.Now()
	err := r.CloseContext(ctx)
	if err != nil {
		t.Fatalf("CloseContext = %v after %v; want the slow write done", err, time.Since(began))
	}
	if left := len(r.Unwritten()); left != 0 {
		t.Errorf("Unwritten holds %d samples", left)
	}
	if got := countSamples(t, path); got != n {
		t.Errorf("the store holds %d of the %d samples", got, n)
	}
}

// CloseWithin's bound starts again after each write the store takes: with
// the background flusher writing chunks that each take longer than the
// bound, and more queued behind them, everything is written.
func TestCloseWithinBoundsNoProgressOnly(t *testing.T) {
	const n, chunk, bound = 400, 100, 50 * time.Millisecond
	r, _ := newRecorder(t, Options{BufferSize: chunk, MaxBuffer: 2 * n, testInTx: slowWrites(3 * bound)})
	path := r.storeNow().Path
	addGauges(t, r, n) // the flusher is writing the first chunk
	began := time.Now()
	if err := r.CloseWithin(bound); err != nil {
		t.Fatalf("CloseWithin = %v after %v; want every write done", err, time.Since(began))
	}
	if got := countSamples(t, path); got != n {
		t.Errorf("the store holds %d of the %d samples", got, n)
	}
}

func countSamples(t *testing.T, path string) int {
	t.Helper()
	h, err := sql.Open("sqlite", path)
	if err != nil {
		t.Fatal(err)
	}
	defer h.Close()
	var got int
	if err := h.QueryRow("SELECT count(*) FROM samples").Scan(&got); err != nil {
		t.Fatal(err)
	}
	return got
}

// With the store locked, the error says so (another connection was seen
// holding the write lock); with a store that fails without a lock, it
// does not.
func TestWaitErrorLocked(t *testing.T) {
	r, _ := newRecorder(t, Options{Reopen: true})
	h, err := sql.Open("sqlite", r.storeNow().Path)
	if err != nil {
		t.Fatal(err)
	}
	defer h.Close()
	conn, err := h.Conn(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	if _, err := conn.ExecContext(context.Background(), "BEGIN EXCLUSIVE"); err != nil {
		t.Fatal(err)
	}
	addGauges(t, r, 3)
	err = r.CloseWithin(200 * time.Millisecond)
	var we *WaitError
	if !errors.As(err, &we) || !we.Locked {
		t.Errorf("CloseWithin on a locked store = %v; want a WaitError with Locked", err)
	}
	conn.ExecContext(context.Background(), "ROLLBACK")

	r, _ = newRecorder(t, Options{Reopen: true})
	if _, err := r.storeNow().DBForTest().Exec(`CREATE TRIGGER full BEFORE INSERT ON samples BEGIN SELECT RAISE(ABORT, 'database or disk is full'); END`); err != nil {
		t.Fatal(err)
	}
	addGauges(t, r, 3)
	err = r.CloseWithin(150 * time.Millisecond)
	if !errors.As(err, &we) || we.Locked || !strings.Contains(err.Error(), "disk is full") {
		t.Errorf("CloseWithin on a failing store = %v; want a WaitError naming the failure, not Locked", err)
	}
	if got := len(r.Unwritten()); got != 3 {
		t.Errorf("Unwritten holds %d samples, want 3", got)
	}
}
