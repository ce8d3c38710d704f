// The declared-label-names form: a vec per metric with its label names
// fixed, and a handle per label values, as client_golang's
// NewCounterVec(...).WithLabelValues(...).

package collect

import (
	"fmt"
	"hash/maphash"
	"slices"
	"sync"

	"github.com/vigil-metrics/vigil/internal/store"
)

// Opts name a metric of the declared-label-names form, as client_golang's
// Opts: Name, and Help (see Help).
type Opts struct {
	Name string
	Help string
}

// vec is what CounterVec, GaugeVec and HistogramVec share: the name, the
// declared label names and the hashes of everything but the values.
type vec struct {
	r     *Recorder
	name  string
	typ   store.Type
	names []string
	// nameHash[i] is names[i]'s hash; base the name's and service's, and
	// constSum the Options.ConstLabels a declared name does not override
	// (their pairs in consts): with the values' it is Recorder.hash.
	nameHash []uint64
	base     uint64
	constSum uint64
	consts   [][2]string

	// cache finds a series by its values alone (a hash of the values, the
	// values compared as a slice), as client_golang does: no label map
	// is read on a hit. Entries of forgotten series are pruned by
	// ForgetIdle and skipped until then.
	mu    sync.RWMutex
	cache map[uint64][]vecEntry

	// pub is the *CounterVec, *GaugeVec or *HistogramVec given out: the
	// same one to every maker of the vec.
	pub any
}

type vecEntry struct {
	vals []string
	s    *series
}

// hashVals is FNV-1a over the values, each followed by a separator byte
// (0xff, never in UTF-8), so ("ab","c") and ("a","bc") differ.
func hashVals(vals []string) uint64 {
	h := uint64(14695981039346656037)
	for _, v := range vals {
		for i := 0; i < len(v); i++ {
			h ^= uint64(v[i])
			h *= 1099511628211
		}
		h ^= 0xff
		h *= 1099511628211
	}
	return h
}

// cached is the live series of vals in the cache, or nil.
func (v *vec) cached(h uint64, vals []string) *series {
	v.mu.RLock()
	defer v.mu.RUnlock()
	for _, e := range v.cache[h] {
		if slices.Equal(e.vals, vals) && !e.s.forgotten.Load() {
			return e.s
		}
	}
	return nil
}

// remember caches s as the series of vals, replacing a forgotten one.
func (v *vec) remember(h uint64, vals []string, s *series) {
	v.mu.Lock()
	defer v.mu.Unlock()
	l := v.cache[h]
	for i, e := range l {
		if slices.Equal(e.vals, vals) {
			l[i].s = s
			return
		}
	}
	v.cache[h] = append(l, vecEntry{slices.Clone(vals), s})
}

// prune drops the entries of forgotten series (ForgetIdle).
func (v *vec) prune() {
	v.mu.Lock()
	defer v.mu.Unlock()
	for h, l := range v.cache {
		l = slices.DeleteFunc(l, func(e vecEntry) bool { return e.s.forgotten.Load() })
		if len(l) == 0 {
			delete(v.cache, h)
		} else {
			v.cache[h] = l
		}
	}
}

// CounterVec is a counter with declared label names.
type CounterVec struct{ v *vec }

// GaugeVec is a gauge with declared label names.
type GaugeVec struct{ v *vec }

// HistogramVec is a histogram with declared label names.
type HistogramVec struct{ v *vec }

func (r *Recorder) newVec(opts Opts, typ store.Type, labelNames []string) (*vec, error) {
	if r == nil {
		return nil, nil
	}
	labels := make(map[string]string, len(labelNames))
	for _, n := range labelNames {
		if _, dup := labels[n]; dup {
			return nil, fmt.Errorf("metric %q: %w: label name %q declared twice", opts.Name, ErrInvalid, n)
		}
		labels[n] = ""
	}
	if err := store.ValidateSeries(opts.Name, typ, labels); err != nil {
		return nil, fmt.Errorf("metric %q: %w: %w", opts.Name, ErrInvalid, err)
	}
	if err := checkHelp(opts.Name, opts.Help); err != nil {
		return nil, err
	}
	v := &vec{r: r, name: opts.Name, typ: typ, names: slices.Clone(labelNames), cache: map[uint64][]vecEntry{},
		base: maphash.String(r.seed, opts.Name) ^ maphash.String(r.seed, r.opt.Service)*31}
	switch typ {
	case store.Counter:
		v.pub = &CounterVec{v}
	case store.Gauge:
		v.pub = &GaugeVec{v}
	default:
		v.pub = &HistogramVec{v}
	}
	for _, n := range labelNames {
		v.nameHash = append(v.nameHash, maphash.String(r.seed, n))
	}
	for k, val := range r.opt.ConstLabels {
		if _, ok := labels[k]; !ok && val != "" { // an empty value is no label
			v.consts = append(v.consts, [2]string{k, val})
			v.constSum += maphash.String(r.seed, k) * (maphash.String(r.seed, val) | 1)
		}
	}
	// The vec declares the name's type: a vec or series of another type
	// is refused from now on, at its construction. A vec of the same
	// name, type and label names (in order) is the one made before, as
	// Counter gives the same series twice: made again (per request, in two
	// packages) it holds nothing new.
	r.smu.Lock()
	was, ok := r.types[opts.Name]
	if ok && was != typ {
		r.smu.Unlock()
		return nil, typeConflict(opts.Name, typ, was)
	}
	r.types[opts.Name] = typ
	if i := slices.IndexFunc(r.vecByName[opts.Name], func(o *vec) bool {
		return o.typ == typ && slices.Equal(o.names, labelNames)
	}); i >= 0 {
		v = r.vecByName[opts.Name][i]
	} else {
		if r.vecByName == nil {
			r.vecByName = map[string][]*vec{}
		}
		r.vecByName[opts.Name] = append(r.vecByName[opts.Name], v)
		r.vecs = append(r.vecs, v)
	}
	r.smu.Unlock()
	if opts.Help != "" {
		r.setHelp(opts.Name, opts.Help)
	}
	return v, nil
}

// lookup finds the series of vals without allocating when it exists (the
// hash is Recorder.hash of the merged labels, compared in place), and
// makes it through the map form otherwise.
// quiet: see lookupQ.
func (v *vec) lookup(vals []string, quiet bool) (*series, error) {
	r := v.r
	if len(vals) != len(v.names) {
		if quiet {
			return nil, fmt.Errorf("metric %q: %w: %d label values for %d label names %v", v.name, ErrInvalid, len(vals), len(v.names), v.names)
		}
		r.warnOnce("vec-values:"+v.name, "wrong number of label values; dropping", "name", v.name, "want", len(v.names), "got", len(vals))
		return nil, fmt.Errorf("metric %q: %w: %d label values for %d label names %v", v.name, ErrInvalid, len(vals), len(v.names), v.names)
	}
	vh := hashVals(vals)
	if s := v.cached(vh, vals); s != nil {
		r.touch(s)
		return s, nil
	}
	s, err := v.find(vals, quiet)
	if s != nil {
		v.remember(vh, vals, s)
	}
	return s, err
}

// find looks vals up in the Recorder's index, making the series if new.
func (v *vec) find(vals []string, quiet bool) (*series, error) {
	r := v.r
	sum := v.constSum
	for i, val := range vals {
		if val != "" { // no label, as in Recorder.hash
			sum += v.nameHash[i] * (maphash.String(r.seed, val) | 1)
		}
	}
	h := v.base ^ sum
	r.smu.RLock()
	for _, s := range r.byHash[h] {
		if s.name == v.name && s.service == r.opt.Service && v.same(s, vals) {
			external := s.external
			r.smu.RUnlock()
			r.touch(s)
			if s.typ != v.typ {
				return nil, typeConflict(v.name, v.typ, s.typ)
			}
			if external {
				return nil, r.gatheredSeries(s, quiet)
			}
			return s, nil
		}
	}
	r.smu.RUnlock()
	labels := make(map[string]string, len(vals)+len(v.consts))
	for _, c := range v.consts {
		labels[c[0]] = c[1]
	}
	for i, val := range vals {
		labels[v.names[i]] = val
	}
	return r.lookupQ(v.name, v.typ, labels, r.opt.Service, quiet, true)
}

// same: s's labels are exactly the declared names with vals and the
// constant labels (an empty value: no label).
func (v *vec) same(s *series, vals []string) bool {
	n := len(v.consts)
	for i, val := range vals {
		if val == "" {
			continue
		}
		if got, ok := s.labels[v.names[i]]; !ok || got != val {
			return false
		}
		n++
	}
	if len(s.labels) != n {
		return false
	}
	for _, c := range v.consts {
		if s.labels[c[0]] != c[1] {
			return false
		}
	}
	return true
}

// handle is WithLabelValues: a mistake panics in Strict mode, else it was
// logged once and the handle counts each use as invalid.
func (v *vec) handle(vals []string) *series {
	s, err := v.lookup(vals, false)
	if err != nil && v.r.opt.Strict && !refusedForRoom(err) {
		panic("collect: " + err.Error())
	}
	return s
}

// NewCounterVec declares the counter opts.Name with labelNames; its
// WithLabelValues gives the handle of one series. The error matches
// ErrInvalid (a bad name or label name) or ErrTypeConflict. Made again
// with the same name and label names (in order) it returns the vec made
// first, as Counter gives the same series twice. On a nil Recorder it
// returns a vec whose handles do nothing.
func (r *Recorder) NewCounterVec(opts Opts, labelNames []string) (*CounterVec, error) {
	v, err := r.newVec(opts, store.Counter, labelNames)
	if err != nil {
		return nil, err
	}
	if v == nil {
		return &CounterVec{}, nil
	}
	return v.pub.(*CounterVec), nil
}

// NewGaugeVec is NewCounterVec for a gauge.
func (r *Recorder) NewGaugeVec(opts Opts, labelNames []string) (*GaugeVec, error) {
	v, err := r.newVec(opts, store.Gauge, labelNames)
	if err != nil {
		return nil, err
	}
	if v == nil {
		return &GaugeVec{}, nil
	}
	return v.pub.(*GaugeVec), nil
}

// NewHistogramVec is NewCounterVec for a histogram.
func (r *Recorder) NewHistogramVec(opts Opts, labelNames []string) (*HistogramVec, error) {
	v, err := r.newVec(opts, store.Histogram, labelNames)
	if err != nil {
		return nil, err
	}
	if v == nil {
		return &HistogramVec{}, nil
	}
	return v.pub.(*HistogramVec), nil
}

// MustCounterVec is NewCounterVec that panics on an error (package-level
// vecs, as client_golang's NewCounterVec).
func (r *Recorder) MustCounterVec(opts Opts, labelNames []string) *CounterVec {
	return must(r.NewCounterVec(opts, labelNames))
}

// MustGaugeVec is NewGaugeVec that panics on an error.
func (r *Recorder) MustGaugeVec(opts Opts, labelNames []string) *GaugeVec {
	return must(r.NewGaugeVec(opts, labelNames))
}

// MustHistogramVec is NewHistogramVec that panics on an error.
func (r *Recorder) MustHistogramVec(opts Opts, labelNames []string) *HistogramVec {
	return must(r.NewHistogramVec(opts, labelNames))
}

// WithLabelValues returns the counter of the label values, in the order
// of the declared names. Keep the handle on hot paths (its Inc is an
// atomic add); looking up an existing series again does not allocate
// either. A wrong number of values is logged once (a panic in Strict
// mode) and the handle counts each use in Stats().Invalid.
func (c *CounterVec) WithLabelValues(vals ...string) Counter {
	if c == nil || c.v == nil {
		return Counter{}
	}
	return Counter{c.v.r, c.v.handle(vals)}
}

// GetMetricWithLabelValues is WithLabelValues returning the mistake
// (ErrInvalid, ErrTypeConflict, ErrTooManySeries, ...) instead of logging it.
func (c *CounterVec) GetMetricWithLabelValues(vals ...string) (Counter, error) {
	if c == nil || c.v == nil {
		return Counter{}, nil
	}
	s, err := c.v.lookup(vals, true)
	if err != nil {
		return Counter{}, err
	}
	return Counter{c.v.r, s}, nil
}

// WithLabelValues returns the gauge of the label values (see
// CounterVec.WithLabelValues).
func (g *GaugeVec) WithLabelValues(vals ...string) Gauge {
	if g == nil || g.v == nil {
		return Gauge{}
	}
	return Gauge{g.v.r, g.v.handle(vals)}
}

// GetMetricWithLabelValues is WithLabelValues returning the mistake.
func (g *GaugeVec) GetMetricWithLabelValues(vals ...string) (Gauge, error) {
	if g == nil || g.v == nil {
		return Gauge{}, nil
	}
	s, err := g.v.lookup(vals, true)
	if err != nil {
		return Gauge{}, err
	}
	return Gauge{g.v.r, s}, nil
}

// WithLabelValues returns the histogram of the label values (see
// CounterVec.WithLabelValues).
func (h *HistogramVec) WithLabelValues(vals ...string) Histogram {
	if h == nil || h.v == nil {
		return Histogram{}
	}
	return Histogram{h.v.r, h.v.handle(vals)}
}

// GetMetricWithLabelValues is WithLabelValues returning the mistake.
func (h *HistogramVec) GetMetricWithLabelValues(vals ...string) (Histogram, error) {
	if h == nil || h.v == nil {
		return Histogram{}, nil
	}
	s, err := h.v.lookup(vals, true)
	if err != nil {
		return Histogram{}, err
	}
	return Histogram{h.v.r, s}, nil
}

// pruneVecs drops forgotten series from every vec's cache.
func (r *Recorder) pruneVecs() {
	r.smu.RLock()
	vecs := slices.Clone(r.vecs)
	r.smu.RUnlock()
	for _, v := range vecs {
		v.prune()
	}
}
