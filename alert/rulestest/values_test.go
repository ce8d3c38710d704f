package rulestest

import (
	"fmt"
	"strings"
	"testing"

	"github.com/vigil-metrics/vigil/internal/metricpath"
	"github.com/vigil-metrics/vigil/internal/store"
)

// show renders points as the notation's plain form: numbers, _ and stale.
func show(ps []Point) string {
	s := make([]string, len(ps))
	for i, p := range ps {
		switch {
		case p.Stale:
			s[i] = "stale"
		case p.Missing:
			s[i] = "_"
		default:
			s[i] = fmt.Sprint(p.Value)
		}
	}
	return strings.Join(s, " ")
}

func TestParseValues(t *testing.T) {
	cases := []struct{ in, want string }{
		{"1 2 3", "1 2 3"},
		{"50+10x10", "50 60 70 80 90 100 110 120 130 140 150"},
		{"-2+4x3", "-2 2 6 10"},
		{"1-2x4", "1 -1 -3 -5 -7"},
		{"1x3", "1 1 1 1"},
		{"1+0x3", "1 1 1 1"},
		{"5x0", "5"},
		{"_", "_"},
		{"_x3", "_ _ _"},
		{"1 _x2 4", "1 _ _ 4"},
		{"stale", "stale"},
		{"1 2 stale 3", "1 2 stale 3"},
		{"0.5+0.25x2", "0.5 0.75 1"},
		{"1.5", "1.5"},
		{"1e3", "1000"},
		{"1e3+1e2x2", "1000 1100 1200"},
		{"1e-3+1e-3x1", "0.001 0.002"},
		{"2E+2-1x1", "200 199"},
		{"-1.5", "-1.5"},
		{"+3", "3"},
		{"-1-1x2", "-1 -2 -3"},
		{"10+-2x2", "10 8 6"},
		{"  1   2  ", "1 2"},
		{"", ""},
		{"0x3", "0 0 0 0"},
	}
	for _, c := range cases {
		ps, err := ParseValues(c.in)
		if err != nil {
			t.Errorf("ParseValues(%q): %v", c.in, err)
			continue
		}
		if got := show(ps); got != c.want {
			t.Errorf("ParseValues(%q) = %q, want %q", c.in, got, c.want)
		}
	}
}

func TestParseValuesDecimalsDoNotDrift(t *testing.T) {
	ps, err := ParseValues("0+0.1x30")
	if err != nil {
		t.Fatal(err)
	}
	if got := ps[30].Value; got != 3 {
		t.Errorf("0+0.1x30 ends at %v, want 3", got)
	}
}

func TestParseValuesErrors(t *testing.T) {
	cases := []struct{ in, want string }{
		{"abc", `value "abc": want a number`},
		{"1+x3", `value "1+x3": want a number`},
		{"1x", `the count after x must be a whole number`},
		{"1x-2", `the count after x must be a whole number`},
		{"1x2.5", `the count after x must be a whole number`},
		{"_x", `the count after x must be a whole number`},
		{"_xa", `the count after x must be a whole number`},
		{"NaN", `NaN is not a finite number`},
		{"Inf", `Inf is not a finite number`},
		{"1+Infx2", `Inf is not a finite number`},
		{"0x1p3", `whole number`},
		{"1_000", `want a number`},
		{"1x2000000", `more than`},
		{"1e308+1e308x2", `overflows`},
		{"stalex2", `want a number`},
	}
	for _, c := range cases {
		_, err := ParseValues(c.in)
		if err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("ParseValues(%q) error = %v, want %q", c.in, err, c.want)
		}
	}
}

func TestParseSeries(t *testing.T) {
	name, labels, err := ParseSeries(`cpu_usage_percent{host="a", env='prod',note="x\"y"}`)
	if err != nil {
		t.Fatal(err)
	}
	if name != "cpu_usage_percent" || metricpath.FormatLabels(labels) != `{env="prod", host="a", note="x\"y"}` {
		t.Errorf("got %s %s", name, metricpath.FormatLabels(labels))
	}
	for _, in := range []string{`up`, `up{}`, ` up { } `, `up{job="a",}`} {
		if _, _, err := ParseSeries(in); err != nil {
			t.Errorf("ParseSeries(%q): %v", in, err)
		}
	}
	for _, in := range []string{``, `1up`, `up{job}`, `up{job=a}`, `up{job="a"`, `up{job="a"} x`, `up{a="1",a="2"}`, `{__name__="up"}`, `up{__name__="x"}`} {
		if _, _, err := ParseSeries(in); err == nil {
			t.Errorf("ParseSeries(%q) accepted", in)
		}
	}
}

func TestTypeOf(t *testing.T) {
	for name, want := range map[string]store.Type{
		"http_requests_total": store.Counter, "latency_seconds_bucket": store.Counter,
		"latency_seconds_count": store.Counter, "latency_seconds_sum": store.Counter,
		"cpu_usage_percent": store.Gauge, "response_time_ms": store.Gauge, "node_memory_MemAvailable_bytes": store.Gauge,
	} {
		if got := TypeOf(name); got != want {
			t.Errorf("TypeOf(%s) = %s, want %s", name, got, want)
		}
	}
}
