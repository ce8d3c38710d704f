package analyze_test

import (
	"context"
	"fmt"
	"math"
	"math/rand"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/vigil-metrics/vigil/analyze"
	"github.com/vigil-metrics/vigil/internal/ingest"
	"github.com/vigil-metrics/vigil/internal/metricpath"
	"github.com/vigil-metrics/vigil/internal/promtest"
	"github.com/vigil-metrics/vigil/internal/store"
)

// Pooled float aggregations over several series (sum, avg, stddev, a
// counter's rate without by) answer from a Prometheus source as from a
// store holding the same samples, to the bit, whatever order the store was
// written in (series after series from OpenMetrics, time order from JSON
// Lines, or shuffled), although Kahan's sum and Welford's variance depend
// on the order they add in (issue 26: 8718.999999799002 vs
// 8718.999999799). Eval, Buckets and Sliding alike.
func TestPooledSumsBitIdentical(t *testing.T) {
	rng := rand.New(rand.NewSource(26))
	base := promtest.FixtureEnd - 3600_000
	var series []promtest.Series
	for i := 0; i < 6; i++ {
		g := promtest.Series{Name: "lb_val", Family: "lb_val", Type: "gauge", Labels: map[string]string{"host": fmt.Sprintf("h%d", i), "dc": fmt.Sprint(i % 2)}}
		c := promtest.Series{Name: "lb_req_total", Family: "lb_req", Type: "counter", Labels: g.Labels}
		total := 0.0
		for j := 0; j < 300; j++ {
			ms := base + int64(j)*10_000 + int64(rng.Intn(3))*1000 // ties across series
			v := rng.Float64() * []float64{1e-3, 1, 1e6, 1e12}[rng.Intn(4)]
			g.Points = append(g.Points, promtest.Sample{MS: ms, Value: v})
			total += rng.Float64() * 0.1
			c.Points = append(c.Points, promtest.Sample{MS: ms, Value: total})
		}
		series = append(series, g, c)
	}
	om, jsonl := promtest.Fixture(series)
	lines := strings.SplitAfter(strings.TrimSuffix(jsonl, "\n"), "\n")
	lines[len(lines)-1] += "\n"
	rng.Shuffle(len(lines), func(a, b int) { lines[a], lines[b] = lines[b], lines[a] })
	shuffled := strings.Join(lines, "")
	srv := promtest.Start(t, promtest.Blocks(t, om))
	ctx := context.Background()
	write := func(name, text string, f ingest.Format) string {
		p := filepath.Join(t.TempDir(), name+".db")
		st, err := store.Open(ctx, p, store.Options{})
		if err != nil {
			t.Fatal(err)
		}
		if _, err := ingest.Import(ctx, st, []ingest.Source{{Name: name, R: strings.NewReader(text), Format: f}}); err != nil {
			t.Fatal(err)
		}
		st.Close()
		return p
	}
	open := func(src string) *analyze.DB {
		db, err := analyze.Open(ctx, []string{src}, analyze.Options{CacheDir: t.TempDir(), Timeout: 30 * time.Second})
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { db.Close() })
		return db
	}
	want := open(srv.URL)
	stores := map[string]*analyze.DB{
		"series after series (OpenMetrics)": open(write("om", om, ingest.OpenMetrics)),
		"time order (JSON Lines)":           open(write("jsonl", jsonl, ingest.JSONL)),
		"shuffled (JSON Lines)":             open(write("shuf", shuffled, ingest.JSONL)),
	}
	paths := []string{"lb_val.sum", "lb_val.avg", "lb_val.stddev", "lb_val.sum by (dc)", "lb_val.avg by (dc)",
		"lb_val.stddev by (dc)", "lb_req_total.rate", "lb_req_total.increase", "lb_req_total.rate by (dc)",
		"lb_req_total.sum", "lb_req_total.avg", "lb_req_total.stddev"}
	for order, got := range stores {
		for _, path := range paths {
			e, err := metricpath.Parse(path)
			if err != nil {
				t.Fatal(err)
			}
			for _, w := range []time.Duration{5 * time.Minute, 20 * time.Minute, time.Hour} {
				for _, at := range []int64{promtest.FixtureEnd, promtest.FixtureEnd - 7*60_000 - 500} {
					win := analyze.Window{At: time.UnixMilli(at), Length: w}
					ws, err := want.Eval(ctx, e, win)
					if err != nil {
						t.Fatal(err)
					}
					gs, err := got.Eval(ctx, e, win)
					if err != nil {
						t.Fatal(err)
					}
					if !sameResults(ws, gs) {
						t.Errorf("%s: %s over %s at %d: the store gives %v, the source %v", order, path, w, at, gs, ws)
					}
				}
			}
			end := time.UnixMilli(promtest.FixtureEnd)
			wb, err := want.Buckets(ctx, e, end, 5*time.Minute, 10)
			if err != nil {
				t.Fatal(err)
			}
			gb, err := got.Buckets(ctx, e, end, 5*time.Minute, 10)
			if err != nil {
				t.Fatal(err)
			}
			sameBuckets(t, order+": buckets of "+path, gb, wb)
			ws, err := want.Sliding(ctx, e, end, time.Minute, 10*time.Minute, 30)
			if err != nil {
				t.Fatal(err)
			}
			gsl, err := got.Sliding(ctx, e, end, time.Minute, 10*time.Minute, 30)
			if err != nil {
				t.Fatal(err)
			}
			sameBuckets(t, order+": sliding "+path, gsl, ws)
		}
	}
}

func sameBuckets(t *testing.T, what string, got, want []analyze.BucketSeries) {
	t.Helper()
	if len(got) != len(want) {
		t.Errorf("%s: %d series, want %d", what, len(got), len(want))
		return
	}
	for i := range got {
		for j := range got[i].Values {
			g, w := got[i].Values[j], want[i].Values[j]
			if math.Float64bits(g) != math.Float64bits(w) && !(math.IsNaN(g) && math.IsNaN(w)) || got[i].Samples[j] != want[i].Samples[j] {
				t.Errorf("%s %v window %d: the store gives %v (%d), the source %v (%d)", what, got[i].Labels, j, g, got[i].Samples[j], w, want[i].Samples[j])
			}
		}
	}
}
