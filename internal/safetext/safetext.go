// Package safetext makes text that comes from data (label values, host
// and service names, incident ids built from them) inert where people
// read it: on a terminal and in markdown.
//
// A store is written by whoever can push to the agent or hand vigil a
// file, so a label value may hold ESC/OSC sequences (a terminal title, a
// cleared screen, an OSC 52 clipboard write), bidi overrides that show
// text in another order than it is, or markdown that makes table cells,
// headings, images and links. Every human-readable output passes such
// values through Terminal (plain text) or Markdown (markdown): the one
// place that decides what is safe. JSON output needs neither:
// encoding/json escapes control characters itself.
package safetext

import (
	"strconv"
	"strings"
	"unicode/utf8"
)

// Safe reports whether s can be written to a terminal as it is: valid
// UTF-8 whose every rune is printable (strconv.IsPrint: letters, marks,
// numbers, punctuation, symbols and the ASCII space). C0 and C1 controls
// (ESC, BEL, newline, tab), DEL, bidi controls (U+200E/F, U+061C,
// U+202A-U+202E, U+2066-U+2069) and other format characters such as
// zero-width spaces are not.
func Safe(s string) bool {
	if !utf8.ValidString(s) {
		return false
	}
	for _, r := range s {
		if !strconv.IsPrint(r) {
			return false
		}
	}
	return true
}

// Terminal is s as a terminal may show it: unchanged when Safe, else
// Go-quoted (strconv.Quote: "x\n# H", "\x1b]0;t\a", "\u202eevil"), the
// way vigil query and vigil alerts list print every label value. The
// quotes tell a reader the value is shown escaped.
func Terminal(s string) string {
	if Safe(s) {
		return s
	}
	return strconv.Quote(s)
}

// Markdown is s as inert markdown text: Terminal's quoting (so no raw
// newline ends a row or starts a heading, and no control reaches a
// terminal that shows the markdown), then a backslash before every
// character CommonMark and GitHub-flavoured markdown give a meaning
// inline: \ ` * ~ [ ] | # & and an underscore not between two
// ASCII letters or digits; < and > are written &lt; and &gt;, so the
// markdown holds no < from data at all (no tag, and no hidden comment
// such as a GitHub issue's <!-- vigil:... --> marker, can be forged). No value can then make a table cell, an image, a
// link or autolink (<http://...>), an HTML tag, an entity, a code span or
// emphasis (parentheses need no escape: with [ and ] escaped they make no
// link). A value that starts with what would begin a block at the start
// of a line (- + =, an ordered list's "1. " or "1) ", leading spaces) has
// that escaped too, since a highlight may begin with one. Bare URLs stay text:
// a renderer that autolinks them (GitHub does, vigil's HTML report does
// not) shows their target as written.
func Markdown(s string) string {
	s = Terminal(s)
	var b strings.Builder
	b.Grow(len(s) + 8)
	lead := true // still in s's leading spaces
	for i := 0; i < len(s); i++ {
		c := s[i]
		if lead && c == ' ' {
			b.WriteString("&#32;")
			continue
		}
		first := lead
		lead = false
		switch {
		case c == '<':
			b.WriteString("&lt;")
			continue
		case c == '>':
			b.WriteString("&gt;")
			continue
		case strings.IndexByte("\\`*~[]|#&", c) >= 0:
			b.WriteByte('\\')
		case c == '_' && !(i > 0 && alnum(s[i-1]) && i+1 < len(s) && alnum(s[i+1])):
			b.WriteByte('\\')
		case first && strings.IndexByte("-+=", c) >= 0:
			b.WriteByte('\\')
		case (c == '.' || c == ')') && listNumber(s[:i]) && (i+1 == len(s) || s[i+1] == ' '):
			b.WriteByte('\\')
		}
		b.WriteByte(c)
	}
	return b.String()
}

func alnum(c byte) bool {
	return c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9'
}

// listNumber: s (the text before a . or ) that a space follows) is an
// ordered list item's number: 1 to 9 ASCII digits, leading spaces aside
// (those are written as &#32;).
func listNumber(s string) bool {
	s = strings.TrimLeft(s, " ")
	if s == "" || len(s) > 9 {
		return false
	}
	for i := 0; i < len(s); i++ {
		if s[i] < '0' || s[i] > '9' {
			return false
		}
	}
	return true
}
