package analyze

import (
	"context"
	"slices"
	"testing"
	"time"

	"github.com/vigil-metrics/vigil/internal/store"
)

// histObs is n observations of a histogram, one a minute ending at to.
func histObs(name string, n int, to time.Duration) []store.Sample {
	var out []store.Sample
	for i := 0; i < n; i++ {
		out = append(out, store.Sample{Name: name, Type: store.Histogram, TS: atMS(to - time.Duration(i)*time.Minute), Value: float64(i)})
	}
	return out
}

// The most sampled histograms in the window come first (counted over
// every store, ties by name), gauges are never listed, samples outside
// (start, end] do not count, and n bounds the list.
func TestSampledHistograms(t *testing.T) {
	f := newFixture(t)
	// In (at-1h, at]: lat 30+20 = 50, db 40, rpc 40 (a tie: db first),
	// old 0 (its 60 samples end 2h before at), cpu a gauge.
	a := f.write("a.db", slices.Concat(histObs("lat", 30, 0), histObs("db", 40, 0), histObs("old", 60, -2*time.Hour),
		every("cpu", "h", -time.Hour, 0, time.Second))...)
	b := f.write("b.db", slices.Concat(histObs("lat", 20, 0), histObs("rpc", 40, 0))...)
	db, err := Open(context.Background(), []string{a, b}, Options{CacheDir: f.cacheDir})
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	got, err := db.SampledHistograms(context.Background(), at.Add(-time.Hour), at, 3)
	if err != nil || !slices.Equal(got, []string{"lat", "db", "rpc"}) {
		t.Errorf("SampledHistograms = %v, %v; want [lat db rpc]", got, err)
	}
	got, err = db.SampledHistograms(context.Background(), at.Add(-time.Hour), at, 1)
	if err != nil || !slices.Equal(got, []string{"lat"}) {
		t.Errorf("n=1: %v, %v; want [lat]", got, err)
	}
	got, err = db.SampledHistograms(context.Background(), at.Add(-3*time.Hour), at.Add(-90*time.Minute), 5)
	if err != nil || !slices.Equal(got, []string{"old"}) {
		t.Errorf("an earlier window: %v, %v; want [old]", got, err)
	}
}
