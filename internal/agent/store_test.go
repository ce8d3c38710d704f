package agent

import (
	"bufio"
	"bytes"
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/vigil-metrics/vigil/internal/ingest"
	"github.com/vigil-metrics/vigil/internal/store"
)

// syncBuf is a log sink safe for the agent's goroutines.
type syncBuf struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuf) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuf) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

// runAgent starts Run with a push endpoint and returns its address, the
// log, and a stop function returning Run's error.
func runAgent(t *testing.T, cfg Config) (addr string, log *syncBuf, stop func() error) {
	t.Helper()
	log = &syncBuf{}
	cfg.Logger = slog.New(slog.NewTextHandler(log, &slog.HandlerOptions{Level: slog.LevelDebug}))
	if cfg.Listen == "" {
		cfg.Listen = "127.0.0.1:0"
	}
	if cfg.GPU == "" {
		cfg.GPU = "off"
	}
	if cfg.Host == "" {
		cfg.Host = "h"
	}
	ready := make(chan string, 1)
	cfg.Ready = func(a string) { ready <- a }
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- Run(ctx, cfg) }()
	select {
	case addr = <-ready:
	case err := <-done:
		cancel()
		t.Fatalf("agent did not start: %v\n%s", err, log)
	case <-time.After(10 * time.Second):
		cancel()
		t.Fatalf("agent did not start\n%s", log)
	}
	stopped := false
	stop = func() error {
		if stopped {
			return nil
		}
		stopped = true
		cancel()
		select {
		case err := <-done:
			return err
		case <-time.After(30 * time.Second):
			t.Fatalf("agent did not stop\n%s", log)
			return nil
		}
	}
	t.Cleanup(func() { stop() })
	return addr, log, stop
}

func post(t *testing.T, url, body string) (int, string) {
	t.Helper()
	resp, err := http.Post(url, "application/x-ndjson", strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b)
}

func openDB(t *testing.T, db string) *sql.DB {
	t.Helper()
	h, err := sql.Open("sqlite", db+"?_pragma=busy_timeout(5000)")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { h.Close() })
	return h
}

// A store the agent cannot write is refused at start (the check is a real
// write transaction; here it is replaced to fail as it would on a
// read-only mount), before anything is accepted.
func TestRefusesUnwritableStore(t *testing.T) {
	db := filepath.Join(t.TempDir(), "v.db")
	called := false
	err := Run(context.Background(), Config{DB: db, GPU: "off", Host: "h", Listen: "127.0.0.1:0",
		Ready: func(string) { t.Error("the push endpoint was opened") },
		checkWritable: func(*store.Store) error {
			called = true
			return errors.New("attempt to write a readonly database (8)")
		}})
	if !errors.Is(err, ErrStoreNotWritable) || !strings.Contains(err.Error(), db+": attempt to write a readonly database") {
		t.Fatalf("Run = %v, want ErrStoreNotWritable naming the store and the reason", err)
	}
	if !called {
		t.Error("the writability check was not called")
	}
}

// The default check on a real read-only file (as root the mode is no
// obstacle, so this test skips there).
func TestRefusesReadOnlyFile(t *testing.T) {
	if os.Geteuid() == 0 {
		t.Skip("running as root: file modes do not stop writes")
	}
	db := filepath.Join(t.TempDir(), "v.db")
	st, err := store.Open(context.Background(), db, store.Options{})
	if err != nil {
		t.Fatal(err)
	}
	st.Close()
	os.Chmod(db, 0o444)
	err = Run(context.Background(), Config{DB: db, GPU: "off", Host: "h", Once: true})
	if !errors.Is(err, ErrStoreNotWritable) {
		t.Fatalf("Run on a 0444 store = %v, want ErrStoreNotWritable", err)
	}
	ro := mustOpen(t, db)
	if err := checkWritable(ro); err == nil {
		t.Error("checkWritable passed a read-only file")
	}
	ro.Close()
	chmodAll(t, db, 0o644)
	if err := checkWritable(mustOpen(t, db)); err != nil {
		t.Errorf("checkWritable on a writable store: %v", err)
	}
}

func mustOpen(t *testing.T, db string) *store.Store {
	t.Helper()
	st, err := store.Open(context.Background(), db, store.Options{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	return st
}

// An agent whose store turned read-only (started past the check here, as
// after a remount) recovers once the file is writable again: the store is
// reopened after a failed write, and nothing accepted is lost.
func TestReopenAfterPermissionsFixed(t *testing.T) {
	if os.Geteuid() == 0 {
		t.Skip("running as root: file modes do not stop writes")
	}
	db := filepath.Join(t.TempDir(), "v.db")
	mustOpen(t, db).Close()
	os.Chmod(db, 0o444)
	addr, log, stop := runAgent(t, Config{DB: db, Interval: 200 * time.Millisecond, checkWritable: func(*store.Store) error { return nil }})
	var b strings.Builder
	for i := 0; i < 50; i++ {
		fmt.Fprintf(&b, `{"ts": %d, "name": "kept_total", "type": "counter", "value": 1}`+"\n", 1795946400+i)
	}
	if code, msg := post(t, "http://"+addr+"/v1/metrics", b.String()); code != 202 {
		t.Fatalf("push: %d %s", code, msg)
	}
	time.Sleep(700 * time.Millisecond)
	if !strings.Contains(log.String(), "flush failed") {
		t.Fatalf("no failed flush while read-only:\n%s", log)
	}
	chmodAll(t, db, 0o644)
	time.Sleep(2500 * time.Millisecond)
	if err := stop(); err != nil {
		t.Fatalf("stop: %v\n%s", err, log)
	}
	if got := query(t, db, `SELECT count(*), '', '' FROM metrics WHERE name = 'kept_total'`); got[0] != "50  " {
		t.Errorf("kept_total rows = %q, want 50", got[0])
	}
}

// After a failed write the store is reopened and the series re-resolved:
// once the store takes writes again, everything accepted is written once.
func TestReopenKeepsSeries(t *testing.T) {
	db := filepath.Join(t.TempDir(), "v.db")
	addr, log, stop := runAgent(t, Config{DB: db, Interval: 150 * time.Millisecond})
	push := func(from int) {
		var b strings.Builder
		for i := from; i < from+20; i++ {
			fmt.Fprintf(&b, `{"ts": %d, "name": "r_total", "type": "counter", "value": 1, "labels": {"k": "%d"}}`+"\n", 1795946400+i, i%3)
		}
		if code, msg := post(t, "http://"+addr+"/v1/metrics", b.String()); code != 202 {
			t.Fatalf("push: %d %s", code, msg)
		}
	}
	push(0)
	time.Sleep(400 * time.Millisecond) // written, series resolved
	h := openDB(t, db)
	if _, err := h.Exec(`CREATE TRIGGER full BEFORE INSERT ON samples BEGIN SELECT RAISE(ABORT, 'database or disk is full'); END`); err != nil {
		t.Fatal(err)
	}
	push(20)
	time.Sleep(600 * time.Millisecond)
	if !strings.Contains(log.String(), "reopened the store") {
		t.Errorf("no reopen logged:\n%s", log)
	}
	h.Exec(`DROP TRIGGER full`)
	time.Sleep(1500 * time.Millisecond)
	if err := stop(); err != nil {
		t.Fatalf("stop: %v\n%s", err, log)
	}
	got := query(t, db, `SELECT count(*), count(DISTINCT series_id), count(DISTINCT ts) FROM samples WHERE series_id IN (SELECT id FROM series WHERE name = 'r_total')`)
	if got[0] != "40 3 40" {
		t.Errorf("r_total rows, series, instants = %q, want 40 3 40", got[0])
	}
}

type spilled struct {
	TS      float64           `json:"ts"`
	Name    string            `json:"name"`
	Type    string            `json:"type"`
	Value   float64           `json:"value"`
	Labels  map[string]string `json:"labels"`
	Service string            `json:"service"`
}

// Samples the store would not take at shutdown go to a spill file beside
// it, in the import's JSON Lines, counted in the log; vigil import loads
// them into a store as they were pushed.
func TestSpillAtShutdown(t *testing.T) {
	dir := t.TempDir()
	db := filepath.Join(dir, "v.db")
	at := time.Date(2026, 11, 29, 10, 0, 0, 0, time.UTC)
	addr, log, stop := runAgent(t, Config{DB: db, Interval: time.Hour, BufferSize: 100000, Now: func() time.Time { return at }})
	h := openDB(t, db)
	if _, err := h.Exec(`CREATE TRIGGER full BEFORE INSERT ON samples BEGIN SELECT RAISE(ABORT, 'database or disk is full'); END`); err != nil {
		t.Fatal(err)
	}
	var b strings.Builder
	var want []string
	for i := 0; i < 30; i++ {
		ts := 1795946400.0 + float64(i) + 0.125
		fmt.Fprintf(&b, `{"ts": %v, "name": "spilled_total", "type": "counter", "value": %d, "labels": {"i": "%d"}, "service": "api"}`+"\n", ts, i+1, i%2)
		want = append(want, fmt.Sprintf("spilled_total counter %v %d {\"i\":\"%d\"} api", ts, i+1, i%2))
	}
	b.WriteString(`{"ts": 1795946500.5, "name": "spilled_gauge", "type": "gauge", "value": -2.5}` + "\n")
	want = append(want, "spilled_gauge gauge 1.7959465005e+09 -2.5 {} ")
	if code, msg := post(t, "http://"+addr+"/v1/metrics", b.String()); code != 202 {
		t.Fatalf("push: %d %s", code, msg)
	}
	err := stop()
	spill := fmt.Sprintf("%s.spill-%d.jsonl", db, at.Unix())
	if err == nil || !strings.Contains(err.Error(), spill) {
		t.Fatalf("Run = %v, want an error naming the spill file %s", err, spill)
	}
	if !strings.Contains(log.String(), "level=WARN") || !strings.Contains(log.String(), "spill="+spill) {
		t.Errorf("no warning naming the spill file:\n%s", log)
	}
	f, err := os.Open(spill)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	var got []string
	lines := 0
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		lines++
		var r spilled
		if err := jsonUnmarshalStrict(sc.Bytes(), &r); err != nil {
			t.Fatalf("spill line %d: %v: %s", lines, err, sc.Bytes())
		}
		if strings.HasPrefix(r.Name, "spilled_") {
			l := "{}"
			if r.Labels != nil {
				l = fmt.Sprintf(`{"i":"%s"}`, r.Labels["i"])
			}
			got = append(got, fmt.Sprintf("%s %s %v %v %s %s", r.Name, r.Type, r.TS, r.Value, l, r.Service))
		}
	}
	sort.Strings(got)
	sort.Strings(want)
	if strings.Join(got, "\n") != strings.Join(want, "\n") {
		t.Errorf("spilled\n%s\nwant\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
	if !strings.Contains(log.String(), fmt.Sprintf("samples=%d", lines)) {
		t.Errorf("the log does not count the %d spilled samples:\n%s", lines, log)
	}
	// The spill is what vigil import reads.
	fresh := filepath.Join(dir, "fresh.db")
	st := mustOpen(t, fresh)

	fh, err := os.Open(spill)
	if err != nil {
		t.Fatal(err)
	}
	defer fh.Close()
	n, err := ingest.Import(context.Background(), st, []ingest.Source{{Name: spill, Path: spill, R: fh}})
	if err != nil {
		t.Fatalf("import the spill: %v", err)
	}
	if n != int64(lines) {
		t.Errorf("imported %d samples, want %d", n, lines)
	}
	st.Close()
	rows := query(t, fresh, `SELECT name || ' ' || type || ' ' || timestamp, value || ' ' || labels, service_name FROM metrics WHERE name LIKE 'spilled_%'`)
	var imported []string
	for _, r := range rows {
		var name, typ, l, svc string
		var ts, v float64
		fmt.Sscanf(r, "%s %s %g %g %s %s", &name, &typ, &ts, &v, &l, &svc)
		imported = append(imported, strings.TrimSpace(fmt.Sprintf("%s %s %v %v %s %s", name, typ, ts, v, l, svc)))
	}
	for i := range want {
		want[i] = strings.TrimSpace(want[i])
	}
	sort.Strings(imported)
	if strings.Join(imported, "\n") != strings.Join(want, "\n") {
		t.Errorf("imported\n%s\nwant\n%s", strings.Join(imported, "\n"), strings.Join(want, "\n"))
	}
}

// A push whose metric has another type in the store (written there by
// another process after the agent started) is refused with 400 when it
// arrives, not accepted and dropped at the flush.
func TestTypeClashRefusedAtPush(t *testing.T) {
	db := filepath.Join(t.TempDir(), "v.db")
	addr, _, stop := runAgent(t, Config{DB: db, Interval: time.Hour})
	st := mustOpen(t, db)
	if _, err := st.Write(context.Background(), []store.Sample{{Name: "queue_depth", Type: store.Gauge, TS: 1795946400000, Value: 3}}); err != nil {
		t.Fatal(err)
	}
	st.Close()
	code, msg := post(t, "http://"+addr+"/v1/metrics", `{"ts": 1795946401, "name": "queue_depth", "type": "counter", "value": 1}`)
	if code != 400 || !strings.Contains(msg, "metric queue_depth is a gauge in the store, not a counter") {
		t.Errorf("clashing push: %d %s, want 400 naming the clash", code, msg)
	}
	if code, msg := post(t, "http://"+addr+"/v1/metrics", `{"ts": 1795946401, "name": "queue_depth", "type": "gauge", "value": 4}`); code != 202 {
		t.Errorf("matching push: %d %s", code, msg)
	}
	if err := stop(); err != nil {
		t.Fatal(err)
	}
	if got := query(t, db, `SELECT count(*), sum(value), '' FROM metrics WHERE name = 'queue_depth'`); got[0] != "2 7 " {
		t.Errorf("queue_depth rows = %q, want 2 7", got[0])
	}
}

// A body trickling in is cut off by the read timeout, and an idle
// keep-alive connection is closed.
func TestHTTPTimeouts(t *testing.T) {
	db := filepath.Join(t.TempDir(), "v.db")
	addr, _, _ := runAgent(t, Config{DB: db, Interval: time.Hour, ReadTimeout: 500 * time.Millisecond, IdleTimeout: 300 * time.Millisecond})
	conn, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	fmt.Fprintf(conn, "POST /v1/metrics HTTP/1.1\r\nHost: x\r\nContent-Length: 100\r\n\r\n")
	start := time.Now()
	closed := make(chan time.Duration, 1)
	go func() {
		io.Copy(io.Discard, conn) // until the server closes
		closed <- time.Since(start)
	}()
	tick := time.NewTicker(100 * time.Millisecond)
	defer tick.Stop()
loop:
	for i := 0; i < 100; i++ {
		select {
		case d := <-closed:
			if d > 3*time.Second {
				t.Errorf("slow body cut off after %v, want about the 500ms read timeout", d)
			}
			break loop
		case <-tick.C:
			conn.Write([]byte("{"))
		}
		if i == 99 {
			t.Fatal("a body at 10 bytes/s was never cut off")
		}
	}

	idle, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	defer idle.Close()
	fmt.Fprintf(idle, "GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n")
	r := bufio.NewReader(idle)
	resp, err := http.ReadResponse(r, nil)
	if err != nil {
		t.Fatal(err)
	}
	io.Copy(io.Discard, resp.Body)
	resp.Body.Close()
	idle.SetReadDeadline(time.Now().Add(5 * time.Second))
	start = time.Now()
	if _, err := r.ReadByte(); err != io.EOF {
		t.Errorf("idle keep-alive: read %v, want EOF when the server closes it", err)
	}
	if d := time.Since(start); d > 3*time.Second {
		t.Errorf("idle connection closed after %v, want about 300ms", d)
	}
}

// At start the agent says what retention will delete: the cut and the
// store's first sample.
func TestRetentionLoggedAtStart(t *testing.T) {
	db := filepath.Join(t.TempDir(), "v.db")
	at := time.Date(2026, 11, 29, 10, 0, 0, 0, time.UTC)
	st := mustOpen(t, db)
	st.Write(context.Background(), []store.Sample{{Name: "g", Type: store.Gauge, TS: at.Add(-72 * time.Hour).UnixMilli(), Value: 1}})
	st.Close()
	_, log, stop := runAgent(t, Config{DB: db, Interval: time.Hour, Retention: 48 * time.Hour, Now: func() time.Time { return at }})
	stop()
	want := `level=INFO msg="retention: samples older than the cut will be deleted" retention=48h0m0s cut=2026-11-27T10:00:00.000Z first_sample=2026-11-26T10:00:00.000Z deletes_now=true`
	if !strings.Contains(log.String(), want) {
		t.Errorf("log lacks\n%s\n%s", want, log)
	}
}

func jsonUnmarshalStrict(b []byte, v any) error {
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.DisallowUnknownFields()
	return dec.Decode(v)
}

// chmodAll changes the store and its journal files, as an operator fixing
// a store does (chmod 644 v.db*): SQLite gives a -wal it creates the
// store's mode.
func chmodAll(t *testing.T, db string, mode os.FileMode) {
	t.Helper()
	for _, p := range []string{db, db + "-wal", db + "-shm"} {
		if err := os.Chmod(p, mode); err != nil && !os.IsNotExist(err) {
			t.Fatal(err)
		}
	}
}
