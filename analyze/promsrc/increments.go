package promsrc

import (
	"math"

	"github.com/vigil-metrics/vigil/internal/store"
)

// increments turns a counter's raw totals, a chunk of time at a time, into
// the increments a store keeps: each sample's difference from the series'
// previous one (its value after a reset), a series' first sample only a
// baseline.
//
// A 0 exactly one millisecond before the series' next sample is the reset
// marker vigil's remote write sends before a counter's first total after
// the agent (re)starts (internal/remotewrite): Prometheus needs it to read
// the restart as a reset, but the store the agent wrote at the same time
// holds no increment there. It is read as the reset alone, the baseline
// of the next total, never as an increment of 0 (which would add a sample
// to count, min, count_le and the rest). No scrape or import makes such a
// pair: two samples of a series one millisecond apart. A 0 that is not
// followed so (a counter that really reset to 0) is an increment of 0, as
// in a store; so is a 0 between a total of 0 and a next total of 0 one
// millisecond later (a counter that stays at 0: the marker only matters,
// and is only read, where the total drops to it or rises from it). What
// is left ambiguous (docs/remote-write.md): a restart of a counter at 0
// whose first increment after it is 0 reads as one more increment of 0,
// and another writer's real 0 one millisecond before a sample, after a
// higher total or before a higher one, reads as a marker. Whether a 0 is a marker is known only at the series' next
// sample, which may be in the next chunk, or one millisecond past the
// window (Raw reads it, and increments never emits a sample past hi).
type increments struct {
	hi    int64
	state map[string]counterState
	// baselines are the series whose first sample in the window had no
	// sample before it within CounterLookback: a baseline, no increment.
	baselines []map[string]string
}

type counterState struct {
	v        float64
	known    bool
	held     bool    // a 0 at heldTS waits for the next sample to say what it is
	heldTS   int64   // unix ms
	heldPrev float64 // the total before the held 0
	labels   map[string]string
}

// newIncrements starts from each series' last total at or before the
// window (prev, keyed by canonical labels); samples past hi are read, not
// emitted.
func newIncrements(prev map[string]float64, hi int64) *increments {
	st := make(map[string]counterState, len(prev))
	for k, v := range prev {
		// A NaN or infinite reading is skipped, as in the window: the
		// first increment is then counted from the next one.
		if !math.IsNaN(v) && !math.IsInf(v, 0) {
			st[k] = counterState{v: v, known: true}
		}
	}
	return &increments{hi: hi, state: st}
}

// chunk turns one chunk's totals into increments in place; a 0 held from
// the previous chunk that turns out not to be a marker goes first in its
// series.
func (in *increments) chunk(got []Series) []Series {
	out := got[:0]
	for i := range got {
		sr := got[i]
		k := store.CanonicalLabels(sr.Labels)
		st := in.state[k]
		var ts []int64
		var vs []float64
		for j, t := range sr.TS {
			v := sr.Values[j]
			if st.held {
				st.held = false
				// A marker makes a restart readable: a drop from the
				// total before it, or a rise to the total after it. A 0
				// between two 0s (a counter that stays at 0) is none.
				if t != st.heldTS+1 || (st.heldPrev == 0 && v == 0) {
					ts, vs = append(ts, st.heldTS), append(vs, 0)
				}
			}
			switch {
			case !st.known:
				if t <= in.hi {
					in.baselines = append(in.baselines, sr.Labels)
				}
			case v == 0:
				// A reset to 0, or no change from 0: an increment of 0
				// unless it is a marker.
				st.held, st.heldTS, st.heldPrev = true, t, st.v
			case t <= in.hi:
				inc := v - st.v
				if v < st.v {
					inc = v // a reset: the counter restarted from zero
				}
				ts, vs = append(ts, t), append(vs, inc)
			}
			st.v, st.known = v, true
		}
		if st.held && st.heldTS > in.hi {
			st.held = false // past the window: never emitted
		}
		st.labels = sr.Labels
		in.state[k] = st
		if len(ts) > 0 {
			out = append(out, Series{Labels: sr.Labels, TS: ts, Values: vs})
		}
	}
	return out
}

// flush gives the 0s still held at the end (no next sample up to one
// millisecond past the window: increments of 0), sorted by labels.
func (in *increments) flush() []Series {
	var out []Series
	for k, st := range in.state {
		if st.held {
			out = append(out, Series{Labels: st.labels, TS: []int64{st.heldTS}, Values: []float64{0}})
			st.held = false
			in.state[k] = st
		}
	}
	sortSeries(out)
	return out
}
