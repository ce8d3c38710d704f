// Package cli holds what vigil's two binaries share at the command-line
// edge: the error types behind the exit-code contract and the way errors
// are printed (`vigil: error: ...`, `vigil: hint: ...`).
//
// It must not hold a command's logic: only the contract of the edge.
package cli

import (
	"errors"
	"fmt"
	"io"
	"strings"

	"github.com/vigil-metrics/vigil/internal/ingest"
	"github.com/vigil-metrics/vigil/internal/store"
)

// Exit codes of the CLI contract (docs/cli.md).
const (
	ExitOK      = 0
	ExitRuntime = 1
	ExitUsage   = 2
	ExitGate    = 3
)

// UsageError is a bad flag, argument, config or input: exit 2.
type UsageError struct {
	Err  error
	Hint string
}

func (e *UsageError) Error() string { return e.Err.Error() }
func (e *UsageError) Unwrap() error { return e.Err }

// Usage marks err as a usage error.
func Usage(err error) error { return &UsageError{Err: err} }

// Usagef is a formatted usage error.
func Usagef(format string, args ...any) error {
	return &UsageError{Err: fmt.Errorf(format, args...)}
}

// WithHint attaches a hint line (or lines) to err, keeping its exit code.
func WithHint(err error, hint string) error {
	var ue *UsageError
	if errors.As(err, &ue) {
		return &UsageError{Err: ue.Err, Hint: hint}
	}
	return &hintError{err: err, hint: hint}
}

type hintError struct {
	err  error
	hint string
}

func (e *hintError) Error() string { return e.err.Error() }
func (e *hintError) Unwrap() error { return e.err }

// SilentError carries an exit code with nothing more to print (a gate that
// already reported on stdout).
type SilentError struct{ Code int }

func (e *SilentError) Error() string { return fmt.Sprintf("exit %d", e.Code) }

// usageMarker is how a package below cmd/ says "the caller asked for
// something invalid" without importing cli (analyze must not be imported
// here, or vigil-agent would link DuckDB).
type usageMarker interface{ UsageError() bool }

// hinter is how a package below cmd/ attaches a hint to an error it
// returns (the state DB's "restore it or remove it") without importing cli.
type hinter interface{ Hint() string }

// ExitCode maps an error to the contract's exit code.
func ExitCode(err error) int {
	var se *SilentError
	var ue *UsageError
	var ie *ingest.InputError
	switch {
	case err == nil:
		return ExitOK
	case errors.As(err, &se):
		return se.Code
	case errors.As(err, &ue), errors.As(err, &ie), store.IsInvalid(err), markedUsage(err):
		return ExitUsage
	}
	return ExitRuntime
}

// markedUsage reports whether any error in err's tree implements
// usageMarker and says true. errors.As would stop at the first
// implementation, even one that says false, so the tree is walked.
func markedUsage(err error) bool {
	if err == nil {
		return false
	}
	// Each node of the tree is looked at on its own (the walk below does
	// the unwrapping), so plain type assertions are what is meant here.
	if m, ok := err.(usageMarker); ok && m.UsageError() { //nolint:errorlint // see above
		return true
	}
	switch u := err.(type) { //nolint:errorlint // see above
	case interface{ Unwrap() error }:
		return markedUsage(u.Unwrap())
	case interface{ Unwrap() []error }:
		for _, e := range u.Unwrap() {
			if markedUsage(e) {
				return true
			}
		}
	}
	return false
}

// Report prints err as `PROG: error: ...` (and hints) and returns the exit
// code.
func Report(w io.Writer, prog string, err error) int {
	code := ExitCode(err)
	if err == nil {
		return code
	}
	var se *SilentError
	if errors.As(err, &se) {
		return code
	}
	fmt.Fprintf(w, "%s: error: %s\n", prog, strings.TrimSuffix(err.Error(), "."))
	hint := ""
	var ue *UsageError
	var he *hintError
	switch {
	case errors.As(err, &ue):
		hint = ue.Hint
	case errors.As(err, &he):
		hint = he.hint
	}
	var hm hinter
	if hint == "" && errors.As(err, &hm) {
		hint = hm.Hint()
	}
	if hint != "" {
		for _, l := range strings.Split(hint, "\n") {
			fmt.Fprintf(w, "%s: hint: %s\n", prog, l)
		}
	}
	return code
}
