// Command vigil turns metrics into decisions: it records and imports
// samples into SQLite stores and answers metric-path queries over them with
// DuckDB. See README.md and docs/ for the command-line contract.
//
// Its files are one command each: flags, output formats and exit codes.
// They must not hold domain logic; they call alert/run, analyze, analyze/slo
// and report (docs/architecture.md).
package main

import (
	"context"
	"io"
	"os"
	"os/signal"
	"runtime/pprof"
	"syscall"
	"time"

	"github.com/vigil-metrics/vigil/cmd/internal/cli"
)

func main() {
	os.Exit(run(os.Args[1:], os.Stdin, os.Stdout, os.Stderr))
}

// run executes one invocation and returns its exit code; it is the whole
// program minus os.Exit, so tests can drive it in-process.
func run(args []string, stdin io.Reader, stdout, stderr io.Writer) int {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	if f := os.Getenv("VIGIL_CPUPROFILE"); f != "" {
		// For profiling the binary as users run it; not part of the contract.
		if fh, err := os.Create(f); err == nil {
			pprof.StartCPUProfile(fh) //nolint:errcheck
			defer pprof.StopCPUProfile()
		}
	}
	a := &app{stdin: stdin, stdout: stdout, stderr: stderr, now: time.Now}
	root := newRootCmd(a)
	root.SetArgs(args)
	root.SetIn(stdin)
	root.SetOut(stdout)
	root.SetErr(stderr)
	err := root.ExecuteContext(ctx)
	return cli.Report(stderr, "vigil", err)
}
