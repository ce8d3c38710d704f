package agentcmd

import (
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/vigil-metrics/vigil/cmd/internal/cli"
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
	cmd := New("vigil-agent", func() *slog.Logger { return slog.New(slog.DiscardHandler) }, nil, "test")
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
