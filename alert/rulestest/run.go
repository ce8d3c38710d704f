package rulestest

import (
	"context"
	"fmt"
	"log/slog"
	"maps"
	"math"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"sort"
	"strconv"
	"strings"
	"time"

	alertconfig "github.com/vigil-metrics/vigil/alert/config"
	"github.com/vigil-metrics/vigil/alert/eval"
	"github.com/vigil-metrics/vigil/alert/state"
	"github.com/vigil-metrics/vigil/analyze"
	"github.com/vigil-metrics/vigil/internal/cumulative"
	"github.com/vigil-metrics/vigil/internal/metricpath"
	"github.com/vigil-metrics/vigil/internal/store"
	"github.com/vigil-metrics/vigil/internal/vtime"
)

// Options tune Run.
type Options struct {
	// Run, when not nil, selects the tests whose name it matches.
	Run *regexp.Regexp
	// TempDir is where each test's store and caches go (default
	// os.TempDir()); they are removed when the test ends.
	TempDir string
	Logger  *slog.Logger
	// Now times each test for the JUnit report; nil leaves Elapsed zero.
	// The test itself never reads it: its instants come from the file.
	Now func() time.Time
}

// TestResult is the outcome of one test (one entry of tests).
type TestResult struct {
	Name     string
	Line     int
	Failures []Failure
	Elapsed  time.Duration
}

// Passed reports whether every assertion of the test held.
func (r *TestResult) Passed() bool { return len(r.Failures) == 0 }

// Failure is one assertion that did not hold.
type Failure struct {
	Line int    // the alert_rule_test's or metric_path_test's
	What string // e.g. `alert_rule_test cpu_high at 10m`
	// Detail says what was expected and what was got, one fact a line.
	Detail string
}

// Result is the outcome of a file's selected tests, in file order.
type Result struct {
	File  string
	Tests []TestResult
}

// Failed is how many tests failed.
func (r *Result) Failed() int {
	n := 0
	for i := range r.Tests {
		if !r.Tests[i].Passed() {
			n++
		}
	}
	return n
}

// Run runs f's tests (those opt.Run selects). The error is for what
// stopped a test from running at all (a full disk, a rule whose path the
// store cannot answer); a test whose expectations do not hold is a
// Failure in the result, not an error.
func Run(ctx context.Context, f *File, opt Options) (*Result, error) {
	if opt.Logger == nil {
		opt.Logger = slog.New(slog.DiscardHandler)
	}
	res := &Result{File: f.Path}
	for i := range f.Tests {
		t := &f.Tests[i]
		if opt.Run != nil && !opt.Run.MatchString(t.Name) {
			continue
		}
		var start time.Time
		if opt.Now != nil {
			start = opt.Now()
		}
		fails, err := runTest(ctx, f, t, opt)
		if err != nil {
			return res, fmt.Errorf("%s:%d: test %q: %w", f.Path, t.Line, t.Name, err)
		}
		tr := TestResult{Name: t.Name, Line: t.Line, Failures: fails}
		if opt.Now != nil {
			tr.Elapsed = opt.Now().Sub(start)
		}
		res.Tests = append(res.Tests, tr)
	}
	return res, nil
}

// At is the instant of d after Epoch.
func At(d time.Duration) time.Time { return Epoch.Add(d) }

func runTest(ctx context.Context, f *File, t *Test, opt Options) ([]Failure, error) {
	dir, err := os.MkdirTemp(opt.TempDir, "vigil-rules-test-")
	if err != nil {
		return nil, err
	}
	defer os.RemoveAll(dir)
	db, err := load(ctx, dir, t, opt)
	if err != nil {
		return nil, err
	}
	defer db.Close()

	var fails []Failure
	afs, err := alertTests(ctx, db, f, t)
	if err != nil {
		return nil, err
	}
	fails = append(fails, afs...)
	for i := range t.PathTests {
		p := &t.PathTests[i]
		rs, err := db.Eval(ctx, p.Expr, analyze.Window{At: At(p.EvalTime), Length: p.Window})
		if err != nil {
			return nil, fmt.Errorf("line %d: metric_path_test %s: %w", p.Line, p.Path, err)
		}
		if d := checkPath(p, rs); d != "" {
			fails = append(fails, Failure{Line: p.Line,
				What: fmt.Sprintf("metric_path_test %s at %s", p.Path, vtime.FormatDuration(p.EvalTime)), Detail: d})
		}
	}
	sort.SliceStable(fails, func(i, j int) bool { return fails[i].Line < fails[j].Line })
	return fails, nil
}

// load writes t's series into a new store in dir and opens it for
// queries.
func load(ctx context.Context, dir string, t *Test, opt Options) (*analyze.DB, error) {
	path := filepath.Join(dir, "test.db")
	st, err := store.Open(ctx, path, store.Options{})
	if err != nil {
		return nil, err
	}
	var samples []store.Sample
	tr := cumulative.New()
	for _, s := range t.Series {
		key := s.Name + store.CanonicalLabels(s.Labels)
		for i, p := range s.Points {
			if p.Missing {
				continue
			}
			v := p.Value
			if s.Type == store.Counter {
				// Cumulative as promtool takes it, an increment as vigil
				// stores it: the first reading is the baseline, a drop a
				// reset (internal/cumulative, as an OpenMetrics import).
				inc, ok := tr.Delta(key, v)
				if !ok {
					continue
				}
				v = inc
			}
			ts := At(time.Duration(i) * t.Interval).UnixMilli()
			samples = append(samples, store.Sample{Name: s.Name, Type: s.Type, Labels: s.Labels, TS: ts, Value: v})
		}
	}
	if _, err := st.Write(ctx, samples); err != nil {
		st.Close()
		return nil, err
	}
	if err := st.Close(); err != nil {
		return nil, err
	}
	return analyze.Open(ctx, []string{path}, analyze.Options{CacheDir: dir, Logger: opt.Logger, LockWait: time.Second})
}

// alertTests steps the rules the test names every evaluation_interval
// from Epoch, as `vigil evaluate` run from cron would, and checks each
// alert_rule_test against the alerts firing after the last step at or
// before its eval_time.
func alertTests(ctx context.Context, db *analyze.DB, f *File, t *Test) ([]Failure, error) {
	if len(t.AlertTests) == 0 {
		return nil, nil
	}
	byName := map[string]*alertconfig.Rule{}
	for i := range f.Rules {
		byName[f.Rules[i].Name] = &f.Rules[i]
	}
	var rules []alertconfig.Rule
	seen := map[string]bool{}
	order := make([]int, len(t.AlertTests))
	for i, a := range t.AlertTests {
		order[i] = i
		if !seen[a.Alertname] {
			seen[a.Alertname] = true
			rules = append(rules, *byName[a.Alertname])
		}
	}
	sort.SliceStable(order, func(i, j int) bool { return t.AlertTests[order[i]].EvalTime < t.AlertTests[order[j]].EvalTime })
	ruleOf := map[string]*alertconfig.Rule{}
	for i := range rules {
		ruleOf[rules[i].Name] = &rules[i]
	}

	alerts := map[uint64]state.Alert{}
	ei := f.EvaluationInterval
	fails := make([]*Failure, len(t.AlertTests))
	next := 0
	for k := 0; next < len(order); k++ {
		off := time.Duration(k) * ei
		at := At(off)
		// A rule test is about every rule: one that cannot be evaluated
		// fails the file, as it always did.
		obs, errs, err := eval.Rules(ctx, db, rules, at)
		if err != nil {
			return nil, err
		}
		if len(errs) > 0 {
			return nil, errs[0]
		}
		stepAll(alerts, ruleOf, obs, at)
		// The tests whose eval_time falls before the next step see this
		// step's state.
		for next < len(order) && t.AlertTests[order[next]].EvalTime < off+ei {
			i := order[next]
			a := &t.AlertTests[i]
			if d := checkAlerts(a, ruleOf[a.Alertname], alerts); d != "" {
				fails[i] = &Failure{Line: a.Line, What: fmt.Sprintf("alert_rule_test %s at %s", a.Alertname, vtime.FormatDuration(a.EvalTime)), Detail: d}
			}
			next++
		}
	}
	var out []Failure
	for _, fl := range fails {
		if fl != nil {
			out = append(out, *fl)
		}
	}
	return out, nil
}

// stepAll is one `vigil evaluate` run over alerts, the state DB's rows:
// eval.StepRun, then the rows that run writes (eval.Stored).
func stepAll(alerts map[uint64]state.Alert, rules map[string]*alertconfig.Rule, obs []eval.Observation, at time.Time) {
	for _, st := range eval.StepRun(alerts, rules, obs, at) {
		if eval.Stored(alerts, st.Next) {
			alerts[st.Next.Fingerprint] = st.Next
		}
	}
}

// firing says whether an alert counts as firing: firing, or without data
// under nodata: alert, which vigil notifies like a firing alert.
func firing(a state.Alert, r *alertconfig.Rule) bool {
	return a.State == state.Firing || a.State == state.NoData && r.NoData == state.NoDataAlert
}

type gotAlert struct {
	labels      map[string]string
	annotations map[string]string
	key         string
}

// checkAlerts compares the firing alerts of a's rule with the expected
// ones, as multisets of label sets; "" when they agree.
func checkAlerts(a *AlertTest, r *alertconfig.Rule, alerts map[uint64]state.Alert) string {
	var got []gotAlert
	var pending []state.Alert
	for _, x := range alerts {
		if x.Rule != a.Alertname {
			continue
		}
		switch {
		case firing(x, r):
			ann := map[string]string{}
			if r.Description != "" {
				ann["description"] = r.Description
			}
			labels := maps.Clone(x.Labels)
			delete(labels, state.AlertNameLabel)
			got = append(got, gotAlert{labels: labels, annotations: ann, key: metricpath.FormatLabels(labels)})
		case x.State == state.Pending:
			pending = append(pending, x)
		}
	}
	sort.Slice(got, func(i, j int) bool { return got[i].key < got[j].key })
	exp := slices.Clone(a.ExpAlerts)
	sort.SliceStable(exp, func(i, j int) bool {
		return metricpath.FormatLabels(exp[i].Labels) < metricpath.FormatLabels(exp[j].Labels)
	})

	// Pair each expected alert with a got one of equal labels.
	used := make([]bool, len(got))
	var missing []ExpAlert
	var annDiff []string
	for _, e := range exp {
		k := metricpath.FormatLabels(e.Labels)
		found := -1
		for i := range got {
			if !used[i] && got[i].key == k {
				found = i
				break
			}
		}
		if found < 0 {
			missing = append(missing, e)
			continue
		}
		used[found] = true
		if e.Annotations != nil && !maps.Equal(e.Annotations, got[found].annotations) {
			annDiff = append(annDiff, fmt.Sprintf("  %s: annotations: expected %s, got %s",
				k, metricpath.FormatLabels(e.Annotations), metricpath.FormatLabels(got[found].annotations)))
		}
	}
	var extra []gotAlert
	for i := range got {
		if !used[i] {
			extra = append(extra, got[i])
		}
	}
	if len(missing) == 0 && len(extra) == 0 && len(annDiff) == 0 {
		return ""
	}
	var b strings.Builder
	fmt.Fprintf(&b, "expected %s:\n", plural(len(exp), "firing alert"))
	for _, e := range exp {
		fmt.Fprintf(&b, "  %s\n", metricpath.FormatLabels(e.Labels))
	}
	fmt.Fprintf(&b, "got %s:\n", plural(len(got), "firing alert"))
	for _, g := range got {
		fmt.Fprintf(&b, "  %s\n", g.key)
	}
	if len(missing) > 0 || len(extra) > 0 {
		b.WriteString("diff (- expected, not firing; + firing, not expected):\n")
		for _, e := range missing {
			fmt.Fprintf(&b, "  - %s\n", metricpath.FormatLabels(e.Labels))
		}
		for _, g := range extra {
			fmt.Fprintf(&b, "  + %s\n", g.key)
		}
	}
	for _, d := range annDiff {
		b.WriteString(d[2:])
		b.WriteByte('\n')
	}
	// Pending alerts are not firing, as in promtool; say so when one was
	// expected, since a for: too long is the usual cause.
	sort.Slice(pending, func(i, j int) bool {
		return metricpath.FormatLabels(pending[i].Labels) < metricpath.FormatLabels(pending[j].Labels)
	})
	for _, p := range pending {
		labels := maps.Clone(p.Labels)
		delete(labels, state.AlertNameLabel)
		fmt.Fprintf(&b, "note: %s is pending since %s (for: %s), not firing\n", metricpath.FormatLabels(labels),
			vtime.FormatDuration(p.ActiveSince.Sub(Epoch)), vtime.FormatDuration(r.For))
	}
	return strings.TrimSuffix(b.String(), "\n")
}

func plural(n int, what string) string {
	if n == 1 {
		return "1 " + what
	}
	return fmt.Sprintf("%d %ss", n, what)
}

// checkPath compares a metric path's results with the expected value; ""
// when they agree. Values are compared to 1e-9 relative (DuckDB's sums
// may differ from exact arithmetic in the last bits).
func checkPath(p *PathTest, rs []analyze.Result) string {
	want := "{}"
	if p.ExpLabels != nil {
		want = metricpath.FormatLabels(p.ExpLabels)
	}
	var got []string
	for _, r := range rs {
		got = append(got, metricpath.FormatLabels(r.Labels)+" "+formatFloat(r.Value))
	}
	var match *analyze.Result
	switch {
	case p.ExpLabels == nil && len(rs) == 1:
		match = &rs[0]
	case p.ExpLabels != nil:
		for i := range rs {
			if maps.Equal(rs[i].Labels, p.ExpLabels) || (len(rs[i].Labels) == 0 && len(p.ExpLabels) == 0) {
				match = &rs[i]
			}
		}
	}
	if match != nil && near(match.Value, p.ExpValue) {
		return ""
	}
	var b strings.Builder
	fmt.Fprintf(&b, "expected %s %s\n", want, formatFloat(p.ExpValue))
	switch {
	case len(rs) == 0:
		fmt.Fprintf(&b, "got no data (window %s ending at %s)", vtime.FormatDuration(p.Window), vtime.FormatDuration(p.EvalTime))
	case match == nil && p.ExpLabels == nil:
		fmt.Fprintf(&b, "got %d results (give exp_labels to pick one):\n  %s", len(rs), strings.Join(got, "\n  "))
	default:
		fmt.Fprintf(&b, "got:\n  %s", strings.Join(got, "\n  "))
	}
	return b.String()
}

func near(a, b float64) bool {
	if a == b {
		return true
	}
	d := math.Abs(a - b)
	return d <= 1e-9*math.Max(math.Abs(a), math.Abs(b))
}

func formatFloat(v float64) string { return strconv.FormatFloat(v, 'g', -1, 64) }
