package agentcmd

import (
	"context"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/vigil-metrics/vigil/cmd/internal/cli"
	"github.com/vigil-metrics/vigil/internal/store"
)

func TestParseRetention(t *testing.T) {
	for in, want := range map[string]time.Duration{"7d": 7 * 24 * time.Hour, "12h": 12 * time.Hour, "0": 0, "2w": 14 * 24 * time.Hour} {
		if got, err := ParseRetention(in); err != nil || got != want {
			t.Errorf("ParseRetention(%q) = %v, %v; want %v", in, got, err, want)
		}
	}
	for in, want := range map[string]string{"7": "7: a duration needs a unit, e.g. 7d", "1.5": "1.5: a duration needs a unit, e.g. 1.5d", "7x": `"7x": want a duration like 30d`} {
		if _, err := ParseRetention(in); err == nil || err.Error() != want {
			t.Errorf("ParseRetention(%q) = %v, want %q", in, err, want)
		}
	}
}

func run(t *testing.T, dir string, args ...string) error {
	t.Helper()
	cmd := New("vigil-agent", func() *slog.Logger { return slog.New(slog.DiscardHandler) }, nil, nil, "test")
	cmd.Flags().String("config", "", "")
	cmd.SetArgs(append([]string{"--db", filepath.Join(dir, "v.db"), "--once", "--gpu", "off", "--host", "h"}, args...))
	cmd.SilenceUsage, cmd.SilenceErrors = true, true
	return cmd.Execute()
}

// A retention without a unit is a usage error, in flags and in the config
// file alike; the config's error names its place.
func TestRetentionNeedsAUnit(t *testing.T) {
	dir := t.TempDir()
	err := run(t, dir, "--retention", "7")
	if cli.ExitCode(err) != 2 || err.Error() != "--retention 7: a duration needs a unit, e.g. 7d" {
		t.Errorf("--retention 7: %v (exit %d)", err, cli.ExitCode(err))
	}
	cfg := filepath.Join(dir, "vigil.yaml")
	os.WriteFile(cfg, []byte("db: x.db\nretention: 7\n"), 0o644)
	err = run(t, dir, "--config", cfg)
	if cli.ExitCode(err) != 2 || err.Error() != cfg+":2:12: retention 7: a duration needs a unit, e.g. 7d" {
		t.Errorf("retention: 7 in the config: %v (exit %d)", err, cli.ExitCode(err))
	}
	// The flag wins over the file.
	if err := run(t, dir, "--config", cfg, "--retention", "7d"); err != nil {
		t.Errorf("--retention 7d over a bad config: %v", err)
	}
	os.WriteFile(cfg, []byte("retention: 7d\n"), 0o644)
	if err := run(t, dir, "--config", cfg); err != nil {
		t.Errorf("retention: 7d: %v", err)
	}
	err = run(t, dir, "--config", filepath.Join(dir, "missing.yaml"))
	if cli.ExitCode(err) != 2 || !strings.Contains(err.Error(), "missing.yaml") {
		t.Errorf("missing --config: %v", err)
	}
}

// The agent's config is vigil.yaml read by configfile: an unknown
// top-level key is a usage error naming its place and the keys there are,
// as for every vigil command.
func TestConfigUnknownKey(t *testing.T) {
	dir := t.TempDir()
	cfg := filepath.Join(dir, "vigil.yaml")
	os.WriteFile(cfg, []byte("db: x.db\nretention: 7d\nretension: 30d\n"), 0o644)
	err := run(t, dir, "--config", cfg)
	want := cfg + `:3:1: unknown field "retension" in the config file (want alert_rules, cache_dir, channels, ` +
		`correlation_rules, db, escalation, inhibit_rules, lint, log_format, log_level, recording_rules, report, retention, serve, settings, ` +
		`silences, slos, sources, state)`
	if cli.ExitCode(err) != 2 || err == nil || err.Error() != want {
		t.Errorf("got %v (exit %d)\nwant %s", err, cli.ExitCode(err), want)
	}
}

func runNoDB(t *testing.T, args ...string) error {
	t.Helper()
	cmd := New("vigil-agent", func() *slog.Logger { return slog.New(slog.DiscardHandler) }, nil, nil, "test")
	cmd.Flags().String("config", "", "")
	cmd.SetArgs(append([]string{"--once", "--gpu", "off", "--host", "h"}, args...))
	cmd.SilenceUsage, cmd.SilenceErrors = true, true
	return cmd.Execute()
}

// The remote-write flags are checked up front, as usage errors that show
// no credentials.
func TestRemoteWriteFlags(t *testing.T) {
	dir := t.TempDir()
	t.Chdir(dir)
	for _, c := range []struct {
		args []string
		want string
	}{
		{[]string{"--no-store"}, "--no-store needs at least one --remote-write URL"},
		{[]string{"--remote-write", "ftp://alice:s3cret@x/w"}, "--remote-write ftp://xxxxx@x/w: want an http:// or https:// URL with a host"},
		{[]string{"--remote-write", "http://a/w", "--remote-write", "http://a/w"}, "--remote-write http://a/w given twice"},
		{[]string{"--remote-write", "http://a/w", "--remote-write-protocol", "3.0"}, `--remote-write-protocol "3.0": want auto, 1.0 or 2.0`},
		{[]string{"--remote-write", "http://a/w", "--remote-write-queue", "0"}, "--remote-write-queue must be positive"},
		{[]string{"--remote-write", "http://a/w", "--remote-write-flush-timeout", "x"}, `--remote-write-flush-timeout "x": want a positive duration like 10s`},
		{[]string{"--remote-write", "http://a/w", "--remote-write-timeout", "0s"}, `--remote-write-timeout "0s": want a positive duration like 30s`},
		{[]string{"--shutdown-timeout", "soon"}, `--shutdown-timeout "soon": want a positive duration like 5s`},
		{[]string{"--max-label-bytes", "0"}, "--max-label-bytes and --max-series-bytes must be positive"},
		{[]string{"--max-label-bytes", "4096", "--max-series-bytes", "1024"}, "--max-label-bytes 4096 is more than --max-series-bytes 1024: no such series could be held"},
	} {
		err := runNoDB(t, c.args...)
		if cli.ExitCode(err) != 2 || err.Error() != c.want {
			t.Errorf("%v: %v (exit %d), want %q", c.args, err, cli.ExitCode(err), c.want)
		}
	}
	err := run(t, dir, "--no-store", "--remote-write", "http://a/w")
	if cli.ExitCode(err) != 2 || err.Error() != "--db and --no-store: give one or the other" {
		t.Errorf("--db with --no-store: %v", err)
	}
	if entries, _ := os.ReadDir(dir); len(entries) != 0 {
		t.Errorf("usage errors left files: %v", entries)
	}
}

// --no-store --once sends one round and writes no store, not even the
// default ./vigil.db.
func TestNoStoreOnce(t *testing.T) {
	var mu sync.Mutex
	n := 0
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		mu.Lock()
		n++
		mu.Unlock()
		if strings.Contains(r.Header.Get("Content-Type"), "v2") {
			http.Error(w, "1.0 only", http.StatusUnsupportedMediaType)
			return
		}
		w.WriteHeader(http.StatusNoContent)
	}))
	defer srv.Close()
	dir := t.TempDir()
	t.Chdir(dir)
	if err := runNoDB(t, "--no-store", "--remote-write", srv.URL+"/api/v1/write"); err != nil {
		t.Fatal(err)
	}
	if entries, _ := os.ReadDir(dir); len(entries) != 0 {
		t.Errorf("--no-store left files: %v", entries)
	}
	mu.Lock()
	defer mu.Unlock()
	if n != 2 { // 2.0 refused, then 1.0
		t.Errorf("%d requests, want 2", n)
	}
}

// The typo: `retension: 365d` must not let the 30d default delete
// a store's older samples. The agent refuses the config (exit 2, naming the
// place) before it opens the store; the same store under `retention: 30d`
// loses them, so the samples are old enough to be deleted.
func TestRetentionTypoDeletesNothing(t *testing.T) {
	for _, c := range []struct {
		config string
		exit   int
		kept   int
	}{
		{"retension: 365d\n", 2, 40},
		{"retention: 365d\n", 0, 40},
		{"retention: 30d\n", 0, 0},
	} {
		dir := t.TempDir()
		db := filepath.Join(dir, "v.db")
		st, err := store.Open(context.Background(), db, store.Options{})
		if err != nil {
			t.Fatal(err)
		}
		old := time.Now().Add(-40 * 24 * time.Hour)
		var samples []store.Sample
		for i := range 40 {
			samples = append(samples, store.Sample{Name: "old_g", Type: store.Gauge, TS: old.Add(time.Duration(i) * time.Minute).UnixMilli(), Value: 1})
		}
		if _, err := st.Write(context.Background(), samples); err != nil {
			t.Fatal(err)
		}
		st.Close()
		cfg := filepath.Join(dir, "agent.yaml")
		os.WriteFile(cfg, []byte(c.config), 0o644)
		err = run(t, dir, "--config", cfg)
		if cli.ExitCode(err) != c.exit {
			t.Errorf("%q: %v (exit %d), want exit %d", c.config, err, cli.ExitCode(err), c.exit)
		}
		if c.exit == 2 && (err == nil || !strings.HasPrefix(err.Error(), cfg+`:1:1: unknown field "retension"`)) {
			t.Errorf("%q: %v, want the place and the key", c.config, err)
		}
		st, err = store.Open(context.Background(), db, store.Options{ReadOnly: true})
		if err != nil {
			t.Fatal(err)
		}
		var n int
		if err := st.DBForTest().QueryRow(`SELECT count(*) FROM metrics WHERE name = 'old_g'`).Scan(&n); err != nil {
			t.Fatal(err)
		}
		st.Close()
		if n != c.kept {
			t.Errorf("%q: %d of the 40 old samples left, want %d", c.config, n, c.kept)
		}
	}
}
