// The library's own types for what Add, AddBatch, Forward and Unwritten
// carry, and for the store a Recorder writes; the conversions to the
// store's types stay inside (and behind internal/collectlink).

package collect

import (
	"context"

	"github.com/vigil-metrics/vigil/internal/collectlink"
	"github.com/vigil-metrics/vigil/internal/store"
)

// Type is a metric type, as the store keeps it.
type Type string

// The three metric types: counters hold increments, gauges values and
// histograms raw observations (docs/storage.md).
const (
	TypeCounter   Type = "counter"
	TypeGauge     Type = "gauge"
	TypeHistogram Type = "histogram"
)

// Sample is one point with its own time, service and labels: what Add and
// AddBatch take, Options.Forward is given and Unwritten returns.
type Sample struct {
	Name    string
	Type    Type
	Labels  map[string]string
	Service string
	TS      int64 // unix milliseconds
	Value   float64
}

func (s Sample) toStore() store.Sample {
	return store.Sample{Name: s.Name, Type: store.Type(s.Type), Labels: s.Labels, Service: s.Service, TS: s.TS, Value: s.Value}
}

func fromStore(s store.Sample) Sample {
	return Sample{Name: s.Name, Type: Type(s.Type), Labels: s.Labels, Service: s.Service, TS: s.TS, Value: s.Value}
}

// Store is an open vigil store (one SQLite file, docs/storage.md), as
// OpenStore opens it and Recorder.Store returns it.
type Store struct {
	// Path is the store file's path.
	Path string
	st   *store.Store
}

// OpenStore opens (or creates, or migrates) the store at path, for New;
// ":memory:" keeps one in memory, as Open does.
func OpenStore(path string) (*Store, error) {
	st, err := store.Open(context.Background(), path, store.Options{})
	if err != nil {
		return nil, err
	}
	if path == ":memory:" {
		st.KeepOneConnection() // a second connection would see another database
	}
	return &Store{Path: path, st: st}, nil
}

// Close closes the store (a Recorder made on it closes it itself).
func (s *Store) Close() error {
	if s == nil || s.st == nil {
		return nil
	}
	return s.st.Close()
}

func init() {
	collectlink.Set(collectlink.Hooks{
		New:   func(st *store.Store, opt any) any { return startRecorder(st, opt.(Options)) },
		Store: func(rec any) *store.Store { return rec.(*Recorder).storeNow() },
		Add:   func(rec any, s store.Sample) error { return rec.(*Recorder).addStore(s) },
		AddBatch: func(rec any, s []store.Sample) error {
			return rec.(*Recorder).addBatch(s, false)
		},
		Unwritten: func(rec any) []store.Sample { return rec.(*Recorder).unwrittenStore() },
		Forward: func(opt any, fn func([]store.Sample)) any {
			o := opt.(Options)
			o.forwardStore = fn
			return o
		},
	})
}
