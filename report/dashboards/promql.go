package dashboards

import (
	"errors"
	"fmt"
	"strconv"
	"strings"
	"unicode/utf8"

	"github.com/vigil-metrics/vigil/internal/metricpath"
)

// The metric types of a store (internal/store's series.type).
const (
	Counter   = "counter"
	Gauge     = "gauge"
	Histogram = "histogram"
)

// The windows a panel's query uses when none is fixed: Grafana fills
// them in per request (replay.go says how). Counters get
// $__rate_interval, which always holds at least four scrape intervals,
// so rate() has two samples; a gauge's *_over_time gets $__interval, the
// step, so each point summarises exactly its own step.
const (
	RateWindow  = "$__rate_interval"
	GaugeWindow = "$__interval"
)

// ErrNoEqual is wrapped by Translate's error for a path that PromQL over
// vigil serve's data model cannot answer at all (the increments of a
// counter, a histogram's min, a gauge's count_le): such a path gets no
// panel, and the dashboard's description says so.
var ErrNoEqual = errors.New("no PromQL equal over vigil serve's series")

// Query is a metric path translated into PromQL.
type Query struct {
	Expr string
	// Exact is true when, over the same window, the PromQL gives vigil's
	// own numbers (up to float rounding); Note says why not otherwise.
	Exact bool
	Note  string
}

// TranslateOptions are the parts of a translation that come from the
// panel, not the path.
type TranslateOptions struct {
	// Window is the range of every range selector: a Grafana variable
	// ("" picks RateWindow or GaugeWindow by type) or a PromQL duration
	// such as "1h" (a rule's evaluation window).
	Window string
	// Service, when set, is added as service="..." to every selector
	// that has no matcher on service (a service's dashboard).
	Service string
	// Buckets, when not nil, are the histograms vigil serve has buckets
	// for: a percentile of another histogram has no PromQL equal (its
	// NAME_bucket series does not exist).
	Buckets map[string][]float64
}

// Translate writes a metric path as the PromQL that vigil serve answers
// (docs/dashboards.md, "From metric paths to PromQL"). types maps a
// metric name to counter, gauge or histogram; a name missing from it is
// a counter when it ends in _total and a gauge otherwise.
func Translate(e *metricpath.Expr, types map[string]string, o TranslateOptions) (Query, error) {
	num, err := translateSel(&e.Num, types, o)
	if err != nil || e.Den == nil {
		return num, err
	}
	den, err := translateSel(e.Den, types, o)
	if err != nil {
		return den, err
	}
	q := Query{Exact: num.Exact && den.Exact, Note: joinNotes(num.Note, den.Note)}
	numExpr := num.Expr
	if countsEvents(&e.Num, kindOf(e.Num.Name, types)) {
		// vigil: a numerator counting events that has no group where the
		// denominator has one is 0 there ("no errors", not "no data").
		numExpr = fmt.Sprintf("%s or %s * 0", num.Expr, paren(den.Expr))
	}
	// vigil: a zero denominator gives no result, never Inf or NaN; the
	// comparison drops those elements before dividing. Both sides are
	// aggregated by the same labels, so one-to-one matching pairs equal
	// label sets, as vigil's ratio does.
	q.Expr = fmt.Sprintf("(%s) / (%s != 0)", numExpr, den.Expr)
	return q, nil
}

func joinNotes(a, b string) string {
	switch {
	case a == "" || a == b:
		return b
	case b == "":
		return a
	}
	return a + "; " + b
}

func paren(s string) string { return "(" + s + ")" }

func kindOf(name string, types map[string]string) string {
	if k, ok := types[name]; ok {
		return k
	}
	if strings.HasSuffix(name, "_total") {
		return Counter
	}
	return Gauge
}

// countsEvents is the numerator of vigil's silent-counter rule.
func countsEvents(s *metricpath.Selector, kind string) bool {
	a := effectiveAgg(s.Agg.Kind, kind)
	switch kind {
	case Counter:
		return a == metricpath.Rate || a == metricpath.Increase || a == metricpath.Sum
	case Histogram:
		return a == metricpath.Count || a == metricpath.CountLE
	}
	return false
}

func effectiveAgg(a metricpath.AggKind, kind string) metricpath.AggKind {
	if a != metricpath.Default {
		return a
	}
	if kind == Counter {
		return metricpath.Rate
	}
	return metricpath.Avg
}

// The notes for paths without an exact equal, as docs/dashboards.md
// words them.
const (
	noteExtrapolated = "rate/increase extrapolate to the window's edges; vigil sums the increments inside it"
	noteLast         = "each series' last sample, then the largest; vigil takes the latest sample of the group"
	noteStddev       = "each series' standard deviation, then the largest; vigil pools the group's samples"
	notePercentile   = "each series' type-7 percentile (exact for one series), then the largest: an upper bound on vigil's pooled one"
	noteHistQuantile = "histogram_quantile interpolates inside the configured buckets; vigil's pNN is exact over the raw observations"
	noteCountLE      = "counts the bucket le=T, which exists only where T is a configured bucket bound"
)

func translateSel(s *metricpath.Selector, types map[string]string, o TranslateOptions) (Query, error) {
	// A label value that is not UTF-8 matches no stored series (the stores
	// refuse such values) and is no PromQL string.
	for _, m := range s.Matchers {
		if !utf8.ValidString(m.Value) {
			return Query{}, fmt.Errorf("%s: label %s: value is not valid UTF-8: %w", s.String(), m.Label, ErrNoEqual)
		}
	}
	kind := kindOf(s.Name, types)
	agg := effectiveAgg(s.Agg.Kind, kind)
	w := o.Window
	if w == "" {
		w = GaugeWindow
		if kind != Gauge {
			w = RateWindow
		}
	}
	by := byClause(s.By)
	sel := func(suffix string, extra string) string {
		return selector(s.Name+suffix, s.Matchers, o.Service, extra)
	}
	rng := func(suffix string) string { return sel(suffix, "") + "[" + w + "]" }
	noEqual := func() (Query, error) {
		return Query{}, fmt.Errorf("%s: %s of a %s: %w", s.String(), aggText(s, agg), kind, ErrNoEqual)
	}
	switch kind {
	case Gauge:
		switch agg {
		case metricpath.Avg:
			return Query{Expr: fmt.Sprintf("sum%s (sum_over_time(%s)) / sum%s (count_over_time(%s))", by, rng(""), by, rng("")), Exact: true}, nil
		case metricpath.Sum:
			return Query{Expr: fmt.Sprintf("sum%s (sum_over_time(%s))", by, rng("")), Exact: true}, nil
		case metricpath.Count:
			return Query{Expr: fmt.Sprintf("sum%s (count_over_time(%s))", by, rng("")), Exact: true}, nil
		case metricpath.Min, metricpath.Max:
			return Query{Expr: fmt.Sprintf("%s%s (%s_over_time(%s))", agg, by, agg, rng("")), Exact: true}, nil
		case metricpath.Last:
			return Query{Expr: fmt.Sprintf("max%s (last_over_time(%s))", by, rng("")), Note: noteLast}, nil
		case metricpath.Stddev:
			return Query{Expr: fmt.Sprintf("max%s (stddev_over_time(%s))", by, rng("")), Note: noteStddev}, nil
		case metricpath.Percentile:
			return Query{Expr: fmt.Sprintf("max%s (quantile_over_time(%s, %s))", by, fmtFloat(s.Agg.Quantile), rng("")), Note: notePercentile}, nil
		}
	case Counter:
		switch agg {
		case metricpath.Rate:
			return Query{Expr: fmt.Sprintf("sum%s (rate(%s))", by, rng("")), Note: noteExtrapolated}, nil
		case metricpath.Increase, metricpath.Sum:
			return Query{Expr: fmt.Sprintf("sum%s (increase(%s))", by, rng("")), Note: noteExtrapolated}, nil
		}
	case Histogram:
		switch agg {
		case metricpath.Count:
			return Query{Expr: fmt.Sprintf("sum%s (increase(%s))", by, rng("_count")), Note: noteExtrapolated}, nil
		case metricpath.Sum:
			return Query{Expr: fmt.Sprintf("sum%s (increase(%s))", by, rng("_sum")), Note: noteExtrapolated}, nil
		case metricpath.Avg:
			return Query{Expr: fmt.Sprintf("sum%s (increase(%s)) / sum%s (increase(%s))", by, rng("_sum"), by, rng("_count")), Note: noteExtrapolated}, nil
		case metricpath.Percentile:
			if o.Buckets != nil && len(o.Buckets[s.Name]) == 0 {
				return Query{}, fmt.Errorf("%s: %s of a histogram without serve: buckets: (vigil serve has no %s_bucket): %w",
					s.String(), aggText(s, agg), s.Name, ErrNoEqual)
			}
			return Query{Expr: fmt.Sprintf("histogram_quantile(%s, sum%s (rate(%s)))", fmtFloat(s.Agg.Quantile), byClause(append(append([]string{}, s.By...), "le")), rng("_bucket")),
				Note: noteHistQuantile}, nil
		case metricpath.CountLE:
			le := selector(s.Name+"_bucket", s.Matchers, o.Service, `le="`+fmtFloat(s.Agg.Threshold)+`"`)
			return Query{Expr: fmt.Sprintf("sum%s (increase(%s[%s]))", by, le, w), Note: joinNotes(noteCountLE, noteExtrapolated)}, nil
		}
	}
	return noEqual()
}

func aggText(s *metricpath.Selector, agg metricpath.AggKind) string {
	if s.Agg.Text != "" {
		return s.Agg.Text
	}
	return string(agg)
}

func byClause(by []string) string {
	if len(by) == 0 {
		return ""
	}
	return " by (" + strings.Join(by, ", ") + ")"
}

// selector writes name{matchers}; a service matcher is added when the
// path has none, and extra (already PromQL) goes last.
// promString is s as a PromQL string literal: Go's quoting, which
// Prometheus's parser reads back, except that U+FFFD is escaped, since
// Prometheus's lexer takes the replacement character, even well encoded,
// for an invalid rune.
func promString(s string) string {
	return strings.ReplaceAll(strconv.Quote(s), "\uFFFD", `\ufffd`)
}

func selector(name string, ms []metricpath.Matcher, service, extra string) string {
	var parts []string
	hasService := false
	for _, m := range ms {
		// vigil's regular expressions are anchored at both ends as
		// Prometheus's are, and its strings quote as Go's do, which
		// PromQL reads: the matcher means the same on both sides.
		parts = append(parts, m.Label+m.Op.String()+promString(m.Value))
		hasService = hasService || m.Label == "service"
	}
	if service != "" && !hasService {
		parts = append(parts, "service="+promString(service))
	}
	if extra != "" {
		parts = append(parts, extra)
	}
	if len(parts) == 0 {
		return name
	}
	return name + "{" + strings.Join(parts, ", ") + "}"
}

// fmtFloat writes a number as PromQL and Prometheus's le labels do for
// ordinary bounds: shortest form, no exponent below 1e21.
func fmtFloat(f float64) string { return strconv.FormatFloat(f, 'f', -1, 64) }
