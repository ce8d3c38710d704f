package main

import (
	"errors"
	"fmt"
	"strings"

	"github.com/vigil-metrics/vigil/collect/ingest"
	"github.com/vigil-metrics/vigil/collect/store"
)

// Exit codes of the CLI contract (docs/cli.md).
const (
	exitOK      = 0
	exitRuntime = 1
	exitUsage   = 2
	exitGate    = 3
)

// usageError is a bad flag, argument or config: exit 2.
type usageError struct {
	err  error
	hint string
}

func (e *usageError) Error() string { return e.err.Error() }
func (e *usageError) Unwrap() error { return e.err }

func usagef(format string, args ...any) error {
	return &usageError{err: fmt.Errorf(format, args...)}
}

func withHint(err error, hint string) error {
	var ue *usageError
	if errors.As(err, &ue) {
		return &usageError{err: ue.err, hint: hint}
	}
	return &hintError{err: err, hint: hint}
}

type hintError struct {
	err  error
	hint string
}

func (e *hintError) Error() string { return e.err.Error() }
func (e *hintError) Unwrap() error { return e.err }

// silentError carries an exit code with nothing more to print.
type silentError struct{ code int }

func (e *silentError) Error() string { return fmt.Sprintf("exit %d", e.code) }

func exitCode(err error) int {
	var se *silentError
	var ue *usageError
	var ie *ingest.InputError
	switch {
	case err == nil:
		return exitOK
	case errors.As(err, &se):
		return se.code
	case errors.As(err, &ue), errors.As(err, &ie), store.IsInvalid(err):
		return exitUsage
	}
	return exitRuntime
}

// report prints err in the contract's style and returns the exit code.
func (a *app) report(err error) int {
	code := exitCode(err)
	if err == nil {
		return code
	}
	var se *silentError
	if errors.As(err, &se) {
		return code
	}
	msg := err.Error()
	// cobra's own flag errors start with a capital or say "unknown".
	fmt.Fprintf(a.stderr, "vigil: error: %s\n", strings.TrimSuffix(msg, "."))
	var ue *usageError
	var he *hintError
	switch {
	case errors.As(err, &ue) && ue.hint != "":
		for _, l := range strings.Split(ue.hint, "\n") {
			fmt.Fprintf(a.stderr, "vigil: hint: %s\n", l)
		}
	case errors.As(err, &he):
		for _, l := range strings.Split(he.hint, "\n") {
			fmt.Fprintf(a.stderr, "vigil: hint: %s\n", l)
		}
	}
	return code
}
