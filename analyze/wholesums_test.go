package analyze

import (
	"context"
	"log/slog"
	"math"
	"math/rand/v2"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/vigil-metrics/vigil/internal/metricpath"
	"github.com/vigil-metrics/vigil/internal/store"
)

// wholeFixture is a copy of base (wholeBase: a counter c{h} of whole
// increments, 372,000 samples: more than 3 of DuckDB's row groups of
// 122,880 rows, which its parallel scan hands to threads one at a time, so
// that its threads split them) with its synced cache, and, where extra has values,
// a series c{h="d"} of those values alone, 1 ms apart in the hour's last
// minute (which the next sync adds to the copied cache).
func wholeFixture(t *testing.T, base wholeStore, extra []float64) (*fixture, string) {
	f := newFixture(t)
	ctx := context.Background()
	p := filepath.Join(f.dir, "v.db")
	copyFile(t, base.store, p)
	// The cache is the store's by its store_id, which the copy keeps: the
	// case's first Open finds it in sync instead of copying every row
	// again (4 to 6 s under -race, for each case: issue 30).
	c, err := cacheFileFor(p, f.cacheDir)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.MkdirAll(f.cacheDir, 0o755); err != nil {
		t.Fatal(err)
	}
	copyFile(t, base.cache, c)
	defer func() {
		// The copy must be the cache the cases read, not one rebuilt.
		var log strings.Builder
		db, err := Open(ctx, []string{p}, Options{CacheDir: f.cacheDir, Logger: slog.New(slog.NewTextHandler(&log, nil))})
		if err != nil {
			t.Fatal(err)
		}
		db.Close()
		if strings.Contains(log.String(), "rebuil") {
			t.Fatalf("the copied cache was not used: %s", log.String())
		}
	}()
	if len(extra) == 0 {
		return f, p
	}
	st, err := store.Open(ctx, p, store.Options{})
	if err != nil {
		t.Fatal(err)
	}
	tx, err := st.Begin(ctx)
	if err != nil {
		t.Fatal(err)
	}
	d, err := tx.Series(ctx, "c", store.Counter, map[string]string{"h": "d"}, "")
	if err != nil {
		t.Fatal(err)
	}
	for i, v := range extra {
		if err := tx.Append(ctx, d, atMS(-50*time.Second+time.Duration(i)*time.Millisecond), v); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := tx.Commit(ctx); err != nil {
		t.Fatal(err)
	}
	st.Close()
	return f, p
}

// wholeStore is a store and its synced cache, which the cases copy.
type wholeStore struct{ store, cache string }

// copyFile copies the file from to to.
func copyFile(t *testing.T, from, to string) {
	t.Helper()
	b, err := os.ReadFile(from)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(to, b, 0o644); err != nil {
		t.Fatal(err)
	}
}

// wholeBase writes the cases' common store once (372,000 samples: built
// once and copied, where each case built its own under -race for 20 s):
// counter c{h=a,b,c}, a random whole number from 0 to 999 every 29 ms over
// the hour before at; and syncs its cache once. (It was 600,000 samples:
// 3 row groups split over threads as well as 5, measured by
// TestSumsAreDeterministic's threshold.)
func wholeBase(t *testing.T) wholeStore {
	ctx := context.Background()
	dir := t.TempDir()
	p := filepath.Join(dir, "base.db")
	st, err := store.Open(ctx, p, store.Options{})
	if err != nil {
		t.Fatal(err)
	}
	tx, err := st.Begin(ctx)
	if err != nil {
		t.Fatal(err)
	}
	ids := map[string]int64{}
	for _, h := range []string{"a", "b", "c"} {
		if ids[h], err = tx.Series(ctx, "c", store.Counter, map[string]string{"h": h}, ""); err != nil {
			t.Fatal(err)
		}
	}
	rng := rand.New(rand.NewPCG(3, 5))
	const n = 124_000 // the last at 4 s before at
	for i := 0; i < n; i++ {
		ts := atMS(-time.Hour + time.Duration(i)*29*time.Millisecond)
		for _, h := range []string{"a", "b", "c"} {
			if err := tx.Append(ctx, ids[h], ts, float64(rng.IntN(1000))); err != nil {
				t.Fatal(err)
			}
		}
	}
	if _, err := tx.Commit(ctx); err != nil {
		t.Fatal(err)
	}
	// Closed: checkpointed into the one file that the cases copy.
	if err := st.Close(); err != nil {
		t.Fatal(err)
	}
	cacheDir := filepath.Join(dir, "cache")
	db, err := Open(ctx, []string{p}, Options{CacheDir: cacheDir})
	if err != nil {
		t.Fatal(err)
	}
	// Closed: DuckDB checkpoints its WAL into the cache file.
	if err := db.Close(); err != nil {
		t.Fatal(err)
	}
	c, err := cacheFileFor(p, cacheDir)
	if err != nil {
		t.Fatal(err)
	}
	return wholeStore{store: p, cache: c}
}

// bucketsAndEval answers, with parallelWholeSums set to parallel, the
// counter's increase per h over one-minute buckets of the hour (Buckets)
// and over the last minute, the last 90 s and the hour (Eval), how many of
// those sums ran on DuckDB's threads, and how many Eval added up from the
// buckets.
func bucketsAndEval(t *testing.T, f *fixture, p string, parallel bool) (map[string][]float64, int, int) {
	t.Helper()
	was := parallelWholeSums
	parallelWholeSums = parallel
	defer func() { parallelWholeSums = was }()
	db, err := Open(context.Background(), []string{p}, Options{CacheDir: f.cacheDir})
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	ctx := context.Background()
	e, err := metricpath.Parse("c.increase by (h)")
	if err != nil {
		t.Fatal(err)
	}
	got := map[string][]float64{}
	bs, err := db.Buckets(ctx, e, at, time.Minute, 60)
	if err != nil {
		t.Fatal(err)
	}
	for _, s := range bs {
		got[s.Labels["h"]] = append(got[s.Labels["h"]], s.Values...)
	}
	for _, w := range []time.Duration{time.Minute, 90 * time.Second, time.Hour} {
		rs, err := db.Eval(ctx, e, Window{At: at, Length: w})
		if err != nil {
			t.Fatal(err)
		}
		for _, r := range rs {
			got[r.Labels["h"]] = append(got[r.Labels["h"]], r.Value)
		}
	}
	return got, db.memo.whole, db.memo.fromCells
}

func sameBits(t *testing.T, what string, got, want map[string][]float64) {
	t.Helper()
	if len(got) != len(want) {
		t.Fatalf("%s: %d groups, want %d", what, len(got), len(want))
	}
	for h, w := range want {
		g := got[h]
		if len(g) != len(w) {
			t.Fatalf("%s %s: %d values, want %d", what, h, len(g), len(w))
		}
		for i := range w {
			if math.Float64bits(g[i]) != math.Float64bits(w[i]) && !(math.IsNaN(g[i]) && math.IsNaN(w[i])) {
				t.Errorf("%s %s value %d = %v (%x), one thread %v (%x)", what, h, i, g[i], math.Float64bits(g[i]), w[i], math.Float64bits(w[i]))
			}
		}
	}
}

// Sums of whole numbers run on DuckDB's threads (the bucket sums, of
// numbers at or above 0, and Eval's), or are added up from bucket sums of
// whole numbers that tile Eval's window, and give the one-thread Kahan sums
// to the bit. A cell with a
// fraction (0.1 ten times: 1, where a plain sum says 0.9999999999999999),
// magnitudes that reach 2^53 (2^53 + 1 + 1: 2^53 + 2, where a plain sum in
// that order says 2^53) sends its query back to one thread, which gives
// those answers.
func TestWholeSumsOnThreads(t *testing.T) {
	// Parallel: most of its time is building a big store under -race
	// on one core (make test runs analyze under -race: issue 30).
	t.Parallel()
	base := wholeBase(t)
	for _, c := range []struct {
		name    string
		extra   []float64
		want    float64 // c{h="d"}'s last minute
		threads int     // sums on threads: Buckets', Eval's over the minute, 90 s and the hour
		cells   int     // Eval's added up from the buckets: the minute and the hour, not 90 s
	}{
		{"whole", nil, 0, 2, 2},
		{"tenths", []float64{0.1, 0.1, 0.1, 0.1, 0.1, 0.1, 0.1, 0.1, 0.1, 0.1}, 1, 0, 0},
		{"2^53", []float64{0x1p53, 1, 1}, 0x1p53 + 2, 0, 0},
		// Whole, but below 0: Eval's sums (of magnitudes too) run on
		// threads, the buckets' (which take the sum as the magnitudes')
		// on one.
		{"negative", []float64{-3, 5, -1}, 1, 3, 0},
	} {
		if !parallelWholeSums {
			t.Fatal("parallelWholeSums is off")
		}
		t.Run(c.name, func(t *testing.T) {
			f, p := wholeFixture(t, base, c.extra)
			one, n1, c1 := bucketsAndEval(t, f, p, false)
			par, n2, c2 := bucketsAndEval(t, f, p, true)
			if n1 != 0 || c1 != 0 {
				t.Errorf("%d sums on threads, %d from buckets with parallelWholeSums off", n1, c1)
			}
			if n2 != c.threads || c2 != c.cells {
				t.Errorf("%d sums on threads, %d from buckets; want %d, %d", n2, c2, c.threads, c.cells)
			}
			sameBits(t, c.name, par, one)
			if c.extra == nil {
				return
			}
			// d's last bucket, then Eval over the minute, 90 s and the hour.
			d := par["d"]
			if len(d) != 63 {
				t.Fatalf("d: %d values, want 63", len(d))
			}
			for _, v := range d[59:] {
				if math.Float64bits(v) != math.Float64bits(c.want) && !(math.IsNaN(v) && math.IsNaN(c.want)) {
					t.Errorf("d = %v, want %v", d[59:], c.want)
					break
				}
			}
		})
	}
}
