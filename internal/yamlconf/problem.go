// Package yamlconf reads configuration from go.yaml.in/yaml/v3 nodes so
// that every problem names its place in the file (FILE:LINE:COL: reason),
// and it collects every problem instead of stopping at the first, like
// promtool check rules. It owns the one Problem type and the helpers every
// config walker shares (fields with unknown-key errors, required keys,
// lists, strings, numbers, durations, booleans, label maps, enums, ${ENV}
// expansion).
//
// It knows no section of vigil.yaml and must not: the sections' owners
// (alert/config, analyze/slo, report, internal/sources, the agent) walk
// their own nodes with it, and internal/configfile reads the file.
package yamlconf

import (
	"cmp"
	"errors"
	"fmt"
	"slices"
	"strings"
)

// Problem is one error or warning at a place in a file. Line and Col are
// 0 when unknown (Col is 0 in files whose messages name lines only).
type Problem struct {
	File    string `json:"-"`
	Line    int    `json:"line"`
	Col     int    `json:"col"`
	Message string `json:"message"`
}

func (p Problem) Error() string {
	switch {
	case p.Line > 0 && p.Col > 0:
		return fmt.Sprintf("%s:%d:%d: %s", p.File, p.Line, p.Col, p.Message)
	case p.Line > 0:
		return fmt.Sprintf("%s:%d: %s", p.File, p.Line, p.Message)
	}
	return fmt.Sprintf("%s: %s", p.File, p.Message)
}

// Problems is every problem found in one file. It is a usage error (exit
// 2) for the CLI.
type Problems []Problem

func (ps Problems) Error() string {
	s := make([]string, len(ps))
	for i, p := range ps {
		s[i] = p.Error()
	}
	return strings.Join(s, "\n")
}

// UsageError marks a configuration error for the CLI's exit code.
func (ps Problems) UsageError() bool { return true }

// Sort orders ps by position, keeping the order of problems at one place.
func (ps Problems) Sort() {
	slices.SortStableFunc(ps, func(a, b Problem) int {
		return cmp.Or(cmp.Compare(a.Line, b.Line), cmp.Compare(a.Col, b.Col))
	})
}

// Err is ps as an error: nil when there are none.
func (ps Problems) Err() error {
	if len(ps) == 0 {
		return nil
	}
	return ps
}

// AsProblems returns the problems behind err, if it holds any.
func AsProblems(err error) (Problems, bool) {
	var ps Problems
	if errors.As(err, &ps) {
		return ps, true
	}
	return nil, false
}
