// Package record runs recording rules (the recording_rules section of the
// alerting configuration): each rule's value over its window, evaluated at
// one instant, is written as a gauge sample into a target series of a
// store, so that a question asked often over a long window (a week's p95,
// a month's error rate) reads a few pre-aggregated points instead of every
// raw sample, as Prometheus recording rules do.
//
// Usage, once per evaluation tick, with the store given by --record-db:
//
//	db, _ := analyze.Open(ctx, stores, analyze.Options{})
//	rec, _ := store.Open(ctx, recordDB, store.Options{})
//	sum, err := record.Record(ctx, record.WithStoreLabels(db, db.Stores), cfg.RecordingRules, at, rec)
//	log.Print(sum) // per rule: series written, already recorded, or no data
//
// An error means nothing was written for any rule; a rule with no data is
// not an error, it only leaves a gap at that instant.
//
// Alert rules, SLOs and queries over long windows then name the target
// (job:latency_p95:5m.max over 7d, say) and read the pre-aggregated series
// instead of the raw source. Give the record store to those readers with
// --db; keep it a store of its own rather than a source store, since
// making a run idempotent scans its samples at one instant (see Record),
// and a target written into a source store is also read back as a source.
package record

import (
	"context"
	"encoding/json"
	"fmt"
	"maps"
	"math"
	"slices"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/vigil-metrics/vigil/alert/config"
	"github.com/vigil-metrics/vigil/analyze"
	"github.com/vigil-metrics/vigil/internal/metricpath"
	"github.com/vigil-metrics/vigil/internal/sources"
	"github.com/vigil-metrics/vigil/internal/store"
	"github.com/vigil-metrics/vigil/internal/vtime"
)

// Querier answers a metric path over a window: *analyze.DB is one. It is
// alert/eval's Querier, declared again so that recording depends on the
// query engine only, not on the alerting state machine eval brings in.
type Querier interface {
	Eval(ctx context.Context, e *metricpath.Expr, w analyze.Window) ([]analyze.Result, error)
}

// Source is what the rules read: metric paths over a window, and, for
// rules written as source with aggregation, the label names a metric's
// series carry. The path language has no "by every label" (a path without
// by pools all series into one value), so a per-series rule groups by
// every label name the source's series have; LabelNames supplies them.
type Source interface {
	Querier
	// LabelNames lists the label names that series of metric carry,
	// "service" included when any has a service. A superset is harmless
	// (a label a series lacks is left out of its group), a missing name
	// would merge series, so when in doubt list more.
	LabelNames(ctx context.Context, metric string) ([]string, error)
}

// WithStoreLabels makes a Source of q (an *analyze.DB, say) that reads
// label names from the series tables of the store files q was opened
// over: for an *analyze.DB, WithStoreLabels(db, db.Stores). The files are
// read as they are now, which may hold series newer than q's view: that
// only adds names, which is harmless.
func WithStoreLabels(q Querier, stores []string) Source {
	return storeLabels{Querier: q, stores: stores}
}

type storeLabels struct {
	Querier
	stores []string
}

// sourceLabels is a Querier that also reads Prometheus-compatible
// sources (an *analyze.DB opened over --db URLs): it names their labels.
type sourceLabels interface {
	SourceLabelNames(ctx context.Context, metric string) ([]string, error)
}

func (s storeLabels) LabelNames(ctx context.Context, metric string) ([]string, error) {
	seen := map[string]bool{}
	for _, p := range s.stores {
		if sources.IsURL(p) {
			continue // the Querier's SourceLabelNames covers it
		}
		if err := labelNamesIn(ctx, p, metric, seen); err != nil {
			return nil, err
		}
	}
	if sl, ok := s.Querier.(sourceLabels); ok {
		names, err := sl.SourceLabelNames(ctx, metric)
		if err != nil {
			return nil, err
		}
		for _, n := range names {
			seen[n] = true
		}
	}
	names := make([]string, 0, len(seen))
	for n := range seen {
		names = append(names, n)
	}
	sort.Strings(names)
	return names, nil
}

func labelNamesIn(ctx context.Context, path, metric string, seen map[string]bool) error {
	st, err := store.Open(ctx, path, store.Options{ReadOnly: true})
	if err != nil {
		return err
	}
	defer st.Close()
	sets, err := st.LabelSets(ctx, metric)
	if err != nil {
		return fmt.Errorf("label names of %s in %s: %w", metric, path, err)
	}
	for _, ls := range sets {
		labels := map[string]string{}
		if err := json.Unmarshal([]byte(ls.Labels), &labels); err != nil {
			return fmt.Errorf("series of %s in %s has bad labels: %w", metric, path, err)
		}
		for k := range labels {
			seen[k] = true
		}
		if ls.Service != "" {
			seen["service"] = true
		}
	}
	return nil
}

// Summary is what one run did.
type Summary struct {
	At      time.Time
	Rules   []RuleSummary
	Written int64 // samples committed, all rules together
}

// RuleSummary is one rule's part of a run.
type RuleSummary struct {
	Target string
	Path   string // the metric path evaluated, grouping included
	// Results is how many label sets the path answered. 0 means no data:
	// nothing is written for the rule, and the target keeps a gap at At
	// rather than a made-up value.
	Results int
	Written int // samples added
	// Present counts samples already recorded for the target series at At
	// (an earlier run at the same instant): they are kept, not duplicated.
	Present int
	// NotFinite counts results that were NaN or infinite: a store holds
	// only finite values, so those label sets get no sample.
	NotFinite int
}

// NoData reports whether the rule's path answered nothing.
func (r RuleSummary) NoData() bool { return r.Results == 0 }

func (s Summary) String() string {
	var b strings.Builder
	fmt.Fprintf(&b, "recording rules at %s: %d samples written", s.At.UTC().Format(time.RFC3339), s.Written)
	for _, r := range s.Rules {
		fmt.Fprintf(&b, "\n  %s = %s: ", r.Target, r.Path)
		if r.NoData() {
			b.WriteString("no data, nothing written")
			continue
		}
		fmt.Fprintf(&b, "%d series, %d written", r.Results, r.Written)
		if r.Present > 0 {
			fmt.Fprintf(&b, ", %d already recorded", r.Present)
		}
		if r.NotFinite > 0 {
			fmt.Fprintf(&b, ", %d not finite (skipped)", r.NotFinite)
		}
	}
	return b.String()
}

// Record evaluates every rule over its window (at-Window, at] and writes
// one gauge sample per result label set, at at, into the rule's target
// series in st, all rules in one transaction: an error (a path that cannot
// be evaluated, a target name already used with another type) writes
// nothing. Every rule is evaluated before the write lock is taken, so the
// store is locked only for the writing.
//
// A target series keeps the result's labels: a metric_path's by labels
// (as written: a path without by gives one unlabelled series), or, for
// source with aggregation, every label of the source series, so that each
// source series yields one target series with its labels, as a Prometheus
// recording rule rate(x[5m]) keeps x's labels. The label "service" (the
// store's service column, which the path language shows as that label)
// goes back into the target's service column, so the target reads back
// through analyze with the same label set.
//
// Re-running at the same at is idempotent: a target series that already
// has a sample at at keeps it (the first write wins) and gets no second
// one. Skip rather than replace because samples are append-only (a trigger
// refuses updates) and deleting rows makes every analytics cache of the
// store notice a deletion and re-read. Finding what is there scans the
// store's samples at at once per run, under the write lock so that two
// runs at once cannot both write.
func Record(ctx context.Context, src Source, rules []config.RecordingRule, at time.Time, st *store.Store) (Summary, error) {
	sum := Summary{At: at, Rules: make([]RuleSummary, len(rules))}
	results := make([][]analyze.Result, len(rules))
	for i := range rules {
		r := &rules[i]
		e, err := Expr(ctx, src, r)
		if err != nil {
			return Summary{}, err
		}
		rs, err := src.Eval(ctx, e, analyze.Window{At: at, Length: r.Window})
		if err != nil {
			return Summary{}, fmt.Errorf("recording rule %s (line %d): %s: %w", r.Target, r.Pos.Line, e, err)
		}
		sum.Rules[i] = RuleSummary{Target: r.Target, Path: e.String(), Results: len(rs)}
		results[i] = rs
	}
	ts := vtime.UnixMilli(at)
	if err := store.ValidateTime(ts); err != nil {
		return Summary{}, fmt.Errorf("recording rules: %w", err)
	}
	// The rows to write, in rule and result order; id is filled in under
	// the write lock.
	type row struct {
		rule int
		res  analyze.Result
		id   int64
	}
	var rows []row
	for i, rs := range results {
		for _, res := range rs {
			if math.IsNaN(res.Value) || math.IsInf(res.Value, 0) {
				sum.Rules[i].NotFinite++
				continue
			}
			rows = append(rows, row{rule: i, res: res})
		}
	}
	if len(rows) == 0 {
		return sum, nil // nothing to write: do not take the write lock
	}
	tx, err := st.Begin(ctx)
	if err != nil {
		return Summary{}, fmt.Errorf("recording rules: %w", err)
	}
	defer tx.Rollback()
	seen := map[int64]int{} // series id -> rule that writes it
	for k := range rows {
		p := &rows[k]
		r := &rules[p.rule]
		labels, service := targetLabels(p.res.Labels)
		id, err := tx.Series(ctx, r.Target, store.Gauge, labels, service)
		if err != nil {
			return Summary{}, fmt.Errorf("recording rule %s (line %d): target %s%s: %w",
				r.Target, r.Pos.Line, r.Target, store.CanonicalLabels(p.res.Labels), err)
		}
		if j, dup := seen[id]; dup {
			// Validation refuses two rules with one target; rules made in
			// code could still collide, and one series cannot take two
			// values at one instant.
			return Summary{}, fmt.Errorf("recording rules at lines %d and %d both write %s%s",
				rules[j].Pos.Line, r.Pos.Line, r.Target, store.CanonicalLabels(p.res.Labels))
		}
		seen[id] = p.rule
		p.id = id
	}
	present, err := recordedAt(ctx, st, ts, seen)
	if err != nil {
		return Summary{}, err
	}
	for _, p := range rows {
		if present[p.id] {
			sum.Rules[p.rule].Present++
			continue
		}
		if err := tx.Append(ctx, p.id, ts, p.res.Value); err != nil {
			return Summary{}, fmt.Errorf("recording rule %s: %w", rules[p.rule].Target, err)
		}
		sum.Rules[p.rule].Written++
	}
	if sum.Written, err = tx.Commit(ctx); err != nil {
		return Summary{}, fmt.Errorf("recording rules: %w", err)
	}
	return sum, nil
}

// recordedAt lists which of the series ids already have a sample at ts.
// It reads through the store's pool, not the transaction (which package
// store keeps to itself): in WAL mode that reader sees what is committed,
// and since the caller holds the write lock nobody can commit meanwhile.
// Series this transaction created are not visible and have no samples.
func recordedAt(ctx context.Context, st *store.Store, ts int64, ids map[int64]int) (map[int64]bool, error) {
	present, err := st.SampledAt(ctx, ts, slices.Sorted(maps.Keys(ids)))
	if err != nil {
		return nil, fmt.Errorf("recording rules: find samples at %d: %w", ts, err)
	}
	return present, nil
}

// targetLabels splits a result's labels into the target's labels and its
// service: the path language shows the service column as the label
// "service", and writing it back there keeps the label set the same when
// the target is read.
func targetLabels(l map[string]string) (map[string]string, string) {
	service, ok := l["service"]
	if !ok {
		return l, ""
	}
	out := make(map[string]string, len(l)-1)
	for k, v := range l {
		if k != "service" {
			out[k] = v
		}
	}
	return out, service
}

// Expr is the metric path a rule evaluates: its metric_path as written,
// or source.aggregation grouped by every label name the source's series
// carry (so one result per source series).
func Expr(ctx context.Context, src Source, r *config.RecordingRule) (*metricpath.Expr, error) {
	if r.Source == "" {
		if r.MetricPath == "" {
			return nil, fmt.Errorf("recording rule %s (line %d): no source and no metric_path", r.Target, r.Pos.Line)
		}
		e, err := metricpath.Parse(r.MetricPath)
		if err != nil {
			return nil, fmt.Errorf("recording rule %s (line %d): metric_path: %w", r.Target, r.Pos.Line, err)
		}
		return e, nil
	}
	agg := r.Aggregation
	switch agg {
	case "":
		return nil, fmt.Errorf("recording rule %s (line %d): source without aggregation", r.Target, r.Pos.Line)
	case "percentile":
		if r.Percentile <= 0 || r.Percentile > 100 || math.IsNaN(r.Percentile) {
			return nil, fmt.Errorf("recording rule %s (line %d): percentile %v out of (0, 100]", r.Target, r.Pos.Line, r.Percentile)
		}
		// 'f' with the shortest digits: 95 is p95, 99.9 is p99.9, which
		// the parser reads back as exactly the quantile 0.999.
		agg = "p" + strconv.FormatFloat(r.Percentile, 'f', -1, 64)
	}
	e, err := metricpath.Parse(r.Source + "." + agg)
	if err != nil {
		return nil, fmt.Errorf("recording rule %s (line %d): %w", r.Target, r.Pos.Line, err)
	}
	names, err := src.LabelNames(ctx, r.Source)
	if err != nil {
		return nil, fmt.Errorf("recording rule %s (line %d): %w", r.Target, r.Pos.Line, err)
	}
	// Never nil: a nil By pools every series into one value. "service" is
	// always there since the store's service column is not a label.
	by := []string{"service"}
	for _, n := range names {
		if n != "service" {
			by = append(by, n)
		}
	}
	sort.Strings(by)
	e.Num.By = by
	return e, nil
}
