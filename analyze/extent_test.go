package analyze

import (
	"context"
	"net/http"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/vigil-metrics/vigil/internal/metricpath"
	"github.com/vigil-metrics/vigil/internal/store"
)

// every is a gauge sampled every interval over [from, to].
func every(name, host string, from, to, interval time.Duration) []store.Sample {
	var out []store.Sample
	for o := from; o <= to; o += interval {
		out = append(out, store.Sample{Name: name, Type: store.Gauge, Labels: map[string]string{"host": host}, TS: atMS(o), Value: 1})
	}
	return out
}

// The extent spans every store; the resolution is the typical series'
// interval (10 s here: two series of three at 10 s, one at 30 s, and a
// lone sample that has no interval), not the mean over all samples.
func TestExtentAndResolution(t *testing.T) {
	f := newFixture(t)
	a := f.write("a.db", append(every("cpu", "a", -time.Hour, 0, 10*time.Second),
		every("cpu", "b", -30*time.Minute, -10*time.Minute, 10*time.Second)...)...)
	b := f.write("b.db", append(every("mem", "c", -3*time.Hour, -time.Hour, 30*time.Second),
		store.Sample{Name: "once", Type: store.Gauge, TS: atMS(-90 * time.Minute), Value: 1})...)
	db, err := Open(context.Background(), []string{a, b}, Options{CacheDir: f.cacheDir})
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	oldest, newest, ok, err := db.Extent(context.Background())
	if err != nil || !ok || !oldest.Equal(at.Add(-3*time.Hour)) || !newest.Equal(at) {
		t.Errorf("Extent = %v, %v, %v, %v; want %v, %v, true", oldest, newest, ok, err, at.Add(-3*time.Hour), at)
	}
	res, ok, err := db.Resolution(context.Background())
	if err != nil || !ok || res != 10*time.Second {
		t.Errorf("Resolution = %v, %v, %v; want 10s", res, ok, err)
	}
	// One scan of the samples answers both (a replay asks both, then
	// again with --against), and asking again reads nothing.
	for range 2 {
		db.Extent(context.Background())     //nolint:errcheck // compared above
		db.Resolution(context.Background()) //nolint:errcheck
	}
	if db.memo.extentReads != 1 {
		t.Errorf("%d reads of the extent, want 1", db.memo.extentReads)
	}
}

// A store without samples has no extent, and a store whose every series
// has one sample no resolution.
func TestExtentEmpty(t *testing.T) {
	f := newFixture(t)
	empty := f.write("empty.db")
	db, err := Open(context.Background(), []string{empty}, Options{CacheDir: f.cacheDir})
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	if _, _, ok, err := db.Extent(context.Background()); ok || err != nil {
		t.Errorf("Extent of an empty store: ok=%v err=%v, want false, nil", ok, err)
	}
	if _, ok, err := db.Resolution(context.Background()); ok || err != nil {
		t.Errorf("Resolution of an empty store: ok=%v err=%v", ok, err)
	}
	lone := f.write("lone.db", store.Sample{Name: "once", Type: store.Gauge, TS: atMS(0), Value: 1})
	db2, err := Open(context.Background(), []string{lone}, Options{CacheDir: f.cacheDir})
	if err != nil {
		t.Fatal(err)
	}
	defer db2.Close()
	if o, n, ok, err := db2.Extent(context.Background()); !ok || err != nil || !o.Equal(at) || !n.Equal(at) {
		t.Errorf("Extent of one sample = %v, %v, %v, %v", o, n, ok, err)
	}
	if _, ok, err := db2.Resolution(context.Background()); ok || err != nil {
		t.Errorf("Resolution of one sample: ok=%v err=%v, want false", ok, err)
	}
}

// A Prometheus-compatible source's history is unknown without asking for
// every metric: no extent, so the caller does not warn.
func TestExtentOfSourceUnknown(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { http.NotFound(w, r) }))
	defer srv.Close()
	f := newFixture(t)
	a := f.write("a.db", every("cpu", "a", -time.Hour, 0, 10*time.Second)...)
	db, err := Open(context.Background(), []string{a, srv.URL}, Options{CacheDir: f.cacheDir})
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	if _, _, ok, err := db.Extent(context.Background()); ok || err != nil {
		t.Errorf("Extent with a source: ok=%v err=%v, want false, nil", ok, err)
	}
	if _, ok, err := db.Resolution(context.Background()); ok || err != nil {
		t.Errorf("Resolution with a source: ok=%v err=%v, want false, nil", ok, err)
	}
}

// FirstSample is the first sample of the series a selector matches, not
// the stores' (h30 D17): a service that began minutes ago in a store of
// older host metrics starts then; the store's service column is matched
// as the label service; no matching series is not ok.
func TestFirstSampleOfSelectedSeries(t *testing.T) {
	f := newFixture(t)
	sli := func(svc string, off time.Duration) store.Sample {
		return store.Sample{Name: "sli_requests_total", Type: store.Counter, Service: svc, Labels: map[string]string{"success": "true"}, TS: atMS(off), Value: 1}
	}
	a := f.write("a.db", append(every("cpu", "h", -48*time.Hour, 0, time.Hour), sli("api", -6*time.Minute), sli("api", 0), sli("old", -3*time.Hour))...)
	b := f.write("b.db", sli("api", -10*time.Minute))
	db, err := Open(context.Background(), []string{a, b}, Options{CacheDir: f.cacheDir})
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	sel := func(svc string) metricpath.Selector {
		return metricpath.Selector{Name: "sli_requests_total", Matchers: []metricpath.Matcher{{Label: "service", Op: metricpath.Equal, Value: svc}}}
	}
	if got, ok, err := db.FirstSample(context.Background(), sel("api")); err != nil || !ok || !got.Equal(at.Add(-10*time.Minute)) {
		t.Errorf("api: %v, %v, %v; want %v (b.db's)", got, ok, err, at.Add(-10*time.Minute))
	}
	if got, ok, err := db.FirstSample(context.Background(), sel("api"), sel("old")); err != nil || !ok || !got.Equal(at.Add(-3*time.Hour)) {
		t.Errorf("api and old: %v, %v, %v; want %v", got, ok, err, at.Add(-3*time.Hour))
	}
	if _, ok, err := db.FirstSample(context.Background(), sel("none")); err != nil || ok {
		t.Errorf("no series: ok %v, %v", ok, err)
	}
}
