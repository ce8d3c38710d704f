package replay

import (
	"maps"
	"math"
	"slices"
	"time"
)

// A month's replay of a flappy fleet keeps most of a million episodes
// and notices until its summary. Held as Episode and Notice values (with
// a map to find an episode by its start) they were most of the replay's
// memory while it stepped, next to the pipeline's outbox; held here as
// compact records, with every string interned, they take a third of it,
// and become the Replay's values at the summary, after the pipeline's
// state is dropped (Run).

// interned are the strings of the records, each once.
type interned struct {
	idx  map[string]uint32
	strs []string
	// labels are the label sets of the records: a new one only when an
	// alert's labels change (a month of one alert's notices kept one map).
	labels []map[string]string
	// By fingerprint text, the last label set of its notices and of its
	// episodes (the alert's own labels, which the notices' may not be).
	noticeLabels, episodeLabels map[string]uint32
}

func newInterned() *interned {
	return &interned{idx: map[string]uint32{}, noticeLabels: map[string]uint32{}, episodeLabels: map[string]uint32{}}
}

func (s *interned) id(x string) uint32 {
	i, ok := s.idx[x]
	if !ok {
		i = uint32(len(s.strs))
		s.idx[x] = i
		s.strs = append(s.strs, x)
	}
	return i
}

// labelSet is the index of fp's labels l: its last set in of when equal.
func (s *interned) labelSet(of map[string]uint32, fp string, l map[string]string) uint32 {
	if i, ok := of[fp]; ok && maps.Equal(s.labels[i], l) {
		return i
	}
	i := uint32(len(s.labels))
	s.labels = append(s.labels, l)
	of[fp] = i
	return i
}

// noticeRec is a Notice, its strings interned.
type noticeRec struct {
	at                                         time.Time
	episode                                    int64 // unix nanoseconds
	step                                       int32
	channel, rule, fp, severity, state, policy uint32
	kind, incident, labels                     uint32
}

func (s *interned) notice(n Notice) noticeRec {
	return noticeRec{at: n.At, episode: n.episode.UnixNano(), step: int32(n.Step), channel: s.id(n.Channel), rule: s.id(n.Rule),
		fp: s.id(n.Fingerprint), severity: s.id(n.Severity), state: s.id(n.State), policy: s.id(n.EscalationPolicy),
		kind: s.id(n.Kind), incident: s.id(n.Incident), labels: s.labelSet(s.noticeLabels, n.Fingerprint, n.Labels)}
}

func (s *interned) noticeOf(r *noticeRec) Notice {
	return Notice{At: r.at, Channel: s.strs[r.channel], Rule: s.strs[r.rule], Fingerprint: s.strs[r.fp], Labels: s.labels[r.labels],
		Severity: s.strs[r.severity], State: s.strs[r.state], Step: int(r.step), EscalationPolicy: s.strs[r.policy],
		Kind: s.strs[r.kind], Incident: s.strs[r.incident], episode: time.Unix(0, r.episode)}
}

// episodeRec is an Episode, its strings interned and its times unix
// nanoseconds (every episode's are steps of the replay, in From's
// location); its channels told are a bit each (the first 64 strings
// interned, which are the config's channels: newCollector interns them
// first), past those in the collector's notifiedMore.
type episodeRec struct {
	start, end                 int64 // end: noEnd until the run that resolves it
	firedAt                    int64 // the alert's fired_at: notices name their episode by it
	rule, fp, labels, severity uint32
	notified                   uint64
	open, flapping             bool
}

// noEnd is an episode's end before it has one (the zero time, as an
// Episode's End was before the summary).
const noEnd = math.MinInt64

func timeAt(ns int64, loc *time.Location) time.Time {
	if ns == noEnd {
		return time.Time{}
	}
	return time.Unix(0, ns).In(loc)
}

// notify records that channel was told of episode i.
func (c *collector) notify(i int32, channel uint32) {
	if channel < 64 {
		c.episodes[i].notified |= 1 << channel
		return
	}
	if !slices.Contains(c.notifiedMore[i], channel) {
		c.notifiedMore[i] = append(c.notifiedMore[i], channel)
	}
}

// episodeOf is episode i as the Replay has it.
func (c *collector) episodeOf(i int) Episode {
	e, s, loc := &c.episodes[i], c.strs, c.from.Location()
	ep := Episode{Rule: s.strs[e.rule], Fingerprint: s.strs[e.fp], Labels: s.labels[e.labels], Severity: s.strs[e.severity],
		Start: timeAt(e.start, loc), End: timeAt(e.end, loc), Open: e.open}
	for b := range uint32(64) {
		if e.notified&(1<<b) != 0 {
			ep.Notified = append(ep.Notified, s.strs[b])
		}
	}
	for _, ch := range c.notifiedMore[int32(i)] {
		ep.Notified = append(ep.Notified, s.strs[ch])
	}
	return ep
}
