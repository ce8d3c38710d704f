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
	"github.com/vigil-metrics/vigil/internal/secret"
)

func main() {
	os.Exit(run(os.Args[1:], os.Stdin, os.Stdout, os.Stderr))
}

// run executes one invocation and returns its exit code; it is the whole
// program minus os.Exit, so tests can drive it in-process.
//
// Everything it writes goes through the invocation's secret set: the
// config's secrets (every channel's and source's, registered when the
// config is read) are scrubbed from stdout and stderr, whatever command
// or error path printed them (a receiver that echoes a token in its
// error answer).
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
	if f := os.Getenv("VIGIL_MEMPROFILE"); f != "" {
		// The heap as the command ends (what a long replay keeps), likewise.
		defer func() {
			if fh, err := os.Create(f); err == nil {
				pprof.WriteHeapProfile(fh) //nolint:errcheck
				fh.Close()                 //nolint:errcheck
			}
		}()
	}
	secrets := secret.New()
	out, errOut := secrets.Writer(stdout), secrets.Writer(stderr)
	defer out.Flush()    //nolint:errcheck // nothing left to report it to
	defer errOut.Flush() //nolint:errcheck
	a := &app{stdin: stdin, stdout: out, stderr: errOut, term: stderr, now: time.Now, secrets: secrets}
	root := newRootCmd(a)
	root.SetArgs(args)
	root.SetIn(stdin)
	root.SetOut(out)
	root.SetErr(errOut)
	err := root.ExecuteContext(ctx)
	out.Flush() //nolint:errcheck // the result first, then the error
	return cli.Report(errOut, "vigil", err)
}
