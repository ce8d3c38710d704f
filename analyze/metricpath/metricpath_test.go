package metricpath

import (
	"errors"
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
		{"abc", 4, `expected "." and an aggregation`},
		{"abc.", 5, "expected an aggregation"},
		{"abc.median", 5, `unknown aggregation "median"`},
		{"abc.p101", 5, "out of range"},
		{`abc{x="1".sum`, 10, `expected "," or "}"`},
		{`abc{x~"1"}.sum`, 6, "expected an operator"},
		{`abc{x=1}.sum`, 7, "expected a quoted label value"},
		{`abc{x="1}.sum`, 7, "unterminated string"},
		{`abc{x=~"("}.sum`, 8, "bad regular expression"},
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
