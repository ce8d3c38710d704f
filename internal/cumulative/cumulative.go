// Package cumulative turns cumulative counters (a scraped node_cpu_seconds_total,
// a NIC's byte count) into the increments vigil stores: the first reading of
// a series sets its baseline, later readings give their difference, and a
// reading below the last one is a reset, whose new value is the increment.
//
// It is shared ground (scrape, system, push, ingest and alert/rulestest
// use it): it holds state in memory only and must not import any other
// vigil package.
package cumulative

// Tracker remembers the last reading of each series. Not safe for
// concurrent use; give each scrape target its own.
type Tracker struct {
	last map[string]entry
	gen  uint32
	// ZeroBase makes the first reading count from zero instead of only
	// setting the baseline (for pushes: a pushed total is what a job did
	// since it started).
	ZeroBase bool
	// Recall, if set, gives the last reading of a series this tracker
	// forgot (ForgetBefore): a series that comes back continues from it
	// instead of counting as new.
	Recall func(key string) (float64, bool)
}

type entry struct {
	v   float64
	gen uint32
}

// New returns an empty Tracker.
func New() *Tracker { return &Tracker{last: map[string]entry{}} }

// Delta records reading v of series key and returns the increment since
// the previous reading; ok is false for a baseline-only first reading.
func (t *Tracker) Delta(key string, v float64) (inc float64, ok bool) {
	prev, seen := t.last[key]
	if !seen && t.Recall != nil {
		if v0, ok := t.Recall(key); ok {
			prev, seen = entry{v: v0}, true
		}
	}
	t.last[key] = entry{v, t.gen}
	switch {
	case !seen && t.ZeroBase:
		return v, true
	case !seen:
		return 0, false
	case v < prev.v: // reset: the counter restarted from zero
		return v, true
	}
	return v - prev.v, true
}

// Sweep forgets series not read since the previous Sweep, so series that
// vanished from a target do not pin memory. Call it after each full read.
func (t *Tracker) Sweep() {
	for k, e := range t.last {
		if e.gen != t.gen {
			delete(t.last, k)
		}
	}
	t.gen++
}

// Len is the number of series tracked.
func (t *Tracker) Len() int { return len(t.last) }

// Clone copies the tracker, so a caller can compute increments for a batch
// and keep them only if the batch is accepted.
func (t *Tracker) Clone() *Tracker {
	c := &Tracker{last: make(map[string]entry, len(t.last)), gen: t.gen, ZeroBase: t.ZeroBase, Recall: t.Recall}
	for k, v := range t.last {
		c.last[k] = v
	}
	return c
}

// SetEpoch stamps the readings that follow with epoch e (for trackers
// that are never swept after a full read, like a push group's, whose
// series come and go: the caller counts epochs on a timer and calls
// ForgetBefore). Do not mix with Sweep.
func (t *Tracker) SetEpoch(e uint32) { t.gen = e }

// ForgetBefore forgets the series last read in an epoch before e, handing
// each one's last reading to forgot (if not nil), and returns how many
// remain.
func (t *Tracker) ForgetBefore(e uint32, forgot func(key string, v float64)) int {
	for k, v := range t.last {
		if int32(e-v.gen) > 0 {
			if forgot != nil {
				forgot(k, v.v)
			}
			delete(t.last, k)
		}
	}
	return len(t.last)
}

// Restore sets key's reading back to the one from holds (forgetting key
// where from has none): a caller that read a batch into a Clone keeps the
// old baseline of each series whose increment was refused, so that the
// next reading counts it again.
func (t *Tracker) Restore(from *Tracker, key string) {
	if e, ok := from.last[key]; ok {
		t.last[key] = e
		return
	}
	delete(t.last, key)
}
