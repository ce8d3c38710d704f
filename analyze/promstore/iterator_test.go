package promstore

import (
	"testing"

	"github.com/prometheus/prometheus/tsdb/chunkenc"

	"github.com/vigil-metrics/vigil/analyze"
)

// Walking a served series allocates per series, not per sample: boxing
// each sample for the list iterator was most of the engine's time over a
// day of counters (docs/performance.md).
func TestSeriesIteratorAllocatesPerSeries(t *testing.T) {
	s := &series{}
	for i := range 1000 {
		s.pts = append(s.pts, analyze.RawSample{TS: int64(i) * 15_000, Value: float64(i)})
	}
	var sum float64
	allocs := testing.AllocsPerRun(20, func() {
		it := s.Iterator(nil)
		for it.Next() == chunkenc.ValFloat {
			_, v := it.At()
			sum += v + float64(it.AtT())
		}
		if it.Seek(500*15_000) != chunkenc.ValNone {
			t.Fatal("Seek before the current point moved back")
		}
	})
	if allocs > 3 {
		t.Fatalf("%.0f allocations to walk 1,000 points, want at most 3 (the points and the iterator)", allocs)
	}
	// The walk saw every point once, in order.
	it := s.Iterator(nil)
	for i := range 1000 {
		if it.Next() != chunkenc.ValFloat {
			t.Fatalf("point %d missing", i)
		}
		if ts, v := it.At(); ts != int64(i)*15_000 || v != float64(i) {
			t.Fatalf("point %d: (%d, %v)", i, ts, v)
		}
	}
	if it.Next() != chunkenc.ValNone {
		t.Fatal("a point after the last")
	}
}
