// Package metricpath parses vigil's metric path language, shared by query,
// rules, SLOs and reports:
//
//	name{label="v",label!="v",label=~"re",label!~"re"}.agg [by (l1, l2)] [/ path]
//
// Aggregations are last min max avg sum count stddev rate increase, pNN
// or pNN.N (a type-7 percentile) and count_le(T) (the samples whose value
// is at most the number T). Regular expressions are RE2, anchored at
// both ends as in Prometheus; a pattern must be valid on its own (`p)|(v`
// is refused, not read as "starts with p or ends with v"). The name comes
// first and only there: a __name__ matcher is refused, with or without a
// name before the braces. Error columns count runes.
//
// It owns the syntax only (evaluation is analyze's). It is the ground that
// lint, analyze and alert share, so it must not import any other vigil
// package: every import runs down to it.
package metricpath

import (
	"errors"
	"fmt"
	"math"
	"regexp"
	"regexp/syntax"
	"strconv"
	"strings"
	"unicode/utf8"
)

// MatchOp is a label matcher's operator.
type MatchOp int

// The four matcher operators.
const (
	Equal MatchOp = iota
	NotEqual
	RegexMatch
	RegexNoMatch
)

func (o MatchOp) String() string {
	return [...]string{"=", "!=", "=~", "!~"}[o]
}

// Matcher tests one label; a missing label has the value "".
type Matcher struct {
	Label string
	Op    MatchOp
	Value string
	re    *regexp.Regexp
}

// Matches reports whether a label value satisfies the matcher.
func (m *Matcher) Matches(v string) bool {
	switch m.Op {
	case Equal:
		return v == m.Value
	case NotEqual:
		return v != m.Value
	case RegexMatch:
		return m.re.MatchString(v)
	default:
		return !m.re.MatchString(v)
	}
}

// AggKind names an aggregation.
type AggKind string

// The aggregations of the language.
const (
	Last       AggKind = "last"
	Min        AggKind = "min"
	Max        AggKind = "max"
	Avg        AggKind = "avg"
	Sum        AggKind = "sum"
	Count      AggKind = "count"
	Stddev     AggKind = "stddev"
	Rate       AggKind = "rate"
	Increase   AggKind = "increase"
	Percentile AggKind = "percentile"
	// CountLE is count_le(T): the number of samples (observations of a
	// histogram, increments of a counter) whose value is <= Agg.Threshold.
	CountLE AggKind = "count_le"
	// Default is a bare metric name: rate for a counter, avg for a gauge
	// or a histogram (the store knows which).
	Default AggKind = ""
)

var aggNames = []AggKind{Last, Min, Max, Avg, Sum, Count, Stddev, Rate, Increase}

// Agg is an aggregation; Quantile is in [0, 1] for percentiles, and
// Threshold is count_le's T (never NaN; ±Inf allowed).
type Agg struct {
	Kind      AggKind
	Quantile  float64
	Threshold float64
	Text      string // as written, e.g. "p99.9" or "count_le(300)"
}

// Selector is one path: a metric, its matchers, an aggregation and grouping.
type Selector struct {
	Name     string
	Matchers []Matcher
	Agg      Agg
	By       []string
}

// Expr is a path or a ratio of two paths.
type Expr struct {
	Num Selector
	Den *Selector
}

// SyntaxError points at the place where parsing failed. Col counts
// characters (runes), not bytes, so that it means the same to a person
// reading `café{x~"1"}` as to the program; Offset is the byte offset for
// code that slices the input.
type SyntaxError struct {
	Col    int // 1-based, in runes from the start of the path
	Offset int // 0-based, in bytes
	Msg    string
}

func (e *SyntaxError) Error() string { return fmt.Sprintf("column %d: %s", e.Col, e.Msg) }

// Parse parses a metric path.
func Parse(s string) (*Expr, error) {
	p := &parser{s: s}
	num, err := p.selector()
	if err != nil {
		return nil, err
	}
	e := &Expr{Num: *num}
	p.space()
	if p.peek() == '/' {
		p.pos++
		den, err := p.selector()
		if err != nil {
			return nil, err
		}
		e.Den = den
		p.space()
	}
	if p.pos < len(p.s) {
		if e.Den == nil {
			return nil, p.errf("unexpected %q (want \"by (...)\", \"/\" or the end)", p.rest())
		}
		return nil, p.errf("unexpected %q after the ratio's denominator", p.rest())
	}
	return e, nil
}

type parser struct {
	s   string
	pos int
}

func (p *parser) errf(format string, args ...any) error {
	return p.errAt(p.pos, format, args...)
}

// errAt reports an error at byte offset pos of the input.
func (p *parser) errAt(pos int, format string, args ...any) error {
	return &SyntaxError{Col: utf8.RuneCountInString(p.s[:pos]) + 1, Offset: pos, Msg: fmt.Sprintf(format, args...)}
}

func (p *parser) peek() byte {
	if p.pos < len(p.s) {
		return p.s[p.pos]
	}
	return 0
}

func (p *parser) rest() string {
	r := p.s[p.pos:]
	if utf8.RuneCountInString(r) > 12 {
		// Cut at a rune boundary: half a "é" would print as \xc3.
		r = string([]rune(r)[:12]) + "..."
	}
	return r
}

func (p *parser) space() {
	for p.pos < len(p.s) && (p.s[p.pos] == ' ' || p.s[p.pos] == '\t' || p.s[p.pos] == '\n') {
		p.pos++
	}
}

func isNameStart(c byte) bool {
	return c == '_' || c == ':' || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z')
}

func isNameChar(c byte) bool { return isNameStart(c) || (c >= '0' && c <= '9') }

func (p *parser) ident(colon bool) string {
	start := p.pos
	for p.pos < len(p.s) {
		c := p.s[p.pos]
		if c == ':' && !colon {
			break
		}
		if (p.pos == start && !isNameStart(c)) || !isNameChar(c) {
			break
		}
		p.pos++
	}
	return p.s[start:p.pos]
}

func (p *parser) selector() (*Selector, error) {
	p.space()
	sel := &Selector{}
	if !isNameStart(p.peek()) {
		if p.pos >= len(p.s) {
			return nil, p.errf("expected a metric name")
		}
		if p.peek() == '{' {
			return nil, p.errf("expected a metric name before \"{\" (write m{...}, not {__name__=\"m\"})")
		}
		return nil, p.errf("expected a metric name, found %q", p.rest())
	}
	sel.Name = p.ident(true)
	p.space()
	if p.peek() == '{' {
		p.pos++
		if err := p.matchers(sel); err != nil {
			return nil, err
		}
		p.space()
	}
	if p.peek() == '.' {
		p.pos++
		agg, err := p.agg()
		if err != nil {
			return nil, err
		}
		sel.Agg = agg
	} else {
		// A bare name (the reference design's rules write metric_path:
		// "cpu_usage_percent"): the engine picks the aggregation by type.
		sel.Agg = Agg{Kind: Default}
	}
	p.space()
	if strings.HasPrefix(p.s[p.pos:], "by") && (p.pos+2 == len(p.s) || !isNameChar(p.s[p.pos+2])) {
		p.pos += 2
		p.space()
		if p.peek() != '(' {
			return nil, p.errf("expected \"(\" after by")
		}
		p.pos++
		sel.By = []string{}
		for {
			p.space()
			if p.peek() == ')' {
				p.pos++
				break
			}
			if len(sel.By) > 0 {
				if p.peek() != ',' {
					return nil, p.errf("expected \",\" or \")\" in by (...)")
				}
				p.pos++
				p.space()
				if p.peek() == ')' {
					p.pos++
					break
				}
			}
			lstart := p.pos
			l := p.ident(false)
			if l == "" {
				return nil, p.errf("expected a label name in by (...)")
			}
			for _, b := range sel.By {
				if b == l {
					return nil, p.errAt(lstart, "label %q appears twice in by (...)", l)
				}
			}
			sel.By = append(sel.By, l)
		}
	}
	return sel, nil
}

func (p *parser) matchers(sel *Selector) error {
	for {
		p.space()
		if p.peek() == '}' {
			p.pos++
			return nil
		}
		if len(sel.Matchers) > 0 {
			if p.peek() != ',' {
				return p.errf("expected \",\" or \"}\" between label matchers")
			}
			p.pos++
			p.space()
			if p.peek() == '}' {
				p.pos++
				return nil
			}
		}
		lstart := p.pos
		label := p.ident(false)
		if label == "" {
			if p.pos >= len(p.s) {
				return p.errf("unclosed \"{\"")
			}
			return p.errf("expected a label name, found %q", p.rest())
		}
		if label == "__name__" {
			// The name is written before the braces; a second one could
			// only select nothing (or, with a regex, everything the name
			// already picked), so refuse it as Prometheus does.
			return p.errAt(lstart, "metric name must not be set twice: %q is already the name (drop the __name__ matcher, or write the name before \"{\")", sel.Name)
		}
		p.space()
		var op MatchOp
		switch {
		case strings.HasPrefix(p.s[p.pos:], "=~"):
			op, p.pos = RegexMatch, p.pos+2
		case strings.HasPrefix(p.s[p.pos:], "!~"):
			op, p.pos = RegexNoMatch, p.pos+2
		case strings.HasPrefix(p.s[p.pos:], "!="):
			op, p.pos = NotEqual, p.pos+2
		case strings.HasPrefix(p.s[p.pos:], "="):
			op, p.pos = Equal, p.pos+1
		default:
			return p.errf("expected an operator (=, !=, =~, !~) after label %q", label)
		}
		p.space()
		vcol := p.pos
		val, err := p.str()
		if err != nil {
			return err
		}
		m := Matcher{Label: label, Op: op, Value: val}
		if op == RegexMatch || op == RegexNoMatch {
			re, err := anchor(val)
			if err != nil {
				return p.errAt(vcol, "bad regular expression for label %q: %v", label, strings.TrimPrefix(err.Error(), "error parsing regexp: "))
			}
			m.re = re
		}
		sel.Matchers = append(sel.Matchers, m)
	}
}

// anchor compiles a matcher's pattern so that it must match the whole
// value. The pattern is parsed on its own first: wrapping the raw text
// would let `p)|(v` close the group and become "starts with p or ends
// with v", and an unterminated \Q would swallow the closing ")$". The
// parsed tree, printed back, is a complete expression (balanced groups,
// no \Q), so ^(?:...)$ around it anchors every alternative, as Prometheus
// does.
func anchor(pattern string) (*regexp.Regexp, error) {
	tree, err := syntax.Parse(pattern, syntax.Perl) // the flags regexp.Compile uses
	if err != nil {
		return nil, err
	}
	return regexp.Compile("^(?:" + tree.String() + ")$")
}

func (p *parser) str() (string, error) {
	q := p.peek()
	if q != '"' && q != '\'' {
		return "", p.errf("expected a quoted label value")
	}
	start := p.pos
	p.pos++
	for p.pos < len(p.s) && p.s[p.pos] != q {
		if p.s[p.pos] == '\\' {
			p.pos++
		}
		p.pos++
	}
	if p.pos >= len(p.s) {
		p.pos = start
		return "", p.errf("unterminated string")
	}
	p.pos++
	raw := p.s[start:p.pos]
	if q == '\'' {
		// Single-quoted strings take the same escapes as double-quoted ones.
		raw = `"` + strings.ReplaceAll(strings.ReplaceAll(raw[1:len(raw)-1], `\'`, `'`), `"`, `\"`) + `"`
	}
	v, err := strconv.Unquote(raw)
	if err != nil {
		p.pos = start
		return "", p.errf("bad escape in string %s", p.s[start:min(len(p.s), start+20)])
	}
	return v, nil
}

func (p *parser) agg() (Agg, error) {
	start := p.pos
	for p.pos < len(p.s) && ((p.s[p.pos] >= 'a' && p.s[p.pos] <= 'z') || (p.s[p.pos] >= '0' && p.s[p.pos] <= '9') || p.s[p.pos] == '_') {
		p.pos++
	}
	word := p.s[start:p.pos]
	want := "want last, min, max, avg, sum, count, stddev, rate, increase, pNN like p95, p99.9 or count_le(T) like count_le(300)"
	if word == "" {
		return Agg{}, p.errf("expected an aggregation (%s)", want)
	}
	if word == string(CountLE) {
		t, err := p.threshold()
		if err != nil {
			return Agg{}, err
		}
		return Agg{Kind: CountLE, Threshold: t, Text: strings.Join(strings.Fields(p.s[start:p.pos]), "")}, nil
	}
	for _, a := range aggNames {
		if word == string(a) {
			return Agg{Kind: a, Text: word}, nil
		}
	}
	if word[0] == 'p' && len(word) > 1 {
		digits := word[1:]
		if _, err := strconv.Atoi(digits); err == nil {
			if p.peek() == '.' && p.pos+1 < len(p.s) && p.s[p.pos+1] >= '0' && p.s[p.pos+1] <= '9' {
				p.pos++
				for p.pos < len(p.s) && p.s[p.pos] >= '0' && p.s[p.pos] <= '9' {
					p.pos++
				}
				word = p.s[start:p.pos]
			}
			// "99.9e-2" rounds once, so p99.9 is exactly the double 0.999.
			q, err := strconv.ParseFloat(word[1:]+"e-2", 64)
			if err == nil && q >= 0 && q <= 1 {
				return Agg{Kind: Percentile, Quantile: q, Text: word}, nil
			}
			p.pos = start
			return Agg{}, p.errf("percentile %s is out of range (want p0 to p100)", word)
		}
	}
	p.pos = start
	return Agg{}, p.errf("unknown aggregation %q (%s)", word, want)
}

// threshold parses count_le's "(T)": one number, as strconv.ParseFloat
// reads it (300, 299.9, 1e3, -5, Inf), spaces allowed inside the
// parentheses. NaN is refused (no value is <= NaN, so it could only count
// nothing), and so is a number out of float64's range (1e400), which
// ParseFloat would round to ±Inf.
func (p *parser) threshold() (float64, error) {
	if p.peek() != '(' {
		return 0, p.errf("expected \"(\" after count_le (write count_le(T), T a number, like count_le(300))")
	}
	p.pos++
	p.space()
	nstart := p.pos
	for p.pos < len(p.s) && (isNameChar(p.s[p.pos]) || p.s[p.pos] == '.' || p.s[p.pos] == '+' || p.s[p.pos] == '-') && p.s[p.pos] != ':' {
		p.pos++
	}
	num := p.s[nstart:p.pos]
	if num == "" {
		if p.peek() == ')' || p.pos >= len(p.s) {
			return 0, p.errf("count_le needs a threshold (write count_le(T), T a number, like count_le(300))")
		}
		return 0, p.errf("expected a number in count_le(...), found %q", p.rest())
	}
	t, err := strconv.ParseFloat(num, 64)
	switch {
	case err != nil && errors.Is(err, strconv.ErrRange):
		return 0, p.errAt(nstart, "count_le threshold %s is out of range", num)
	case err != nil:
		return 0, p.errAt(nstart, "count_le threshold %q is not a number", num)
	case math.IsNaN(t):
		return 0, p.errAt(nstart, "count_le threshold must not be NaN (no value is <= NaN)")
	}
	p.space()
	switch p.peek() {
	case ')':
		p.pos++
		return t, nil
	case ',':
		return 0, p.errf("count_le takes one threshold")
	case 0:
		return 0, p.errf("unclosed \"(\" in count_le(...)")
	}
	return 0, p.errf("expected \")\" after count_le's threshold, found %q", p.rest())
}

// Match reports whether a series with this name and labels is selected.
func (s *Selector) Match(name string, labels map[string]string) bool {
	if name != s.Name {
		return false
	}
	for i := range s.Matchers {
		if !s.Matchers[i].Matches(labels[s.Matchers[i].Label]) {
			return false
		}
	}
	return true
}

func (s *Selector) String() string {
	var b strings.Builder
	b.WriteString(s.Name)
	if len(s.Matchers) > 0 {
		b.WriteByte('{')
		for i, m := range s.Matchers {
			if i > 0 {
				b.WriteByte(',')
			}
			b.WriteString(m.Label + m.Op.String() + strconv.Quote(m.Value))
		}
		b.WriteByte('}')
	}
	if s.Agg.Kind != Default {
		b.WriteString("." + s.Agg.Text)
	}
	if s.By != nil {
		b.WriteString(" by (" + strings.Join(s.By, ", ") + ")")
	}
	return b.String()
}

func (e *Expr) String() string {
	if e.Den == nil {
		return e.Num.String()
	}
	return e.Num.String() + " / " + e.Den.String()
}
