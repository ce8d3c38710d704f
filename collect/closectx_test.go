package collect

import (
	"context"
	"database/sql"
	"testing"
	"time"

	"github.com/vigil-metrics/vigil/internal/store"
)

// CloseContext gives up when its context ends, even while SQLite waits
// for a store another connection holds locked (its busy timeout is 10s),
// a write of the background flusher under way included; what was not
// written is in Unwritten, whole.
func TestCloseContextLockedStore(t *testing.T) {
	r, _ := newRecorder(t, Options{Reopen: true, FlushInterval: 20 * time.Millisecond})
	h, err := sql.Open("sqlite", r.Store().Path)
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
		if err := r.Add(store.Sample{Name: "locked_g", Type: store.Gauge, TS: int64(1000 * (i + 1)), Value: float64(i)}); err != nil {
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
