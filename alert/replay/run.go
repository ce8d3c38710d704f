package replay

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"math"
	"time"

	alertconfig "github.com/vigil-metrics/vigil/alert/config"
	"github.com/vigil-metrics/vigil/alert/eval"
	"github.com/vigil-metrics/vigil/alert/notify"
	alertrun "github.com/vigil-metrics/vigil/alert/run"
	"github.com/vigil-metrics/vigil/alert/state"
	"github.com/vigil-metrics/vigil/analyze"
	"github.com/vigil-metrics/vigil/analyze/slo"
	"github.com/vigil-metrics/vigil/internal/vtime"
)

// MaxSteps bounds the runs one replay steps: a year at 32 s (at 30 s it is 1,051,200). The bound
// counts runs, not rules times runs, so a large rule set over a month at
// one minute (the benchmark) is allowed.
const MaxSteps = 1_000_000

// UsageError is a replay asked for wrongly (no step in the range, too
// many steps): the command exits 2 with its hint.
type UsageError struct{ Msg, Hint_ string }

func (e *UsageError) Error() string { return e.Msg }

// UsageError makes the command exit 2.
func (e *UsageError) UsageError() bool { return true }

// Hint says what to do instead.
func (e *UsageError) Hint() string { return e.Hint_ }

// querier is what a replay step reads: the rules' windows (eval) and the
// SLOs' (slo); *analyze.DB is one.
type querier interface {
	eval.Querier
	slo.Querier
}

// Run replays o over the stores of db: at each step t_j = From + j*Step
// (j = 1, 2, ... while t_j <= To), the evaluate run (alert/run's
// EvaluateWith) on a fresh in-memory state with notifiers that record
// instead of sending, then, with objectives, the budget run of the same
// instant (as two cron lines in a minute: evaluate first). The state DB
// is replay's alone, so the runs are the ones `vigil evaluate --at t_j`
// then `vigil budget --notify --at t_j` would make on a scratch state.
func Run(ctx context.Context, db *analyze.DB, o Options) (*Replay, error) {
	// The bound on the steps is checked once From is moved to the stores'
	// oldest sample: --from 700d over 5 hours of history replays those
	// hours (h31 H10).
	if _, err := countSteps(o); err != nil {
		return nil, err
	}
	var warns []string
	if db != nil {
		var err error
		if warns, err = history(ctx, db, &o); err != nil {
			return nil, stoppedFirst(ctx, o, err)
		}
	}
	n, err := steps(o)
	if err != nil {
		return nil, err
	}
	to := o.From.Add(time.Duration(n) * o.Step)
	rep := &Replay{From: o.From, To: to, Step: o.Step, Steps: n, Warnings: warns}
	s, err := stepAll(ctx, db, o, n, to)
	if err != nil {
		return nil, err
	}
	// The pipeline's state (its outbox above all) and the tables are
	// gone with stepAll: the summary makes the Replay's values from the
	// collector's records without them beside it (compact.go).
	rep.steadied = s.steadied
	s.col.summary(rep)
	rep.Warnings = append(rep.Warnings, s.warnings()...)
	return rep, nil
}

// stepAll makes the n runs of the replay and returns its stepper, done
// with its tables and memory state.
func stepAll(ctx context.Context, db *analyze.DB, o Options, n int, to time.Time) (*stepper, error) {
	q, tables, err := querierOf(db, o, n)
	if err != nil {
		return nil, stoppedFirst(ctx, o, err)
	}
	if tables != nil {
		defer tables.Close() // the caller closes the DB after this returns
	}
	sdb, err := state.OpenMemory(ctx)
	if err != nil {
		return nil, err
	}
	defer sdb.Close() //nolint:errcheck // memory: nothing to keep
	s := &stepper{o: o, q: q, sdb: sdb, rec: &recorder{}, col: newCollector(o.Config, o.From, to, o.Step),
		skip: newSkipper(o.NoSkip, o.Config), cfg: o.Config, log: o.Log, ruleErrs: map[string]*ruleErrs{}, to: to}
	if s.log == nil {
		s.log = slog.New(slog.NewTextHandler(io.Discard, nil))
	}
	s.senders = s.rec.sinks(o.Config)
	s.bq = q
	if tables != nil {
		s.bq = newGrowing(tables, o.Objectives, o.From.Add(o.Step), o.Step)
	}
	for j := 1; j <= n; j++ {
		// The runs write their state past a cancelled context (a cron run
		// must record what it did after a SIGTERM), so the loop checks it:
		// a replay stopped by a signal stops at once, with nothing to keep.
		if err := context.Cause(ctx); err != nil {
			return nil, &StopError{At: o.From.Add(time.Duration(j-1) * o.Step), Cause: err}
		}
		if err := s.step(ctx, o.From.Add(time.Duration(j)*o.Step)); err != nil {
			return nil, err
		}
	}
	if tables != nil {
		s.log.Debug("replay tables", "reads", tables.Reads(), "fallbacks", tables.Fallbacks(), "chunk_steps", tables.ChunkSteps())
	}
	if g, ok := s.bq.(*growing); ok {
		s.log.Debug("replay calendar windows", "running_sums", g.grown)
	}
	s.log.Debug("replay steady alerts", "steps_left_out", s.steadied)
	s.q, s.bq, s.sdb, s.skip, s.budgets, s.rec, s.senders = nil, nil, nil, nil, nil, nil, nil
	return s, nil
}

// stoppedFirst is err, or, when ctx was cancelled (SIGTERM) before the
// first step, the stop said as a stop: a read of the stores' extent or of
// the first tables cut short reported a bare "context canceled" (x23).
func stoppedFirst(ctx context.Context, o Options, err error) error {
	cause := context.Cause(ctx)
	if cause == nil {
		return err
	}
	return &StopError{At: o.From.Add(o.Step), First: true, Cause: cause}
}

// StopError is a replay stopped by its context (SIGTERM, Ctrl-C): at
// the step it had reached, or before its first (First; At is then the
// first step, or zero where it was not known yet), and why.
type StopError struct {
	At    time.Time
	First bool
	Cause error
}

func (e *StopError) Error() string {
	switch {
	case !e.First:
		return fmt.Sprintf("replay stopped at %s: %v", stamp(e.At), e.Cause)
	case e.At.IsZero():
		return fmt.Sprintf("replay stopped before its first step: %v", e.Cause)
	}
	return fmt.Sprintf("replay stopped before its first step (%s): %v", stamp(e.At), e.Cause)
}

func (e *StopError) Unwrap() error { return e.Cause }

// querierOf is what the steps read: the precomputed tables of every
// rule's windows and of the occurrence objectives' budget windows
// (BudgetQueries), or with Exact the stores themselves.
func querierOf(db *analyze.DB, o Options, n int) (querier, *Tables, error) {
	switch {
	case o.querier != nil:
		return o.querier, nil, nil
	case o.Exact || db == nil:
		return db, nil, nil
	}
	qs := append(RuleQueries(o.Config.Rules), BudgetQueries(o.Objectives, o.From, o.Step, n)...)
	t, err := NewTables(db, qs, o.From, o.Step, n, TablesOptions{ChunkBytes: o.ChunkBytes, ReadAhead: true})
	if err != nil {
		return nil, nil, err
	}
	return t, t, nil
}

// history checks the range against the stores: a From before their oldest
// sample moves to the last step instant at or before it (the grid stays
// From's), with a warning saying how much history there is; a step finer
// than the data's resolution is warned of (consecutive runs would often
// read the same samples), not refused.
func history(ctx context.Context, db *analyze.DB, o *Options) ([]string, error) {
	var warns []string
	oldest, newest, ok, err := db.Extent(ctx)
	if err != nil {
		return nil, err
	}
	switch {
	case ok && !oldest.Before(o.To):
		warns = append(warns, fmt.Sprintf("the stores hold nothing before %s (their oldest sample is at %s): every run of the replay sees no data",
			stamp(o.To), stamp(oldest)))
	case ok && oldest.After(o.From.Add(o.Step)): // the first run, at From+Step, has data
		from := o.From.Add(oldest.Sub(o.From) / o.Step * o.Step)
		warns = append(warns, fmt.Sprintf("--from %s is before the stores' oldest sample (%s): they hold %s of history; replaying from %s",
			stamp(o.From), stamp(oldest), newest.Sub(oldest).Round(time.Minute), stamp(from)))
		o.From = from
	}
	// Runs after the newest sample see no data: every nodata: alert rule
	// fires there, which is the replay's answer for a range the stores do
	// not cover, so it must be said.
	if ok && newest.Add(o.Step).Before(o.To) && oldest.Before(o.To) {
		warns = append(warns, fmt.Sprintf("--to %s is after the stores' newest sample (%s): the runs after it see no data (rules with nodata: alert fire there)",
			stamp(o.To), stamp(newest)))
	}
	res, ok, err := db.Resolution(ctx)
	if err != nil {
		return nil, err
	}
	// A tenth of slack: the resolution is an estimate that one gap in the
	// samples lengthens, and a step equal to the scrape interval is what
	// cron runs at.
	if ok && float64(o.Step) < 0.9*float64(res) {
		warns = append(warns, fmt.Sprintf("step %s is below the data's resolution (about %s between samples): consecutive runs often read the same samples",
			o.Step, res.Round(time.Second)))
	}
	return warns, nil
}

// steps is the number of runs in (From, To], refused over MaxSteps.
func steps(o Options) (int, error) {
	n, err := countSteps(o)
	if err != nil {
		return 0, err
	}
	if n > MaxSteps {
		min := time.Duration(math.Ceil(o.To.Sub(o.From).Seconds()/MaxSteps)) * time.Second
		return 0, &UsageError{Msg: fmt.Sprintf("%d steps of %s over (--from, --to]: more than %d", n, vtime.FormatDuration(o.Step), MaxSteps),
			Hint_: fmt.Sprintf("use a longer --step (at least %s here) or a shorter --from", vtime.FormatDuration(min))}
	}
	return int(n), nil
}

// countSteps is the number of runs in (From, To], refused when none.
func countSteps(o Options) (int64, error) {
	if o.Config == nil {
		return 0, errors.New("replay: no config")
	}
	if o.Step <= 0 {
		return 0, &UsageError{Msg: fmt.Sprintf("replay: step %s is not positive", o.Step), Hint_: "use --step 1m (or the cron interval)"}
	}
	if !o.To.After(o.From) {
		return 0, &UsageError{Msg: "replay: --from is not before --to", Hint_: "use --from 30d (before --to)"}
	}
	n := int64(o.To.Sub(o.From) / o.Step)
	if n == 0 {
		return 0, &UsageError{Msg: fmt.Sprintf("replay: no run in (%s, %s] at a step of %s", stamp(o.From), stamp(o.To), o.Step),
			Hint_: "use a shorter --step or an earlier --from"}
	}
	return n, nil
}

func stamp(t time.Time) string { return t.UTC().Format(time.RFC3339) }

// stepper is one replay's loop state.
type stepper struct {
	o        Options
	q        querier
	sdb      *state.DB
	rec      *recorder
	senders  map[string]notify.Notifier
	col      *collector
	skip     *skipper
	cfg      *alertconfig.Config // the config at the last step (dynamic thresholds applied)
	log      *slog.Logger
	ruleErrs map[string]*ruleErrs
	errOrder []string
	to       time.Time // the last step
	bq       querier   // what budgets read: q, with running sums of calendar windows over tables
	budgets  *budgeter // made at the first budget run
	steadied int       // alert steps left out as steady
}

// ruleErrs are one rule's evaluation failures over the replay.
type ruleErrs struct {
	n     int
	first time.Time
	err   error
}

// step replays the runs of one instant.
func (s *stepper) step(ctx context.Context, at time.Time) error {
	cfg := s.thresholdsAt(at)
	sub, steady, run, err := s.skip.rules(ctx, s.q, cfg, at)
	if err != nil {
		return err
	}
	if run {
		o := s.options(sub, at, "evaluate")
		o.Steady = steady
		res, err := alertrun.EvaluateWith(ctx, o, s.skip.memo)
		if err != nil {
			return fmt.Errorf("replay at %s: %w", stamp(at), err)
		}
		s.done("evaluate", at, res)
		s.col.steady(at, steady, s.skip.live)
		s.steadied += len(steady)
		for _, e := range res.RuleErrors {
			s.ruleErr(e, at)
		}
	}
	if len(s.o.Objectives) == 0 {
		return nil
	}
	return s.budget(ctx, cfg, at)
}

// budget is `vigil budget --notify --at at`'s run: every objective's
// budget at at, its alerts through the same pipeline.
func (s *stepper) budget(ctx context.Context, cfg *alertconfig.Config, at time.Time) error {
	if s.budgets == nil {
		s.budgets = newBudgeter(ctx, s.bq, s.o.Objectives, s.o.From, s.to)
	}
	budgets, err := s.budgets.at(ctx, at)
	if err != nil {
		return fmt.Errorf("replay at %s: %w", stamp(at), err)
	}
	res, err := alertrun.Notify(ctx, s.options(cfg, at, "budget"), alertrun.BudgetBuild(budgets, at))
	if err != nil {
		return fmt.Errorf("replay at %s: %w", stamp(at), err)
	}
	s.done("budget", at, res)
	return nil
}

// options are a replay run's: the memory state, the sinks, no dry run (the
// state must step), no delivery deadline, no recorded series, and the
// quiet alerts left out unless skipping is off (the skipper's third
// reduction: see skipper).
func (s *stepper) options(cfg *alertconfig.Config, at time.Time, source string) alertrun.Options {
	return alertrun.Options{Config: cfg, At: at, State: s.sdb, Source: source, Holder: "replay", Senders: s.senders,
		OmitQuiet: !s.o.NoSkip}
}

// done folds a run's result into the summary and the skipper's account.
func (s *stepper) done(source string, at time.Time, res alertrun.Result) {
	s.col.add(runResult{at: at, items: res.Alerts, incidents: res.Plan.Incidents, held: res.Outcome.Held, notices: s.rec.drain()})
	s.skip.after(at, res)
	if s.o.observe != nil {
		s.o.observe(source, at, res)
	}
}

func (s *stepper) ruleErr(e *eval.RuleError, at time.Time) {
	x, ok := s.ruleErrs[e.Rule]
	if !ok {
		x = &ruleErrs{first: at, err: e.Err}
		s.ruleErrs[e.Rule] = x
		s.errOrder = append(s.errOrder, e.Rule)
	}
	x.n++
}

// thresholdsAt is the config with each dynamic rule's threshold as tuned
// at at. A change copies the config and its rules: the items of earlier
// runs point to the rules they were decided with, which must not move.
func (s *stepper) thresholdsAt(at time.Time) *alertconfig.Config {
	if s.o.Thresholds == nil {
		return s.cfg
	}
	var next *alertconfig.Config
	for i := range s.cfg.Rules {
		r := &s.cfg.Rules[i]
		if !r.Dynamic {
			continue
		}
		v, ok := s.o.Thresholds(r.Name, at)
		if !ok {
			v = s.o.Config.Rules[i].Threshold
		}
		if v == r.Threshold {
			continue
		}
		if next == nil {
			c := *s.cfg
			c.Rules = append([]alertconfig.Rule(nil), s.cfg.Rules...)
			next = &c
		}
		next.Rules[i].Threshold = v
	}
	if next != nil {
		s.cfg = next
	}
	return s.cfg
}

// warnings are what went wrong along the way that the caller should say.
func (s *stepper) warnings() []string {
	var out []string
	for _, name := range s.errOrder {
		x := s.ruleErrs[name]
		out = append(out, fmt.Sprintf("rule %s could not be evaluated at %d of the runs (first at %s: %v); its alerts kept their state there",
			name, x.n, stamp(x.first), x.err))
	}
	return out
}
