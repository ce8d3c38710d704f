package promstore_test

import (
	"context"
	"fmt"
	"runtime"
	"strings"
	"testing"

	"github.com/prometheus/prometheus/model/labels"
	"github.com/prometheus/prometheus/storage"
	"github.com/prometheus/prometheus/tsdb/chunkenc"

	"github.com/vigil-metrics/vigil/analyze/promstore"
	"github.com/vigil-metrics/vigil/internal/ingest"
	"github.com/vigil-metrics/vigil/internal/store"
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

// appendJSONL imports JSON Lines into a store, as an agent appends.
func appendJSONL(t *testing.T, path, lines string) {
	t.Helper()
	st, err := store.Open(context.Background(), path, store.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	if _, err := ingest.Import(context.Background(), st, []ingest.Source{{Name: "more.jsonl", R: strings.NewReader(lines), Format: ingest.JSONL}}); err != nil {
		t.Fatal(err)
	}
}

// After a store grew at its end (an agent appending), the points kept
// for its series are extended with the new samples instead of read
// again whole: the read after the sync allocates for the new samples,
// not for every point; and the answers are a fresh server's. A sample
// written before a series' newest (a backfill) makes that series read
// again whole, with the same answers as a fresh server's.
func TestServeKeptAcrossAppends(t *testing.T) {
	_, jsonl := fixture()
	paths := fixtureStores(t, jsonl[:]...)
	_, warm := newServer(t, paths)
	mint, maxt := fixtureEnd-7*3600_000, fixtureEnd+3600_000
	q, _ := warm.Querier(mint, maxt)
	var before, after runtime.MemStats
	runtime.GC()
	runtime.ReadMemStats(&before)
	n, _, _ := walk(t, q)
	runtime.ReadMemStats(&after)
	first := after.TotalAlloc - before.TotalAlloc
	sync := func() { // the sync alone: a series-only select
		ss := q.Select(context.Background(), false, &storage.SelectHints{Start: mint, End: maxt, Func: "series"},
			labels.MustNewMatcher(labels.MatchRegexp, labels.MetricName, ".+"))
		for ss.Next() {
		}
	}
	compare := func(step string) {
		t.Helper()
		_, fresh := newServer(t, paths)
		fq, _ := fresh.Querier(mint, maxt)
		wn, wt, wv := walk(t, q)
		fn, ft, fv := walk(t, fq)
		if wn != fn || wt != ft || wv != fv {
			t.Errorf("%s: the warm server read %d points (%d, %v), a fresh one %d (%d, %v)", step, wn, wt, wv, fn, ft, fv)
		}
		fresh.Close()
	}
	line := func(ms int64, name, typ, svc, v, labels string) string {
		return fmt.Sprintf(`{"ts": %s, "name": %q, "type": %q, "value": %s, "labels": {%s}, "service": %q}`+"\n", secs(ms), name, typ, v, labels, svc)
	}
	appendJSONL(t, paths[0], line(fixtureEnd+20_000, "req_total", "counter", "api", "0.7", `"code": "200"`)+
		line(fixtureEnd+40_000, "req_total", "counter", "api", "1.1", `"code": "200"`)+
		line(fixtureEnd+10_000, "cpu", "gauge", "", "2.25", `"dc": "x", "host": "a"`))
	syncs := warm.Syncs
	sync()
	if warm.Syncs != syncs+1 {
		t.Fatalf("%d syncs after an append, want 1", warm.Syncs-syncs)
	}
	runtime.GC()
	runtime.ReadMemStats(&before)
	n2, _, _ := walk(t, q)
	runtime.ReadMemStats(&after)
	if n2 != n+3 {
		t.Fatalf("%d points after 3 appended, want %d", n2, n+3)
	}
	// The two series that grew hold a tenth of the points; a read of
	// every point allocates as much as the first did.
	if b := after.TotalAlloc - before.TotalAlloc; b > first/2 {
		t.Errorf("the read after an append of 3 samples allocated %d bytes, the first read %d: want at most half (the grown series, not every point)", b, first)
	}
	compare("appended")
	// A backfill: one sample before req_total{service="api"}'s newest.
	appendJSONL(t, paths[0], line(fixtureEnd-3600_000+500, "req_total", "counter", "api", "0.3", `"code": "200"`))
	compare("backfilled")
	// Both again after a change elsewhere (the series unchanged).
	appendJSONL(t, paths[1], line(fixtureEnd+50_000, "cpu", "gauge", "", "1.5", `"dc": "x", "host": "c"`))
	compare("another store grew")
	// Observations of a histogram, two at one millisecond (its _count,
	// _sum and _bucket series extended from one read).
	appendJSONL(t, paths[1], line(fixtureEnd+60_000, "response_time_ms", "histogram", "api", "120", "")+
		line(fixtureEnd+60_000, "response_time_ms", "histogram", "api", "30", "")+
		line(fixtureEnd+75_000, "response_time_ms", "histogram", "api", "700", ""))
	compare("histogram grew")
	// A gauge sample at its newest millisecond again (the larger kept),
	// then one after it: both stores' series synced twice before a read.
	appendJSONL(t, paths[0], line(fixtureEnd+10_000, "cpu", "gauge", "", "9.5", `"dc": "x", "host": "a"`))
	sync()
	appendJSONL(t, paths[0], line(fixtureEnd+25_000, "cpu", "gauge", "", "0.5", `"dc": "x", "host": "a"`))
	compare("gauge at its newest millisecond")
	appendJSONL(t, paths[0], line(fixtureEnd+90_000, "cpu", "gauge", "", "3.5", `"dc": "x", "host": "a"`))
	sync()
	appendJSONL(t, paths[0], line(fixtureEnd+95_000, "cpu", "gauge", "", "4.5", `"dc": "x", "host": "a"`))
	compare("grown twice before a read")
	// A sample after the newest and one before it in one append: read
	// again whole.
	appendJSONL(t, paths[0], line(fixtureEnd+100_000, "req_total", "counter", "api", "0.9", `"code": "200"`)+
		line(fixtureEnd-1800_000+700, "req_total", "counter", "api", "0.2", `"code": "200"`))
	compare("grown at both ends")
}
