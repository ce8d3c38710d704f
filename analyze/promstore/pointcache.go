package promstore

import (
	"math"
	"slices"
	"sort"

	"github.com/prometheus/prometheus/model/labels"
)

// maxKeptPoints bounds the points a sync keeps between queries (16
// bytes each: 256 MiB). Past it the kept points are dropped and kept
// afresh from the next reads: a server over more history than that
// reads the stores at each query, as it did before it kept any.
const maxKeptPoints = 16 << 20

// kept is a served series' points as one read built them: every point
// with from <= ts <= to (from is the lowest int64 when the read reached
// back to the series' first sample, to the highest when it reached its
// newest). They hold until the next sync (a new catalog), which takes
// them over where the series' samples did not change (catalog.carry).
type kept struct {
	from, to int64
	pts      fpoints
}

// keptPoints are a sync's kept points, by index in catalog.series.
type keptPoints struct {
	byIndex map[int]kept
	// grown are the points the last sync kept for series whose stored
	// samples grew since: valid up to the old newest sample, to be
	// extended with the samples after it if those are all the new ones
	// (Source.extend).
	grown map[int]growth
	n     int // room for points held
	max   int // maxKeptPoints, smaller in tests
}

// growth is a series' points as the last sync kept them, up to its
// newest sample then (hi), and how many samples its group has gained.
type growth struct {
	kept
	hi    int64
	added int64
}

// get is a series' points with mint <= ts <= maxt if a read kept them.
// The slice is shared: nobody may write it.
func (k *keptPoints) get(i int, mint, maxt int64) (fpoints, bool) {
	e, ok := k.byIndex[i]
	if !ok || mint < e.from || maxt > e.to {
		return nil, false
	}
	return within(e.pts, mint, maxt), true
}

// within is the points with mint <= ts <= maxt, capped at their end (a
// later append to pts is never seen through them).
func within(pts fpoints, mint, maxt int64) fpoints {
	lo := sort.Search(len(pts), func(j int) bool { return pts[j].TS >= mint })
	hi := lo + sort.Search(len(pts)-lo, func(j int) bool { return pts[lo+j].TS > maxt })
	return pts[lo:hi:hi]
}

// put keeps the points a read of series v (index i) built over
// [mint, maxt], in place of any kept before.
func (k *keptPoints) put(i int, v *vseries, mint, maxt int64, pts fpoints) {
	e := kept{from: mint, to: maxt, pts: pts}
	// No sample before lo or after hi until the next sync: the read
	// covers every time on that side.
	if mint <= v.lo {
		e.from = math.MinInt64
	}
	if maxt >= v.hi {
		e.to = math.MaxInt64
	}
	k.keep(i, e, nil)
}

// keep holds e (or, with g, a growth) for series i in place of what was
// held for it, dropping everything held first where it would pass the
// bound. Points built where the samples were read hold the room of those
// (at most a third more: vseries.points): the room is what counts.
func (k *keptPoints) keep(i int, e kept, g *growth) {
	size := cap(e.pts)
	if g != nil {
		size = cap(g.pts)
	}
	if size > k.max {
		return
	}
	k.drop(i)
	if k.n+size > k.max {
		clear(k.byIndex)
		clear(k.grown)
		k.n = 0
	}
	if g != nil {
		k.grown[i] = *g
	} else {
		k.byIndex[i] = e
	}
	k.n += size
}

// drop forgets what is held for series i.
func (k *keptPoints) drop(i int) {
	if old, ok := k.byIndex[i]; ok {
		k.n -= cap(old.pts)
		delete(k.byIndex, i)
	}
	if old, ok := k.grown[i]; ok {
		k.n -= cap(old.pts)
		delete(k.grown, i)
	}
}

// carry takes over what the last sync's catalog (old) held for each
// series served again with the same group of stored series, when no
// store changed identity nor had its cache rebuilt (the caller's to
// check): a cache only gains rows at the end of the store or loses those
// under the retention horizon, so a group with the same oldest sample
// lost none, and with the same count and newest sample gained none
// either: its points and checkpoint hold as they were. One that gained
// samples, its oldest the same, keeps its points as a growth, extended at
// the next read if the new samples all come after its newest
// (Source.extend); its checkpoint goes.
func (c *catalog) carry(old *catalog) {
	for i, j := 0, 0; i < len(c.series) && j < len(old.series); {
		nv, ov := &c.series[i], &old.series[j]
		if d := labels.Compare(nv.lset, ov.lset); d != 0 {
			if d < 0 {
				i++
			} else {
				j++
			}
			continue
		}
		if nv.kind == ov.kind && nv.le == ov.le && nv.lo == ov.lo && slices.Equal(c.groups[nv.group], old.groups[ov.group]) {
			same := nv.hi == ov.hi && nv.n == ov.n
			if same {
				if cp, ok := old.checkpoints[j]; ok {
					c.checkpoints[i] = cp
				}
			}
			if e, ok := old.kept.byIndex[j]; ok && same {
				c.kept.keep(i, e, nil)
			} else if ok && e.to == math.MaxInt64 && nv.hi > ov.hi && nv.n > ov.n {
				c.kept.keep(i, kept{}, &growth{kept: e, hi: ov.hi, added: nv.n - ov.n})
			} else if g, ok := old.kept.grown[j]; ok && nv.hi >= ov.hi && nv.n >= ov.n {
				// Grown again before a read extended it (a sync for a
				// request that read no points).
				g.added += nv.n - ov.n
				c.kept.keep(i, kept{}, &g)
			}
		}
		i, j = i+1, j+1
	}
}
