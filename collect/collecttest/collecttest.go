// Package collecttest helps test code instrumented with collect: a
// Recorder on a temporary store that is removed when the test ends, and
// helpers that flush it and read a metric back from the store.
//
//	func TestCheckout(t *testing.T) {
//		r := collecttest.New(t)
//		checkout(r, cart)
//		if got := collecttest.CounterTotal(t, r, "orders_total", map[string]string{"status": "ok"}); got != 1 {
//			t.Errorf("orders_total = %v, want 1", got)
//		}
//	}
//
// Code that takes a *collect.Recorder can be given Nop() (a nil
// Recorder), on which every method, and every handle it returns, does
// nothing.
//
// It is for tests: it fails the test it is given on any error, so no
// production code should call it.
package collecttest

import (
	"context"
	"encoding/json"
	"path/filepath"
	"testing"

	"github.com/vigil-metrics/vigil/collect"
	"github.com/vigil-metrics/vigil/internal/collectlink"
	"github.com/vigil-metrics/vigil/internal/store"
)

// New returns a Recorder for t in Strict mode (a mistake panics where it
// is made) without a background flush; it is closed, and its store
// removed, when the test ends.
func New(t testing.TB) *collect.Recorder {
	t.Helper()
	return NewWith(t, collect.Options{Strict: true})
}

// NewWith is New with opt as given (Strict only if set); a zero
// FlushInterval becomes -1 (the helpers flush before they read).
func NewWith(t testing.TB, opt collect.Options) *collect.Recorder {
	t.Helper()
	if opt.FlushInterval == 0 {
		opt.FlushInterval = -1
	}
	r, err := collect.Open(filepath.Join(t.TempDir(), "metrics.db"), opt)
	if err != nil {
		t.Fatalf("collecttest: %v", err)
	}
	t.Cleanup(func() { r.Close() })
	return r
}

// Nop returns a nil Recorder: every method of it, and of the handles it
// returns, does nothing.
func Nop() *collect.Recorder { return nil }

// CounterTotal flushes r and returns the sum of the increments of the
// counter name over its series whose labels include labels (nil: all; a
// label given with an empty value matches the series without it, as
// Prometheus's a="").
func CounterTotal(t testing.TB, r *collect.Recorder, name string, labels map[string]string) float64 {
	t.Helper()
	sum, _, _ := read(t, r, name, store.Counter, labels)
	return sum
}

// HistogramCount flushes r and returns the number of observations of the
// histogram name over its series whose labels include labels.
func HistogramCount(t testing.TB, r *collect.Recorder, name string, labels map[string]string) int {
	t.Helper()
	_, n, _ := read(t, r, name, store.Histogram, labels)
	return n
}

// HistogramSum is the sum of those observations.
func HistogramSum(t testing.TB, r *collect.Recorder, name string, labels map[string]string) float64 {
	t.Helper()
	sum, _, _ := read(t, r, name, store.Histogram, labels)
	return sum
}

// GaugeValue flushes r and returns the latest value of the gauge name
// over its series whose labels include labels; ok is false when none
// was recorded.
func GaugeValue(t testing.TB, r *collect.Recorder, name string, labels map[string]string) (v float64, ok bool) {
	t.Helper()
	_, n, last := read(t, r, name, store.Gauge, labels)
	return last, n > 0
}

// read sums, counts and finds the latest value (by timestamp, then by
// row) of the samples of name's matching series.
func read(t testing.TB, r *collect.Recorder, name string, typ store.Type, want map[string]string) (sum float64, n int, last float64) {
	t.Helper()
	if r == nil {
		t.Fatalf("collecttest: reading %s from a nil Recorder", name)
	}
	if err := r.Flush(context.Background()); err != nil {
		t.Fatalf("collecttest: flush: %v", err)
	}
	samples, err := collectlink.Store(r).SamplesOf(context.Background(), name)
	if err != nil {
		t.Fatalf("collecttest: %v", err)
	}
	for _, s := range samples {
		if store.Type(s.Type) != typ {
			t.Fatalf("collecttest: %s is a %s, not a %s", name, s.Type, typ)
		}
		var got map[string]string
		if err := json.Unmarshal([]byte(s.Labels), &got); err != nil {
			t.Fatalf("collecttest: labels of %s: %v", name, err)
		}
		if !includes(got, want) {
			continue
		}
		sum += s.Value
		n++
		last = s.Value
	}
	return sum, n, last
}

// includes: got holds every label of want; a wanted empty value matches
// a series without the label (an empty value is no label), as
// Prometheus's matcher a="" does.
func includes(got, want map[string]string) bool {
	for k, v := range want {
		if got[k] != v {
			return false
		}
	}
	return true
}

// Help flushes r and returns the help text its store keeps for the metric
// name ("" when none was given; the first service's, by name, when
// several services of the store gave one).
func Help(t testing.TB, r *collect.Recorder, name string) string {
	t.Helper()
	if r == nil {
		t.Fatalf("collecttest: reading %s from a nil Recorder", name)
	}
	if err := r.Flush(context.Background()); err != nil {
		t.Fatalf("collecttest: flush: %v", err)
	}
	md, err := collectlink.Store(r).Metadata(context.Background())
	if err != nil {
		t.Fatalf("collecttest: %v", err)
	}
	for _, m := range md {
		if m.Name == name {
			return m.Help
		}
	}
	return ""
}
