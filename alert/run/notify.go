package run

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"sort"
	"time"

	alertconfig "github.com/vigil-metrics/vigil/alert/config"
	"github.com/vigil-metrics/vigil/alert/eval"
	"github.com/vigil-metrics/vigil/alert/notify"
	"github.com/vigil-metrics/vigil/alert/state"
	"github.com/vigil-metrics/vigil/internal/metricpath"
)

// Build steps a run's alerts from prev, their state after the previous
// run (by fingerprint), into the items the pipeline decides on.
type Build func(prev map[uint64]state.Alert) []*notify.Item

// Notify is the part of a run that every source of alerts shares
// (evaluate's rules, budget's burn alerts): under the state lock (a
// snapshot for a dry run), build steps the alerts from their previous
// state, the pipeline decides, the alerts, incidents and notices are
// committed, then delivered. A dry run returns what would be sent instead.
func Notify(ctx context.Context, o Options, build Build) (Result, error) {
	return notifyRun(ctx, o, nil, build)
}

// notifyRun is Notify for a run in which the rules of ruleErrs could not
// be evaluated: build leaves their alerts out, the incidents those alerts
// hold stay open, and the errors are recorded in the history.
func notifyRun(ctx context.Context, o Options, ruleErrs []*eval.RuleError, build Build) (Result, error) {
	sdb := o.State
	if sdb == nil {
		var err error
		if sdb, err = openState(ctx, o); err != nil {
			return Result{}, err
		}
		defer sdb.Close() //nolint:errcheck // a committed run is already on disk
	}
	var r *state.Run
	var err error
	if o.DryRun {
		r, err = sdb.Snapshot(ctx)
	} else {
		r, err = sdb.Begin(ctx, o.Holder, o.LockTimeout)
	}
	if err != nil {
		return Result{}, err
	}
	defer r.Rollback()
	// Under the lock, before anything is stepped: the authoritative check.
	if err := checkTime(r, o); err != nil {
		return Result{}, err
	}
	prev, err := r.Alerts()
	if err != nil {
		return Result{}, err
	}

	items := build(prev)
	sortItems(items)
	do := decideOptions(o.Config, o.At, prev, items, o.Steady)
	do.AckState = o.AckState
	plan, err := notify.DecideWith(r, o.Config, o.At, items, do)
	if err != nil {
		return Result{}, err
	}
	plan.Incidents = keepHeld(plan.Incidents, prev, ruleErrs, o.Steady)

	if o.DryRun {
		queued, err := r.Notices(state.Queued)
		if err != nil {
			return Result{}, err
		}
		return Result{Alerts: items, WouldSend: describe(o, append(queued, plan.Notices...)), Plan: plan}, nil
	}
	if err := save(r, o, prev, items, plan, ruleErrs); err != nil {
		return Result{}, err
	}
	if o.AfterRecord != nil {
		o.AfterRecord()
	}
	sendCtx := ctx
	if !o.Deadline.IsZero() {
		var cancel context.CancelFunc
		sendCtx, cancel = context.WithDeadlineCause(ctx, o.Deadline, notify.ErrRunDeadline)
		defer cancel()
	}
	outcome, err := notify.Deliver(sendCtx, r, o.Config, o.At, notify.Options{Senders: o.Senders,
		MaxPerMinute: o.Config.Settings.MaxAlertsPerMinute, BeforeSend: o.BeforeSend, Secrets: o.Secrets})
	if err != nil {
		return Result{}, err
	}
	if err := r.Commit(); err != nil {
		return Result{}, err
	}
	return Result{Alerts: items, Outcome: outcome, Plan: plan}, nil
}

// save writes what the run decided (the alerts that changed, the
// incidents, the notices to send, the rules it could not evaluate) and prunes old history, then saves, so
// that the decisions and the intent to send are durable before any
// request goes out.
func save(r *state.Run, o Options, prev map[uint64]state.Alert, items []*notify.Item, plan notify.Plan, ruleErrs []*eval.RuleError) error {
	for _, it := range items {
		if !eval.Stored(prev, it.Alert) {
			continue
		}
		if err := r.Put(it.Alert); err != nil {
			return err
		}
	}
	for _, inc := range plan.Incidents {
		if err := r.PutIncident(inc); err != nil {
			return err
		}
	}
	for i := range plan.Notices {
		if err := r.Enqueue(&plan.Notices[i]); err != nil {
			return err
		}
	}
	if err := touchSteady(r, o, prev); err != nil {
		return err
	}
	if err := r.SetLastRun(o.source(), o.At); err != nil {
		return err
	}
	for _, e := range ruleErrs {
		if err := r.AddRuleError(state.RuleError{Rule: e.Rule, At: o.At, Error: o.Secrets.Scrub(e.Err.Error())}); err != nil {
			return err
		}
	}
	retention := time.Duration(o.Config.Settings.AlertRetentionDays) * 24 * time.Hour
	if _, err := r.PruneHistory(o.At.Add(-retention)); err != nil {
		return err
	}
	return r.Save()
}

// openState opens the state DB of a run without Options.State. A dry run creates no file: with
// no state DB yet, it reads an empty one in memory.
func openState(ctx context.Context, o Options) (*state.DB, error) {
	if !o.DryRun {
		return state.Open(ctx, o.StatePath)
	}
	sdb, err := state.OpenExisting(ctx, o.StatePath)
	if errors.Is(err, fs.ErrNotExist) {
		return state.OpenEmpty(ctx)
	}
	return sdb, err
}

// TimeError refuses a run at an instant earlier than the last run of the
// same source on this state DB. Its alerts were stepped at Last: stepping
// them from there back to At would make a past episode fire, and be
// notified, again. A rerun at the same instant is fine. Replaying history
// is not what a run is for.
type TimeError struct {
	Source   string
	At, Last time.Time
}

func (e *TimeError) Error() string {
	return fmt.Sprintf("--at %s is before the last %s run on this state DB, at %s: time never runs backwards",
		e.At.UTC().Format(time.RFC3339Nano), e.Source, e.Last.UTC().Format(time.RFC3339Nano))
}

// UsageError makes it exit 2: the instant asked for is wrong, not the run.
func (e *TimeError) UsageError() bool { return true }

// Hint says what to do; the command line prints it.
func (e *TimeError) Hint() string {
	return "use --at " + e.Last.UTC().Format(time.RFC3339Nano) + " or later (or no --at: now); a state DB records one timeline"
}

// checkTime refuses o.At when it is before the last run of o's source.
func checkTime(r *state.Run, o Options) error {
	last, err := r.LastRun(o.source())
	if err != nil {
		return err
	}
	if o.At.Before(last) {
		return &TimeError{Source: o.source(), At: o.At, Last: last}
	}
	return nil
}

// source is what the state DB keeps the last run of.
func (o Options) source() string {
	if o.Source == "" {
		return "evaluate"
	}
	return o.Source
}

// keepHeld drops from incidents the closings of incidents that a firing
// alert the run did not step still belongs to. One of a rule that could
// not be evaluated (ruleErrs): its state is kept, so the pipeline did not
// see it firing, and closing its incident would be a resolution nobody
// observed. A steady one (Options.Steady): it fires at this run, as its
// caller observed.
func keepHeld(incidents []state.Incident, prev map[uint64]state.Alert, ruleErrs []*eval.RuleError, steady map[uint64]*alertconfig.Rule) []state.Incident {
	if len(ruleErrs) == 0 && len(steady) == 0 {
		return incidents
	}
	closing := false
	for _, inc := range incidents {
		if !inc.Closed.IsZero() {
			closing = true
			break
		}
	}
	if !closing {
		return incidents
	}
	broken := map[string]bool{}
	for _, e := range ruleErrs {
		broken[e.Rule] = true
	}
	held := map[string]bool{}
	for fp, a := range prev {
		_, isSteady := steady[fp]
		if (broken[a.Rule] || isSteady) && a.State == state.Firing && a.Incident != "" {
			held[a.Incident] = true
		}
	}
	out := incidents[:0:0]
	for _, inc := range incidents {
		if !inc.Closed.IsZero() && held[inc.ID] {
			continue
		}
		out = append(out, inc)
	}
	return out
}

// touchSteady stores At as the last evaluation of the steady alerts
// (Options.Steady): they were observed at At, as a stepped alert is, and
// a later run of another source reads their freshness from it
// (decideOptions).
func touchSteady(r *state.Run, o Options, prev map[uint64]state.Alert) error {
	for fp := range o.Steady {
		a, ok := prev[fp]
		if !ok {
			continue
		}
		a.LastEval = o.At
		if err := r.Put(a); err != nil {
			return err
		}
	}
	return nil
}

// sortItems orders a run's items by rule name, then labels as printed.
// Each item's labels are formatted once, and only where its rule has
// another item to be ordered against: formatting them in every comparison
// was a tenth of a busy replayed run.
func sortItems(items []*notify.Item) {
	perRule := make(map[string]int, len(items))
	for _, it := range items {
		perRule[it.Rule.Name]++
	}
	keys := make([]string, len(items))
	order := make([]int, len(items))
	for i, it := range items {
		order[i] = i
		if perRule[it.Rule.Name] > 1 {
			keys[i] = metricpath.FormatLabels(it.Alert.Labels)
		}
	}
	sort.SliceStable(order, func(a, b int) bool {
		x, y := items[order[a]], items[order[b]]
		if x.Rule.Name != y.Rule.Name {
			return x.Rule.Name < y.Rule.Name
		}
		return keys[order[a]] < keys[order[b]]
	})
	sorted := make([]*notify.Item, len(items))
	for i, j := range order {
		sorted[i] = items[j]
	}
	copy(items, sorted)
}
