package main

import (
	"encoding/json"
	"fmt"
	"math"
	"slices"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/spf13/cobra"

	alertconfig "github.com/vigil-metrics/vigil/alert/config"
	alertrun "github.com/vigil-metrics/vigil/alert/run"
	"github.com/vigil-metrics/vigil/analyze/slo"
	"github.com/vigil-metrics/vigil/cmd/internal/cli"
	"github.com/vigil-metrics/vigil/internal/numfmt"
	"github.com/vigil-metrics/vigil/internal/safetext"
)

type budgetOptions struct {
	At, Output, Service, File string
	Gate, Notify, DryRun      bool
	LockTimeout, RunTimeout   time.Duration
	deadline                  time.Time // --run-timeout from the start
}

func newBudgetCmd(a *app) *cobra.Command {
	o := &budgetOptions{}
	cmd := &cobra.Command{
		Use:   "budget",
		Short: "Error budgets: consumption, burn rates, multi-window burn-rate alerts",
		Long: `For each objective (as vigil slo finds them): the error budget (100 - target),
how much of it the window has consumed (not capped: over 100% is overspent,
exhausted), what remains (in percent and in minutes of full outage), burn
rates over 5m, 30m, 1h, 2h, 6h, 1d, 3d and the SLO window, the time to
exhaustion at the 1h burn rate, and the alerts:

  page    burn(1h) and burn(5m) above 14.4, or burn(6h) and burn(30m) above 6
  ticket  burn(1d) and burn(2h) above 3, or burn(3d) and burn(6h) above 1
  budget  consumption above budget_alert_percent (default 80)

(windows for a 30-day SLO window; for another they scale by window/30d,
to whole seconds, and the factors stay: a 1d SLO pages on 2m and 10s
above 14.4, 12m and 1m above 6, tickets on 48m and 4m above 3, 2h24m and
12m above 1; the JSON's burn_alerts list the windows used). --notify sends the alerts through the config's channels
with evaluate's pipeline and state (cooldown 1h: cron does not repeat them
every run). --gate exits 3 when a page alert is active or a budget is
exhausted. An objective with fewer events than min_events is invalid, as
vigil slo says: no alerts, no gate. A time to exhaustion past 100 years
is "never".`,
		Example: `  */5 * * * * cd /etc/vigil && vigil budget --db /var/lib/vigil/vigil.db --notify
  vigil budget --service api --gate -o json`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error { return a.runBudget(cmd, o) },
	}
	cmd.Flags().StringVar(&o.At, "at", "", "end of the windows, RFC 3339 or unix seconds (default now)")
	outputFlag(cmd, &o.Output, "table", "json", "markdown")
	cmd.Flags().StringVar(&o.Service, "service", "", "only this service's objectives")
	cmd.Flags().StringVar(&o.File, "slo-file", "", "objectives file: slos: entries or OpenSLO v1 documents")
	cmd.Flags().BoolVar(&o.Gate, "gate", false, "exit 3 when a page alert is active or a budget is exhausted")
	cmd.Flags().BoolVar(&o.Notify, "notify", false, "send the alerts through the config's channels (state in the state DB)")
	cmd.Flags().BoolVar(&o.DryRun, "dry-run", false, "with --notify: show what would be sent, change no state")
	cmd.Flags().DurationVar(&o.LockTimeout, "lock-timeout", 30*time.Second, "with --notify: how long to wait for a running vigil evaluate")
	runTimeoutFlag(cmd, &o.RunTimeout)
	addStateFlag(cmd)
	addDBFlag(cmd.Flags(), false)
	return cmd
}

type budgetAlertJSON struct {
	Severity string `json:"severity"`
	Reason   string `json:"reason"`
}

// burnAlertJSON is one burn alert's condition for the budget's window:
// the windows actually used (scaled to the SLO window) and their rates.
type burnAlertJSON struct {
	Severity           string   `json:"severity"`
	Long               string   `json:"long"`
	Short              string   `json:"short"`
	LongSeconds        float64  `json:"long_seconds"`
	ShortSeconds       float64  `json:"short_seconds"`
	Factor             float64  `json:"factor"`
	BudgetSharePercent float64  `json:"budget_share_percent"`
	LongBurnRate       *float64 `json:"long_burn_rate"`
	ShortBurnRate      *float64 `json:"short_burn_rate"`
	Firing             bool     `json:"firing"`
	// Skipped: why the alert is not evaluated for this objective (a
	// sliced objective's short window shorter than one slice); absent
	// when it is.
	Skipped string `json:"skipped,omitempty"`
}

// budgetJSON is one objective's budget (docs/slo.md).
type budgetJSON struct {
	Service             string  `json:"service"`
	SLI                 string  `json:"sli"`
	SLOPercent          float64 `json:"slo_percent"`
	Window              string  `json:"window"`
	WindowSeconds       float64 `json:"window_seconds"`
	Good                float64 `json:"good"`
	Total               float64 `json:"total"`
	AvailabilityPercent float64 `json:"availability_percent"`
	ConsumptionPercent  float64 `json:"consumption_percent"`
	RemainingPercent    float64 `json:"remaining_percent"`
	RemainingMinutes    float64 `json:"remaining_minutes"`
	Exhausted           bool    `json:"exhausted"`
	NoData              bool    `json:"no_data"`
	Invalid             bool    `json:"invalid"`
	InvalidReason       string  `json:"invalid_reason,omitempty"`
	// CoveragePercent: how much of the window the data covers (slo's).
	CoveragePercent *float64 `json:"coverage_percent,omitempty"`
	methodJSON
	BurnAlerts              []burnAlertJSON     `json:"burn_alerts"`
	BurnRates               map[string]*float64 `json:"burn_rates"`
	TimeToExhaustionSeconds *float64            `json:"time_to_exhaustion_seconds"`
	Alerts                  []budgetAlertJSON   `json:"alerts"`
	// text is the row's numbers as the table and markdown print them.
	text budgetText
}

// budgetText is a budget's numbers as printed: through analyze/slo's
// formatting, so that no rounding contradicts the verdict (an SLI that
// breaches never reads as its target, a consumption over 100 never reads
// 100, no -0).
type budgetText struct {
	SLO, SLI, Consumed, Remaining, Minutes string
	Burn                                   map[string]string // by window, as slo.Budget.BurnTexts
}

func (a *app) runBudget(cmd *cobra.Command, o *budgetOptions) error {
	if err := checkOutput(cmd); err != nil {
		return err
	}
	if o.DryRun && !o.Notify {
		return cli.Usagef("--dry-run goes with --notify")
	}
	deadline, err := a.runDeadline(o.RunTimeout)
	if err != nil {
		return err
	}
	o.deadline = deadline
	at, err := a.at(o.At)
	if err != nil {
		return err
	}
	objs, err := a.objectives(o.File, o.Service, "")
	if err != nil {
		return err
	}
	var cfg *alertconfig.Config
	if o.Notify {
		if cfg, err = a.loadAlertConfig(); err != nil {
			return err
		}
	}
	db, err := a.openAnalyze(cmd)
	if err != nil {
		return err
	}
	ctx := cmd.Context()
	ev := slo.NewEvaluator(db, at)
	ev.Prepare(ctx, objs)
	rows := make([]budgetJSON, 0, len(objs))
	budgets := make([]slo.Budget, 0, len(objs))
	for _, ob := range objs {
		b, err := slo.BudgetOf(ctx, ev, ob)
		if err != nil {
			db.Close()
			return err
		}
		if w := b.SkippedWarning(); w != "" {
			fmt.Fprintf(a.stderr, "vigil: warning: %s\n", w)
		}
		rows = append(rows, budgetRow(b))
		budgets = append(budgets, b)
	}
	db.Close()

	if o.Notify {
		if err := a.notifyBudgets(cmd, cfg, at, budgets, o); err != nil {
			return err
		}
	}
	switch o.Output {
	case "json":
		err = json.NewEncoder(a.stdout).Encode(map[string]any{"at": at.UTC().Format(time.RFC3339Nano), "budgets": rows})
	case "markdown":
		err = writeBudgetMarkdown(a, at, rows)
	default:
		err = writeBudgetTable(a, rows)
	}
	if err != nil {
		return err
	}
	if o.Gate {
		for _, r := range rows {
			page := false
			for _, x := range r.Alerts {
				page = page || x.Severity == "page"
			}
			if page || r.Exhausted {
				return &cli.SilentError{Code: cli.ExitGate}
			}
		}
	}
	return nil
}

// budgetRow is b as vigil budget prints it.
func budgetRow(b slo.Budget) budgetJSON {
	ob := b.Objective
	r := budgetJSON{Service: ob.Service, SLI: ob.SLI, SLOPercent: ob.Target.Percent(), Window: ob.Window.String(),
		WindowSeconds: b.Window.Seconds(), Good: b.Events.Good, Total: b.Events.Total, AvailabilityPercent: b.Events.Percent(),
		ConsumptionPercent: b.ConsumptionPercent, RemainingPercent: b.RemainingPercent, RemainingMinutes: b.RemainingMinutes,
		Exhausted: b.Exhausted, NoData: b.NoData, Invalid: b.Invalid != "", InvalidReason: b.Invalid,
		BurnRates: b.BurnRates, BurnAlerts: []burnAlertJSON{}, Alerts: []budgetAlertJSON{}, methodJSON: methodOf(ob),
		text: budgetText{SLO: ob.Target.Text() + "%", SLI: slo.SLIText(b.Events, ob.Target) + "%",
			Consumed: slo.ConsumptionText(b.Events, ob.Target, ob.BudgetAlertPercent) + "%", Remaining: slo.RemainingText(b.Events, ob.Target) + "%",
			Minutes: slo.SignedText(b.RemainingMinutes, 1), Burn: b.BurnTexts}}
	if b.Coverage.Known && ob.MinCoverage > 0 {
		c := b.Coverage.Percent
		r.CoveragePercent = &c
	}
	for _, x := range b.BurnAlerts {
		r.BurnAlerts = append(r.BurnAlerts, burnAlertJSON{Severity: x.Severity, Long: slo.FormatWindow(x.Long),
			Short: slo.FormatWindow(x.Short), LongSeconds: x.Long.Seconds(), ShortSeconds: x.Short.Seconds(),
			Factor: x.Factor, BudgetSharePercent: x.Share * 100, LongBurnRate: x.LongRate, ShortBurnRate: x.ShortRate, Firing: x.Firing,
			Skipped: x.Skipped})
	}
	if b.TimeToExhaustion != nil {
		s := b.TimeToExhaustion.Seconds()
		r.TimeToExhaustionSeconds = &s
	}
	for _, x := range b.Alerts {
		r.Alerts = append(r.Alerts, budgetAlertJSON{Severity: x.Severity, Reason: x.Reason})
	}
	return r
}

// burnText is the burn rate over window w as the table prints it
// (slo.BurnText: on the right side of every alert factor).
func (r budgetJSON) burnText(w string) string {
	if t, ok := r.text.Burn[w]; ok {
		return t
	}
	if p := r.BurnRates[w]; p != nil {
		return formatValue(math.Round(*p*100) / 100)
	}
	return "-"
}

func writeBudgetTable(a *app, rows []budgetJSON) error {
	tw := tabwriter.NewWriter(a.stdout, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "SERVICE\tSLI\tSLO\tWINDOW\tSLI%\tCONSUMED\tREMAINING\tMINUTES LEFT\tBURN 5m/1h/6h/1d\tEXHAUSTS IN\tALERTS")
	for _, r := range rows {
		burn := strings.Join([]string{r.burnText("5m"), r.burnText("1h"), r.burnText("6h"), r.burnText("1d")}, "/")
		// What the JSON says: exhausted only when "exhausted" is true (at
		// exactly the target the budget is used up, 0 left, not
		// exhausted).
		tte := "never"
		switch {
		case r.Invalid:
			tte = "invalid"
		case r.Exhausted:
			tte = "exhausted"
		case r.TimeToExhaustionSeconds != nil:
			tte = formatSpan(time.Duration(*r.TimeToExhaustionSeconds * float64(time.Second)))
		}
		var al []string
		for _, x := range r.Alerts {
			if !slices.Contains(al, x.Severity) {
				al = append(al, x.Severity)
			}
		}
		alerts := strings.Join(al, ",")
		if alerts == "" {
			alerts = "-"
		}
		t := r.text
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\n", r.Service, r.sliNameOf(r.SLI), t.SLO, r.Window,
			t.SLI, t.Consumed, t.Remaining, t.Minutes, burn, tte, alerts)
	}
	if err := tw.Flush(); err != nil {
		return err
	}
	return writeInvalidNotes(a.stdout, rows, func(r budgetJSON) (string, string) { return r.Service + "/" + r.sliNameOf(r.SLI), r.InvalidReason })
}

func writeBudgetMarkdown(a *app, at time.Time, rows []budgetJSON) error {
	var b strings.Builder
	fmt.Fprintf(&b, "### Error budgets at %s\n\n", at.UTC().Format(time.RFC3339))
	b.WriteString("| service | SLI | SLO | window | SLI % | consumed | remaining | burn 1h | alerts |\n|---|---|---:|---|---:|---:|---:|---:|---|\n")
	for _, r := range rows {
		var al []string
		for _, x := range r.Alerts {
			al = append(al, x.Severity+": "+x.Reason)
		}
		if r.Invalid {
			al = append(al, "invalid: "+r.InvalidReason)
		}
		t := r.text
		fmt.Fprintf(&b, "| %s | %s | %s | %s | %s | %s | %s | %s | %s |\n", safetext.Markdown(r.Service), safetext.Markdown(r.sliNameOf(r.SLI)),
			t.SLO, safetext.Markdown(r.Window), t.SLI, t.Consumed, t.Remaining, r.burnText("1h"), strings.Join(al, "<br>"))
	}
	_, err := fmt.Fprint(a.stdout, b.String())
	return err
}

// notifyBudgets sends the budget alerts (alertrun.BudgetBuild) through
// evaluate's pipeline and state.
func (a *app) notifyBudgets(cmd *cobra.Command, cfg *alertconfig.Config, at time.Time, budgets []slo.Budget, o *budgetOptions) error {
	// An Alertmanager channel ends the SLO alerts 4 budget runs ahead
	// (config.BudgetRunInterval), not 4 of evaluate's (h30 D24).
	snd, chanErrs := senders(cfg)
	opt := a.runOptions(cmd, cfg, at, o.DryRun, o.LockTimeout, snd)
	opt.Source = "budget" // its own last run: see alertrun.TimeError
	opt.Deadline = o.deadline
	// The SLO alerts that no run has judged lately (each cron line judges
	// its own objectives every few minutes) are of objectives no longer
	// defined: any run resolves them.
	build := alertrun.BudgetBuildRetiring(budgets, at, alertrun.BudgetRetire{StaleAfter: alertrun.StaleAfter(cfg, "budget")})
	res, err := alertrun.Notify(cmd.Context(), opt, build)
	if overtaken(a, err, o.At) {
		return nil
	}
	if err != nil {
		return err
	}
	for _, s := range res.WouldSend {
		fmt.Fprintf(a.stderr, "vigil: dry run: would send %s to %s (%s)\n", s.Kind, s.Channel, s.Type)
	}
	return a.runFailures(len(cfg.Rules), nil, chanErrs, res.Outcome)
}

// formatSpan writes a duration for people: numfmt.Span, which notices
// share.
func formatSpan(d time.Duration) string { return numfmt.Span(d) }
