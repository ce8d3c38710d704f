package agent

import (
	"context"
	"fmt"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// Another process holding the store's write lock (BEGIN EXCLUSIVE) at
// shutdown does not hold the agent past its stop timeout: the final writes
// give up after ShutdownTimeout, SQLite's busy waits included, and what
// was accepted is spilled, exactly, then loaded at the next start.
func TestLockedStoreSpillsWithinShutdownTimeout(t *testing.T) {
	dir := t.TempDir()
	db := filepath.Join(dir, "v.db")
	addr, log, stop := runAgent(t, Config{DB: db, Interval: time.Hour, BufferSize: 100000, SpillDir: t.TempDir(),
		ShutdownTimeout: 2 * time.Second})
	h := openDB(t, db)
	conn, err := h.Conn(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	if _, err := conn.ExecContext(context.Background(), "BEGIN EXCLUSIVE"); err != nil {
		t.Fatal(err)
	}
	var b strings.Builder
	for i := 0; i < 20; i++ {
		fmt.Fprintf(&b, `{"ts": %d, "name": "fd_g", "type": "gauge", "value": %d, "labels": {"p": "%d"}}`+"\n", 1795946400+i, i, i)
	}
	if code, msg := post(t, "http://"+addr+"/v1/metrics", b.String()); code != 202 {
		t.Fatalf("push: %d %s", code, msg)
	}
	began := time.Now()
	err = stop()
	took := time.Since(began)
	if took > 15*time.Second {
		t.Errorf("shutdown took %v with the store locked; want about the 2s ShutdownTimeout", took)
	}
	spills := spillFiles(t, dir)
	if len(spills) != 1 || err == nil || !strings.Contains(err.Error(), spills[0]) {
		t.Fatalf("Run = %v, spills beside the store %v; want one, named\n%s", err, spills, log)
	}
	if !strings.Contains(err.Error(), "within --shutdown-timeout 2s") {
		t.Errorf("Run = %v; want it to name --shutdown-timeout", err)
	}
	if n := countSpilledFD(t, spills[0]); n != 20 {
		t.Errorf("the spill holds %d of the 20 accepted samples", n)
	}
	if _, err := conn.ExecContext(context.Background(), "ROLLBACK"); err != nil {
		t.Fatal(err)
	}
	conn.Close()
	_, log, stop = runAgent(t, Config{DB: db, Interval: time.Hour})
	stop()
	if n := storedFD(t, db); n != 20 {
		t.Errorf("after the next start the store holds %d of the 20 accepted samples\n%s", n, log)
	}
}
