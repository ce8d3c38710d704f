// Package collectlink gives vigil's own packages (the agent, push,
// collecttest) the parts of a collect.Recorder that take the store's
// types, which collect's exported API does not show (its users cannot
// import internal/store): a Recorder on a store the agent opened, the
// store it writes, samples added and forwarded as store.Sample without a
// copy into collect.Sample.
//
// Package collect fills the hooks in its init. This package cannot import
// collect (collect imports it), so a Recorder and its Options travel as
// any; the typed helpers below assert them. It must not import any vigil
// package but internal/store.
package collectlink

import "github.com/vigil-metrics/vigil/internal/store"

// Hooks are collect's functions behind the helpers.
type Hooks struct {
	New       func(st *store.Store, opt any) any
	Store     func(rec any) *store.Store
	Add       func(rec any, s store.Sample) error
	AddBatch  func(rec any, s []store.Sample) error
	Unwritten func(rec any) []store.Sample
	Forward   func(opt any, fn func([]store.Sample)) any
}

var hooks Hooks

// Set is called by package collect's init.
func Set(h Hooks) { hooks = h }

// New starts a collect.Recorder (R: *collect.Recorder) with opt (a
// collect.Options) on st, an open store (nil: Forward alone).
func New[R, O any](st *store.Store, opt O) R { return hooks.New(st, opt).(R) }

// Store is the store rec (a *collect.Recorder) writes now; nil without one.
func Store(rec any) *store.Store { return hooks.Store(rec) }

// Add is rec.Add with a store.Sample.
func Add(rec any, s store.Sample) error { return hooks.Add(rec, s) }

// AddBatch is rec.AddBatch with store samples (no copy).
func AddBatch(rec any, s []store.Sample) error { return hooks.AddBatch(rec, s) }

// Unwritten is rec.Unwritten as store samples.
func Unwritten(rec any) []store.Sample { return hooks.Unwritten(rec) }

// WithForward returns opt (a collect.Options) with fn as its forward, given
// store samples (the flusher's reused slice: see collect.Options.Forward),
// instead of Options.Forward.
func WithForward[O any](opt O, fn func([]store.Sample)) O { return hooks.Forward(opt, fn).(O) }
