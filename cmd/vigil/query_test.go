package main

import (
	"bytes"
	"errors"
	"testing"
	"time"

	"github.com/vigil-metrics/vigil/analyze"
	"github.com/vigil-metrics/vigil/cmd/internal/cli"
)

func TestCaret(t *testing.T) {
	cases := []struct {
		path string
		want string
	}{
		// "é" is two bytes and one column: the caret is under "m" of
		// "median", the 13th character (12 spaces).
		{`a{x="café"}.median`, "a{x=\"café\"}.median\n            ^"},
		// The tab after "," (8 characters in) expands to column 16, so
		// "y" is at 16 and the "~" at 17.
		{"m{x=\"é\",\ty~\"2\"}.sum", "m{x=\"é\",        y~\"2\"}.sum\n                 ^"},
		// A newline prints as a space; the error at the end gets a caret
		// after the last character.
		{"a.sum\nby", "a.sum by\n        ^"},
	}
	for _, c := range cases {
		_, err := parsePath(c.path)
		var ue *cli.UsageError
		if !errors.As(err, &ue) || cli.ExitCode(err) != 2 {
			t.Fatalf("parsePath(%q) = %v, want a usage error", c.path, err)
		}
		if ue.Hint != c.want {
			t.Errorf("parsePath(%q) hint:\n%s\nwant:\n%s", c.path, ue.Hint, c.want)
		}
	}
}

func TestParseWindow(t *testing.T) {
	for in, want := range map[string]time.Duration{"5m": 5 * time.Minute, "1ms": time.Millisecond, "1000us": time.Millisecond, "1500ms": 1500 * time.Millisecond, "1d": 24 * time.Hour} {
		if got, err := parseWindow(in); err != nil || got != want {
			t.Errorf("parseWindow(%q) = %v, %v; want %v", in, got, err, want)
		}
	}
	for _, in := range []string{"500us", "1.5ms", "1ns", "0s", "-5m", "0", "soon"} {
		if _, err := parseWindow(in); cli.ExitCode(err) != 2 {
			t.Errorf("parseWindow(%q) = %v, want a usage error", in, err)
		}
	}
}

func TestMarkdownCode(t *testing.T) {
	cases := map[string]string{
		`{a="1"}`:      "`{a=\"1\"}`",
		`{a="x|y"}`:    "`{a=\"x\\|y\"}`",
		"{a=\"x`y\"}":  "``{a=\"x`y\"}``",
		"{a=\"``|`\"}": "```{a=\"``\\|`\"}```",
		"`x":           "`` `x ``",
		`{a="l1\nl2"}`: "`{a=\"l1\\nl2\"}`", // already quoted by formatLabels
		// A backslash before "|" (quoted as \\) keeps its own escape.
		`{a="\\|\\"}`: "`" + `{a="\\\|\\"}` + "`",
	}
	for in, want := range cases {
		if got := markdownCode(in); got != want {
			t.Errorf("markdownCode(%s) = %s, want %s", in, got, want)
		}
	}
	var b bytes.Buffer
	rs := []analyze.Result{{Labels: map[string]string{"v": "a|b`c\nd"}, Value: 0.5, Samples: 2}}
	if err := writeQueryMarkdown(&b, rs); err != nil {
		t.Fatal(err)
	}
	want := "| labels | value | samples |\n|---|---:|---:|\n| ``{v=\"a\\|b`c\\nd\"}`` | 0.5 | 2 |\n"
	if b.String() != want {
		t.Errorf("markdown:\n%s\nwant:\n%s", b.String(), want)
	}
}
