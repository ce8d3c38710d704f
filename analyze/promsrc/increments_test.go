package promsrc

import (
	"reflect"
	"testing"
)

// The reset marker (a 0 one millisecond before the next total) is read
// as the reset alone only where the total drops to it or rises from it:
// a counter that stays at 0 keeps every increment of 0 (hb26 D3).
func TestIncrementsMarker(t *testing.T) {
	ls := map[string]string{"x": "1"}
	for _, c := range []struct {
		name   string
		ts     []int64
		vs     []float64
		wantTS []int64
		wantVs []float64
	}{
		{"flat zero", []int64{0, 10_000, 20_000, 20_001, 30_000}, []float64{0, 0, 0, 0, 0},
			[]int64{10_000, 20_000, 20_001, 30_000}, []float64{0, 0, 0, 0}},
		{"restart after a total", []int64{0, 10_000, 20_000, 20_001, 30_000}, []float64{3, 7, 0, 5, 11},
			[]int64{10_000, 20_001, 30_000}, []float64{4, 5, 6}},
		{"restart of a counter at 0", []int64{0, 10_000, 20_000, 20_001, 30_000}, []float64{0, 0, 0, 5, 11},
			[]int64{10_000, 20_001, 30_000}, []float64{0, 5, 6}},
		{"a real reset to 0", []int64{0, 10_000, 20_000, 30_000}, []float64{3, 7, 0, 5},
			[]int64{10_000, 20_000, 30_000}, []float64{4, 0, 5}},
	} {
		in := newIncrements(nil, 40_000)
		got := in.chunk([]Series{{Labels: ls, TS: c.ts, Values: c.vs}})
		got = append(got, in.flush()...)
		var ts []int64
		var vs []float64
		for _, sr := range got {
			ts, vs = append(ts, sr.TS...), append(vs, sr.Values...)
		}
		if !reflect.DeepEqual(ts, c.wantTS) || !reflect.DeepEqual(vs, c.wantVs) {
			t.Errorf("%s: %v %v, want %v %v", c.name, ts, vs, c.wantTS, c.wantVs)
		}
	}
}
