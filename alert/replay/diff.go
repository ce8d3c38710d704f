package replay

import (
	"slices"
	"sort"
	"strings"
	"time"
)

// Comparison is the same history replayed under two configs (A: --config,
// B: --against), side by side: what each sends, and the episodes one
// notifies and the other misses. It is computed from the two Replays
// alone, so it compares whatever they hold.
type Comparison struct {
	// Rules are every rule of either replay, by name.
	Rules []RuleDiff
	// Channels are every channel of either replay: A's in A's order, then
	// those only B has in B's order.
	Channels []ChannelDiff
	// Missed are the episodes one config notifies and the other does not,
	// by start, then rule, fingerprint and side.
	Missed []Missed
	// PagesA and PagesB are each replay's pages (the sum over its rules).
	PagesA, PagesB int
}

// RuleDiff is one rule's noise in each config.
type RuleDiff struct {
	Rule string
	// InA and InB: the rule is in that replay's rules (a rule only in
	// one config has zero counts in the other).
	InA, InB             bool
	EpisodesA, EpisodesB int
	// NoticesA and NoticesB are notices per channel name (never nil).
	NoticesA, NoticesB map[string]int
	PagesA, PagesB     int
}

// ChannelDiff is one channel's notices and pages in each config. A page
// here is a firing notice of a critical alert on that channel (the rule
// level counts one page per alert per run, however many channels).
type ChannelDiff struct {
	Channel            string
	NoticesA, NoticesB int
	PagesA, PagesB     int
}

// Missed is an episode notified under one config (NotifiedBy) and not under
// the other.
type Missed struct {
	// Episode is the episode as the notifying config saw it.
	Episode Episode
	// NotifiedBy is 0 when A (--config) notifies it and B misses it, 1
	// the other way round.
	NotifiedBy int
	// Why the other config misses it: WhyNoRule, WhyNoEpisode or
	// WhyNotNotified.
	Why string
}

// Reasons an episode is missed by the other config.
const (
	// WhyNoRule: the other config has no rule of that name.
	WhyNoRule = "rule not in config"
	// WhyNoEpisode: the other config's rule never fired for that alert
	// during the episode (a tighter threshold, a longer for: ...).
	WhyNoEpisode = "no episode"
	// WhyNotNotified: it fired, but no channel was told (silenced,
	// filtered out, no channel).
	WhyNotNotified = "not notified"
)

// Diff compares two replays of the same history. Episodes match by rule
// name and fingerprint with overlapping [Start, End] (closed, so an
// episode ending at the run another starts in overlaps it); an episode
// with no channel notified counts as not notified. Only episodes the one
// config notifies are listed: one that neither notifies is missed by
// both alike.
func Diff(a, b *Replay) *Comparison {
	c := &Comparison{PagesA: totalPages(a), PagesB: totalPages(b)}
	c.Rules = ruleDiffs(a, b)
	c.Channels = channelDiffs(a, b)
	c.Missed = append(missed(a, b, 0), missed(b, a, 1)...)
	sort.SliceStable(c.Missed, func(i, j int) bool {
		x, y := c.Missed[i], c.Missed[j]
		if !x.Episode.Start.Equal(y.Episode.Start) {
			return x.Episode.Start.Before(y.Episode.Start)
		}
		if x.Episode.Rule != y.Episode.Rule {
			return x.Episode.Rule < y.Episode.Rule
		}
		if x.Episode.Fingerprint != y.Episode.Fingerprint {
			return x.Episode.Fingerprint < y.Episode.Fingerprint
		}
		return x.NotifiedBy < y.NotifiedBy
	})
	return c
}

func totalPages(r *Replay) int {
	n := 0
	for _, s := range r.Rules {
		n += s.Pages
	}
	return n
}

func ruleDiffs(a, b *Replay) []RuleDiff {
	by := map[string]*RuleDiff{}
	get := func(name string) *RuleDiff {
		d := by[name]
		if d == nil {
			d = &RuleDiff{Rule: name, NoticesA: map[string]int{}, NoticesB: map[string]int{}}
			by[name] = d
		}
		return d
	}
	for _, s := range a.Rules {
		d := get(s.Rule)
		d.InA, d.EpisodesA, d.PagesA = true, s.Episodes, s.Pages
		for ch, n := range s.Notices {
			d.NoticesA[ch] = n
		}
	}
	for _, s := range b.Rules {
		d := get(s.Rule)
		d.InB, d.EpisodesB, d.PagesB = true, s.Episodes, s.Pages
		for ch, n := range s.Notices {
			d.NoticesB[ch] = n
		}
	}
	out := make([]RuleDiff, 0, len(by))
	for _, d := range by {
		out = append(out, *d)
	}
	slices.SortFunc(out, func(x, y RuleDiff) int { return strings.Compare(x.Rule, y.Rule) })
	return out
}

func channelDiffs(a, b *Replay) []ChannelDiff {
	var out []ChannelDiff
	at := map[string]int{}
	add := func(name string) *ChannelDiff {
		if i, ok := at[name]; ok {
			return &out[i]
		}
		at[name] = len(out)
		out = append(out, ChannelDiff{Channel: name})
		return &out[len(out)-1]
	}
	for _, c := range a.Channels {
		add(c.Channel).NoticesA = c.Notices
	}
	for _, c := range b.Channels {
		add(c.Channel).NoticesB = c.Notices
	}
	for side, r := range []*Replay{a, b} {
		for _, n := range r.Notices {
			// A page is a firing notification: an Alertmanager channel's
			// refreshes (kind refresh, state firing) are not.
			if n.Kind != "firing" || n.Severity != "critical" {
				continue
			}
			d := add(n.Channel)
			if side == 0 {
				d.PagesA++
			} else {
				d.PagesB++
			}
		}
	}
	return out
}

// missed lists x's notified episodes that y does not notify; side is x's.
func missed(x, y *Replay, side int) []Missed {
	rules := map[string]bool{}
	for _, s := range y.Rules {
		rules[s.Rule] = true
	}
	type key struct{ rule, fp string }
	other := map[key][]Episode{}
	for _, e := range y.Episodes {
		k := key{e.Rule, e.Fingerprint}
		other[k] = append(other[k], e)
	}
	var out []Missed
	for _, e := range x.Episodes {
		if len(e.Notified) == 0 {
			continue
		}
		why := ""
		switch {
		case !rules[e.Rule]:
			why = WhyNoRule
		default:
			why = WhyNoEpisode
			for _, o := range other[key{e.Rule, e.Fingerprint}] {
				if !overlap(e.Start, e.End, o.Start, o.End) {
					continue
				}
				if len(o.Notified) > 0 {
					why = ""
					break
				}
				why = WhyNotNotified
			}
		}
		if why != "" {
			out = append(out, Missed{Episode: e, NotifiedBy: side, Why: why})
		}
	}
	return out
}

// overlap reports whether the closed intervals [s1, e1] and [s2, e2] meet.
func overlap(s1, e1, s2, e2 time.Time) bool {
	return !s1.After(e2) && !s2.After(e1)
}
