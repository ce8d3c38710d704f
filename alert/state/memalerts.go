package state

import (
	"fmt"
	"maps"
	"time"
)

// memAlerts is Alerts on a memory DB: the saved alerts with this run's
// pending writes over them. Before the run writes any, that is the DB's
// own map, handed out as it is: a copy at every run was a fifth of what a
// replay allocated (every alert ever stored, at every step). The caller
// reads it and never changes it, and it follows the DB as runs save (a
// run reads its previous alerts before it saves).
func (r *Run) memAlerts() (map[uint64]Alert, error) {
	if r.done {
		return nil, errDone
	}
	if len(r.pend) == 0 {
		return r.d.alerts, nil
	}
	out := make(map[uint64]Alert, len(r.d.alerts)+len(r.pend))
	for fp, a := range r.d.alerts {
		out[fp] = a
	}
	for fp, a := range r.pend {
		if a == nil {
			delete(out, fp)
			continue
		}
		out[fp] = *a
	}
	return out, nil
}

// memGet is the stored alert fp on a memory DB, as this run sees it.
func (r *Run) memGet(fp uint64) (Alert, bool) {
	if a, ok := r.pend[fp]; ok {
		if a == nil {
			return Alert{}, false
		}
		return *a, true
	}
	a, ok := r.d.alerts[fp]
	return a, ok
}

// memPut is Put on a memory DB. The alert is kept as a row of the table
// would read back (labels copied, never nil; times to the millisecond,
// UTC; NaN for a value SQLite stores as NULL), so that a replay's run
// sees exactly what a file state's would. The events table is not
// written: it is history for people (vigil alerts history), which no
// run reads.
func (r *Run) memPut(a Alert) error {
	if _, err := r.memWrite(); err != nil {
		return err
	}
	fp := FormatFingerprint(a.Fingerprint)
	prev := Inactive
	p, known := r.memGet(a.Fingerprint)
	if known {
		prev = p.State
	}
	if prev != a.State && a.LastEval.IsZero() {
		return fmt.Errorf("put alert %s: state changed from %s to %s with no LastEval", fp, prev, a.State)
	}
	switch {
	case known && maps.Equal(p.Labels, a.Labels):
		a.Labels = p.Labels // the DB's own copy already (an alert's labels hardly change)
	case a.Labels == nil:
		a.Labels = map[string]string{}
	default:
		a.Labels = maps.Clone(a.Labels)
	}
	a.Value = fromNullFloat(toNullFloat(a.Value))
	for _, t := range []*time.Time{&a.ActiveSince, &a.FiredAt, &a.ResolvedAt, &a.LastEval, &a.LastNotified, &a.AckedAt} {
		*t = fromMS(toMS(*t))
	}
	r.pending()[a.Fingerprint] = &a
	return nil
}

// memDelete is Delete on a memory DB.
func (r *Run) memDelete(fp uint64) error {
	if _, err := r.memWrite(); err != nil {
		return err
	}
	r.pending()[fp] = nil
	return nil
}

func (r *Run) pending() map[uint64]*Alert {
	if r.pend == nil {
		r.pend = map[uint64]*Alert{}
	}
	return r.pend
}

// applyPending makes a memory DB run's alert writes the saved state.
func (r *Run) applyPending() {
	for fp, a := range r.pend {
		if a == nil {
			delete(r.d.alerts, fp)
			continue
		}
		r.d.alerts[fp] = *a
	}
	r.pend = nil
}

// memAck is Ack on a memory DB.
func (r *Run) memAck(fp uint64, comment string, at time.Time) (Alert, error) {
	if _, err := r.memWrite(); err != nil {
		return Alert{}, err
	}
	a, ok := r.memGet(fp)
	if !ok {
		return Alert{}, fmt.Errorf("no alert with fingerprint %s", FormatFingerprint(fp))
	}
	if a.State != Firing && a.State != Pending {
		return a, fmt.Errorf("alert %s (%s) is %s: only a pending or firing alert can be acknowledged", FormatFingerprint(fp), a.Rule, a.State)
	}
	a.Acked, a.AckComment, a.AckedAt = true, comment, fromMS(toMS(at))
	r.pending()[fp] = &a
	return a, nil
}
