package remotewrite

import (
	writev2 "github.com/prometheus/client_golang/exp/api/remote/genproto/v2"
	"github.com/prometheus/prometheus/prompb"
)

// builder turns batches into requests, reusing its buffers from batch to
// batch (only the sender uses it, one request at a time), so sending
// makes little garbage.
type builder struct {
	gi    map[uint64]int // series key -> group
	first []int          // group -> its first entry
	idx   []int          // entry -> group
	off   []int          // group -> start in flat; off[len] = len(batch)
	flat  []int          // entries grouped, each group in queue order
	pos   []int          // group -> next place in flat

	labels []prompb.Label
	ts1    []prompb.TimeSeries
	s1     []prompb.Sample
	req1   prompb.WriteRequest

	syms  writev2.SymbolsTable
	refs  []uint32
	ts2   []writev2.TimeSeries
	ts2p  []*writev2.TimeSeries
	s2    []writev2.Sample
	s2p   []*writev2.Sample
	meta  []writev2.Metadata
	req2  writev2.Request
	inits bool
}

func grow[T any](s []T, n int) []T {
	if cap(s) < n {
		return make([]T, n, n+n/4)
	}
	return s[:n]
}

// group sorts the batch's entries by series, series in order of first
// appearance, each series' entries in queue order (increasing times).
func (b *builder) group(batch []entry) int {
	if b.gi == nil {
		b.gi = map[uint64]int{}
	}
	clear(b.gi)
	b.first = b.first[:0]
	b.idx = grow(b.idx, len(batch))
	for i := range batch {
		g, ok := b.gi[batch[i].key]
		if !ok {
			g = len(b.first)
			b.gi[batch[i].key] = g
			b.first = append(b.first, i)
		}
		b.idx[i] = g
	}
	n := len(b.first)
	b.off = grow(b.off, n+1)
	clear(b.off)
	for _, g := range b.idx {
		b.off[g+1]++
	}
	for g := 1; g <= n; g++ {
		b.off[g] += b.off[g-1]
	}
	b.flat = grow(b.flat, len(batch))
	b.pos = grow(b.pos, n)
	copy(b.pos, b.off[:n])
	for i, g := range b.idx {
		b.flat[b.pos[g]] = i
		b.pos[g]++
	}
	return n
}

func (b *builder) v1(batch []entry) *prompb.WriteRequest {
	n := b.group(batch)
	b.labels = b.labels[:0]
	b.s1 = grow(b.s1, len(batch))
	b.ts1 = grow(b.ts1, n)
	for g := range n {
		es := b.flat[b.off[g]:b.off[g+1]]
		e := &batch[es[0]]
		start := len(b.labels)
		b.labels = appendLabels(b.labels, e.name+suffixes[e.suffix], e.labels, e.service)
		samples := b.s1[b.off[g]:b.off[g+1]:b.off[g+1]]
		for i, j := range es {
			samples[i] = prompb.Sample{Value: batch[j].v, Timestamp: batch[j].ts}
		}
		b.ts1[g] = prompb.TimeSeries{Labels: b.labels[start:len(b.labels):len(b.labels)], Samples: samples}
	}
	b.req1 = prompb.WriteRequest{Timeseries: b.ts1}
	return &b.req1
}

func (b *builder) v2(batch []entry) *writev2.Request {
	n := b.group(batch)
	if !b.inits {
		b.syms, b.inits = writev2.NewSymbolTable(), true
	}
	b.syms.Reset()
	b.labels = b.labels[:0]
	b.refs = b.refs[:0]
	b.s2 = grow(b.s2, len(batch))
	b.s2p = grow(b.s2p, len(batch))
	b.ts2 = grow(b.ts2, n)
	b.ts2p = grow(b.ts2p, n)
	b.meta = grow(b.meta, n)
	for g := range n {
		es := b.flat[b.off[g]:b.off[g+1]]
		e := &batch[es[0]]
		b.labels = appendLabels(b.labels[:0], e.name+suffixes[e.suffix], e.labels, e.service)
		start := len(b.refs)
		for _, l := range b.labels {
			b.refs = append(b.refs, b.syms.Symbolize(l.Name), b.syms.Symbolize(l.Value))
		}
		samples := b.s2p[b.off[g]:b.off[g+1]:b.off[g+1]]
		for i, j := range es {
			b.s2[b.off[g]+i] = writev2.Sample{Value: batch[j].v, Timestamp: batch[j].ts}
			samples[i] = &b.s2[b.off[g]+i]
		}
		b.meta[g] = writev2.Metadata{Type: writev2.Metadata_METRIC_TYPE_GAUGE}
		if e.counter {
			b.meta[g].Type = writev2.Metadata_METRIC_TYPE_COUNTER
		}
		b.ts2[g] = writev2.TimeSeries{LabelsRefs: b.refs[start:len(b.refs):len(b.refs)], Samples: samples, Metadata: &b.meta[g]}
		b.ts2p[g] = &b.ts2[g]
	}
	b.req2 = writev2.Request{Symbols: b.syms.Symbols(), Timeseries: b.ts2p}
	return &b.req2
}
