package store

import (
	"context"
	"fmt"
	"maps"
	"slices"
	"testing"
)

// readFixture: temp (1 sample at 2000), api{code=200} (3 samples, ts
// 1000..3000) and api{code=500} (2 samples, at 2000 and 5000), written in
// that order, so the first row is at 2000.
func readFixture(t *testing.T) *Store {
	t.Helper()
	s := openTemp(t)
	ok := map[string]string{"code": "200"}
	_, err := s.Write(context.Background(), []Sample{
		{Name: "temp", Type: Gauge, TS: 2000, Value: 21.5},
		{Name: "api", Type: Counter, Labels: ok, Service: "web", TS: 1000, Value: 1},
		{Name: "api", Type: Counter, Labels: ok, Service: "web", TS: 2000, Value: 2},
		{Name: "api", Type: Counter, Labels: ok, Service: "web", TS: 3000, Value: 3},
		{Name: "api", Type: Counter, Labels: map[string]string{"code": "500"}, Service: "web", TS: 2000, Value: 4},
		{Name: "api", Type: Counter, Labels: map[string]string{"code": "500"}, Service: "web", TS: 5000, Value: 5},
	})
	if err != nil {
		t.Fatal(err)
	}
	return s
}

func TestReads(t *testing.T) {
	ctx := context.Background()
	s := readFixture(t)

	tot, err := s.Totals(ctx)
	if err != nil || tot.Series != 3 || tot.Samples != 6 || tot.First.Int64 != 1000 || tot.Last.Int64 != 5000 || tot.Bytes <= 0 {
		t.Errorf("Totals = %+v %v, want 3 series, 6 samples, 1000..5000, some bytes", tot, err)
	}
	top, err := s.TopSeries(ctx, 2)
	if err != nil || len(top) != 2 || top[0].Labels != `{"code":"200"}` || top[0].Rows != 3 || top[0].First != 1000 || top[0].Last != 3000 ||
		top[1].Labels != `{"code":"500"}` || top[1].Rows != 2 {
		t.Errorf("TopSeries(2) = %+v %v, want api 200 (3 rows, 1000..3000) then api 500 (2 rows)", top, err)
	}
	act, err := s.Activity(ctx, 2500, 5000)
	var got []string
	for _, a := range act {
		got = append(got, fmt.Sprintf("%s %s %s %s %v", a.Name, a.Type, a.Labels, a.Service, a.Active))
	}
	want := []string{"temp gauge {}  false", `api counter {"code":"200"} web true`, `api counter {"code":"500"} web true`}
	if err != nil || !slices.Equal(got, want) {
		t.Errorf("Activity(2500, 5000] = %q %v, want %q", got, err, want)
	}
	sets, err := s.LabelSets(ctx, "api")
	if err != nil || len(sets) != 2 || sets[0].Service != "web" {
		t.Errorf("LabelSets(api) = %+v %v, want 2 sets of service web", sets, err)
	}
	if typ, ok, err := s.MetricType(ctx, "temp"); typ != Gauge || !ok || err != nil {
		t.Errorf("MetricType(temp) = %v %v %v, want gauge", typ, ok, err)
	}
	if _, ok, err := s.MetricType(ctx, "nope"); ok || err != nil {
		t.Errorf("MetricType(nope) = %v %v, want not found", ok, err)
	}
	types, err := s.MetricTypes(ctx)
	if err != nil || !maps.Equal(types, map[string]Type{"api": Counter, "temp": Gauge}) {
		t.Errorf("MetricTypes = %v %v", types, err)
	}
	if ms, ok, err := s.FirstSample(ctx); ms != 2000 || !ok || err != nil {
		t.Errorf("FirstSample = %d %v %v, want the first row's 2000", ms, ok, err)
	}
	// Of the three series, only api{code=200} has a sample at 3000.
	at, err := s.SampledAt(ctx, 3000, []int64{1, 2, 3})
	if err != nil || !maps.Equal(at, map[int64]bool{idOf(t, s, "200"): true}) {
		t.Errorf("SampledAt(3000) = %v %v", at, err)
	}
	smp, err := s.SamplesOf(ctx, "api")
	got = got[:0]
	for _, x := range smp {
		got = append(got, fmt.Sprintf("%d %g", x.TS, x.Value))
	}
	// By time, then in the order written.
	if want := []string{"1000 1", "2000 2", "2000 4", "3000 3", "5000 5"}; err != nil || !slices.Equal(got, want) {
		t.Errorf("SamplesOf(api) = %q %v, want %q", got, err, want)
	}
}

// idOf is the id of api{code=code}.
func idOf(t *testing.T, s *Store, code string) int64 {
	t.Helper()
	var id int64
	if err := s.db.QueryRow(`SELECT id FROM series WHERE name = 'api' AND labels = ?`, `{"code":"`+code+`"}`).Scan(&id); err != nil {
		t.Fatal(err)
	}
	return id
}

func TestReadsOfAnEmptyStore(t *testing.T) {
	ctx := context.Background()
	s := openTemp(t)
	if _, ok, err := s.FirstSample(ctx); ok || err != nil {
		t.Errorf("FirstSample of an empty store: %v %v, want none", ok, err)
	}
	if tot, err := s.Totals(ctx); err != nil || tot.First.Valid || tot.Samples != 0 {
		t.Errorf("Totals of an empty store: %+v %v", tot, err)
	}
}

func TestCompactAndCheckWritable(t *testing.T) {
	ctx := context.Background()
	s := readFixture(t)
	if v, err := s.Compact(ctx); err != nil || v != "full" {
		t.Errorf("Compact = %q %v, want a full vacuum", v, err)
	}
	if err := s.CheckWritable(ctx); err != nil {
		t.Errorf("CheckWritable of a writable store: %v", err)
	}
	ro, err := Open(ctx, s.Path, Options{ReadOnly: true})
	if err != nil {
		t.Fatal(err)
	}
	defer ro.Close()
	if err := ro.CheckWritable(ctx); err == nil {
		t.Error("CheckWritable of a store opened read-only: want an error")
	}
	if m, err := ro.Meta(ctx); err != nil || m.StoreID == "" {
		t.Errorf("Meta = %+v %v", m, err)
	}
}
