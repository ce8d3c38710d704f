package analyze

import (
	"context"
	"math"
	"testing"
	"time"

	"github.com/vigil-metrics/vigil/internal/metricpath"
	"github.com/vigil-metrics/vigil/internal/store"
)

// countLEFixture: a histogram lat_ms with observations 100, 200, 300, 400
// for service api and 250, 300.0000001, 50 for web in the last minute (and
// one of 1 an hour ago, out of any window here); a gauge whose values sit
// one ulp either side of 0.3; a counter with increments 1, 2, 3, 4; a
// counter that last moved an hour ago.
func countLEFixture(t *testing.T) (*fixture, string) {
	f := newFixture(t)
	var s []store.Sample
	obs := func(svc string, offset time.Duration, vals ...float64) {
		for i, v := range vals {
			s = append(s, store.Sample{Name: "lat_ms", Type: store.Histogram, Service: svc,
				TS: atMS(offset + time.Duration(i)*time.Second), Value: v})
		}
	}
	obs("api", -50*time.Second, 100, 200, 300, 400)
	obs("web", -50*time.Second, 250, 300.0000001, 50)
	obs("api", -time.Hour, 1)
	tenth := 0.1
	for i, v := range []float64{tenth + 0.2, 0.3, math.Nextafter(0.3, 0)} { // 0.30000000000000004, 0.3, 0.29999999999999993
		s = append(s, store.Sample{Name: "g", Type: store.Gauge, TS: atMS(time.Duration(i-10) * time.Second), Value: v})
	}
	for i, inc := range []float64{1, 2, 3, 4} {
		s = append(s, counter("req_total", nil, time.Duration(-50+10*i)*time.Second, inc))
	}
	s = append(s, counter("idle_total", nil, -time.Hour, 7))
	return f, f.write("v.db", s...)
}

// count_le(T) counts the samples in the window whose value is <= T: for
// a histogram its observations, for a counter its increments, for a gauge
// its samples. Answers computed by hand; samples is every sample read.
func TestCountLE(t *testing.T) {
	f, p := countLEFixture(t)
	for _, c := range []struct{ path, want string }{
		{`lat_ms.count_le(300)`, `{}=5/7`},
		{`lat_ms{service="api"}.count_le(300)`, `{}=3/4`},
		{`lat_ms{service="api"}.count_le(299.9)`, `{}=2/4`},
		{`lat_ms{service="api"}.count_le(400)`, `{}=4/4`},
		{`lat_ms{service="api"}.count_le(1e3)`, `{}=4/4`},
		{`lat_ms{service="api"}.count_le(100)`, `{}=1/4`},
		{`lat_ms.count_le(300) by (service)`, `{"service":"api"}=3/4 {"service":"web"}=2/3`},
		{`lat_ms.count_le(299.9) by (service)`, `{"service":"api"}=2/4 {"service":"web"}=2/3`},
		{`lat_ms.count_le(300.0000001) by (service)`, `{"service":"api"}=3/4 {"service":"web"}=3/3`},
		// A group with samples and none at or below T counts 0.
		{`lat_ms.count_le(50) by (service)`, `{"service":"api"}=0/4 {"service":"web"}=1/3`},
		{`lat_ms.count_le(-Inf) by (service)`, `{"service":"api"}=0/4 {"service":"web"}=0/3`},
		{`lat_ms.count_le(Inf)`, `{}=7/7`},
		{`lat_ms.count`, `{}=7/7`},
		// Compared on DOUBLE, to the bit.
		{`g.count_le(0.3)`, `{}=2/3`},
		{`g.count_le(0.30000000000000004)`, `{}=3/3`},
		{`g.count_le(0.29999999999999993)`, `{}=1/3`},
		{`g.count_le(0.2999999999999999)`, `{}=0/3`},
		// A counter's samples are its increments.
		{`req_total.count_le(2)`, `{}=2/4`},
		{`req_total.count_le(0)`, `{}=0/4`},
		// A counter that exists but did not move counts 0, as .count does.
		{`idle_total.count_le(5)`, `{}=0/0`},
		{`idle_total.count`, `{}=0/0`},
		{`no_such.count_le(5)`, ``},
	} {
		rs, _ := f.query(c.path, time.Minute, p)
		if got := render(rs); got != c.want {
			t.Errorf("%s = %q, want %q", c.path, got, c.want)
		}
	}
	// The hour-old observation of 1 counts over two hours.
	rs, _ := f.query(`lat_ms{service="api"}.count_le(100)`, 2*time.Hour, p)
	if got, want := render(rs), `{}=2/5`; got != want {
		t.Errorf("over 2h: %s, want %s", got, want)
	}
}

// In A / B, count_le counts events as count does: good / total is the
// fraction of fast observations, and a numerator with no group where the
// denominator has one is 0 for it.
func TestCountLERatio(t *testing.T) {
	f, p := countLEFixture(t)
	for _, c := range []struct{ path, want string }{
		{`lat_ms.count_le(300) / lat_ms.count`, `{}=0.7142857142857143/14`},
		{`lat_ms.count_le(300) by (service) / lat_ms.count by (service)`, `{"service":"api"}=0.75/8 {"service":"web"}=0.6666666666666666/6`},
		// No api group in the numerator: 0 fast of 4, not "no data".
		{`lat_ms{service="web"}.count_le(300) by (service) / lat_ms.count by (service)`, `{"service":"api"}=0/4 {"service":"web"}=0.6666666666666666/6`},
		{`idle_total.count_le(5) / req_total.count`, `{}=0/4`},
		// A numerator metric that exists nowhere stays no data.
		{`no_such.count_le(300) / lat_ms.count`, ``},
	} {
		rs, _ := f.query(c.path, time.Minute, p)
		if got := render(rs); got != c.want {
			t.Errorf("%s = %q, want %q", c.path, got, c.want)
		}
	}
}

// Two thresholds over one selection and window are two answers: the
// memo keys count_le by its T, so count_le(300) never answers count_le(500).
func TestCountLEMemo(t *testing.T) {
	f, p := countLEFixture(t)
	db, err := Open(context.Background(), []string{p}, Options{CacheDir: f.cacheDir})
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	ask := func(path string) string {
		e, err := metricpath.Parse(path)
		if err != nil {
			t.Fatal(err)
		}
		rs, err := db.Eval(context.Background(), e, Window{At: at, Length: time.Minute})
		if err != nil {
			t.Fatal(err)
		}
		return render(rs)
	}
	for i := 0; i < 2; i++ {
		for _, c := range []struct{ path, want string }{
			{`lat_ms.count_le(300) by (service)`, `{"service":"api"}=3/4 {"service":"web"}=2/3`},
			{`lat_ms.count_le(500) by (service)`, `{"service":"api"}=4/4 {"service":"web"}=3/3`},
			{`lat_ms.count_le(299.9) by (service)`, `{"service":"api"}=2/4 {"service":"web"}=2/3`},
			{`lat_ms.count by (service)`, `{"service":"api"}=4/4 {"service":"web"}=3/3`},
			{`lat_ms.p50 by (service)`, `{"service":"api"}=250/4 {"service":"web"}=250/3`},
		} {
			if got := ask(c.path); got != c.want {
				t.Errorf("pass %d: %s = %q, want %q", i, c.path, got, c.want)
			}
		}
	}
	// One selection; count_le at three thresholds, count and p50 are five answers.
	if len(db.memo.sets) != 1 || len(db.memo.aggs) != 5 {
		t.Errorf("%d selections, %d answers kept; want 1 and 5", len(db.memo.sets), len(db.memo.aggs))
	}
	thresholds := map[float64]bool{}
	for k := range db.memo.aggs {
		if k.query == "agg_count_le" {
			thresholds[k.threshold] = true
		}
	}
	if len(thresholds) != 3 || !thresholds[300] || !thresholds[500] || !thresholds[299.9] {
		t.Errorf("count_le answers kept under thresholds %v, want 300, 500 and 299.9", thresholds)
	}
}
