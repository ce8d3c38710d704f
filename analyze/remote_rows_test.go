package analyze

import (
	"math/rand/v2"
	"slices"
	"testing"

	"github.com/vigil-metrics/vigil/analyze/promsrc"
)

// mergeRows lays rows out by time, ties in the series' order, whether the
// series share their timestamps (rounds), do not (the heap) or change
// from one to the other midway.
func TestMergeRowsOrder(t *testing.T) {
	r := rand.New(rand.NewPCG(1, 2))
	for trial := range 200 {
		k := 1 + r.IntN(40)
		series := make([]promsrc.Series, k)
		ids := make([]int64, k)
		type row struct {
			ts     int64
			series int
			v      float64
		}
		var want []row
		for i := range series {
			ids[i] = int64(100 + i)
			t := int64(0)
			for j := range r.IntN(300) {
				switch {
				case trial%3 == 0 || j < 150 && trial%3 == 1:
					t += 10 // shared
				default:
					t += 1 + r.Int64N(50) // scattered
				}
				v := r.Float64()
				series[i].TS, series[i].Values = append(series[i].TS, t), append(series[i].Values, v)
				want = append(want, row{t, i, v})
			}
		}
		slices.SortStableFunc(want, func(a, b row) int {
			if a.ts != b.ts {
				return int(a.ts - b.ts)
			}
			return a.series - b.series
		})
		gi, gt, gv := mergeRows(series, ids)
		if len(gi) != len(want) {
			t.Fatalf("trial %d: %d rows, want %d", trial, len(gi), len(want))
		}
		for j, w := range want {
			if gi[j] != ids[w.series] || gt[j] != w.ts || gv[j] != w.v {
				t.Fatalf("trial %d row %d: (%d, %d, %g), want (%d, %d, %g)", trial, j, gi[j], gt[j], gv[j], ids[w.series], w.ts, w.v)
			}
		}
	}
}
