package main

import (
	"bytes"
	"encoding/xml"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"regexp"
	"strconv"
	"strings"
	"time"

	"github.com/spf13/cobra"

	alertconfig "github.com/vigil-metrics/vigil/alert/config"
	"github.com/vigil-metrics/vigil/alert/rulestest"
	"github.com/vigil-metrics/vigil/cmd/internal/cli"
	"github.com/vigil-metrics/vigil/internal/atomicfile"
)

// newRulesCmd is the rules group: vigil rules test runs rule unit tests.
func newRulesCmd(a *app) *cobra.Command {
	cmd := &cobra.Command{
		Use:   "rules",
		Short: "Work with alert rules: unit-test them against series given as data",
		Args:  cobra.NoArgs,
	}
	cmd.AddCommand(newRulesTestCmd(a))
	return cmd
}

type rulesTestOptions struct {
	JUnit string
	Run   string
}

func newRulesTestCmd(a *app) *cobra.Command {
	o := &rulesTestOptions{}
	cmd := &cobra.Command{
		Use:   "test FILE...",
		Short: "Run rule unit tests (promtool's test file format) against vigil's alert rules",
		Long: `Run the rule unit tests of each FILE, written in the format promtool test
rules reads: rule_files (vigil config files, relative to the test file),
evaluation_interval, and tests with interval, input_series (promtool's
value notation: '50+10x10', '_', '_x3', 'stale'), alert_rule_test
(eval_time, alertname, exp_alerts with exp_labels) and metric_path_test
(path, eval_time, exp_value). Time 0 is 2000-01-01T00:00:00Z.

Each test runs on a temporary store; rules are stepped every
evaluation_interval from time 0, as vigil evaluate from cron would step
them, so for: is honoured. Nothing is sent. See docs/rules-test.md.

Exit 0 when every test passes, 3 when one fails, 2 when a file is invalid
(every problem as FILE:LINE: reason).`,
		Example: `  vigil rules test rules.test.yaml
  vigil rules test --run 'cpu' --junit rules-junit.xml tests/*.yaml`,
		Args: cobra.MinimumNArgs(1),
		// Like check, it reads its own files: the root's vigil.yaml is
		// not needed, and a broken one must not stop the tests.
		PersistentPreRunE: func(cmd *cobra.Command, _ []string) error {
			a.cfg.LogLevel, _ = cmd.Flags().GetString("log-level")
			a.cfg.LogFormat, _ = cmd.Flags().GetString("log-format")
			return a.setupLog()
		},
		RunE: func(cmd *cobra.Command, args []string) error { return a.runRulesTest(cmd, o, args) },
	}
	cmd.Flags().StringVar(&o.JUnit, "junit", "", "also write the results as JUnit XML to this file")
	cmd.Flags().StringVar(&o.Run, "run", "", "run only the tests whose name matches this regular expression")
	return cmd
}

// rulesFileOutcome is one file's: its results, or why it could not run.
type rulesFileOutcome struct {
	file    string
	res     *rulestest.Result
	invalid []string // problems, each FILE:LINE: reason
	err     error    // a test that could not run
}

func (a *app) runRulesTest(cmd *cobra.Command, o *rulesTestOptions, files []string) error {
	var re *regexp.Regexp
	if o.Run != "" {
		var err error
		if re, err = regexp.Compile(o.Run); err != nil {
			return cli.Usagef("--run %q: %v", o.Run, err)
		}
	}
	var outs []rulesFileOutcome
	invalid, failed, broken, ran := false, false, false, 0
	for _, file := range files {
		out := rulesFileOutcome{file: file}
		f, err := rulestest.Load(file)
		switch {
		case err != nil:
			invalid = true
			out.invalid = rulesProblems(err)
			for _, p := range out.invalid {
				fmt.Fprintf(a.stderr, "vigil: error: %s\n", p)
			}
		default:
			out.res, out.err = rulestest.Run(cmd.Context(), f, rulestest.Options{Run: re, Logger: a.log, Now: time.Now})
			if out.err != nil {
				if cli.ExitCode(out.err) == cli.ExitUsage {
					invalid = true
				} else {
					broken = true
				}
				fmt.Fprintf(a.stderr, "vigil: error: %v\n", out.err)
			}
			if out.res != nil {
				ran += len(out.res.Tests)
				failed = failed || out.res.Failed() > 0
				writeRulesResult(a.stdout, out.res)
			}
		}
		outs = append(outs, out)
	}
	if ran == 0 && re != nil && !invalid && !broken {
		fmt.Fprintf(a.stderr, "vigil: warning: --run %q matches no test\n", o.Run)
	}
	if o.JUnit != "" {
		if err := writeRulesJUnitFile(o.JUnit, a.now(), outs); err != nil {
			return err
		}
	}
	switch {
	case broken:
		return &cli.SilentError{Code: cli.ExitRuntime}
	case invalid:
		return &cli.SilentError{Code: cli.ExitUsage}
	case failed:
		return &cli.SilentError{Code: cli.ExitGate}
	}
	return nil
}

// rulesProblems lists a test file's problems, one FILE:LINE: reason each.
func rulesProblems(err error) []string {
	var es rulestest.Errors
	if errors.As(err, &es) {
		out := make([]string, len(es))
		for i, e := range es {
			out[i] = e.Error()
		}
		return out
	}
	if ps, ok := alertconfig.AsProblems(err); ok {
		out := make([]string, len(ps))
		for i, p := range ps {
			out[i] = p.Error()
		}
		return out
	}
	var pe *fs.PathError
	if errors.As(err, &pe) {
		return []string{fmt.Sprintf("%s: %v", pe.Path, pe.Err)}
	}
	return []string{err.Error()}
}

// writeRulesResult prints each test's outcome, go test style: a FAIL
// block with what was expected and got for every failed assertion, then
// the file's summary.
func writeRulesResult(w io.Writer, r *rulestest.Result) {
	for _, t := range r.Tests {
		if t.Passed() {
			fmt.Fprintf(w, "--- PASS: %s (%s:%d)\n", t.Name, r.File, t.Line)
			continue
		}
		fmt.Fprintf(w, "--- FAIL: %s (%s:%d)\n", t.Name, r.File, t.Line)
		for _, f := range t.Failures {
			fmt.Fprintf(w, "    %s:%d: %s\n", r.File, f.Line, f.What)
			for _, l := range strings.Split(f.Detail, "\n") {
				fmt.Fprintf(w, "        %s\n", l)
			}
		}
	}
	tests := "tests"
	if len(r.Tests) == 1 {
		tests = "test"
	}
	if n := r.Failed(); n > 0 {
		fmt.Fprintf(w, "FAIL %s: %d of %d %s failed\n", r.File, n, len(r.Tests), tests)
	} else {
		fmt.Fprintf(w, "ok   %s: %d %s passed\n", r.File, len(r.Tests), tests)
	}
}

// writeRulesJUnitFile writes the report whole (a CI step reading it sees
// the previous one or this one), never through a link planted at path.
func writeRulesJUnitFile(path string, at time.Time, outs []rulesFileOutcome) error {
	var b bytes.Buffer
	if err := writeRulesJUnit(&b, at, outs); err != nil {
		return err
	}
	if err := atomicfile.WriteFile(path, b.Bytes()); err != nil {
		var pe *fs.PathError
		if errors.As(err, &pe) {
			err = pe.Err // the folder's problem, not the temporary file's name
		}
		return cli.Usagef("--junit %s: %v", path, err)
	}
	return nil
}

// writeRulesJUnit writes one testsuite per file and one testcase per test
// (each entry of tests, as promtool's JUnit output); an invalid file or
// one whose tests could not run is a failed testcase of its own.
func writeRulesJUnit(w io.Writer, at time.Time, outs []rulesFileOutcome) error {
	doc := junitSuites{Name: "vigil rules test"}
	for _, o := range outs {
		s := junitSuite{Name: o.file, Timestamp: at.UTC().Format("2006-01-02T15:04:05")}
		if o.res != nil {
			for _, t := range o.res.Tests {
				c := junitCase{Name: t.Name, Classname: o.file, Time: strconv.FormatFloat(t.Elapsed.Seconds(), 'f', 3, 64)}
				if !t.Passed() {
					var b strings.Builder
					for _, f := range t.Failures {
						fmt.Fprintf(&b, "%s:%d: %s\n%s\n", o.file, f.Line, f.What, f.Detail)
					}
					msg := fmt.Sprintf("%d assertion(s) failed", len(t.Failures))
					c.Failure = &junitMessage{Message: msg, Type: "RuleTestFailed", Text: b.String()}
					s.Failures++
				}
				s.Cases = append(s.Cases, c)
			}
		}
		var problem string
		switch {
		case len(o.invalid) > 0:
			problem = strings.Join(o.invalid, "\n")
		case o.err != nil:
			problem = o.err.Error()
		}
		if problem != "" {
			first, _, _ := strings.Cut(problem, "\n")
			s.Cases = append(s.Cases, junitCase{Name: "load", Classname: o.file, Time: "0",
				Failure: &junitMessage{Message: first, Type: "InvalidTestFile", Text: problem}})
			s.Failures++
		}
		s.Tests = len(s.Cases)
		doc.Tests += s.Tests
		doc.Fails += s.Failures
		doc.Suites = append(doc.Suites, s)
	}
	if _, err := io.WriteString(w, xml.Header); err != nil {
		return err
	}
	enc := xml.NewEncoder(w)
	enc.Indent("", "  ")
	if err := enc.Encode(doc); err != nil {
		return err
	}
	_, err := io.WriteString(w, "\n")
	return err
}
