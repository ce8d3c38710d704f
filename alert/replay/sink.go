package replay

import (
	"context"
	"sort"
	"sync"

	"github.com/vigil-metrics/vigil/alert/config"
	"github.com/vigil-metrics/vigil/alert/notify"
)

// recorder is where the sinks of one replay write: every notification a
// run's delivery hands to a channel, instead of sending it. Delivery runs
// the channels in parallel goroutines (notify.sendAll), so it takes a
// mutex and tags each notification with its channel's index in the
// config and a sequence number: sorting by both gives a timeline that
// does not depend on which goroutine ran first, and keeps each channel's
// own order.
type recorder struct {
	mu   sync.Mutex
	seq  int
	recs []record
}

type record struct {
	channel, seq int
	n            notify.Notification
}

// sink is one channel's notifier in a replay: it records and always
// succeeds, so delivery never retries and never waits.
type sink struct {
	r   *recorder
	idx int
}

// Notify records n.
func (s sink) Notify(_ context.Context, n notify.Notification) (bool, error) {
	s.r.mu.Lock()
	defer s.r.mu.Unlock()
	s.r.recs = append(s.r.recs, record{channel: s.idx, seq: s.r.seq, n: n})
	s.r.seq++
	return false, nil
}

// sinks are the notifiers of every channel of cfg, whatever the
// environment: replay answers what would have been sent, not what the
// current environment could send (a channel missing its secret is still
// told).
func (r *recorder) sinks(cfg *config.Config) map[string]notify.Notifier {
	out := make(map[string]notify.Notifier, len(cfg.Channels))
	for i, c := range cfg.Channels {
		out[c.Name] = sink{r: r, idx: i}
	}
	return out
}

// drain returns what was recorded since the last drain, in the config's
// channel order then each channel's order, as one Notice per alert per
// notification.
func (r *recorder) drain() []Notice {
	r.mu.Lock()
	recs := r.recs
	r.recs = nil
	r.mu.Unlock()
	sort.SliceStable(recs, func(i, j int) bool {
		if recs[i].channel != recs[j].channel {
			return recs[i].channel < recs[j].channel
		}
		return recs[i].seq < recs[j].seq
	})
	var out []Notice
	for _, x := range recs {
		out = append(out, notices(x.n)...)
	}
	return out
}

// notices are n's alerts as timeline entries.
func notices(n notify.Notification) []Notice {
	kind := n.Kind
	if n.Refresh {
		kind = notify.Refresh
	}
	out := make([]Notice, 0, len(n.Alerts))
	for _, a := range n.Alerts {
		out = append(out, Notice{At: n.At, Channel: n.Channel.Name, Rule: a.Rule, Fingerprint: a.Fingerprint,
			Labels: a.Labels, Severity: a.Severity, State: a.State, Step: max(a.EscalationStep, 0), EscalationPolicy: a.EscalationPolicy, Kind: kind,
			Incident: a.Incident, episode: a.StartsAt})
	}
	return out
}
