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
	"strconv"
	"strings"
	"time"

	"go.yaml.in/yaml/v3"

	"github.com/vigil-metrics/vigil/alert/channels"
	alertconfig "github.com/vigil-metrics/vigil/alert/config"
	"github.com/vigil-metrics/vigil/internal/configfile"
	"github.com/vigil-metrics/vigil/internal/metricpath"
	"github.com/vigil-metrics/vigil/internal/store"
	"github.com/vigil-metrics/vigil/internal/yamlconf"
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

// Errors is every problem found in a test file (FILE:LINE: reason, in
// file order), then the rule files' own (FILE:LINE:COL: reason). It is a
// usage error (exit 2) for the CLI.
type Errors = yamlconf.Problems

type loader struct {
	*yamlconf.Decoder
	// ruleErrs are the rule files' own problems, listed after the test
	// file's.
	ruleErrs Errors
}

// wording is the test file's: promtool's users know these messages.
var wording = yamlconf.Wording{
	Unknown: func(what, key string, want []string) string {
		return fmt.Sprintf("%s: unknown field %q (want %s)", what, key, strings.Join(want, ", "))
	},
	Twice:      func(what, key string) string { return fmt.Sprintf("%s: %s given twice", what, key) },
	Missing:    func(what, key string) string { return fmt.Sprintf("%s: missing %s", what, key) },
	NotMapping: func(what string, _ *yaml.Node) string { return what + ": want a mapping" },
	NotList:    func(what string, _ *yaml.Node) string { return what + ": want a list" },
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
	l := &loader{Decoder: &yamlconf.Decoder{File: path, Lines: true, Wording: wording}}
	f := l.decode(data)
	l.Problems.Sort()
	if errs := slices.Concat(l.Problems, l.ruleErrs); len(errs) > 0 {
		return nil, errs
	}
	return f, nil
}

func (l *loader) decode(data []byte) *File {
	f := &File{Path: l.File, EvaluationInterval: DefaultEvaluationInterval}
	// One document: tests after a "---" would never run, and the file pass.
	doc, err := configfile.One(l.File, data)
	if err != nil {
		ps, _ := yamlconf.AsProblems(err)
		l.Problems = append(l.Problems, ps...)
		return nil
	}
	if doc == nil || len(doc.Content) == 0 {
		l.Errf(nil, "empty test file: want rule_files and tests")
		return nil
	}
	root := doc.Content[0]
	var ruleFiles, tests *yaml.Node
	l.fields(root, "test file", map[string]func(*yaml.Node){
		"rule_files": func(v *yaml.Node) { ruleFiles = v },
		"evaluation_interval": func(v *yaml.Node) {
			if d, ok := l.TextDuration(v, "evaluation_interval"); ok {
				if d <= 0 {
					l.Errf(v, "evaluation_interval must be positive")
				} else {
					f.EvaluationInterval = d
				}
			}
		},
		"tests": func(v *yaml.Node) { tests = v },
		// promtool's keys that mean nothing to vigil: admitted, so a
		// promtool file's header loads as is.
		"group_eval_order": nil,
		"fuzzy_compare":    nil,
	}, "rule_files", "tests")
	if ruleFiles != nil {
		l.ruleFiles(f, ruleFiles)
	}
	if tests != nil {
		if tests.Kind != yaml.SequenceNode {
			l.Errf(tests, "tests: want a list")
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
	seen := l.Fields(n, what, known)
	return l.Required(n, seen, what, required...)
}

func (l *loader) labels(n *yaml.Node, field string) (map[string]string, bool) {
	if n.Tag == "!!null" {
		return map[string]string{}, true
	}
	if n.Kind != yaml.MappingNode {
		l.Errf(n, "%s: want a mapping of label names to values", field)
		return nil, false
	}
	m := map[string]string{}
	ok := true
	for i := 0; i+1 < len(n.Content); i += 2 {
		k, v := n.Content[i], n.Content[i+1]
		if v.Kind != yaml.ScalarNode {
			l.Errf(v, "%s: %s: want a string", field, k.Value)
			ok = false
			continue
		}
		if _, dup := m[k.Value]; dup {
			l.Errf(k, "%s: %s given twice", field, k.Value)
			ok = false
		}
		m[k.Value] = v.Value
	}
	return m, ok
}

func (l *loader) ruleFiles(f *File, n *yaml.Node) {
	if n.Kind != yaml.SequenceNode {
		l.Errf(n, "rule_files: want a list of vigil config files")
		return
	}
	dir := filepath.Dir(l.File)
	byName := map[string]string{}
	for _, item := range n.Content {
		name, ok := l.Text(item, "rule_files")
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
				l.Errf(item, "rule_files: %q: %v", name, err)
				continue
			}
			if len(m) == 0 {
				l.Errf(item, "rule_files: %q matches no file", name)
				continue
			}
			paths = m
		}
		for _, p := range paths {
			f.RuleFiles = append(f.RuleFiles, p)
			cfg, err := alertconfig.Load(p, channels.Types())
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
				l.Errf(item, "rule_files: read %s: %v", p, err)
				continue
			}
			for _, r := range cfg.Rules {
				if prev, dup := byName[r.Name]; dup {
					l.Errf(item, "rule_files: rule %q is in both %s and %s", r.Name, prev, p)
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
			if s, ok := l.Text(v, "name"); ok {
				t.Name = s
			}
		},
		"interval": func(v *yaml.Node) {
			if d, ok := l.TextDuration(v, "interval"); ok {
				if d <= 0 {
					l.Errf(v, "interval must be positive")
				} else {
					t.Interval = d
				}
			}
		},
		"input_series":     func(v *yaml.Node) { series = v },
		"alert_rule_test":  func(v *yaml.Node) { alerts = v },
		"metric_path_test": func(v *yaml.Node) { paths = v },
		// promtool's: read and ignored (vigil rules have no templates).
		"external_labels": nil,
		"external_url":    nil,
	})
	if series != nil {
		l.List(series, what+".input_series", func(v *yaml.Node) { l.series(&t, v) })
		types := map[string]store.Type{}
		keys := map[string]int{}
		for _, s := range t.Series {
			if typ, ok := types[s.Name]; ok && typ != s.Type {
				l.ErrLine(s.Line, "series %s is a %s, another series of that name a %s", s.Name, s.Type, typ)
			}
			types[s.Name] = s.Type
			k := s.Name + store.CanonicalLabels(s.Labels)
			if prev, dup := keys[k]; dup {
				l.ErrLine(s.Line, "series %s is given twice (first at line %d)", seriesString(s.Name, s.Labels), prev)
			}
			keys[k] = s.Line
		}
	}
	rules := map[string]bool{}
	for _, r := range f.Rules {
		rules[r.Name] = true
	}
	if alerts != nil {
		l.List(alerts, what+".alert_rule_test", func(v *yaml.Node) { l.alertTest(&t, v, rules) })
	}
	if paths != nil {
		l.List(paths, what+".metric_path_test", func(v *yaml.Node) { l.pathTest(&t, v) })
	}
	return t
}

func (l *loader) series(t *Test, n *yaml.Node) {
	s := Series{Line: n.Line}
	var typ *yaml.Node
	ok := l.fields(n, "input_series", map[string]func(*yaml.Node){
		"series": func(v *yaml.Node) {
			str, ok := l.Text(v, "series")
			if !ok {
				return
			}
			name, labels, err := ParseSeries(str)
			if err != nil {
				l.Errf(v, "%v", err)
				return
			}
			s.Name, s.Labels = name, labels
			if err := store.ValidateSeries(name, store.Gauge, labels); err != nil {
				l.Errf(v, "series %q: %v", str, err)
			}
		},
		"values": func(v *yaml.Node) {
			str, ok := l.Text(v, "values")
			if !ok {
				return
			}
			ps, err := ParseValues(str)
			if err != nil {
				l.Errf(v, "values: %v", err)
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
		str, ok := l.Text(typ, "type")
		if !ok {
			return
		}
		tt, err := store.ParseType(str)
		if err != nil {
			l.Errf(typ, "type: %v", err)
			return
		}
		s.Type = tt
	}
	if s.Type == store.Counter {
		for _, p := range s.Points {
			if !p.Missing && p.Value < 0 {
				l.Errf(n, "series %s is a counter: its values are cumulative and cannot be negative (%v); give type: gauge for a value that goes below 0",
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
		"eval_time": func(v *yaml.Node) { a.EvalTime, _ = l.TextDuration(v, "eval_time") },
		"alertname": func(v *yaml.Node) {
			s, ok := l.Text(v, "alertname")
			if !ok {
				return
			}
			a.Alertname = s
			if !rules[s] {
				l.Errf(v, "alertname: no alert rule named %q in rule_files", s)
			}
		},
		"exp_alerts": func(v *yaml.Node) { exp = v },
	}, "eval_time", "alertname")
	if !ok {
		return
	}
	if exp != nil {
		l.List(exp, "exp_alerts", func(v *yaml.Node) {
			e := ExpAlert{Line: v.Line, Labels: map[string]string{}}
			l.fields(v, "exp_alerts", map[string]func(*yaml.Node){
				"exp_labels": func(v *yaml.Node) {
					if m, ok := l.labels(v, "exp_labels"); ok {
						if name, has := m["alertname"]; has && name != a.Alertname {
							l.Errf(v, "exp_labels: alertname %q is not the test's alertname %q", name, a.Alertname)
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
			s, ok := l.Text(v, "path")
			if !ok {
				return
			}
			e, err := metricpath.Parse(s)
			if err != nil {
				l.Errf(v, "path: %v", err)
				return
			}
			p.Path, p.Expr = s, e
		},
		"eval_time": func(v *yaml.Node) { p.EvalTime, _ = l.TextDuration(v, "eval_time") },
		"window": func(v *yaml.Node) {
			if d, ok := l.TextDuration(v, "window"); ok {
				if d <= 0 {
					l.Errf(v, "window must be positive")
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
			s, ok := l.Text(v, "exp_value")
			if !ok {
				return
			}
			f, err := strconv.ParseFloat(strings.TrimSpace(s), 64)
			if err != nil || math.IsNaN(f) || math.IsInf(f, 0) {
				l.Errf(v, "exp_value: want a finite number, got %q", s)
				return
			}
			p.ExpValue = f
		},
	}, "path", "eval_time", "exp_value")
	t.PathTests = append(t.PathTests, p)
}
