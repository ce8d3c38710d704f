package agent

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/vigil-metrics/vigil/internal/scrape"
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
	if !strings.Contains(err.Error(), "within --shutdown-timeout 2s: another process holds its write lock") {
		t.Errorf("Run = %v; want it to name --shutdown-timeout and the lock", err)
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

// ShutdownTimeout bounds waiting for a store that makes no progress, never
// a write under way: --once scraping an exposition whose one write (10,000
// new series, some 300 ms) takes longer than a 50ms ShutdownTimeout, no
// lock anywhere, stores every sample, spills nothing and returns nil (it
// gave up mid-write, spilled and failed before).
func TestOnceBigWriteOutlastsShutdownTimeout(t *testing.T) {
	const n = 10000
	var b strings.Builder
	b.WriteString("# TYPE big_g gauge\n")
	for i := 0; i < n; i++ {
		fmt.Fprintf(&b, "big_g{i=\"%d\"} %d\n", i, i)
	}
	body := b.String()
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { io.WriteString(w, body) }))
	defer srv.Close()
	dir := t.TempDir()
	db := filepath.Join(dir, "v.db")
	var log syncBuf
	began := time.Now()
	err := Run(context.Background(), Config{DB: db, Once: true, GPU: "off", Host: "h", SpillDir: t.TempDir(),
		Targets: []scrape.Target{{Job: "app", URL: srv.URL}}, BufferSize: 2 * n, MaxBuffer: 2 * n, MaxSeries: 2 * n,
		ShutdownTimeout: 50 * time.Millisecond, Logger: slog.New(slog.NewTextHandler(&log, nil))})
	if err != nil {
		t.Fatalf("Run = %v after %v; want nil\n%s", err, time.Since(began), log.String())
	}
	if spills := spillFiles(t, dir); len(spills) != 0 {
		t.Errorf("spilled %v", spills)
	}
	var got int
	if err := openDB(t, db).QueryRow(`SELECT count(*) FROM metrics WHERE name = 'big_g'`).Scan(&got); err != nil || got != n {
		t.Errorf("the store holds %d big_g samples (%v), want %d", got, err, n)
	}
}

// A store that fails without a lock held (here: every insert refused as on
// a full disk) is given up on after ShutdownTimeout with a message saying
// what happened, not that it was locked.
func TestFailingStoreMessageNamesNoLock(t *testing.T) {
	dir := t.TempDir()
	db := filepath.Join(dir, "v.db")
	addr, log, stop := runAgent(t, Config{DB: db, Interval: time.Hour, BufferSize: 100000, SpillDir: t.TempDir(),
		ShutdownTimeout: 300 * time.Millisecond})
	breakStore(t, db)
	if code, _, msg := pushBatch(t, addr, 0); code != 202 {
		t.Fatalf("push: %d %s", code, msg)
	}
	err := stop()
	if err == nil {
		t.Fatalf("Run = nil with a failing store\n%s", log)
	}
	msg := err.Error()
	if !strings.Contains(msg, "within --shutdown-timeout 300ms") || !strings.Contains(msg, "database or disk is full") || strings.Contains(msg, "lock") {
		t.Errorf("Run = %v; want it to name --shutdown-timeout 300ms and the store's error, and no lock", err)
	}
	if spills := spillFiles(t, dir); len(spills) != 1 || countSpilledFD(t, spills[0]) != 50 {
		t.Errorf("spills %v; want one holding the 50 samples", spills)
	}
}
