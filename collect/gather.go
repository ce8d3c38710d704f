// Recording what a client_golang Gatherer gathers (RecordGatherer,
// Options.Gatherers): what vigil can store is stored series by series,
// what it cannot is reported, and one bad series never costs the rest of
// the registry.

package collect

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"maps"
	"reflect"
	"slices"
	"sort"
	"strings"

	"github.com/prometheus/client_golang/prometheus"
	dto "github.com/prometheus/client_model/go"

	"github.com/vigil-metrics/vigil/internal/cumulative"
	"github.com/vigil-metrics/vigil/internal/scrape"
	"github.com/vigil-metrics/vigil/internal/store"
)

// RecordGatherer records what g gathers (a client_golang registry, in
// the same process: no HTTP) into the Recorder's store, stamped now, as
// the agent's scrape path stores a scraped page: counters, and
// histograms' and summaries' buckets, _sum and _count, as increments
// since the previous call (the first call counts from zero: the
// registry's totals are what this process did), gauges and summary
// quantiles as values. The samples take Options.Service, and
// Options.ConstLabels where the gathered labels lack them; the families'
// help texts are stored too. The Recorder's own series (served by a
// registry it is registered in) are skipped; a series of one of its names
// with other labels is recorded, one with the same labels but another
// type or help is reported. What is recorded here is left out of Handler
// and Gather (the registry serves it). Call it once, or on a timer
// (Options.Gatherers does so at every flush).
//
// What vigil cannot store is reported in the error and the rest is
// recorded: a family whose name vigil cannot store (an OpenTelemetry-style
// dotted name) is logged once and records nothing; a series the store
// refuses (a label value over 4096 bytes, a type conflict) is left out.
// A batch bigger than Options.MaxBuffer is recorded in parts, each
// written before the next is queued. A batch refused as a whole
// (ErrBufferFull, ErrClosed) leaves the counters' baselines where they
// were, so the next call records the increments it held. Each gatherer
// has its own baselines (see gathererKey): two registries serving one
// series store each one's increase. g's own errors,
// and a panic of g, are returned after what it did gather is recorded.
func (r *Recorder) RecordGatherer(ctx context.Context, g prometheus.Gatherer) error {
	if r == nil {
		return nil
	}
	key, ok := gathererKey(g)
	if !ok {
		key = anonGatherer{}
	}
	return r.recordGatherer(ctx, g, key)
}

// Each gatherer keeps its own counter baselines, found by key: two
// gatherers serving one series then store each one's increase, not the
// jumps between their totals. A gatherer of a comparable type (a
// *prometheus.Registry) is its own key, whether listed in
// Options.Gatherers or given to RecordGatherer; another one (a
// GathererFunc, a prometheus.Gatherers slice) is keyed by its place in
// Options.Gatherers, and all such given to RecordGatherer share one.
type (
	anonGatherer struct{}
	optGatherer  int
)

// gathererKey is g as a map key, if g can be one (comparable all down).
func gathererKey(g prometheus.Gatherer) (key any, ok bool) {
	if g == nil || !reflect.TypeOf(g).Comparable() {
		return nil, false
	}
	defer func() {
		if recover() != nil {
			key, ok = nil, false
		}
	}()
	_ = g == g // panics for a comparable type holding an uncomparable value
	return g, true
}

// tracker is key's counter baselines (gmu held).
func (r *Recorder) tracker(key any) *cumulative.Tracker {
	if r.gtrack == nil {
		r.gtrack = map[any]*cumulative.Tracker{}
	}
	tr := r.gtrack[key]
	if tr == nil {
		tr = cumulative.New()
		tr.ZeroBase = true
		r.gtrack[key] = tr
	}
	return tr
}

func (r *Recorder) recordGatherer(ctx context.Context, g prometheus.Gatherer, key any) error {
	// Held from the gather to the check of what is the Recorder's own:
	// ForgetIdle waits for it, so a series of the Recorder's that g
	// served (a registry it is registered in) is still its own when
	// checked, not taken for a gathered one and counted again.
	// The wait for another RecordGatherer (the flusher's, writing a part
	// of a big registry to a locked store) ends with ctx.
	if err := r.gmu.LockCtx(ctx); err != nil {
		return err
	}
	defer r.gmu.Unlock()
	fams, gerr := safeGather(g)
	if err := ctx.Err(); err != nil {
		return err
	}
	// Read after g: a series of the Recorder's that g served is in it.
	own := map[string]*dto.MetricFamily{}
	for _, f := range r.gather() {
		own[f.GetName()] = f
	}
	tr := r.tracker(key)
	// Baselines move on a copy, kept for the series whose samples are
	// accepted; a refused one keeps its old baseline.
	next := tr.Clone()
	var bad badList
	var batch []store.Sample
	var keys []string // each sample's tracker key
	help := map[string]string{}
	types := map[string]store.Type{}
	now := r.now()
	for _, f := range fams {
		if f == nil {
			continue
		}
		name := f.GetName()
		if !store.ValidName(name) {
			r.warnOnce("gathered-name:"+name, "a gathered metric family's name cannot be stored; it is not recorded", "name", name)
			bad.add(fmt.Errorf("family %q: %w: invalid metric name", name, ErrInvalid))
			continue
		}
		fam, err := notOwn(f, own[name])
		if err != nil {
			bad.add(err)
		}
		if fam == nil {
			continue
		}
		samples := scrape.Convert(map[string]*dto.MetricFamily{name: fam}, nil, r.opt.Service, now, next)
		fk := make([]string, len(samples))
		for i := range samples { // before ConstLabels join the (shared) label maps
			// A label with an empty value is no label (Prometheus drops
			// it): {a=""} is the series {}, under one baseline.
			maps.DeleteFunc(samples[i].Labels, func(_, v string) bool { return v == "" })
			fk[i] = samples[i].Name + store.CanonicalLabels(samples[i].Labels)
		}
		kept := 0
		for i := range samples {
			s := samples[i]
			for k, v := range r.opt.ConstLabels {
				if _, ok := s.Labels[k]; !ok && v != "" {
					s.Labels[k] = v
				}
			}
			if err := r.checkGathered(&s, types); err != nil {
				next.Restore(tr, fk[i])
				bad.add(fmt.Errorf("%s%s: %w", s.Name, store.CanonicalLabels(s.Labels), err))
				continue
			}
			types[s.Name] = s.Type
			batch = append(batch, s)
			keys = append(keys, fk[i])
			kept++
		}
		if h := f.GetHelp(); kept > 0 && h != "" {
			if err := checkHelp(name, h); err != nil {
				bad.add(err)
			} else {
				help[name] = h
			}
		}
	}
	refused, err := r.addGathered(ctx, batch)
	for _, i := range refused {
		next.Restore(tr, keys[i])
	}
	r.gtrack[key] = next
	for n, h := range help {
		r.setHelp(n, h)
	}
	return errors.Join(gerr, err, bad.err())
}

// safeGather is g.Gather with a panic of g turned into an error: a
// gatherer's bug must not take the flusher, or Flush, down.
func safeGather(g prometheus.Gatherer) (fams []*dto.MetricFamily, err error) {
	defer func() {
		if p := recover(); p != nil {
			fams, err = nil, fmt.Errorf("gatherer panicked: %v", p)
		}
	}()
	return g.Gather()
}

// checkGathered is what AddBatch checks of one sample, so that a bad
// series is left out instead of refusing the batch: valid, under
// MaxLabelBytes, and of one type within the call and in the Recorder.
func (r *Recorder) checkGathered(s *store.Sample, types map[string]store.Type) error {
	if err := s.Validate(); err != nil {
		return err
	}
	if err := r.labelBytes(s.Name, seriesSize(s.Name, s.Labels, s.Service)); err != nil {
		r.seriesRefused.Add(1)
		return err
	}
	if t, ok := types[s.Name]; ok && t != s.Type {
		return typeConflict(s.Name, s.Type, t)
	}
	r.smu.RLock()
	t, ok := r.types[s.Name]
	r.smu.RUnlock()
	if ok && t != s.Type {
		return typeConflict(s.Name, s.Type, t)
	}
	return nil
}

// addGathered queues batch in parts of at most MaxBuffer samples; a part
// that finds the buffer full after the parts before it filled it waits
// for them to be written. It returns the indexes of the samples refused.
func (r *Recorder) addGathered(ctx context.Context, batch []store.Sample) (refused []int, err error) {
	var errs []error
	for start := 0; start < len(batch); start += r.opt.MaxBuffer {
		end := min(start+r.opt.MaxBuffer, len(batch))
		err := r.addBatch(batch[start:end], true)
		if errors.Is(err, ErrBufferFull) && start > 0 {
			r.mu.Lock()
			r.handoffLocked()
			r.mu.Unlock()
			if err = r.writePending(ctx); err == nil {
				err = r.addBatch(batch[start:end], true)
			}
		}
		if err == nil {
			continue
		}
		whole := errors.Is(err, ErrBufferFull) || errors.Is(err, ErrClosed)
		if whole {
			end = len(batch) // the rest cannot be queued either
		}
		for i := start; i < end; i++ {
			refused = append(refused, i)
		}
		errs = append(errs, fmt.Errorf("%d gathered samples not recorded: %w", end-start, err))
		if whole {
			break
		}
	}
	return refused, errors.Join(errs...)
}

// notOwn is f without the series that are the Recorder's own (o is the
// Recorder's family of that name, nil when none): those of the same label
// set, type and help, as a registry the Recorder is registered in serves
// them. A series of the same labels but another type or help clashes: it
// is left out and reported.
func notOwn(f, o *dto.MetricFamily) (*dto.MetricFamily, error) {
	if o == nil {
		return f, nil
	}
	mine := make(map[string]bool, len(o.Metric))
	for _, m := range o.Metric {
		mine[labelSig(m)] = true
	}
	same := f.GetType() == o.GetType() && f.GetHelp() == o.GetHelp()
	var keep []*dto.Metric
	clashes := 0
	for _, m := range f.Metric {
		switch {
		case !mine[labelSig(m)]:
			keep = append(keep, m)
		case !same:
			clashes++
		}
	}
	var err error
	if clashes > 0 {
		err = fmt.Errorf("family %q: %d series the Recorder records itself, gathered with another type or help: not recorded", f.GetName(), clashes)
	}
	switch len(keep) {
	case 0:
		return nil, err
	case len(f.Metric):
		return f, err
	}
	return &dto.MetricFamily{Name: f.Name, Help: f.Help, Type: f.Type, Unit: f.Unit, Metric: keep}, err
}

// labelSig is a metric's label set as one comparable string.
func labelSig(m *dto.Metric) string {
	parts := make([]string, 0, len(m.Label))
	for _, l := range m.Label {
		if l.GetValue() != "" { // no label: {a=""} is {}
			parts = append(parts, l.GetName()+"\xff"+l.GetValue())
		}
	}
	sort.Strings(parts)
	return strings.Join(parts, "\xfe")
}

// badList collects what a call could not record, listing the first few.
type badList struct {
	errs []error
	n    int
}

const badListed = 10

func (b *badList) add(err error) {
	b.n++
	if len(b.errs) < badListed {
		b.errs = append(b.errs, err)
	}
}

func (b *badList) err() error {
	if b.n == 0 {
		return nil
	}
	err := errors.Join(b.errs...)
	if b.n > len(b.errs) {
		err = fmt.Errorf("%w\n(and %d more)", err, b.n-len(b.errs))
	}
	return fmt.Errorf("%d gathered families or series not recorded:\n%w", b.n, err)
}

// recordGatherers records Options.Gatherers (at every flush, and once
// more at Close); each gatherer's first error is logged, every failed
// call counted in Stats().GatherErrors.
func (r *Recorder) recordGatherers(ctx context.Context) error {
	var errs []error
	for i, g := range r.opt.Gatherers {
		key, ok := gathererKey(g)
		if !ok {
			key = optGatherer(i)
		}
		if err := r.recordGatherer(ctx, g, key); err != nil && !errors.Is(err, ErrClosed) {
			r.gatherErrs.Add(1)
			r.warnOnce(fmt.Sprint("gatherer:", i), "record gatherer", "gatherer", i, "err", err)
			errs = append(errs, fmt.Errorf("gatherer %d: %w", i, err))
		}
	}
	return errors.Join(errs...)
}

// uniqueGatherers is gs without the repeats of a gatherer listed before
// (as a client_golang registry refuses a collector registered twice): a
// registry listed twice would store each gauge twice a flush. Only
// gatherers of a comparable type (a *prometheus.Registry, any pointer)
// can be told apart; a func or a slice (prometheus.Gatherers) is kept.
// The repeats are logged, or panic in Strict mode.
func uniqueGatherers(gs []prometheus.Gatherer, log *slog.Logger, strict bool) []prometheus.Gatherer {
	var out []prometheus.Gatherer
	var repeats []int
	for i, g := range gs {
		if slices.ContainsFunc(out, func(o prometheus.Gatherer) bool { return sameGatherer(o, g) }) {
			repeats = append(repeats, i)
			continue
		}
		out = append(out, g)
	}
	if len(repeats) == 0 {
		return gs
	}
	if strict {
		panic(fmt.Sprintf("collect.New: Options.Gatherers lists a gatherer twice (entries %v repeat earlier ones)", repeats))
	}
	log.Warn("Options.Gatherers: a gatherer listed twice is gathered once", "repeats", repeats)
	return out
}

// sameGatherer: a and b are one gatherer (both comparable, and equal).
func sameGatherer(a, b prometheus.Gatherer) bool {
	ka, oka := gathererKey(a)
	kb, okb := gathererKey(b)
	return oka && okb && ka == kb
}
