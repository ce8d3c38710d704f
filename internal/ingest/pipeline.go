package ingest

import (
	"context"
	"encoding/binary"
	"fmt"
	"sync/atomic"

	"github.com/vigil-metrics/vigil/internal/store"
)

// The import runs as two goroutines: the reader parses and resolves each
// record to a series id, the writer inserts rows. Parsing and SQLite's
// insert path each take about one core at a million rows a second, and
// the machine this must be fast on has two.

// rowBatch is a run of resolved samples on its way to the writer.
type rowBatch struct {
	sid, ts []int64
	v       []float64
}

// fastPath lets tests compare the fast readers with the full decoders.
var fastPath = true

const (
	batchRows = 4096
	// batches in flight: bounds memory whatever the file's size.
	batchesInFlight = 4
)

// sink receives one import's samples in file order and hands them to the
// writer goroutine; all its methods run on the reader goroutine.
type sink struct {
	ctx context.Context
	tx  *store.Tx

	// series resolved so far, keyed by the record's raw spelling of its
	// identity (see seriesKey), so a known series costs one map lookup:
	// no label decoding, sorting or validation.
	series map[string]seriesRef
	key    []byte

	cur     *rowBatch
	out     chan *rowBatch
	free    chan *rowBatch
	done    chan struct{}
	failed  chan struct{} // closed by the writer on its first error
	discard atomic.Bool   // set by stop: drop what is queued
	closed  bool
	rows    int64 // samples queued so far
	werr    error // the writer's error; read by the reader only after done or failed is closed
}

type seriesRef struct {
	id  int64
	typ store.Type
}

// maxCachedSpellings bounds the raw-spelling cache: a file whose label
// sets are all different must not hold them all (the store's own series
// index still has each one).
const maxCachedSpellings = 1 << 20

func newSink(ctx context.Context, tx *store.Tx) *sink {
	s := &sink{
		ctx:    ctx,
		tx:     tx,
		series: map[string]seriesRef{},
		out:    make(chan *rowBatch, batchesInFlight),
		free:   make(chan *rowBatch, batchesInFlight+2),
		done:   make(chan struct{}),
		failed: make(chan struct{}),
	}
	for i := 0; i < batchesInFlight+2; i++ {
		s.free <- &rowBatch{sid: make([]int64, 0, batchRows), ts: make([]int64, 0, batchRows), v: make([]float64, 0, batchRows)}
	}
	s.cur = <-s.free
	go s.write(s.out)
	return s
}

// write runs on its own goroutine until out is closed or an insert fails;
// after a failure it keeps draining so the reader never blocks.
func (s *sink) write(out <-chan *rowBatch) {
	defer close(s.done)
	for b := range out {
		if s.werr == nil && !s.discard.Load() {
			if s.werr = s.tx.AppendRows(s.ctx, b.sid, b.ts, b.v); s.werr != nil {
				// Stop the reader now, not after it parsed the rest of
				// a file that can no longer be stored.
				close(s.failed)
			}
		}
		b.sid, b.ts, b.v = b.sid[:0], b.ts[:0], b.v[:0]
		s.free <- b
	}
}

// row queues one resolved sample.
func (s *sink) row(sid, ts int64, v float64) error {
	s.rows++
	b := s.cur
	b.sid, b.ts, b.v = append(b.sid, sid), append(b.ts, ts), append(b.v, v)
	if len(b.sid) < batchRows {
		return nil
	}
	return s.send()
}

func (s *sink) send() error {
	select {
	case <-s.failed:
		return s.writeErr()
	default:
	}
	select {
	case s.out <- s.cur:
	case <-s.failed:
		return s.writeErr()
	case <-s.ctx.Done():
		return s.ctx.Err()
	}
	select {
	case s.cur = <-s.free:
	case <-s.ctx.Done():
		return s.ctx.Err()
	}
	return nil
}

func (s *sink) writeErr() error {
	if s.werr != nil {
		return s.werr // already says "insert samples: ..."
	}
	return fmt.Errorf("insert samples: writer stopped")
}

// close flushes what is queued and waits for the writer; it returns the
// writer's error, if any.
func (s *sink) close() error {
	var err error
	if len(s.cur.sid) > 0 {
		err = s.send()
	}
	if err != nil {
		s.stop()
		return err
	}
	s.finish()
	return s.werr
}

// stop ends the writer without inserting what is queued (after a failed
// read): the transaction may be gone already (SQLite rolls back by itself
// after some errors), and an insert would then commit on its own.
func (s *sink) stop() {
	s.discard.Store(true)
	s.finish()
}

// finish lets the writer take what is queued and waits for it to end.
func (s *sink) finish() {
	if !s.closed {
		s.closed = true
		close(s.out)
	}
	<-s.done
}

// fastRow queues a record the fast readers split: its series is found by
// the raw spelling of its identity, and decoded (labels) and resolved only
// the first time that spelling is seen. It returns false, with no error,
// for a record the full decoder must take (and word the error of); its
// error is an I/O failure.
func fastRow[S ~string | ~[]byte](s *sink, typ store.Type, name, service, labels S, tsMS int64, v float64) (bool, error) {
	s.key = spellKey(s.key[:0], typ, name, service, labels)
	ref, hit := s.lookup()
	if !hit {
		// The one decode of this spelling: it must refuse what the full
		// decoder refuses (repeated keys, invalid UTF-8).
		lm, err := parseLabels([]byte(labels), false)
		if err != nil {
			return false, nil
		}
		id, err := s.tx.Series(s.ctx, string(name), typ, lm, string(service))
		if err != nil {
			if store.IsInvalid(err) {
				return false, nil
			}
			return false, err
		}
		ref = seriesRef{id, typ}
		s.remember(ref)
	}
	return true, s.row(ref.id, tsMS, v)
}

// spellKey spells a series' identity from the raw record: one byte of
// type, then name, service and the labels as written (each length-prefixed),
// so equal spellings are one series without decoding anything.
func spellKey[S ~string | ~[]byte](k []byte, typ store.Type, name, service, labels S) []byte {
	k = append(k, typ[0])
	k = binary.AppendUvarint(k, uint64(len(name)))
	k = append(k, name...)
	k = binary.AppendUvarint(k, uint64(len(service)))
	k = append(k, service...)
	return append(k, labels...)
}

// lookup returns the series cached under the current key.
func (s *sink) lookup() (seriesRef, bool) {
	r, ok := s.series[string(s.key)]
	return r, ok
}

func (s *sink) remember(r seriesRef) {
	if len(s.series) >= maxCachedSpellings {
		clear(s.series)
	}
	s.series[string(s.key)] = r
}

// addSample validates and queues a decoded sample (the path for records
// the fast readers do not take, and for SQLite and OpenMetrics input).
func (s *sink) addSample(file string, line int64, smp store.Sample) error {
	_, err := s.addSampleID(file, line, smp)
	return err
}

// addSampleID is addSample that also returns the sample's series id.
func (s *sink) addSampleID(file string, line int64, smp store.Sample) (int64, error) {
	if err := smp.Validate(); err != nil {
		return 0, &InputError{File: file, Line: line, Err: err}
	}
	id, err := s.tx.Series(s.ctx, smp.Name, smp.Type, smp.Labels, smp.Service)
	if err != nil {
		if store.IsInvalid(err) {
			return 0, &InputError{File: file, Line: line, Err: err}
		}
		return 0, fmt.Errorf("import %s: %w", file, err)
	}
	return id, s.row(id, smp.TS, smp.Value)
}
