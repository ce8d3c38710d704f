// Command vigil-agent is the collection agent alone: `vigil collect`
// without the analytics, so it links no DuckDB and stays small.
//
// It must not import analyze, alert or report (internal/layout checks it).
package main

import (
	"context"
	"log/slog"
	"os"
	"os/signal"
	"runtime/debug"
	"syscall"

	"github.com/spf13/cobra"

	"github.com/vigil-metrics/vigil/cmd/internal/agentcmd"
	"github.com/vigil-metrics/vigil/cmd/internal/cli"
)

// Version is set at link time (-ldflags "-X main.Version=...", as `make
// build` and `make release` do from git describe); otherwise the module
// version go install records, else "dev".
var Version = ""

func version() string {
	if Version != "" {
		return Version
	}
	if bi, ok := debug.ReadBuildInfo(); ok && bi.Main.Version != "" && bi.Main.Version != "(devel)" {
		return bi.Main.Version
	}
	return "dev"
}

func main() {
	// Not deferred: os.Exit below would skip it; the process ends anyway.
	ctx, _ := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	var level slog.LevelVar
	cmd := agentcmd.New("vigil-agent", func() *slog.Logger {
		return slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: &level}))
	}, nil, nil, version())
	cmd.Version = version()
	cmd.SetVersionTemplate("vigil-agent {{.Version}}\n")
	logLevel := cmd.Flags().String("log-level", "info", "log level: debug, info, warn, error")
	// The agent reads its own keys (retention:, sources:) from the shared
	// file; an unknown top-level key is an error there too.
	cmd.Flags().String("config", "", "config file (default ./vigil.yaml if present)")
	cmd.PreRunE = func(*cobra.Command, []string) error {
		if err := level.UnmarshalText([]byte(*logLevel)); err != nil {
			return cli.Usagef("--log-level %q: want debug, info, warn or error", *logLevel)
		}
		return nil
	}
	cmd.SilenceUsage, cmd.SilenceErrors = true, true
	cli.UsageErrors(cmd)
	os.Exit(run(ctx, cmd))
}

func run(ctx context.Context, cmd *cobra.Command) int {
	return cli.Report(os.Stderr, "vigil-agent", cmd.ExecuteContext(ctx))
}
