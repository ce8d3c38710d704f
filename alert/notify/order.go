package notify

import (
	"fmt"
	"time"

	"github.com/vigil-metrics/vigil/alert/state"
)

// pair is one alert and one channel: the unit whose notices must arrive
// in order.
type pair struct {
	fp      uint64
	channel string
}

// current splits queued notices, oldest first, into those still to send
// and those superseded, with the notice that superseded each (by index
// into superseded): for each alert and channel only the latest queued
// notice is sent. An older one (a firing notice waiting out its backoff
// when the alert resolved, one the rate limit held back, a reminder
// overtaken by the next) would tell the receiver something no longer
// true, and sent after the newer one it would become the receiver's last
// word. With one live notice per alert and channel, no retry, backoff or
// rate limit can put two of them out of order. Order, not ID, says which
// is newer: a dry run's notices are not recorded yet.
func current(queued []state.Notice) (live, superseded, by []state.Notice) {
	latest := map[pair]int{}
	for i, n := range queued {
		latest[pair{n.Fingerprint, n.Channel}] = i
	}
	for i, n := range queued {
		if l := latest[pair{n.Fingerprint, n.Channel}]; l != i {
			superseded = append(superseded, n)
			by = append(by, queued[l])
			continue
		}
		live = append(live, n)
	}
	return live, superseded, by
}

// supersede marks the queued notices that a later one replaced
// superseded (with a history row saying by what) and returns the rest.
func supersede(w Writer, queued []state.Notice, at time.Time) ([]state.Notice, error) {
	live, old, by := current(queued)
	for i, n := range old {
		l := by[i]
		why := fmt.Sprintf("by the %s notice of %s", l.Kind, l.Created.UTC().Format(time.RFC3339))
		if err := w.SetStatus(n.ID, state.Superseded, n.Tries, why, at); err != nil {
			return nil, err
		}
		if err := w.AddAttempt(state.Attempt{Notice: n.ID, Fingerprint: n.Fingerprint, Rule: n.Rule, Channel: n.Channel,
			At: at, Result: state.Superseded, Error: why}); err != nil {
			return nil, err
		}
	}
	if len(old) > 0 {
		if err := w.Save(); err != nil {
			return nil, err
		}
	}
	return live, nil
}
