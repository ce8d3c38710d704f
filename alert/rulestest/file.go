// Package rulestest runs rule unit tests written as data, in the format
// promtool test rules reads: input series in promtool's value notation,
// the alerts expected to fire at an evaluation time, and metric paths'
// expected values. `vigil rules test` is its command line.
//
// A test group's series are written to a store in a temporary folder
// (sample i of a series at Epoch + i*interval, counters turned from the
// cumulative values given into increments as an import does), and the
// rules named by its alert_rule_tests are evaluated with alert/eval and
// stepped with alert/state.Step every evaluation_interval from Epoch to
// each eval_time, as `vigil evaluate` run from cron would step them.
// Nothing is sent and no state DB outside the temporary folder is read or
// written: the alerts' state lives in memory for the test.
package rulestest

import (
	"errors"
	"fmt"
	"math"
	"os"
	"path/filepath"
	"slices"
	"sort"
	"strconv"
	"strings"
	"time"

	"go.yaml.in/yaml/v3"

	alertconfig "github.com/vigil-metrics/vigil/alert/config"
	"github.com/vigil-metrics/vigil/internal/metricpath"
	"github.com/vigil-metrics/vigil/internal/store"
	"github.com/vigil-metrics/vigil/internal/vtime"
)

// Epoch is time 0 of a test: the first sample of every series and every
// eval_time count from it. It is the first instant the store's import
// range accepts (2000-01-01T00:00:00Z).
var Epoch = store.MinTime

// DefaultEvaluationInterval is evaluation_interval when the file does not
// give one (promtool's default).
const DefaultEvaluationInterval = time.Minute

// DefaultWindow is a metric_path_test's window when it gives none: the
// 5 minutes Prometheus looks back for an instant's latest sample.
const DefaultWindow = 5 * time.Minute

// File is a decoded, valid test file.
type File struct {
	Path               string
	RuleFiles          []string // as resolved: relative to the test file's folder
	EvaluationInterval time.Duration
	Rules              []alertconfig.Rule
	Tests              []Test
}

// Test is one entry of tests: a set of input series and what to expect.
type Test struct {
	Line       int
	Name       string // name:, else "test N" (1-based)
	Interval   time.Duration
	Series     []Series
	AlertTests []AlertTest
	PathTests  []PathTest
}

// Series is one input series.
type Series struct {
	Line   int
	Name   string
	Labels map[string]string
	Type   store.Type
	Points []Point
}

// AlertTest is one alert_rule_test: the alerts of rule Alertname firing at
// EvalTime.
type AlertTest struct {
	Line      int
	EvalTime  time.Duration
	Alertname string
	ExpAlerts []ExpAlert // empty: nothing fires
}

// ExpAlert is one expected firing alert.
type ExpAlert struct {
	Line   int
	Labels map[string]string
	// Annotations, when not nil, must equal the alert's (description).
	Annotations map[string]string
}

// PathTest is one metric_path_test: the value of Path over Window ending
// at EvalTime.
type PathTest struct {
	Line     int
	Path     string
	Expr     *metricpath.Expr
	EvalTime time.Duration
	Window   time.Duration
	// ExpLabels picks the result group when not nil; nil wants exactly
	// one result.
	ExpLabels map[string]string
	ExpValue  float64
}

// Error is a problem with a test file at a line (0 when unknown).
type Error struct {
	File string
	Line int
	Msg  string
}

func (e *Error) Error() string {
	if e.Line > 0 {
		return fmt.Sprintf("%s:%d: %s", e.File, e.Line, e.Msg)
	}
	return fmt.Sprintf("%s: %s", e.File, e.Msg)
}

// UsageError marks an invalid test file for the CLI (exit 2).
func (e *Error) UsageError() bool { return true }

// Errors is every problem found in a test file (or the rule files it
// names), in file order.
type Errors []error

func (es Errors) Error() string {
	s := make([]string, len(es))
	for i, e := range es {
		s[i] = e.Error()
	}
	return strings.Join(s, "\n")
}

// UsageError marks an invalid test file for the CLI (exit 2).
func (es Errors) UsageError() bool { return true }

func line(err error) int {
	var e *Error
	if errors.As(err, &e) {
		return e.Line
	}
	return 0
}

type loader struct {
	file string
	errs Errors
	// ruleErrs are the rule files' own problems, listed after the test
	// file's.
	ruleErrs Errors
}

func (l *loader) errf(n *yaml.Node, format string, args ...any) {
	line := 0
	if n != nil {
		line = n.Line
	}
	l.errs = append(l.errs, &Error{File: l.file, Line: line, Msg: fmt.Sprintf(format, args...)})
}

// Load reads and validates a test file and the rule files it names. The
// error is Errors when the file was read but is invalid.
func Load(path string) (*File, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	return Parse(path, b)
}

// Parse validates data as the test file path; rule_files are read
// relative to path's folder.
func Parse(path string, data []byte) (*File, error) {
	l := &loader{file: path}
	f := l.decode(data)
	sort.SliceStable(l.errs, func(i, j int) bool { return line(l.errs[i]) < line(l.errs[j]) })
	if errs := slices.Concat(l.errs, l.ruleErrs); len(errs) > 0 {
		return nil, errs
	}
	return f, nil
}

func (l *loader) decode(data []byte) *File {
	f := &File{Path: l.file, EvaluationInterval: DefaultEvaluationInterval}
	var doc yaml.Node
	if err := yaml.Unmarshal(data, &doc); err != nil {
		msg := strings.TrimPrefix(err.Error(), "yaml: ")
		line := 0
		if rest, ok := strings.CutPrefix(msg, "line "); ok {
			if i := strings.Index(rest, ": "); i > 0 {
				if n, err := strconv.Atoi(rest[:i]); err == nil {
					line, msg = n, rest[i+2:]
				}
			}
		}
		l.errs = append(l.errs, &Error{File: l.file, Line: line, Msg: msg})
		return nil
	}
	if len(doc.Content) == 0 {
		l.errs = append(l.errs, &Error{File: l.file, Msg: "empty test file: want rule_files and tests"})
		return nil
	}
	root := doc.Content[0]
	var ruleFiles, tests *yaml.Node
	l.fields(root, "test file", map[string]func(*yaml.Node){
		"rule_files": func(v *yaml.Node) { ruleFiles = v },
		"evaluation_interval": func(v *yaml.Node) {
			if d, ok := l.duration(v, "evaluation_interval"); ok {
				if d <= 0 {
					l.errf(v, "evaluation_interval must be positive")
				} else {
					f.EvaluationInterval = d
				}
			}
		},
		"tests": func(v *yaml.Node) { tests = v },
		// promtool's keys that mean nothing to vigil: admitted, so a
		// promtool file's header loads as is.
		"group_eval_order": func(*yaml.Node) {},
		"fuzzy_compare":    func(*yaml.Node) {},
	}, "rule_files", "tests")
	if ruleFiles != nil {
		l.ruleFiles(f, ruleFiles)
	}
	if tests != nil {
		if tests.Kind != yaml.SequenceNode {
			l.errf(tests, "tests: want a list")
		} else {
			for i, t := range tests.Content {
				f.Tests = append(f.Tests, l.test(f, t, i))
			}
		}
	}
	return f
}

// fields walks a mapping node: every key must be known, the required
// ones present.
func (l *loader) fields(n *yaml.Node, what string, known map[string]func(*yaml.Node), required ...string) bool {
	if n.Kind != yaml.MappingNode {
		l.errf(n, "%s: want a mapping", what)
		return false
	}
	seen := map[string]bool{}
	for i := 0; i+1 < len(n.Content); i += 2 {
		k, v := n.Content[i], n.Content[i+1]
		fn, ok := known[k.Value]
		if !ok {
			names := make([]string, 0, len(known))
			for name := range known {
				names = append(names, name)
			}
			sort.Strings(names)
			l.errf(k, "%s: unknown field %q (want %s)", what, k.Value, strings.Join(names, ", "))
			continue
		}
		if seen[k.Value] {
			l.errf(k, "%s: %s given twice", what, k.Value)
			continue
		}
		seen[k.Value] = true
		fn(v)
	}
	ok := true
	for _, r := range required {
		if !seen[r] {
			l.errf(n, "%s: missing %s", what, r)
			ok = false
		}
	}
	return ok
}

func (l *loader) str(n *yaml.Node, field string) (string, bool) {
	if n.Kind != yaml.ScalarNode || n.Tag == "!!null" {
		l.errf(n, "%s: want a string", field)
		return "", false
	}
	return n.Value, true
}

func (l *loader) duration(n *yaml.Node, field string) (time.Duration, bool) {
	s, ok := l.str(n, field)
	if !ok {
		return 0, false
	}
	if strings.HasPrefix(strings.TrimSpace(s), "-") {
		l.errf(n, "%s: duration %q is negative", field, s)
		return 0, false
	}
	d, err := vtime.ParseDuration(s)
	if err != nil {
		l.errf(n, "%s: %v", field, err)
		return 0, false
	}
	return d, true
}

func (l *loader) labels(n *yaml.Node, field string) (map[string]string, bool) {
	if n.Tag == "!!null" {
		return map[string]string{}, true
	}
	if n.Kind != yaml.MappingNode {
		l.errf(n, "%s: want a mapping of label names to values", field)
		return nil, false
	}
	m := map[string]string{}
	ok := true
	for i := 0; i+1 < len(n.Content); i += 2 {
		k, v := n.Content[i], n.Content[i+1]
		if v.Kind != yaml.ScalarNode {
			l.errf(v, "%s: %s: want a string", field, k.Value)
			ok = false
			continue
		}
		if _, dup := m[k.Value]; dup {
			l.errf(k, "%s: %s given twice", field, k.Value)
			ok = false
		}
		m[k.Value] = v.Value
	}
	return m, ok
}

func (l *loader) ruleFiles(f *File, n *yaml.Node) {
	if n.Kind != yaml.SequenceNode {
		l.errf(n, "rule_files: want a list of vigil config files")
		return
	}
	dir := filepath.Dir(l.file)
	byName := map[string]string{}
	for _, item := range n.Content {
		name, ok := l.str(item, "rule_files")
		if !ok {
			continue
		}
		p := name
		if !filepath.IsAbs(p) {
			p = filepath.Join(dir, p)
		}
		paths := []string{p}
		if strings.ContainsAny(name, "*?[") {
			m, err := filepath.Glob(p)
			if err != nil {
				l.errf(item, "rule_files: %q: %v", name, err)
				continue
			}
			if len(m) == 0 {
				l.errf(item, "rule_files: %q matches no file", name)
				continue
			}
			paths = m
		}
		for _, p := range paths {
			f.RuleFiles = append(f.RuleFiles, p)
			cfg, err := alertconfig.Load(p)
			if ps, invalid := alertconfig.AsProblems(err); invalid {
				for _, pr := range ps {
					l.ruleErrs = append(l.ruleErrs, pr)
				}
				continue
			}
			if err != nil {
				var pe *os.PathError
				if errors.As(err, &pe) {
					err = pe.Err
				}
				l.errf(item, "rule_files: read %s: %v", p, err)
				continue
			}
			for _, r := range cfg.Rules {
				if prev, dup := byName[r.Name]; dup {
					l.errf(item, "rule_files: rule %q is in both %s and %s", r.Name, prev, p)
					continue
				}
				byName[r.Name] = p
				f.Rules = append(f.Rules, r)
			}
		}
	}
}

func (l *loader) test(f *File, n *yaml.Node, i int) Test {
	t := Test{Line: n.Line, Name: fmt.Sprintf("test %d", i+1), Interval: f.EvaluationInterval}
	what := fmt.Sprintf("tests[%d]", i)
	var series, alerts, paths *yaml.Node
	l.fields(n, what, map[string]func(*yaml.Node){
		"name": func(v *yaml.Node) {
			if s, ok := l.str(v, "name"); ok {
				t.Name = s
			}
		},
		"interval": func(v *yaml.Node) {
			if d, ok := l.duration(v, "interval"); ok {
				if d <= 0 {
					l.errf(v, "interval must be positive")
				} else {
					t.Interval = d
				}
			}
		},
		"input_series":     func(v *yaml.Node) { series = v },
		"alert_rule_test":  func(v *yaml.Node) { alerts = v },
		"metric_path_test": func(v *yaml.Node) { paths = v },
		// promtool's: read and ignored (vigil rules have no templates).
		"external_labels": func(*yaml.Node) {},
		"external_url":    func(*yaml.Node) {},
	})
	if series != nil {
		l.list(series, what+".input_series", func(v *yaml.Node) { l.series(&t, v) })
		types := map[string]store.Type{}
		keys := map[string]int{}
		for _, s := range t.Series {
			if typ, ok := types[s.Name]; ok && typ != s.Type {
				l.errs = append(l.errs, &Error{File: l.file, Line: s.Line,
					Msg: fmt.Sprintf("series %s is a %s, another series of that name a %s", s.Name, s.Type, typ)})
			}
			types[s.Name] = s.Type
			k := s.Name + store.CanonicalLabels(s.Labels)
			if prev, dup := keys[k]; dup {
				l.errs = append(l.errs, &Error{File: l.file, Line: s.Line,
					Msg: fmt.Sprintf("series %s is given twice (first at line %d)", seriesString(s.Name, s.Labels), prev)})
			}
			keys[k] = s.Line
		}
	}
	rules := map[string]bool{}
	for _, r := range f.Rules {
		rules[r.Name] = true
	}
	if alerts != nil {
		l.list(alerts, what+".alert_rule_test", func(v *yaml.Node) { l.alertTest(&t, v, rules) })
	}
	if paths != nil {
		l.list(paths, what+".metric_path_test", func(v *yaml.Node) { l.pathTest(&t, v) })
	}
	return t
}

func (l *loader) list(n *yaml.Node, what string, each func(*yaml.Node)) {
	if n.Tag == "!!null" {
		return
	}
	if n.Kind != yaml.SequenceNode {
		l.errf(n, "%s: want a list", what)
		return
	}
	for _, v := range n.Content {
		each(v)
	}
}

func (l *loader) series(t *Test, n *yaml.Node) {
	s := Series{Line: n.Line}
	var typ *yaml.Node
	ok := l.fields(n, "input_series", map[string]func(*yaml.Node){
		"series": func(v *yaml.Node) {
			str, ok := l.str(v, "series")
			if !ok {
				return
			}
			name, labels, err := ParseSeries(str)
			if err != nil {
				l.errf(v, "%v", err)
				return
			}
			s.Name, s.Labels = name, labels
			if err := store.ValidateSeries(name, store.Gauge, labels); err != nil {
				l.errf(v, "series %q: %v", str, err)
			}
		},
		"values": func(v *yaml.Node) {
			str, ok := l.str(v, "values")
			if !ok {
				return
			}
			ps, err := ParseValues(str)
			if err != nil {
				l.errf(v, "values: %v", err)
				return
			}
			s.Points = ps
		},
		"type": func(v *yaml.Node) { typ = v },
	}, "series", "values")
	if !ok || s.Name == "" {
		return
	}
	s.Type = TypeOf(s.Name)
	if typ != nil {
		str, ok := l.str(typ, "type")
		if !ok {
			return
		}
		tt, err := store.ParseType(str)
		if err != nil {
			l.errf(typ, "type: %v", err)
			return
		}
		s.Type = tt
	}
	if s.Type == store.Counter {
		for _, p := range s.Points {
			if !p.Missing && p.Value < 0 {
				l.errf(n, "series %s is a counter: its values are cumulative and cannot be negative (%v); give type: gauge for a value that goes below 0",
					seriesString(s.Name, s.Labels), p.Value)
				return
			}
		}
	}
	t.Series = append(t.Series, s)
}

func (l *loader) alertTest(t *Test, n *yaml.Node, rules map[string]bool) {
	a := AlertTest{Line: n.Line}
	var exp *yaml.Node
	ok := l.fields(n, "alert_rule_test", map[string]func(*yaml.Node){
		"eval_time": func(v *yaml.Node) { a.EvalTime, _ = l.duration(v, "eval_time") },
		"alertname": func(v *yaml.Node) {
			s, ok := l.str(v, "alertname")
			if !ok {
				return
			}
			a.Alertname = s
			if !rules[s] {
				l.errf(v, "alertname: no alert rule named %q in rule_files", s)
			}
		},
		"exp_alerts": func(v *yaml.Node) { exp = v },
	}, "eval_time", "alertname")
	if !ok {
		return
	}
	if exp != nil {
		l.list(exp, "exp_alerts", func(v *yaml.Node) {
			e := ExpAlert{Line: v.Line, Labels: map[string]string{}}
			l.fields(v, "exp_alerts", map[string]func(*yaml.Node){
				"exp_labels": func(v *yaml.Node) {
					if m, ok := l.labels(v, "exp_labels"); ok {
						if name, has := m["alertname"]; has && name != a.Alertname {
							l.errf(v, "exp_labels: alertname %q is not the test's alertname %q", name, a.Alertname)
						}
						delete(m, "alertname")
						e.Labels = m
					}
				},
				"exp_annotations": func(v *yaml.Node) {
					if m, ok := l.labels(v, "exp_annotations"); ok {
						e.Annotations = m
					}
				},
			})
			a.ExpAlerts = append(a.ExpAlerts, e)
		})
	}
	t.AlertTests = append(t.AlertTests, a)
}

func (l *loader) pathTest(t *Test, n *yaml.Node) {
	p := PathTest{Line: n.Line, Window: DefaultWindow}
	l.fields(n, "metric_path_test", map[string]func(*yaml.Node){
		"path": func(v *yaml.Node) {
			s, ok := l.str(v, "path")
			if !ok {
				return
			}
			e, err := metricpath.Parse(s)
			if err != nil {
				l.errf(v, "path: %v", err)
				return
			}
			p.Path, p.Expr = s, e
		},
		"eval_time": func(v *yaml.Node) { p.EvalTime, _ = l.duration(v, "eval_time") },
		"window": func(v *yaml.Node) {
			if d, ok := l.duration(v, "window"); ok {
				if d <= 0 {
					l.errf(v, "window must be positive")
				} else {
					p.Window = d
				}
			}
		},
		"exp_labels": func(v *yaml.Node) {
			if m, ok := l.labels(v, "exp_labels"); ok {
				p.ExpLabels = m
			}
		},
		"exp_value": func(v *yaml.Node) {
			s, ok := l.str(v, "exp_value")
			if !ok {
				return
			}
			f, err := strconv.ParseFloat(strings.TrimSpace(s), 64)
			if err != nil || math.IsNaN(f) || math.IsInf(f, 0) {
				l.errf(v, "exp_value: want a finite number, got %q", s)
				return
			}
			p.ExpValue = f
		},
	}, "path", "eval_time", "exp_value")
	t.PathTests = append(t.PathTests, p)
}
