package promstore

import (
	"math"
	"sort"
)

// maxKeptPoints bounds the points a sync keeps between queries (16
// bytes each: 256 MiB). Past it the kept points are dropped and kept
// afresh from the next reads: a server over more history than that
// reads the stores at each query, as it did before it kept any.
const maxKeptPoints = 16 << 20

// kept is a served series' points as one read built them: every point
// with from <= ts <= to (from is the lowest int64 when the read reached
// back to the series' first sample, to the highest when it reached its
// newest). They
// hold until the next sync (a new catalog): the stores did not change.
type kept struct {
	from, to int64
	pts      fpoints
}

// keptPoints are a sync's kept points, by index in catalog.series.
type keptPoints struct {
	byIndex map[int]kept
	n       int // room for points held
	max     int // maxKeptPoints, smaller in tests
}

// get is a series' points with mint <= ts <= maxt if a read kept them.
// The slice is shared: nobody may write it.
func (k *keptPoints) get(i int, mint, maxt int64) (fpoints, bool) {
	e, ok := k.byIndex[i]
	if !ok || mint < e.from || maxt > e.to {
		return nil, false
	}
	lo := sort.Search(len(e.pts), func(j int) bool { return e.pts[j].TS >= mint })
	hi := lo + sort.Search(len(e.pts)-lo, func(j int) bool { return e.pts[lo+j].TS > maxt })
	return e.pts[lo:hi:hi], true
}

// put keeps the points a read of series v (index i) built over
// [mint, maxt], in place of any kept before.
func (k *keptPoints) put(i int, v *vseries, mint, maxt int64, pts fpoints) {
	// Points built where the samples were read hold the room of those
	// (at most a third more: vseries.points): count the room.
	size := cap(pts)
	if size > k.max {
		return
	}
	if old, ok := k.byIndex[i]; ok {
		k.n -= cap(old.pts)
	}
	if k.n+size > k.max {
		clear(k.byIndex)
		k.n = 0
	}
	e := kept{from: mint, to: maxt, pts: pts}
	// No sample before lo or after hi until the next sync: the read
	// covers every time on that side.
	if mint <= v.lo {
		e.from = math.MinInt64
	}
	if maxt >= v.hi {
		e.to = math.MaxInt64
	}
	k.byIndex[i] = e
	k.n += size
}
