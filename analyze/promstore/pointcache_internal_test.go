package promstore

import (
	"math"
	"testing"

	"github.com/vigil-metrics/vigil/analyze"
)

// The kept points stay under their bound (all dropped when the next
// would pass it, none kept past it alone), and a read that reached a
// series' oldest or newest sample covers every time on that side.
func TestKeptPointsBound(t *testing.T) {
	k := keptPoints{byIndex: map[int]kept{}, grown: map[int]growth{}, max: 10}
	v := &vseries{lo: 100, hi: 200}
	pts := func(ts ...int64) fpoints {
		out := make(fpoints, len(ts))
		for i, x := range ts {
			out[i] = analyze.RawSample{TS: x, Value: float64(x)}
		}
		return out
	}
	k.put(0, v, 50, 150, pts(100, 110, 120, 130, 140, 150))
	if e := k.byIndex[0]; e.from != math.MinInt64 || e.to != 150 {
		t.Fatalf("read of [50, 150] over [100, 200] kept as [%d, %d], want [MinInt64, 150]", e.from, e.to)
	}
	if got, ok := k.get(0, -1000, 125); !ok || len(got) != 3 || got[2].TS != 120 {
		t.Fatalf("get [-1000, 125] = %v %v, want the 3 points to 120", got, ok)
	}
	if _, ok := k.get(0, 0, 151); ok {
		t.Fatal("get [0, 151] answered from a read that stopped at 150")
	}
	k.put(1, v, 120, 300, pts(120, 130, 140, 150, 160, 200))
	if _, ok := k.byIndex[0]; ok || k.n != 6 {
		t.Fatalf("12 points over a bound of 10: series 0 still kept (n = %d), want it dropped", k.n)
	}
	if got, ok := k.get(1, 125, math.MaxInt64); !ok || len(got) != 5 {
		t.Fatalf("get [125, MaxInt64] = %v %v, want 5 points (the read reached the newest sample)", got, ok)
	}
	if _, ok := k.get(1, 119, 300); ok {
		t.Fatal("get [119, 300] answered from a read that started at 120")
	}
	k.put(1, v, 0, 300, pts(100, 110, 120, 130, 140, 150, 160, 170, 180, 190, 200))
	if e, ok := k.byIndex[1]; !ok || len(e.pts) != 6 || k.n != 6 {
		t.Fatalf("11 points over a bound of 10 replaced the 6 kept (n = %d)", k.n)
	}
}
