package promstore_test

import (
	"context"
	"runtime"
	"testing"

	"github.com/prometheus/prometheus/model/labels"
	"github.com/prometheus/prometheus/storage"
	"github.com/prometheus/prometheus/tsdb/chunkenc"

	"github.com/vigil-metrics/vigil/analyze/promstore"
)

// walk selects every served series with mint <= ts <= maxt and walks
// their points: how many, and their times and values summed (a
// fingerprint of what was read).
func walk(t testing.TB, q storage.Querier) (n int, sumT int64, sumV float64) {
	t.Helper()
	ss := q.Select(context.Background(), false, nil, labels.MustNewMatcher(labels.MatchRegexp, labels.MetricName, ".+"))
	for ss.Next() {
		it := ss.At().Iterator(nil)
		for it.Next() == chunkenc.ValFloat {
			ts, v := it.At()
			n, sumT, sumV = n+1, sumT+ts, sumV+v
		}
	}
	if err := ss.Err(); err != nil {
		t.Fatal(err)
	}
	return n, sumT, sumV
}

// A range read again before the stores change (a dashboard refreshing,
// the bench's warm queries) is served from the points the first read
// built: it allocates per series, not per sample (reading and re-summing
// every sample at each query was most of a warm counter query's time,
// docs/performance.md), and every range inside the one read, or reaching
// past the newest sample, gives the same points as a fresh source.
func TestServeWarmReadKeepsPoints(t *testing.T) {
	_, jsonl := fixture()
	paths := fixtureStores(t, jsonl[:]...)
	_, warm := newServer(t, paths)
	mint, maxt := fixtureEnd-6*3600_000-60_000, fixtureEnd+60_000
	q, err := warm.Querier(mint, maxt)
	if err != nil {
		t.Fatal(err)
	}
	n, sumT, sumV := walk(t, q)
	if n < 20_000 {
		t.Fatalf("%d points over the fixture's 6 hours, want more than 20,000", n)
	}
	var before, after runtime.MemStats
	runtime.GC()
	runtime.ReadMemStats(&before)
	n2, sumT2, sumV2 := walk(t, q)
	runtime.ReadMemStats(&after)
	if n2 != n || sumT2 != sumT || sumV2 != sumV {
		t.Fatalf("second read: %d points (%d, %v), first %d (%d, %v)", n2, sumT2, sumV2, n, sumT, sumV)
	}
	if b := after.TotalAlloc - before.TotalAlloc; b > uint64(n)*4 {
		t.Errorf("the second read of %d points allocated %d bytes, want at most 4 a point (per series only)", n, b)
	}
	// Ranges inside the one read and past it, each against a fresh
	// source's answer.
	for _, r := range [][2]int64{
		{fixtureEnd - 3*3600_000 - 7_123, fixtureEnd - 3600_000 + 1},
		{fixtureEnd - 3600_000, fixtureEnd + 3600_000},
		{fixtureEnd - 7*3600_000, fixtureEnd - 5*3600_000},
		{fixtureEnd - 10*3600_000, fixtureEnd + 10*3600_000},
		{fixtureEnd - 2*3600_000, fixtureEnd - 2*3600_000 + 30_000},
	} {
		_, fresh := newServer(t, paths)
		wq, _ := warm.Querier(r[0], r[1])
		fq, _ := fresh.Querier(r[0], r[1])
		wn, wt, wv := walk(t, wq)
		fn, ft, fv := walk(t, fq)
		if wn != fn || wt != ft || wv != fv {
			t.Errorf("range %v: warm source read %d points (%d, %v), a fresh one %d (%d, %v)", r, wn, wt, wv, fn, ft, fv)
		}
		fresh.Close()
	}
}

// The first read of a range allocates about the room of its samples
// once: the read makes room for each group's samples at once (from the
// counts the sync took) and builds a group's last served series where
// its samples were read, instead of growing the samples an append at a
// time (five times their size) and copying them into points (vigil
// serve's peak memory, docs/performance.md).
func TestServeFirstReadAllocatesOnce(t *testing.T) {
	_, jsonl := fixture()
	paths := fixtureStores(t, jsonl[:]...)
	_, src := newServer(t, paths)
	q, err := src.Querier(fixtureEnd-7*3600_000, fixtureEnd+60_000)
	if err != nil {
		t.Fatal(err)
	}
	var before, after runtime.MemStats
	runtime.GC()
	runtime.ReadMemStats(&before)
	n, _, _ := walk(t, q)
	runtime.ReadMemStats(&after)
	b := after.TotalAlloc - before.TotalAlloc
	t.Logf("first read of %d points: %d bytes (%.1f a point)", n, b, float64(b)/float64(n))
	if b > uint64(n)*40 {
		t.Errorf("the first read of %d points allocated %d bytes (%.1f a point), want at most 40 a point", n, b, float64(b)/float64(n))
	}
}

// A read in parts (a few groups' samples at a time) gives the points of
// a read at once.
func TestServeReadInParts(t *testing.T) {
	_, jsonl := fixture()
	paths := fixtureStores(t, jsonl[:]...)
	mint, maxt := fixtureEnd-7*3600_000, fixtureEnd+60_000
	_, whole := newServer(t, paths)
	wq, _ := whole.Querier(mint, maxt)
	wn, wt, wv := walk(t, wq)
	old := promstore.SetPartRows(1000) // each of the fixture's groups (480 to 2,400 samples) a part
	defer promstore.SetPartRows(old)
	_, parts := newServer(t, paths)
	pq, _ := parts.Querier(mint, maxt)
	if pn, pt, pv := walk(t, pq); pn != wn || pt != wt || pv != wv {
		t.Errorf("read in parts: %d points (%d, %v), at once %d (%d, %v)", pn, pt, pv, wn, wt, wv)
	}
}
