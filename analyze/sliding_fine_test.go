package analyze

import (
	"context"
	"errors"
	"fmt"
	"math"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/vigil-metrics/vigil/internal/metricpath"
	"github.com/vigil-metrics/vigil/internal/store"
)

// minuteFleet writes hosts gauges g{h} and counters c{h}, one sample a
// minute each over the 3 hours before at, and opens them.
func minuteFleet(t *testing.T, hosts int) *DB {
	t.Helper()
	f := newFixture(t)
	var s []store.Sample
	for ts := -3 * time.Hour; ts <= 0; ts += time.Minute {
		i := int(ts / time.Minute)
		for h := 0; h < hosts; h++ {
			l := map[string]string{"h": fmt.Sprintf("h%03d", h)}
			s = append(s,
				store.Sample{Name: "g", Type: store.Gauge, Labels: l, TS: atMS(ts), Value: float64(((i*7+h*3)%40+40)%40) / 4},
				store.Sample{Name: "c", Type: store.Counter, Labels: l, TS: atMS(ts), Value: float64(i+200) * float64(h%5+1)})
		}
	}
	p := f.write("v.db", s...)
	db, err := Open(context.Background(), []string{p}, Options{CacheDir: f.cacheDir})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	return db
}

// At a step far finer than the data (1 s over one sample a minute), a
// window's buckets (one a second) are nearly all empty: combining a
// window visits only its buckets that hold samples, at most 61 of an
// hour's 3,600 for one sample a minute a series (a pooled group's series
// share their minutes), so the work of a step does not grow as the step
// shrinks. The answers are still Eval's.
func TestSlidingFineStepVisitsSampledBuckets(t *testing.T) {
	const hosts = 4
	db := minuteFleet(t, hosts)
	ctx := context.Background()
	const n, step, window = 900, time.Second, time.Hour
	for _, c := range []struct {
		path   string
		groups int
	}{{"g.avg by (h)", hosts}, {"g.max", 1}, {"c.increase by (h)", hosts}, {"g.stddev by (h)", hosts}, {"g.last", 1}} {
		e, err := metricpath.Parse(c.path)
		if err != nil {
			t.Fatal(err)
		}
		before := db.memo.visited
		got, err := db.Sliding(ctx, e, at, step, window, n)
		if err != nil {
			t.Fatal(err)
		}
		if v, most := db.memo.visited-before, int64(n*c.groups*61); v > most || v == 0 {
			t.Errorf("%s: %d buckets visited for %d windows of %d groups, want at most %d (61 a window)", c.path, v, n, c.groups, most)
		}
		if len(got) != c.groups {
			t.Fatalf("%s: %d series, want %d", c.path, len(got), c.groups)
		}
		for _, j := range []int{0, 1, 59, 60, 61, 450, n - 1} {
			rs, err := db.Eval(ctx, e, Window{At: at.Add(-time.Duration(n-1-j) * step), Length: window})
			if err != nil {
				t.Fatal(err)
			}
			for _, r := range rs {
				for _, s := range got {
					if store.CanonicalLabels(s.Labels) != store.CanonicalLabels(r.Labels) {
						continue
					}
					if g := s.Values[j]; math.Abs(g-r.Value) > 1e-12*math.Max(1, math.Abs(r.Value)) || s.Samples[j] != r.Samples {
						t.Errorf("%s %v step %d = %v (%d samples), Eval %v (%d)", c.path, s.Labels, j, g, s.Samples[j], r.Value, r.Samples)
					}
				}
			}
		}
	}
}

// countdown is a context that cancels itself at the left-th call of Err
// (never, while left is negative): a read that checks its context as it
// goes meets the cancel where it checks, wherever that is.
type countdown struct {
	context.Context
	mu     sync.Mutex
	left   int64
	calls  atomic.Int64 // Err's calls
	after  atomic.Int64 // Err's calls after the cancel
	done   chan struct{}
	closed bool
}

func newCountdown(left int64) *countdown {
	return &countdown{Context: context.Background(), left: left, done: make(chan struct{})}
}

func (c *countdown) Done() <-chan struct{} { return c.done }

func (c *countdown) Err() error {
	c.calls.Add(1)
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.closed {
		c.after.Add(1)
		return context.Canceled
	}
	if c.left < 0 {
		return nil
	}
	if c.left--; c.left > 0 {
		return nil
	}
	c.closed = true
	close(c.done)
	return context.Canceled
}

// A read cancelled while it computes its windows (a replay's chunk, after
// SIGTERM) stops at its next group instead of finishing every group's
// windows: it checks its context once a group at least, returns the
// context's error, and checks it only a few times more after the cancel.
func TestSlidingStopsWhenCancelled(t *testing.T) {
	const hosts = 60
	db := minuteFleet(t, hosts)
	for _, path := range []string{"g.avg by (h)", "g.stddev by (h)", "c.increase by (h)"} {
		e, err := metricpath.Parse(path)
		if err != nil {
			t.Fatal(err)
		}
		const n, step, window = 600, time.Second, 10 * time.Minute
		probe := newCountdown(-1)
		if _, err := db.Sliding(probe, e, at, step, window, n); err != nil {
			t.Fatal(err)
		}
		total := probe.calls.Load()
		if total < hosts {
			t.Errorf("%s: the context was checked %d times for %d groups, want once a group at least", path, total, hosts)
			continue
		}
		// Cancelled half way through the groups (this read may find
		// cells the probe kept: the groups are what it checks for).
		c := newCountdown(hosts / 2)
		_, err = db.Sliding(c, e, at, step, window, n)
		if !errors.Is(err, context.Canceled) {
			t.Errorf("%s: cancelled at check %d (of %d in a whole read): %v, want the context's error", path, hosts/2, total, err)
		}
		if a := c.after.Load(); a > 3 {
			t.Errorf("%s: the context was checked %d times after the cancel (of %d in a whole read): the read went on", path, a, total)
		}
	}
}
