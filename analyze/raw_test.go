package analyze

import (
	"context"
	"math"
	"slices"
	"testing"

	"github.com/vigil-metrics/vigil/internal/store"
)

// RawSamples gives each group the samples of its series in every store,
// with mint <= ts <= maxt, by time and equal times by value: through
// Arrow where the build has it (vigil serve's read) and through
// database/sql, the same rows.
func TestRawSamplesBothPaths(t *testing.T) {
	f := newFixture(t)
	req := func(ts int64, v float64) store.Sample {
		return store.Sample{Name: "req_total", Type: store.Counter, Labels: map[string]string{"code": "200"}, Service: "api", TS: atMS(0) + ts, Value: v}
	}
	temp := func(ts int64, v float64) store.Sample {
		return store.Sample{Name: "temp", Type: store.Gauge, TS: atMS(0) + ts, Value: v}
	}
	a := f.write("a.db", req(1000, 3), req(2000, 1), req(3000, 4), temp(1000, 20.5), temp(4000, 21))
	b := f.write("b.db", req(2000, 0.5), req(2500, 2), req(9000, 7))
	db, err := Open(context.Background(), []string{a, b}, Options{CacheDir: f.cacheDir})
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	all, err := db.AllSeries(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	var reqRefs, tempRefs []SeriesRef
	for _, s := range all {
		ref := SeriesRef{Store: s.Store, ID: s.ID}
		if s.Name == "req_total" {
			reqRefs = append(reqRefs, ref)
		} else {
			tempRefs = append(tempRefs, ref)
		}
	}
	if len(reqRefs) != 2 || len(tempRefs) != 1 {
		t.Fatalf("series %+v", all)
	}
	for _, s := range all { // a.db holds 3 req_total samples and 2 temp, b.db 3 req_total
		if want := map[string]int64{"req_total": 3, "temp": 2}[s.Name]; s.Samples != want {
			t.Errorf("%s in store %d: %d samples, want %d", s.Name, s.Store, s.Samples, want)
		}
	}
	groups := [][]SeriesRef{tempRefs, reqRefs}
	s := func(ts int64, v float64) RawSample { return RawSample{TS: atMS(0) + ts, Value: v} }
	// 9000 is past maxt; at 2000 both stores' samples, the smaller first.
	want := [][]RawSample{{s(1000, 20.5), s(4000, 21)}, {s(1000, 3), s(2000, 0.5), s(2000, 1), s(2500, 2), s(3000, 4)}}
	got, err := db.RawSamples(context.Background(), groups, atMS(0)+1000, atMS(0)+4000)
	if err != nil {
		t.Fatal(err)
	}
	if !slices.EqualFunc(got, want, slices.Equal) {
		t.Fatalf("RawSamples (arrow build %v):\n got %v\nwant %v", arrowBuild, got, want)
	}
	// Read into room made for them, the samples stay where they were put.
	room := [][]RawSample{make([]RawSample, 0, 2), make([]RawSample, 0, 5)}
	at := []*RawSample{&room[0][:1][0], &room[1][:1][0]}
	if err := db.RawSamplesInto(context.Background(), room, groups, atMS(0)+1000, atMS(0)+4000); err != nil {
		t.Fatal(err)
	}
	if !slices.EqualFunc(room, want, slices.Equal) || &room[0][0] != at[0] || &room[1][0] != at[1] {
		t.Fatalf("RawSamplesInto: %v, moved %v", room, &room[0][0] != at[0] || &room[1][0] != at[1])
	}
	// The database/sql read of the same selection.
	set, err := db.fillSelection(context.Background(), []int64{int64(tempRefs[0].Store), int64(reqRefs[0].Store), int64(reqRefs[1].Store)},
		[]int64{tempRefs[0].ID, reqRefs[0].ID, reqRefs[1].ID}, []int64{0, 1, 1})
	if err != nil {
		t.Fatal(err)
	}
	viaSQL := make([][]RawSample, 2)
	if err := db.rawSamplesSQL(context.Background(), viaSQL, set, atMS(0)+1000, atMS(0)+4000); err != nil {
		t.Fatal(err)
	}
	for _, g := range viaSQL { // the query leaves the order to RawSamples
		slices.SortFunc(g, compareRaw)
	}
	if !slices.EqualFunc(viaSQL, want, slices.Equal) {
		t.Fatalf("through database/sql:\n got %v\nwant %v", viaSQL, want)
	}
}

// Samples sort by time, equal times by value with NaN after every number,
// the order DuckDB's ORDER BY gave them (vigil serve keeps the last of a
// gauge's samples at one millisecond: the largest, or NaN).
func TestCompareRawOrder(t *testing.T) {
	nan := math.NaN()
	got := []RawSample{{2, 1}, {1, nan}, {1, 5}, {1, math.Inf(1)}, {1, -3}, {0, nan}, {2, 0.5}}
	slices.SortFunc(got, compareRaw)
	want := []RawSample{{0, nan}, {1, -3}, {1, 5}, {1, math.Inf(1)}, {1, nan}, {2, 0.5}, {2, 1}}
	for i := range want {
		g, w := got[i], want[i]
		if g.TS != w.TS || math.Float64bits(g.Value) != math.Float64bits(w.Value) && !(math.IsNaN(g.Value) && math.IsNaN(w.Value)) {
			t.Fatalf("sorted %v, want %v", got, want)
		}
	}
}
