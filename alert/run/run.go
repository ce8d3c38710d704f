// Package run is one evaluate run as a library call: open the stores,
// evaluate the rules at a given instant, write the recording rules' series,
// step each alert's state from the previous run's, let the pipeline decide,
// commit the decisions, then deliver. `vigil evaluate` and `vigil budget
// --notify` share Notify, its second half, so there is one implementation
// of "alerts under the state lock, decided, committed, delivered".
//
// It owns the order of a run, which is its contract: the stores are closed
// before the state lock is awaited; recording rules write only outside a
// dry run; a dry run reads a snapshot and takes no lock; decisions and
// notices are saved before any request goes out. It must not parse flags,
// format output, read the clock or build channels: the caller passes the
// instant, the store opener and the notifiers.
//
// EvaluateWith is the one path from the rules' observations to delivery:
// Evaluate opens the stores, records, closes them and goes on through it,
// and replay (alert/replay) steps it over history with its own querier, an
// in-memory state (Options.State) and notifiers that send nothing. A change
// to how a run steps, decides or saves belongs there (or in notifyRun), never
// in a copy, or replay stops answering what evaluate would have done.
package run

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"log/slog"
	"sync"
	"time"

	alertconfig "github.com/vigil-metrics/vigil/alert/config"
	"github.com/vigil-metrics/vigil/alert/eval"
	"github.com/vigil-metrics/vigil/alert/notify"
	"github.com/vigil-metrics/vigil/alert/record"
	"github.com/vigil-metrics/vigil/alert/state"
	"github.com/vigil-metrics/vigil/analyze"
	"github.com/vigil-metrics/vigil/internal/secret"
	"github.com/vigil-metrics/vigil/internal/store"
)

// Options configure a run. Evaluate uses them all; Notify uses neither
// OpenStores, RecordDB nor Log.
type Options struct {
	// Config holds the rules (dynamic thresholds already resolved), the
	// recording rules, channels and settings.
	Config *alertconfig.Config
	// At is the evaluation instant.
	At time.Time
	// DryRun reads a snapshot of the state, changes nothing, sends
	// nothing and writes no recorded series: Result.WouldSend says what
	// would go out.
	DryRun bool

	// OpenStores opens the stores the rules read (the caller's progress
	// output and cache lock wait included).
	OpenStores func(context.Context) (*analyze.DB, error)
	// RecordDB is the store recording rules write into; "" writes none.
	RecordDB string
	// Log receives the recording rules' summary (nil: discarded).
	Log *slog.Logger

	// StatePath is the state DB (created when missing; a dry run creates
	// none).
	StatePath string
	// State, when set, is an open state DB used instead of StatePath, and
	// not closed by the run: replay's in-memory one (state.OpenMemory),
	// stepped by many runs.
	State *state.DB
	// AckState is the state DB as the notices' `vigil alerts ack`
	// command names it with --state, for a person to paste into a shell
	// elsewhere; "" when the command's default reaches it (then left out).
	AckState string
	// Source names what steps the alerts: "evaluate" (the default) or
	// "budget". Each keeps its own last run in the state DB, and a run at
	// an --at before it is refused (TimeError): their alerts are apart,
	// and two cron lines racing for the lock must not refuse each other.
	Source string
	// Holder names this run in the state lock (e.g. "pid 4242 on web-1");
	// LockTimeout is how long it waits for an overlapping run.
	Holder      string
	LockTimeout time.Duration
	// OmitQuiet leaves out of the run the alerts that were inactive (or
	// never seen) and stay inactive (eval.Stepped.Quiet): the pipeline
	// decides nothing about them and the run stores none of them, so only
	// Result.Alerts lacks them. A large rule set over many series makes
	// thousands a run, whose sorting, deciding and saving replay, which
	// reports no quiet alert, need not pay at every step; evaluate lists
	// every alert it stepped.
	OmitQuiet bool
	// Steady are alerts, by fingerprint with their rule, that the caller
	// has observed at At to step only their value and last evaluation,
	// and about which the pipeline decides nothing at At: firing or
	// pending, still breached, no notice, escalation step, cooldown or
	// dedup edge due, no silence edge, no inhibition or Alertmanager
	// channel that could concern them (alert/replay's skipper proves it).
	// The run neither steps nor decides them (their rule may be left out
	// of Config.Rules when all its alerts are steady and no other group
	// of it breaches); it stores At as their last evaluation and counts
	// the firing ones as firing at At, for inhibition and to keep their
	// incidents open, as if it had stepped them. Only replay, which steps
	// a month of runs, sets it; Result.Alerts lacks them.
	Steady map[uint64]*alertconfig.Rule
	// Senders are the notifiers by channel name (notify.Options.Senders).
	Senders map[string]notify.Notifier
	// Secrets are scrubbed from every error the run records in the state
	// DB (delivery failures, rules that could not be evaluated: a source
	// that echoes its credentials); nil scrubs nothing.
	Secrets *secret.Set
	// Deadline is when delivery stops (the wall clock, --run-timeout after
	// the command started; zero: none): a message whose turn comes later,
	// or whose request or wait between tries is still going, stays queued
	// for the next run, with a history row saying why. It keeps a hung
	// receiver from making a run overlap the next cron tick.
	Deadline time.Time
	// Target names a channel's destination without its secret, for
	// WouldSend (nil: none).
	Target func(alertconfig.Channel) string

	// AfterRecord runs once the decisions and notices are committed,
	// before delivery; BeforeSend right before each request, its notices
	// marked sending. Tests kill a run there.
	AfterRecord, BeforeSend func()
}

// Result is what a run did.
type Result struct {
	// Alerts are the run's alerts by rule name then labels, with what the
	// pipeline decided for each (Queued, SuppressedBy).
	Alerts []*notify.Item
	// Outcome is what delivery did (zero for a dry run).
	Outcome notify.Outcome
	// WouldSend, for a dry run only, is every message that would be sent:
	// those already queued, then this run's.
	WouldSend []Send
	// RuleErrors are the rules that could not be evaluated, in the
	// config's order (recorded in the history outside a dry run). Their
	// alerts kept their state and are not among Alerts; a run with any
	// is a partial failure.
	RuleErrors []*eval.RuleError
	// Plan is what the pipeline decided this run: the notices it queued
	// and the incidents it opened, updated or closed (what replay reports;
	// the state DB prunes closed incidents).
	Plan notify.Plan
}

// Evaluate runs every rule of o.Config at o.At over the stores and
// delivers what is owed (Notify): it opens the stores, evaluates, records
// and closes them, then goes on as EvaluateWith.
func Evaluate(ctx context.Context, o Options) (Result, error) {
	if o.OpenStores == nil {
		return Result{}, errors.New("evaluate: no store opener")
	}
	// Recording rules write before the state lock is taken: when they will,
	// refuse an instant in the past before anything is written. Otherwise
	// Notify's check under the lock is enough, and a cron run opens the
	// state DB once.
	record := o.RecordDB != "" && !o.DryRun && len(o.Config.RecordingRules) > 0
	if record {
		if err := precheckTime(ctx, o); err != nil {
			return Result{}, err
		}
	}
	db, err := o.OpenStores(ctx)
	if err != nil {
		return Result{}, err
	}
	// The stores' caches are locked while open: close them before waiting
	// for the state lock and sending, or an overlapping run would wait here
	// for the whole delivery instead of honouring its lock timeout.
	closeDB := sync.OnceFunc(func() { db.Close() })
	defer closeDB()
	return evaluate(ctx, o, db, func() error {
		if record {
			if err := recordRules(ctx, o, db); err != nil {
				return err
			}
		}
		closeDB()
		return nil
	})
}

// EvaluateWith is Evaluate over q instead of the stores: it evaluates
// o.Config's rules at o.At through q, steps, decides, saves and delivers
// (on o.State when set), but opens no store and records no series. It is
// the part of Evaluate that replay steps over history.
func EvaluateWith(ctx context.Context, o Options, q eval.Querier) (Result, error) {
	return evaluate(ctx, o, q, nil)
}

// evaluate is the one body of Evaluate and EvaluateWith. afterRules, when
// set, runs once the rules are evaluated and before the state is touched
// (Evaluate records and closes its stores there).
func evaluate(ctx context.Context, o Options, q eval.Querier, afterRules func() error) (Result, error) {
	obs, ruleErrs, err := eval.Rules(ctx, q, o.Config.Rules, o.At)
	if err != nil {
		return Result{}, err
	}
	if afterRules != nil {
		if err := afterRules(); err != nil {
			return Result{}, err
		}
	}

	// A rule that could not be evaluated is left out of the step: its
	// alerts keep their state (as under nodata: keep), so a broken rule
	// neither resolves nor fires them, and nothing is sent about them.
	broken := map[string]bool{}
	for _, e := range ruleErrs {
		broken[e.Rule] = true
	}
	rules := map[string]*alertconfig.Rule{}
	for i := range o.Config.Rules {
		if r := &o.Config.Rules[i]; !broken[r.Name] {
			rules[r.Name] = r
		}
	}
	res, err := notifyRun(ctx, o, ruleErrs, func(prev map[uint64]state.Alert) []*notify.Item {
		var items []*notify.Item
		eval.StepExcept(prev, rules, obs, o.At, o.OmitQuiet, o.Steady, func(st eval.Stepped) {
			items = append(items, &notify.Item{Rule: st.Rule, Prev: st.Prev, Alert: st.Next})
		})
		return items
	})
	res.RuleErrors = ruleErrs
	return res, err
}

// recordRules writes the recording rules' series at o.At into o.RecordDB.
func recordRules(ctx context.Context, o Options, db *analyze.DB) error {
	if err := createRecordStore(o.RecordDB, db.Stores); err != nil {
		return err
	}
	st, err := store.Open(ctx, o.RecordDB, store.Options{})
	if err != nil {
		return err
	}
	sum, err := record.Record(ctx, record.WithStoreLabels(db, db.Stores), o.Config.RecordingRules, o.At, st)
	st.Close()
	if err != nil {
		return fmt.Errorf("recording rules: %w", err)
	}
	if o.Log != nil {
		o.Log.Info("recording rules", "summary", sum.String())
	}
	return nil
}

// precheckTime is checkTime on a snapshot, without the lock: nothing when
// there is no state DB yet.
func precheckTime(ctx context.Context, o Options) error {
	sdb := o.State
	if sdb == nil {
		var err error
		sdb, err = state.OpenExisting(ctx, o.StatePath)
		if errors.Is(err, fs.ErrNotExist) {
			return nil
		}
		if err != nil {
			return err
		}
		defer sdb.Close() //nolint:errcheck // read only
	}
	r, err := sdb.Snapshot(ctx)
	if err != nil {
		return err
	}
	defer r.Rollback()
	return checkTime(r, o)
}
