package main

import (
	"bytes"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
)

// Every file a run makes from a 0600 store is no more readable than the
// store, whatever the umask (022 here, which makes 0644 files): the state
// DB (0600 always), the store's DuckDB cache, the record store of the
// recording rules, and the folder vigil export creates.
func TestFilesFromAPrivateStore(t *testing.T) {
	old := syscall.Umask(0o022)
	defer syscall.Umask(old)
	dir := t.TempDir()
	file := func(name, body string) string {
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, []byte(body), 0o600); err != nil {
			t.Fatal(err)
		}
		return p
	}
	in := file("in.jsonl", `{"ts":"2026-11-29T10:01:00Z","name":"http_requests_total","type":"counter","value":30,"service":"api","labels":{"token":"s3cret"}}
{"ts":"2026-11-29T10:02:00Z","name":"http_requests_total","type":"counter","value":60,"service":"api","labels":{"token":"s3cret"}}
`)
	cfg := file("c.yaml", `alert_rules:
  - name: many
    metric_path: http_requests_total.increase
    evaluation_window: 300
    severity: low
    condition: greater_than
    threshold: 1
recording_rules:
  - source: http_requests_total
    target: http_requests_rate_5m
    aggregation: rate
    window: 300
`)
	db := filepath.Join(dir, "m.db")
	vigil := func(args ...string) {
		t.Helper()
		var stdout, stderr bytes.Buffer
		if code := run(args, strings.NewReader(""), &stdout, &stderr); code != 0 {
			t.Fatalf("vigil %s: exit %d\n%s%s", strings.Join(args, " "), code, stdout.String(), stderr.String())
		}
	}
	vigil("import", "--db", db, in)
	if err := os.Chmod(db, 0o600); err != nil {
		t.Fatal(err)
	}
	os.Remove(db + ".cache.duckdb") // none yet: import writes no cache; be sure
	state, rec := filepath.Join(dir, "s.db"), filepath.Join(dir, "rec.db")
	vigil("evaluate", "--db", db, "--config", cfg, "--state", state, "--record-db", rec, "--at", "2026-11-29T10:05:00Z")
	vigil("export", "--db", db, "--out", filepath.Join(dir, "out"), "--format", "csv")
	for name, want := range map[string]fs.FileMode{
		"s.db": 0o600, "m.db.cache.duckdb": 0o600, "rec.db": 0o600, "out": 0o700,
	} {
		st, err := os.Stat(filepath.Join(dir, name))
		if err != nil {
			t.Error(err)
			continue
		}
		if got := st.Mode().Perm(); got != want {
			t.Errorf("%s: mode %v, want %v", name, got, want)
		}
	}
}
