package replay

import (
	"slices"
	"sort"
	"time"

	"github.com/vigil-metrics/vigil/alert/config"
	"github.com/vigil-metrics/vigil/alert/notify"
	"github.com/vigil-metrics/vigil/alert/state"
	"github.com/vigil-metrics/vigil/internal/metricpath"
)

// runResult is what the summary needs of one run (evaluate's or budget's)
// at one step.
type runResult struct {
	at        time.Time
	items     []*notify.Item
	incidents []state.Incident    // opened or closed by the run (notify.Plan.Incidents)
	held      map[uint64][]string // what the rate limit held (notify.Outcome.Held)
	notices   []Notice            // what the run's delivery handed the channels
}

// collector folds runs into the summaries as they come, so a long replay
// keeps episodes and notices, never every step's items.
type collector struct {
	from, to time.Time
	step     time.Duration
	cfg      *config.Config

	// The episodes and notices are compact records (compact.go) until
	// the summary.
	strs     *interned
	open     map[uint64]int // firing now, by fingerprint: its episode's index
	lastEnd  map[uint64]time.Time
	fpText   map[uint64]string // each alert's fingerprint as text, once
	episodes []episodeRec
	epsOf    map[uint32][]int32 // by fingerprint (interned): its episodes' indices, oldest first
	// notifiedMore are, by episode, the channels told of it past the
	// first 64 strings interned (episodeRec.notified).
	notifiedMore map[int32][]uint32
	rules        map[string]*ruleAcc
	order        []string // rule names: the config's, then the budget rules seen

	incidents map[string]*Incident
	members   map[string]map[string]bool
	memberOf  map[memberKey]bool // the alerts named among members
	lastInc   map[uint64]string  // by fingerprint: the incident it was last named a member of

	notices    []noticeRec
	held       map[string]bool // "fingerprint channel" held now
	heldCount  map[string]int  // by channel
	dedupSeen  map[dedupKey]bool
	dedupCount map[string]int // by channel
}

type memberKey struct {
	incident string
	fp       uint64
}

type ruleAcc struct {
	severity    string
	cooldown    time.Duration
	notices     map[string]int
	pages       int
	first, last time.Time
}

func newCollector(cfg *config.Config, from, to time.Time, step time.Duration) *collector {
	c := &collector{from: from, to: to, step: step, cfg: cfg, strs: newInterned(), open: map[uint64]int{}, lastEnd: map[uint64]time.Time{},
		epsOf: map[uint32][]int32{}, notifiedMore: map[int32][]uint32{}, fpText: map[uint64]string{}, rules: map[string]*ruleAcc{},
		incidents: map[string]*Incident{}, members: map[string]map[string]bool{}, memberOf: map[memberKey]bool{}, lastInc: map[uint64]string{}, held: map[string]bool{},
		heldCount: map[string]int{}, dedupSeen: map[dedupKey]bool{}, dedupCount: map[string]int{}}
	for _, ch := range cfg.Channels {
		c.strs.id(ch.Name) // first: a bit each in episodeRec.notified
	}
	for i := range cfg.Rules {
		c.rule(&cfg.Rules[i])
	}
	return c
}

// rule is r's accumulator, made on first sight.
func (c *collector) rule(r *config.Rule) *ruleAcc {
	a, ok := c.rules[r.Name]
	if !ok {
		a = &ruleAcc{severity: r.Severity, cooldown: r.CooldownPeriod, notices: map[string]int{}}
		c.rules[r.Name] = a
		c.order = append(c.order, r.Name)
	}
	return a
}

// dedupKey is a channel deduplication held back from in an episode.
type dedupKey struct {
	fp      uint64
	firedAt int64
	channel string
}

// add folds one run in: episodes from the items' transitions, incidents
// and their members, then the notices delivered and what the rate limit
// and dedup held back.
func (c *collector) add(r runResult) {
	for _, it := range r.items {
		c.item(r.at, it)
	}
	for _, inc := range r.incidents {
		x, ok := c.incidents[inc.ID]
		if !ok {
			x = &Incident{ID: inc.ID, Correlation: inc.Correlation, GroupValue: inc.GroupValue, Opened: inc.Opened}
			c.incidents[inc.ID] = x
		}
		x.Closed = inc.Closed
	}
	// A page is one alert's firing notification in one run, however many
	// channels carried it.
	paged := map[string]bool{}
	for _, n := range r.notices {
		// Each notice's labels are decoded from its message: the alert's
		// earlier map, when equal, serves instead (a month of notices
		// kept one map each).
		rec := c.strs.notice(n)
		c.notices = append(c.notices, rec)
		if n.Kind == notify.Refresh {
			continue
		}
		delete(c.held, n.Fingerprint+" "+n.Channel)
		a := c.rules[n.Rule]
		if a == nil {
			continue // not a rule of this replay: cannot happen, the state is fresh
		}
		a.notices[n.Channel]++
		if n.Kind != "firing" {
			continue
		}
		if n.Severity == "critical" && !paged[n.Fingerprint] {
			paged[n.Fingerprint] = true
			a.pages++
		}
		if i, ok := c.episodeAt(rec.fp, rec.episode); ok {
			c.notify(i, rec.channel)
		}
	}
	for fp, chans := range r.held {
		for _, ch := range chans {
			k := state.FormatFingerprint(fp) + " " + ch
			if !c.held[k] {
				c.held[k] = true
				c.heldCount[ch]++
			}
		}
	}
}

// item folds one alert's step: an episode starts when it becomes firing
// and ends at the run that leaves firing.
func (c *collector) item(at time.Time, it *notify.Item) {
	a := c.rule(it.Rule)
	fp := it.Alert.Fingerprint
	firing, was := it.Alert.State == state.Firing, it.Prev.State == state.Firing
	if firing {
		if a.first.IsZero() {
			a.first = at
		}
		a.last = at
		// A member is named once (its labels formatted), not at every
		// run it fires in.
		// An alert fires in one incident run after run: the last one it was
		// named in answers without hashing the incident's name.
		if k := (memberKey{it.Alert.Incident, fp}); k.incident != "" && c.lastInc[fp] != k.incident {
			if !c.memberOf[k] {
				m := c.members[k.incident]
				if m == nil {
					m = map[string]bool{}
					c.members[k.incident] = m
				}
				m[memberName(it.Rule.Name, it.Alert.Labels)] = true
				c.memberOf[k] = true
			}
			c.lastInc[fp] = k.incident
		}
	}
	switch {
	case firing && !was:
		text, ok := c.fpText[fp]
		if !ok {
			text = state.FormatFingerprint(fp)
			c.fpText[fp] = text
		}
		end, ok := c.lastEnd[fp]
		i, fpID := len(c.episodes), c.strs.id(text)
		c.episodes = append(c.episodes, episodeRec{rule: c.strs.id(it.Rule.Name), fp: fpID,
			labels: c.strs.labelSet(c.strs.episodeLabels, text, it.Alert.Labels), severity: c.strs.id(it.Rule.Severity),
			start: at.UnixNano(), end: noEnd, firedAt: it.Alert.FiredAt.UnixNano(), flapping: ok && a.cooldown > 0 && at.Sub(end) < a.cooldown})
		c.open[fp] = i
		c.epsOf[fpID] = append(c.epsOf[fpID], int32(i))
	case was && !firing:
		if i, ok := c.open[fp]; ok {
			c.episodes[i].end = at.UnixNano()
			delete(c.open, fp)
		}
		c.lastEnd[fp] = at
	}
	for ch, why := range it.Skipped {
		if why != notify.ByDedup {
			continue
		}
		k := dedupKey{fp, it.Alert.FiredAt.UnixNano(), ch}
		if !c.dedupSeen[k] {
			c.dedupSeen[k] = true
			c.dedupCount[ch]++
		}
	}
}

// steady folds in the steady alerts of a run (alert/run's
// Options.Steady): they still fire, or wait, as at their last run, so the
// rule of a firing one fired at at.
func (c *collector) steady(at time.Time, steady map[uint64]*config.Rule, live map[string]map[uint64]*liveAlert) {
	for fp, r := range steady {
		if la := live[r.Name][fp]; la != nil && la.a.State == state.Firing {
			c.rule(r).last = at
		}
	}
}

// summary is the replay's findings: an episode still firing at To ends
// there.
func (c *collector) summary(r *Replay) {
	for _, i := range c.open {
		c.episodes[i].end, c.episodes[i].open = c.to.UnixNano(), true
	}
	durs := map[string][]time.Duration{}
	flaps := map[string]int{}
	if len(c.episodes) > 0 {
		r.Episodes = make([]Episode, 0, len(c.episodes))
	}
	for i := range c.episodes {
		ep := c.episodeOf(i)
		d := ep.End.Sub(ep.Start)
		durs[ep.Rule] = append(durs[ep.Rule], d)
		if d < 2*c.step || c.episodes[i].flapping {
			flaps[ep.Rule]++
		}
		sort.Strings(ep.Notified)
		r.Episodes = append(r.Episodes, ep)
	}
	c.episodes, c.open, c.epsOf, c.notifiedMore = nil, nil, nil, nil
	sort.SliceStable(r.Episodes, func(i, j int) bool {
		a, b := r.Episodes[i], r.Episodes[j]
		if !a.Start.Equal(b.Start) {
			return a.Start.Before(b.Start)
		}
		if a.Rule != b.Rule {
			return a.Rule < b.Rule
		}
		return a.Fingerprint < b.Fingerprint
	})
	weeks := c.to.Sub(c.from).Hours() / (7 * 24)
	for _, name := range c.order {
		a := c.rules[name]
		if !c.inConfig(name) && len(durs[name]) == 0 && total(a.notices) == 0 {
			continue // a budget rule that never fired
		}
		s := RuleSummary{Rule: name, Severity: a.severity, Episodes: len(durs[name]), Flapping: flaps[name],
			Notices: a.notices, Pages: a.pages, FirstFiring: a.first, LastFiring: a.last}
		s.FiringSeconds, s.MedianEpisodeSeconds, s.LongestEpisodeSeconds = episodeStats(durs[name])
		if weeks > 0 {
			s.PagesPerWeek = float64(a.pages) / weeks
		}
		r.Rules = append(r.Rules, s)
	}
	sort.SliceStable(r.Rules, func(i, j int) bool {
		a, b := r.Rules[i], r.Rules[j]
		if na, nb := total(a.Notices), total(b.Notices); na != nb {
			return na > nb
		}
		if a.FiringSeconds != b.FiringSeconds {
			return a.FiringSeconds > b.FiringSeconds
		}
		return a.Rule < b.Rule
	})
	sent := map[string]int{}
	if len(c.notices) > 0 {
		r.Notices = make([]Notice, 0, len(c.notices))
	}
	for i := range c.notices {
		n := c.strs.noticeOf(&c.notices[i])
		if n.Kind != notify.Refresh {
			sent[n.Channel]++
		}
		r.Notices = append(r.Notices, n)
	}
	c.notices = nil
	for _, ch := range c.cfg.Channels {
		r.Channels = append(r.Channels, ChannelSummary{Channel: ch.Name, Type: ch.Type, Notices: sent[ch.Name],
			RateLimited: c.heldCount[ch.Name], Deduplicated: c.dedupCount[ch.Name]})
	}
	for id, inc := range c.incidents {
		for m := range c.members[id] {
			inc.Members = append(inc.Members, m)
		}
		sort.Strings(inc.Members)
		r.Incidents = append(r.Incidents, *inc)
	}
	sort.Slice(r.Incidents, func(i, j int) bool {
		a, b := r.Incidents[i], r.Incidents[j]
		if !a.Opened.Equal(b.Opened) {
			return a.Opened.Before(b.Opened)
		}
		return a.ID < b.ID
	})
}

// episodeAt is the index of fp's episode that fired at firedAt (unix
// nanoseconds): notices are of the alert's latest episodes, so the search
// goes back from its last and stops at the first fired before.
func (c *collector) episodeAt(fp uint32, firedAt int64) (int32, bool) {
	eps := c.epsOf[fp]
	for j := len(eps) - 1; j >= 0; j-- {
		switch at := c.episodes[eps[j]].firedAt; {
		case at == firedAt:
			return eps[j], true
		case at < firedAt:
			return 0, false
		}
	}
	return 0, false
}

func (c *collector) inConfig(rule string) bool {
	return slices.ContainsFunc(c.cfg.Rules, func(r config.Rule) bool { return r.Name == rule })
}

// episodeStats are the total, median (the mean of the middle two for an
// even count) and longest of ds, in seconds.
func episodeStats(ds []time.Duration) (total, median, longest float64) {
	if len(ds) == 0 {
		return 0, 0, 0
	}
	s := slices.Clone(ds)
	slices.Sort(s)
	for _, d := range s {
		total += d.Seconds()
	}
	n := len(s)
	median = s[n/2].Seconds()
	if n%2 == 0 {
		median = (s[n/2-1].Seconds() + s[n/2].Seconds()) / 2
	}
	return total, median, s[n-1].Seconds()
}

func total(m map[string]int) int {
	n := 0
	for _, v := range m {
		n += v
	}
	return n
}

// memberName is how an incident lists an alert.
func memberName(rule string, labels map[string]string) string {
	return rule + metricpath.FormatLabels(labels)
}
