package cli

import (
	"bytes"
	"errors"
	"fmt"
	"os"
	"testing"

	"github.com/vigil-metrics/vigil/internal/ingest"
)

func TestExitCodes(t *testing.T) {
	cases := []struct {
		err  error
		want int
	}{
		{nil, 0},
		{Usagef("bad flag"), 2},
		{fmt.Errorf("wrapped: %w", Usagef("bad")), 2},
		{&ingest.InputError{File: "a", Line: 1, Err: errors.New("x")}, 2},
		{&SilentError{Code: 3}, 3},
		{os.ErrNotExist, 1},
		{WithHint(errors.New("runtime"), "try again"), 1},
		{WithHint(Usagef("usage"), "see help"), 2},
		// Errors of packages that cannot import cli mark themselves.
		{markedErr(true), 2},
		{fmt.Errorf("eval: %w", markedErr(true)), 2},
		{markedErr(false), 1},
		{fmt.Errorf("a: %w", &wrapper{markedErr(false), markedErr(true)}), 2}, // a false one above a true one
		{errors.Join(errors.New("x"), fmt.Errorf("y: %w", markedErr(true))), 2},
		{errors.Join(errors.New("x"), markedErr(false)), 1},
		{WithHint(markedErr(true), "write it before the braces"), 2},
	}
	for _, c := range cases {
		if got := ExitCode(c.err); got != c.want {
			t.Errorf("ExitCode(%v) = %d, want %d", c.err, got, c.want)
		}
	}
}

func TestReport(t *testing.T) {
	var b bytes.Buffer
	code := Report(&b, "vigil", WithHint(Usagef("--window %q: want a duration.", "x"), "like 5m\nor 1h"))
	want := "vigil: error: --window \"x\": want a duration\nvigil: hint: like 5m\nvigil: hint: or 1h\n"
	if code != 2 || b.String() != want {
		t.Errorf("Report = %d %q, want 2 %q", code, b.String(), want)
	}
	b.Reset()
	if code := Report(&b, "vigil", &SilentError{Code: 3}); code != 3 || b.Len() != 0 {
		t.Errorf("silent: %d %q", code, b.String())
	}
}

// markedErr is an error from a package that does not import cli.
type markedErr bool

func (e markedErr) Error() string    { return "marked" }
func (e markedErr) UsageError() bool { return bool(e) }

// wrapper is a marked error that wraps another.
type wrapper struct {
	markedErr
	inner error
}

func (w *wrapper) Unwrap() error { return w.inner }
