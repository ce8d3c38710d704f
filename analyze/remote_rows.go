package analyze

import (
	"math"

	"github.com/vigil-metrics/vigil/analyze/promsrc"
)

// mergeRows lays a chunk's samples out as the rows a store would hold:
// in time order across the series, ties in the series' order (sorted by
// labels), as scrapes append rows to a store, so that a sum over a group
// of series adds in the order of its rows and its last bits follow. A
// Series scraped together share their timestamps, so rounds come first:
// each takes the earliest next timestamp and every series' sample at it,
// in the series' order, a pass over the series a timestamp. Where the
// rounds take few samples each (timestamps not shared), a heap of the
// series' next samples does the rest, in the same order.
func mergeRows(series []promsrc.Series, ids []int64) (rowIDs, ts []int64, vs []float64) {
	n := 0
	for _, s := range series {
		n += len(s.TS)
	}
	rowIDs, ts, vs = make([]int64, 0, n), make([]int64, 0, n), make([]float64, 0, n)
	pos := make([]int, len(series))
	for rounds := 1; len(ts) < n; rounds++ {
		if rounds > 64 && len(ts) < rounds*len(series)/4 {
			break // few series share a timestamp: the heap
		}
		tmin := int64(math.MaxInt64)
		for i, s := range series {
			if p := pos[i]; p < len(s.TS) && s.TS[p] < tmin {
				tmin = s.TS[p]
			}
		}
		for i, s := range series {
			if p := pos[i]; p < len(s.TS) && s.TS[p] == tmin {
				rowIDs, ts, vs = append(rowIDs, ids[i]), append(ts, tmin), append(vs, s.Values[p])
				pos[i]++
			}
		}
	}
	h := make([]mergeItem, 0, len(series))
	for i, s := range series {
		if pos[i] < len(s.TS) {
			h = append(h, mergeItem{i, pos[i]})
		}
	}
	less := func(a, b mergeItem) bool {
		ta, tb := series[a.series].TS[a.pos], series[b.series].TS[b.pos]
		return ta < tb || ta == tb && a.series < b.series
	}
	down := func(i int) {
		for {
			l := 2*i + 1
			if l >= len(h) {
				return
			}
			m := l
			if r := l + 1; r < len(h) && less(h[r], h[l]) {
				m = r
			}
			if !less(h[m], h[i]) {
				return
			}
			h[i], h[m] = h[m], h[i]
			i = m
		}
	}
	for i := len(h)/2 - 1; i >= 0; i-- {
		down(i)
	}
	for len(h) > 0 {
		it := h[0]
		s := &series[it.series]
		rowIDs, ts, vs = append(rowIDs, ids[it.series]), append(ts, s.TS[it.pos]), append(vs, s.Values[it.pos])
		if it.pos+1 < len(s.TS) {
			h[0].pos++
		} else {
			h[0] = h[len(h)-1]
			h = h[:len(h)-1]
		}
		down(0)
	}
	return rowIDs, ts, vs
}

type mergeItem struct{ series, pos int }
