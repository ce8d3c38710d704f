// Help text and units: what a metric is, given once by its constructor,
// exposed as # HELP and stored as the metric's metadata.

package collect

import (
	"fmt"
	"math"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/vigil-metrics/vigil/internal/store"
)

// A MetricOption gives a metric constructor what it records besides the
// name and labels (Help). Options are read when the handle is made, never
// on the recording path; the zero MetricOption does nothing.
type MetricOption struct {
	help string
}

// Help is the metric's help text, as client_golang's Opts.Help: Handler
// shows it as the family's # HELP line (escaped as the text format wants)
// and the store keeps it with the metric (per name and service), for
// vigil serve's metadata endpoint and vigil lint. A name keeps the first
// help it was given; a different one later is logged once and ignored.
func Help(text string) MetricOption { return MetricOption{help: text} }

// applyOpts records what opts give for name (help), once the name is
// known valid; help text that is not valid UTF-8 is refused (Prometheus's
// parser refuses a page holding it) with an error matching ErrInvalid.
func (r *Recorder) applyOpts(name string, opts []MetricOption) error {
	if err := checkOpts(name, opts); err != nil {
		return err
	}
	for _, o := range opts {
		if o.help != "" {
			r.setHelp(name, o.help)
		}
	}
	return nil
}

// checkOpts refuses help text that is not valid UTF-8.
func checkOpts(name string, opts []MetricOption) error {
	for _, o := range opts {
		if err := checkHelp(name, o.help); err != nil {
			return err
		}
	}
	return nil
}

func checkHelp(name, help string) error {
	if !utf8.ValidString(help) {
		return fmt.Errorf("metric %q: %w: help text is not valid UTF-8", name, ErrInvalid)
	}
	return nil
}

// setHelp keeps help for name. Help the store would refuse (an invalid
// name, text not UTF-8) is never queued: a metadata row that cannot be
// written must not reach a flush.
func (r *Recorder) setHelp(name, help string) {
	if !store.ValidName(name) || !utf8.ValidString(help) {
		return
	}
	r.smu.RLock()
	old, ok := r.help[name]
	r.smu.RUnlock()
	if ok && old == help {
		return
	}
	r.smu.Lock()
	defer r.smu.Unlock()
	if old, ok := r.help[name]; ok {
		if old != help {
			r.warnOnceLocked("help:"+name, "metric given two help texts; keeping the first", "name", name, "help", old, "ignored", help)
		}
		return
	}
	r.help[name] = help
	r.helpPending = append(r.helpPending, name)
}

// helpOf is name's help text ("" when none was given).
func (r *Recorder) helpOf(name string) string {
	r.smu.RLock()
	defer r.smu.RUnlock()
	return r.help[name]
}

// unitOf is the unit a metric's name says, as its stored metadata keeps
// it: seconds, milliseconds, bytes... or "" when the name has no unit
// suffix (a _total is dropped first).
func unitOf(name string) string {
	name = strings.TrimSuffix(name, "_total")
	if u, ok := timeUnitOf(name); ok {
		return u.unit
	}
	for _, u := range []struct{ suffix, unit string }{
		{"_bytes", "bytes"}, {"_mb", "megabytes"}, {"_percent", "percent"}, {"_ratio", "ratio"},
	} {
		if strings.HasSuffix(name, u.suffix) {
			return u.unit
		}
	}
	return ""
}

// A timeUnit is a unit of time a name may end with: a duration given to
// ObserveDuration is converted to it, and the default buckets are
// DefBuckets (seconds) in it.
type timeUnit struct {
	suffix, unit string
	of           func(time.Duration) float64 // a duration in the unit
	bucket       func(float64) float64       // a bound of DefBuckets in the unit
}

var timeUnits = []timeUnit{
	{"_seconds", "seconds", time.Duration.Seconds, func(s float64) float64 { return s }},
	{"_ms", "milliseconds", ms, nil}, // defMSBuckets
	{"_milliseconds", "milliseconds", ms, nil},
	{"_us", "microseconds", func(d time.Duration) float64 { return float64(d) / 1e3 }, func(s float64) float64 { return math.Round(s * 1e6) }},
	{"_microseconds", "microseconds", func(d time.Duration) float64 { return float64(d) / 1e3 }, func(s float64) float64 { return math.Round(s * 1e6) }},
	{"_ns", "nanoseconds", func(d time.Duration) float64 { return float64(d) }, func(s float64) float64 { return math.Round(s * 1e9) }},
	{"_nanoseconds", "nanoseconds", func(d time.Duration) float64 { return float64(d) }, func(s float64) float64 { return math.Round(s * 1e9) }},
	{"_minutes", "minutes", time.Duration.Minutes, func(s float64) float64 { return s / 60 }},
	{"_hours", "hours", time.Duration.Hours, func(s float64) float64 { return s / 3600 }},
}

// timeUnitOf is the unit of time name ends with, if any.
func timeUnitOf(name string) (timeUnit, bool) {
	for _, u := range timeUnits {
		if strings.HasSuffix(name, u.suffix) {
			return u, true
		}
	}
	return timeUnit{}, false
}

// takeHelp returns the help texts not yet written to the store (all of
// them after a reopen: the file may be another), clearing the list; a
// failed write gives them back with requeueHelp.
func (r *Recorder) takeHelp(all bool) []store.Metadata {
	r.smu.Lock()
	defer r.smu.Unlock()
	var names []string
	if all {
		for n := range r.help {
			names = append(names, n)
		}
	} else {
		names = r.helpPending
	}
	r.helpPending = nil
	out := make([]store.Metadata, 0, len(names))
	for _, n := range names {
		out = append(out, store.Metadata{Name: n, Service: r.opt.Service, Help: r.help[n], Unit: unitOf(n)})
	}
	return out
}

func (r *Recorder) requeueHelp(md []store.Metadata) {
	if len(md) == 0 {
		return
	}
	r.smu.Lock()
	defer r.smu.Unlock()
	for _, m := range md {
		if m.Name != "" { // "": dropped by write
			r.helpPending = append(r.helpPending, m.Name)
		}
	}
}

// Naming is a Recorder's choice of metric names and units (Options.Naming).
type Naming int

const (
	// NamingReference keeps the reference design's names and
	// milliseconds: Middleware's response_time_ms, Monitor's
	// <op>_duration_ms and <op>_memory_delta_mb, sli_request_duration_ms;
	// a duration into a name without a unit of time is recorded in
	// milliseconds (a name that says one is always honoured).
	NamingReference Naming = iota
	// NamingPrometheus follows Prometheus's conventions, base units:
	// Middleware's http_request_duration_seconds, Monitor's
	// <op>_duration_seconds and <op>_memory_delta_bytes,
	// sli_request_duration_seconds; a duration into a name without a
	// unit of time is recorded in seconds (a name that says one, _ms
	// included, is always honoured).
	NamingPrometheus
)

// String is the naming's name: "reference" or "prometheus".
func (n Naming) String() string {
	if n == NamingPrometheus {
		return "prometheus"
	}
	return "reference"
}

// durationIn converts d to the unit a histogram's name says, under
// either naming: _seconds, _ms or _milliseconds, _us or _microseconds,
// _ns or _nanoseconds, _minutes, _hours. A name without one takes the
// naming's unit: milliseconds under NamingReference, seconds under
// NamingPrometheus.
func (r *Recorder) durationIn(name string, d time.Duration) float64 {
	if u, ok := timeUnitOf(name); ok {
		return u.of(d)
	}
	if r.opt.Naming == NamingPrometheus {
		return d.Seconds()
	}
	return ms(d)
}

// requestDuration, sliDuration: the histograms Middleware and
// TrackAvailability record, by Naming.
func (r *Recorder) requestDuration() string {
	if r.opt.Naming == NamingPrometheus {
		return "http_request_duration_seconds"
	}
	return "response_time_ms"
}

func (r *Recorder) sliDuration() string {
	if r.opt.Naming == NamingPrometheus {
		return "sli_request_duration_seconds"
	}
	return "sli_request_duration_ms"
}
