package main

import (
	"encoding/json"
	"encoding/xml"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/spf13/cobra"

	"github.com/vigil-metrics/vigil/analyze"
	"github.com/vigil-metrics/vigil/analyze/slo"
	"github.com/vigil-metrics/vigil/cmd/internal/cli"
	"github.com/vigil-metrics/vigil/internal/safetext"
	"github.com/vigil-metrics/vigil/internal/vtime"
)

type sloOptions struct {
	At, Output, Service, Window, File string
	NoFail                            bool
}

func newSLOCmd(a *app) *cobra.Command {
	o := &sloOptions{}
	cmd := &cobra.Command{
		Use:   "slo",
		Short: "Check service level objectives: a CI gate (exit 3 on a breach)",
		Long: `Compute each objective's SLI over its window ending at --at (default now):
availability from sli_requests_total{service, success}, latency from
sli_latency_requests_total{service, fast} (outcome labels true, True, TRUE
or 1 are good), or a custom ratio of metric paths. Objectives come from
--slo-file, else the config file's slos:, else the reference design's
defaults (agent_forge 99.5% over 30d, rag_system 99.9% over 7d, mcp_server
99.95% over 1d).

Exit 3 when any objective is breached (its SLI below the target), 0 when
none is; --no-fail only reports. No events is 100% and flagged no_data;
fewer events than min_events (default 1) make a result invalid: neither
met nor breached. With GITHUB_STEP_SUMMARY set, a markdown summary is
appended to that file.`,
		Example: `  vigil slo --db vigil.db --service api -o junit > slo-report.xml
  vigil slo --slo-file openslo.yaml --window 28d -o json`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error { return a.runSLO(cmd, o) },
	}
	cmd.Flags().StringVar(&o.At, "at", "", "end of the windows, RFC 3339 or unix seconds (default now)")
	outputFlag(cmd, &o.Output, "table", "json", "markdown", "junit")
	cmd.Flags().StringVar(&o.Service, "service", "", "only this service's objectives")
	cmd.Flags().StringVar(&o.Window, "window", "", "override every objective's window (7d, 28d, calendar_month)")
	cmd.Flags().StringVar(&o.File, "slo-file", "", "objectives file: slos: entries or OpenSLO v1 documents")
	cmd.Flags().BoolVar(&o.NoFail, "no-fail", false, "report only: exit 0 even when an objective is breached")
	addDBFlag(cmd.Flags(), false)
	return cmd
}

// objectives loads the objectives for slo and budget.
func (a *app) objectives(file, service, window string) ([]slo.Objective, error) {
	explicit := file != ""
	if !explicit {
		file = a.cfgFile
		if file == "" {
			file = "vigil.yaml"
		}
	}
	var (
		objs  []slo.Objective
		found bool
		err   error
	)
	switch {
	case explicit:
		objs, found, err = slo.Load(file)
	case a.file != nil && a.file.Path != "":
		objs, found, err = slo.FromConfig(a.file)
	default:
		_, err = os.Stat(file) // no file was found at start: say why
	}
	var ps slo.Problems
	switch {
	case errors.As(err, &ps):
		for _, p := range ps {
			fmt.Fprintf(a.stderr, "vigil: error: %s\n", p.Error())
		}
		return nil, &cli.SilentError{Code: cli.ExitUsage}
	case errors.Is(err, fs.ErrNotExist) && !explicit && a.cfgFile == "":
		objs, found = nil, false
	case err != nil:
		return nil, cli.Usagef("read objectives %s: %v", file, err)
	}
	if !found {
		if explicit {
			return nil, cli.WithHint(cli.Usagef("%s defines no objectives", file), "write a slos: list, or OpenSLO v1 documents with kind: SLO")
		}
		objs = slo.Defaults()
	}
	if window != "" {
		w, err := slo.ParseWindow(window)
		if err != nil {
			return nil, cli.Usagef("--window: %v", err)
		}
		shortest := w.Rolling
		if w.CalendarMonth {
			shortest = 28 * 24 * time.Hour // February
		}
		for i := range objs {
			// As the file's own window is checked: a slice longer than the
			// window never fits in it, so the objective would have no
			// events at all (issue 25 D8).
			if o := objs[i]; o.SliceWindow > shortest {
				return nil, cli.WithHint(cli.Usagef("%s:%d: objective %s: time slice window %s is longer than the window %s (--window)",
					o.File, o.Line, o.Name(), vtime.FormatDuration(o.SliceWindow), w.String()),
					"give a --window at least as long as every objective's time slice, or none")
			}
			objs[i].Window = w
		}
	}
	if service != "" {
		var keep []slo.Objective
		for _, o := range objs {
			if o.Service == service {
				keep = append(keep, o)
			}
		}
		if len(keep) == 0 {
			return nil, cli.Usagef("--service %q: no objective for that service", service)
		}
		objs = keep
	}
	return objs, nil
}

// sloJSON is one objective's result (docs/slo.md).
type sloJSON struct {
	Service       string  `json:"service"`
	SLI           string  `json:"sli"`
	Window        string  `json:"window"`
	WindowSeconds float64 `json:"window_seconds"`
	Good          float64 `json:"good"`
	Total         float64 `json:"total"`
	Percent       float64 `json:"percent"`
	TargetPercent float64 `json:"target_percent"`
	Met           bool    `json:"met"`
	NoData        bool    `json:"no_data"`
	Invalid       bool    `json:"invalid"`
	// InvalidReason is slo.Objective.InvalidReasonCovered, as budget says
	// it too.
	InvalidReason string `json:"invalid_reason,omitempty"`
	// CoveragePercent is how much of the window the data covers (from the
	// stores' first sample); absent where that is not known (a
	// Prometheus-compatible source) or not judged (min_coverage 0).
	CoveragePercent *float64 `json:"coverage_percent,omitempty"`
	// PercentText and TargetText are Percent and TargetPercent as every
	// output prints them (slo.SLIText: enough digits for the verdict).
	PercentText string `json:"-"`
	TargetText  string `json:"-"`
	methodJSON
}

// methodJSON is an objective's budgeting method and, for a sliced one,
// its time slices (what good and total count), in vigil slo's and vigil
// budget's JSON alike.
type methodJSON struct {
	// Objective is the objective's display name among its SLO's several
	// (its displayName, else its 1-based index); absent when it has one.
	Objective       string   `json:"objective,omitempty"`
	BudgetingMethod string   `json:"budgeting_method"`
	TimeSliceWindow string   `json:"time_slice_window,omitempty"`
	TimeSliceTarget *float64 `json:"time_slice_target,omitempty"`
}

// sliName is the SLI as tables print it (slo.Objective.SLIName).
func (m methodJSON) sliNameOf(sli string) string {
	if m.Objective != "" {
		return sli + "/" + m.Objective
	}
	return sli
}

func (r sloJSON) sliName() string { return r.sliNameOf(r.SLI) }

func methodOf(ob slo.Objective) methodJSON {
	if !ob.Sliced() {
		return methodJSON{Objective: ob.Display, BudgetingMethod: slo.Occurrences}
	}
	m := methodJSON{Objective: ob.Display, BudgetingMethod: ob.Method, TimeSliceWindow: vtime.FormatDuration(ob.SliceWindow)}
	if ob.Method == slo.Timeslices && ob.SliceTarget != nil {
		f, _ := ob.SliceTarget.Float64()
		m.TimeSliceTarget = &f
	}
	return m
}

func (r sloJSON) breached() bool { return !r.Met && !r.Invalid }

// status is the verdict as the JSON says it: an objective without
// events is invalid (too few events, 0 below min_events), as budget says,
// with "no data" as the why.
func (r sloJSON) status() string {
	switch {
	case r.Invalid && r.NoData:
		return "invalid (no data)"
	case r.Invalid:
		return "invalid"
	case r.Met:
		return "met"
	}
	return "BREACHED"
}

func (a *app) openAnalyze(cmd *cobra.Command) (*analyze.DB, error) {
	stores, err := a.storePaths()
	if err != nil {
		return nil, err
	}
	return a.openStores(cmd, stores, 0)
}

func (a *app) runSLO(cmd *cobra.Command, o *sloOptions) error {
	if err := checkOutput(cmd); err != nil {
		return err
	}
	at, err := a.at(o.At)
	if err != nil {
		return err
	}
	objs, err := a.objectives(o.File, o.Service, o.Window)
	if err != nil {
		return err
	}
	db, err := a.openAnalyze(cmd)
	if err != nil {
		return err
	}
	defer db.Close()
	ev := slo.NewEvaluator(db, at)
	ev.Prepare(cmd.Context(), objs)
	rows := make([]sloJSON, 0, len(objs))
	for _, ob := range objs {
		length := ob.Window.Length(at)
		e, err := ev.Events(cmd.Context(), ob, length)
		if err != nil {
			return err
		}
		cov, err := ev.Coverage(cmd.Context(), ob)
		if err != nil {
			return err
		}
		r := sloJSON{Service: ob.Service, SLI: ob.SLI, Window: ob.Window.String(), WindowSeconds: length.Seconds(),
			Good: e.Good, Total: e.Total, Percent: e.Percent(), TargetPercent: ob.Target.Percent(),
			NoData: !(e.Total > 0), InvalidReason: ob.InvalidReasonCovered(e, cov),
			PercentText: slo.SLIText(e, ob.Target), TargetText: ob.Target.Text(), methodJSON: methodOf(ob)}
		r.Invalid = r.InvalidReason != ""
		if cov.Known && ob.MinCoverage > 0 {
			r.CoveragePercent = &cov.Percent
		}
		r.Met = !r.Invalid && e.Met(ob.Target)
		rows = append(rows, r)
	}
	switch o.Output {
	case "json":
		err = json.NewEncoder(a.stdout).Encode(map[string]any{"at": at.UTC().Format(time.RFC3339Nano), "slos": rows})
	case "markdown":
		err = writeSLOMarkdown(a.stdout, at, rows)
	case "junit":
		err = writeSLOJUnit(a.stdout, at, rows)
	default:
		tw := tabwriter.NewWriter(a.stdout, 0, 0, 2, ' ', 0)
		fmt.Fprintln(tw, "SERVICE\tSLI\tWINDOW\tGOOD\tTOTAL\tPERCENT\tTARGET\tSTATUS")
		for _, r := range rows {
			fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\n", r.Service, r.sliName(), r.Window, formatValue(r.Good), formatValue(r.Total),
				r.PercentText+"%", r.TargetText+"%", r.status())
		}
		if err = tw.Flush(); err == nil {
			err = writeInvalidNotes(a.stdout, rows, func(r sloJSON) (string, string) {
				if r.NoData { // the table says "invalid (no data)"
					return "", ""
				}
				return r.Service + "/" + r.sliName(), r.InvalidReason
			})
		}
	}
	if err != nil {
		return err
	}
	if p := os.Getenv("GITHUB_STEP_SUMMARY"); p != "" {
		if err := appendSummary(p, at, rows); err != nil {
			return fmt.Errorf("GITHUB_STEP_SUMMARY: %w", err)
		}
	}
	breached := 0
	for _, r := range rows {
		if r.breached() {
			breached++
		}
	}
	if breached > 0 && !o.NoFail {
		fmt.Fprintf(a.stderr, "vigil: %d of %d objectives breached\n", breached, len(rows))
		return &cli.SilentError{Code: cli.ExitGate}
	}
	return nil
}

func writeSLOMarkdown(w io.Writer, at time.Time, rows []sloJSON) error {
	var b strings.Builder
	fmt.Fprintf(&b, "### Service level objectives at %s\n\n", at.UTC().Format(time.RFC3339))
	b.WriteString("| service | SLI | window | good | total | SLI % | target % | status |\n|---|---|---|---:|---:|---:|---:|---|\n")
	for _, r := range rows {
		status := r.status()
		switch {
		case r.breached():
			status = "❌ breached"
		case r.Met:
			status = "✅ met"
		case r.NoData:
			status = "⚠️ " + status
		default:
			// Why, as JSON and JUnit say: a CI summary that passes on
			// "invalid" alone hides what to fix (h30 D26).
			status = "⚠️ " + status + ": " + safetext.Markdown(r.InvalidReason)
		}
		fmt.Fprintf(&b, "| %s | %s | %s | %s | %s | %s | %s | %s |\n", safetext.Markdown(r.Service), safetext.Markdown(r.sliName()),
			safetext.Markdown(r.Window), formatValue(r.Good), formatValue(r.Total), r.PercentText, r.TargetText, status)
	}
	_, err := io.WriteString(w, b.String())
	return err
}

// writeInvalidNotes writes, under a table, why each of its invalid rows
// is invalid (name and reason of a row; a row without events says "no
// data" in the table already): the table's column says only "invalid",
// where JSON and JUnit carry the reason (h30 D26).
func writeInvalidNotes[R any](w io.Writer, rows []R, of func(R) (name, reason string)) error {
	var b strings.Builder
	for _, r := range rows {
		if name, reason := of(r); reason != "" {
			fmt.Fprintf(&b, "%s is invalid: %s\n", safetext.Terminal(name), safetext.Terminal(reason))
		}
	}
	if b.Len() == 0 {
		return nil
	}
	_, err := io.WriteString(w, "\n"+b.String())
	return err
}

func appendSummary(p string, at time.Time, rows []sloJSON) error {
	f, err := os.OpenFile(p, os.O_APPEND|os.O_CREATE|os.O_WRONLY, 0o644)
	if err != nil {
		return err
	}
	if err := writeSLOMarkdown(f, at, rows); err != nil {
		f.Close()
		return err
	}
	if _, err := io.WriteString(f, "\n"); err != nil {
		f.Close()
		return err
	}
	return f.Close()
}

// JUnit XML as CI systems read it (GitLab, Jenkins, GitHub test
// reporters): one testcase per objective, a failure for a breach, skipped
// for an invalid result.
type junitSuites struct {
	XMLName xml.Name     `xml:"testsuites"`
	Name    string       `xml:"name,attr"`
	Tests   int          `xml:"tests,attr"`
	Fails   int          `xml:"failures,attr"`
	Suites  []junitSuite `xml:"testsuite"`
}

type junitSuite struct {
	Name      string      `xml:"name,attr"`
	Tests     int         `xml:"tests,attr"`
	Failures  int         `xml:"failures,attr"`
	Errors    int         `xml:"errors,attr"`
	Skipped   int         `xml:"skipped,attr"`
	Timestamp string      `xml:"timestamp,attr"`
	Cases     []junitCase `xml:"testcase"`
}

type junitCase struct {
	Name      string        `xml:"name,attr"`
	Classname string        `xml:"classname,attr"`
	Time      string        `xml:"time,attr"`
	Failure   *junitMessage `xml:"failure,omitempty"`
	Skipped   *junitMessage `xml:"skipped,omitempty"`
	SystemOut string        `xml:"system-out,omitempty"`
}

type junitMessage struct {
	Message string `xml:"message,attr"`
	Type    string `xml:"type,attr,omitempty"`
	Text    string `xml:",chardata"`
}

func writeSLOJUnit(w io.Writer, at time.Time, rows []sloJSON) error {
	s := junitSuite{Name: "vigil slo", Timestamp: at.UTC().Format("2006-01-02T15:04:05")}
	for _, r := range rows {
		detail := fmt.Sprintf("%s %s over %s: %s of %s events good = %s%%, target %s%%", r.Service, r.sliName(), r.Window,
			formatValue(r.Good), formatValue(r.Total), r.PercentText, r.TargetText)
		c := junitCase{Name: r.Service + "/" + r.sliName(), Classname: "slo." + r.Service, Time: "0", SystemOut: detail}
		switch {
		case r.breached():
			c.Failure = &junitMessage{Message: "objective breached: " + detail, Type: "SLOBreached", Text: detail}
			s.Failures++
		case r.Invalid:
			c.Skipped = &junitMessage{Message: r.status() + ": " + r.InvalidReason + ": " + detail}
			s.Skipped++
		}
		s.Cases = append(s.Cases, c)
	}
	s.Tests = len(rows)
	doc := junitSuites{Name: "vigil slo", Tests: s.Tests, Fails: s.Failures, Suites: []junitSuite{s}}
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
