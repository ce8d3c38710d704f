package metricpath

import (
	"errors"
	"maps"
	"math"
	"regexp"
	"strconv"
	"strings"
	"testing"
)

func TestParse(t *testing.T) {
	cases := []struct{ in, want string }{
		{"http_requests_total.rate", "http_requests_total.rate"},
		{`a{x="1", y!="2",z=~"3.*" , w!~'4'}.sum by (x, y)`, `a{x="1",y!="2",z=~"3.*",w!~"4"}.sum by (x, y)`},
		{"ns:latency_ms.p99.9", "ns:latency_ms.p99.9"},
		{"a.p95 by (series)", "a.p95 by (series)"},
		{"a.increase by (s) / b.increase by (s)", "a.increase by (s) / b.increase by (s)"},
		{`a{path="/a\"b"}.last`, `a{path="/a\"b"}.last`},
		{"a.count by ()", "a.count by ()"},
	}
	for _, c := range cases {
		e, err := Parse(c.in)
		if err != nil {
			t.Errorf("Parse(%q): %v", c.in, err)
			continue
		}
		if got := e.String(); got != c.want {
			t.Errorf("Parse(%q).String() = %q, want %q", c.in, got, c.want)
		}
	}
	e, _ := Parse("x.p99.9")
	if e.Num.Agg.Kind != Percentile || e.Num.Agg.Quantile != 0.999 {
		t.Errorf("p99.9 = %+v", e.Num.Agg)
	}
}

func TestSyntaxErrors(t *testing.T) {
	cases := []struct {
		in   string
		col  int
		want string
	}{
		{"", 1, "expected a metric name"},
		{"1abc.sum", 1, "expected a metric name"},
		{"abc p95", 5, "unexpected"}, // a bare name is a path; what follows is not
		{"abc.", 5, "expected an aggregation"},
		{"abc.median", 5, `unknown aggregation "median"`},
		{"abc.p101", 5, "out of range"},
		{`abc{x="1".sum`, 10, `expected "," or "}"`},
		{`abc{x~"1"}.sum`, 6, "expected an operator"},
		{`abc{x=1}.sum`, 7, "expected a quoted label value"},
		{`abc{x="1}.sum`, 7, "unterminated string"},
		{`abc{x=~"("}.sum`, 8, "bad regular expression"},
		// The pattern is checked on its own: wrapped in ^(?:...)$ first,
		// this one would compile and mean "starts with p or ends with v".
		{`m{env=~"p)|(v"}.sum`, 8, "bad regular expression for label \"env\""},
		{`m{env!~"a)|(b"}.sum`, 8, "unexpected )"},
		{`m{__name__="m"}.sum`, 3, "metric name must not be set twice"},
		{`m{a="1", __name__=~"m|n"}.sum`, 10, "metric name must not be set twice"},
		{`{__name__="m"}.sum`, 1, "expected a metric name before \"{\""},
		// Columns count runes: "é" is two bytes but one column, and a tab
		// is one character (the caret line expands it, see cmd/vigil).
		{`a{x="café"}.median`, 13, `unknown aggregation "median"`},
		{"m{x=\"é\",\ty~\"2\"}.sum", 11, "expected an operator"},
		{"abc.sum by x", 12, `expected "(" after by`},
		{"abc.sum by (x", 14, "expected"},
		{"abc.sum by (x, x)", 16, "appears twice"},
		{"abc.sum extra", 9, "unexpected"},
		{"a.sum / ", 9, "expected a metric name"},
		{"a.sum / b.sum / c.sum", 15, "unexpected"},
	}
	for _, c := range cases {
		_, err := Parse(c.in)
		var se *SyntaxError
		if !errors.As(err, &se) {
			t.Errorf("Parse(%q) = %v, want a SyntaxError", c.in, err)
			continue
		}
		if se.Col != c.col || !strings.Contains(se.Msg, c.want) {
			t.Errorf("Parse(%q) = column %d %q, want column %d containing %q", c.in, se.Col, se.Msg, c.col, c.want)
		}
	}
}

// A bare metric name is a path with the default aggregation (the engine
// takes rate for counters, avg otherwise), with matchers and by too.
func TestBareName(t *testing.T) {
	for _, in := range []string{"cpu_usage_percent", `cpu{host="a"}`, "cpu by (host)", "errors_total / requests_total"} {
		e, err := Parse(in)
		if err != nil {
			t.Errorf("Parse(%q): %v", in, err)
			continue
		}
		if e.Num.Agg.Kind != Default {
			t.Errorf("Parse(%q) aggregation = %q, want the default", in, e.Num.Agg.Kind)
		}
		if got := e.String(); got != in && in != `cpu{host="a"}` {
			t.Errorf("Parse(%q).String() = %q", in, got)
		}
	}
}

func TestMatchers(t *testing.T) {
	e, err := Parse(`m{a="1",b!="2",c=~"x|y",d!~"z.*"}.sum`)
	if err != nil {
		t.Fatal(err)
	}
	s := &e.Num
	cases := []struct {
		labels map[string]string
		want   bool
	}{
		{map[string]string{"a": "1", "c": "x"}, true},
		{map[string]string{"a": "1", "c": "y", "b": "3", "d": "q"}, true},
		{map[string]string{"a": "1", "c": "xy"}, false}, // anchored
		{map[string]string{"a": "1", "c": "x", "b": "2"}, false},
		{map[string]string{"a": "1", "c": "x", "d": "zz"}, false},
		{map[string]string{"c": "x"}, false},
	}
	for _, c := range cases {
		if got := s.Match("m", c.labels); got != c.want {
			t.Errorf("Match(%v) = %v, want %v", c.labels, got, c.want)
		}
	}
	if s.Match("other", map[string]string{"a": "1", "c": "x"}) {
		t.Error("matched another metric name")
	}
}

func TestSyntaxErrorOffset(t *testing.T) {
	// "é" is 2 bytes: the "~" after it is rune 11 but byte 12 (offset 11).
	_, err := Parse("m{x=\"é\",\ty~\"2\"}.sum")
	var se *SyntaxError
	if !errors.As(err, &se) || se.Offset != 11 || se.Col != 11 {
		t.Fatalf("got %#v, want Offset 11 and Col 11", err)
	}
	// A long unexpected tail is cut at a rune boundary, never inside "é".
	_, err = Parse("a.sum ééééééééééééé")
	if err == nil || strings.Contains(err.Error(), `\x`) || !strings.Contains(err.Error(), `"éééééééééééé..."`) {
		t.Errorf("got %v, want the first 12 runes quoted", err)
	}
}

// TestRegexAnchoring checks the anchored form against an independent
// oracle: a value matches iff the raw pattern, searched leftmost-longest
// (POSIX), has a match spanning the whole value. That holds for every
// pattern that compiles alone, including ones with alternations at the top
// level, flags, ^ and $ inside, and \Q without \E.
func TestRegexAnchoring(t *testing.T) {
	patterns := []string{
		"p|v", "p.*|.*v", "(a)|(b)", "5..", "", "a*", "(?i)prod", "^a|b$",
		"a|", `\Qa)|(b`, `\Qp)|(v\E`, `x\|y`, "[)|(]", "(?:a|b)(c|d)", "(?s).", ".",
	}
	values := []string{"", "a", "b", "ab", "p", "v", "pv", "pxv", "xp", "vx", "prod", "PROD", "production",
		"500", "1500", "5000", "ac", "bd", "a)|(b", "p)|(v", "x|y", ")", "|", "(", "\n", "\n\n", "aaa", "c"}
	for _, pat := range patterns {
		e, err := Parse("m{l=~" + strconv.Quote(pat) + "}.sum")
		if err != nil {
			t.Errorf("pattern %q: %v", pat, err)
			continue
		}
		oracle := regexp.MustCompile(pat)
		oracle.Longest()
		for _, v := range values {
			loc := oracle.FindStringIndex(v)
			want := loc != nil && loc[0] == 0 && loc[1] == len(v)
			if got := e.Num.Matchers[0].Matches(v); got != want {
				t.Errorf("%q =~ %q: got %v, want %v", v, pat, got, want)
			}
		}
	}
	// Hand-checked cases of the issue: "p|v" is exactly "p" or "v".
	e, _ := Parse(`m{env=~"p|v"}.sum`)
	for v, want := range map[string]bool{"p": true, "v": true, "pv": false, "prod": false, "dev": false} {
		if got := e.Num.Matchers[0].Matches(v); got != want {
			t.Errorf("%q =~ \"p|v\": got %v, want %v", v, got, want)
		}
	}
}

// count_le(T) carries its threshold as the number strconv.ParseFloat
// reads, to the bit; String writes it as it was written, spaces dropped.
func TestCountLE(t *testing.T) {
	tenth := 0.1 // a variable: the constant 0.1 + 0.2 is exactly 0.3
	cases := []struct {
		in, want string
		t        float64
	}{
		{`response_time_ms{service="api"}.count_le(300)`, `response_time_ms{service="api"}.count_le(300)`, 300},
		{"a.count_le(299.9)", "a.count_le(299.9)", 299.9},
		{"a.count_le( 0.1 ) by (x)", "a.count_le(0.1) by (x)", 0.1},
		{"a.count_le(1e3)", "a.count_le(1e3)", 1000},
		{"a.count_le(-5)", "a.count_le(-5)", -5},
		{"a.count_le(+2.5)", "a.count_le(+2.5)", 2.5},
		{"a.count_le(.5)", "a.count_le(.5)", 0.5},
		{"a.count_le(0)", "a.count_le(0)", 0},
		{"a.count_le(Inf)", "a.count_le(Inf)", math.Inf(1)},
		{"a.count_le(-Inf)", "a.count_le(-Inf)", math.Inf(-1)},
		{"a.count_le(300) / a.count", "a.count_le(300) / a.count", 300},
		{"a.count_le(300) by (s) / a.count by (s)", "a.count_le(300) by (s) / a.count by (s)", 300},
		// What analyze/slo writes: FormatFloat(th, 'f', -1, 64).
		{"a.count_le(" + strconv.FormatFloat(tenth+0.2, 'f', -1, 64) + ")", "a.count_le(0.30000000000000004)", tenth + 0.2},
	}
	for _, c := range cases {
		e, err := Parse(c.in)
		if err != nil {
			t.Errorf("Parse(%q): %v", c.in, err)
			continue
		}
		a := e.Num.Agg
		if a.Kind != CountLE || math.Float64bits(a.Threshold) != math.Float64bits(c.t) {
			t.Errorf("Parse(%q) = %+v, want count_le with threshold %v", c.in, a, c.t)
		}
		if got := e.String(); got != c.want {
			t.Errorf("Parse(%q).String() = %q, want %q", c.in, got, c.want)
		}
		// What String writes parses back to the same aggregation.
		e2, err := Parse(e.String())
		if err != nil || e2.Num.Agg != a {
			t.Errorf("Parse(%q) again = %+v %v, want %+v", e.String(), e2, err, a)
		}
	}
	// count is still count, and a word that starts like count_le is not it.
	if e, err := Parse("a.count"); err != nil || e.Num.Agg.Kind != Count {
		t.Errorf("a.count = %+v %v", e, err)
	}
	bad := []struct {
		in   string
		col  int
		want string
	}{
		{"a.count_le()", 12, "needs a threshold"},
		{"a.count_le( )", 13, "needs a threshold"},
		{"a.count_le", 11, `expected "(" after count_le`},
		{"a.count_le 300", 11, `expected "(" after count_le`},
		{"a.count_le(x)", 12, `"x" is not a number`},
		{"a.count_le(300ms)", 12, `"300ms" is not a number`},
		{"a.count_le(1,2)", 13, "takes one threshold"},
		{"a.count_le(1, 2)", 13, "takes one threshold"},
		{"a.count_le(NaN)", 12, "must not be NaN"},
		{"a.count_le(nan)", 12, "must not be NaN"},
		{"a.count_le(1e400)", 12, "out of range"},
		{"a.count_le(300", 15, `unclosed "("`},
		{"a.count_le(1 2)", 14, `expected ")"`},
		{`a.count_le("300")`, 12, "expected a number"},
		{"a.count_lt(300)", 3, `unknown aggregation "count_lt"`},
		{"a.count_", 3, `unknown aggregation "count_"`},
		{"a.count_le(300)x", 16, "unexpected"},
	}
	for _, c := range bad {
		_, err := Parse(c.in)
		var se *SyntaxError
		if !errors.As(err, &se) {
			t.Errorf("Parse(%q) = %v, want a SyntaxError", c.in, err)
			continue
		}
		if se.Col != c.col || !strings.Contains(se.Msg, c.want) {
			t.Errorf("Parse(%q) = column %d %q, want column %d containing %q", c.in, se.Col, se.Msg, c.col, c.want)
		}
	}
}

func TestFormatLabels(t *testing.T) {
	for _, c := range []struct {
		in   map[string]string
		want string
	}{
		{nil, "{}"},
		{map[string]string{"b": "2", "a": `x"y`}, `{a="x\"y", b="2"}`},
	} {
		if got := FormatLabels(c.in); got != c.want {
			t.Errorf("FormatLabels(%v) = %s, want %s", c.in, got, c.want)
		}
	}
}

// ParseLabels reads back what FormatLabels wrote, whatever the values
// hold (quotes, backslashes, controls, braces, ", "), and nothing else.
func TestParseLabels(t *testing.T) {
	for _, m := range []map[string]string{
		{}, {"host": "a"}, {"a": "", "b": `x"y\`, "c": "\x1b]0;pwn\a", "d": "{}, e=\"f\"", "e": "é\u202e"},
	} {
		got, ok := ParseLabels(FormatLabels(m))
		if !ok || !maps.Equal(got, m) {
			t.Errorf("%s: %v %v", FormatLabels(m), got, ok)
		}
	}
	for _, s := range []string{"", "{", "}", `{a="1"`, `{a="1",b="2"}`, `{a=1}`, `{="1"}`, `{a="1", a="2"}`, `{a="1"} `, `{a='1'}`, `{a="1"}x`} {
		if m, ok := ParseLabels(s); ok {
			t.Errorf("%q read as %v", s, m)
		}
	}
}
