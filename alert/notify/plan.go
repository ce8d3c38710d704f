package notify

import (
	"encoding/json"
	"fmt"
	"path"
	"slices"
	"sort"
	"time"

	"github.com/vigil-metrics/vigil/alert/config"
	"github.com/vigil-metrics/vigil/alert/route"
	"github.com/vigil-metrics/vigil/alert/state"
)

// DedupWindow is how long an alert's firing notice to a channel
// suppresses a repeat to that channel (the same alert, still firing as far
// as the receiver knows) when settings.enable_deduplication is on: the
// reference design's hour. A channel told "resolved" since is owed the
// next "firing" at once (see dedup).
const DedupWindow = time.Hour

// Refresh is the notice kind of a firing alert re-sent to an Alertmanager
// channel (see refresh).
const Refresh = "refresh"

// Suppression reasons, as evaluate's JSON names them (suppressed_by).
const (
	ByCooldown  = "cooldown"
	ByDedup     = "dedup"
	BySilence   = "silence"
	ByRateLimit = "rate_limit"
	ByAck       = "ack"
)

// Item is one evaluated alert of a run: its rule, its state before the
// run's Step and after. Plan updates Alert's notification bookkeeping
// (LastNotified, NotifyCount, Incident, escalation progress) and fills in
// the outcome fields.
type Item struct {
	Rule  *config.Rule
	Prev  state.Alert
	Alert state.Alert

	// SuppressedBy says why the alert, owed or due a notification, got
	// none this run ("" when nothing was suppressed).
	SuppressedBy string
	// Queued are the channels Plan recorded a notice for.
	Queued []string
	// Skipped are the channels a notification was held back from this
	// run, with the reason (ByDedup), where SuppressedBy cannot say it:
	// it names one reason per item and is cleared when any channel was
	// told. Replay counts what dedup held back per channel from it.
	Skipped map[string]string
	// InhibitedBy names the firing alert whose inhibit rule held this
	// one's notification back (SuppressedBy ByInhibit): "rule{labels}".
	InhibitedBy string
	// Facts, when set, is what the alert's notices say instead of the
	// rule's threshold (SLO alerts: BudgetBuild's).
	Facts *Facts
}

// skip records that channel got no notification because of why.
func (it *Item) skip(channel, why string) {
	if it.Skipped == nil {
		it.Skipped = map[string]string{}
	}
	it.Skipped[channel] = why
}

// Reader is the state Plan consults; *state.Run is one.
type Reader interface {
	EpisodeChannels(fp uint64, episode time.Time) ([]string, error)
	// LastWord is the kind and creation time of the latest notice about
	// fp that channel heard or will hear ("" when none).
	LastWord(fp uint64, channel string) (kind string, created time.Time, err error)
	// IncidentChannels are the channels told of the incident (a firing
	// notice about one of its members).
	IncidentChannels(incident string) ([]string, error)
	OpenIncident(corr, groupValue string) (state.Incident, bool, error)
	// Pending reports a notice to channel about fp still queued or sending.
	Pending(fp uint64, channel string) (bool, error)
	Incidents() ([]state.Incident, error)
}

// Plan is what a run decided: the notices to record and the incidents
// opened or closed.
type Plan struct {
	Notices   []state.Notice
	Incidents []state.Incident
}

type planner struct {
	cfg      *config.Config
	at       time.Time
	r        Reader
	channels map[string]config.Channel
	opened   map[string]*state.Incident // by correlation rule and group value, this run
	plan     Plan
	err      error // a state read that failed where returning it was awkward
	inhibit  *inhibitor
	ackState string // DecideOptions.AckState
	// members are the alerts of each incident, this run's items and the
	// other sources' firing alerts (see incidentLive).
	members map[string][]member
}

// member is an alert of an incident as incidentLive sees it: an item of
// this run (whose notification fields change as the run goes), or
// another source's firing alert (it nil) told of or not.
type member struct {
	it   *Item
	fp   uint64
	told bool
}

// DecideOptions are what Decide consults beyond the config and this run's
// items.
type DecideOptions struct {
	// Inhibit are the inhibit rules in force: the config's, and the
	// caller's defaults (alert/run's for the SLO alerts).
	Inhibit []config.InhibitRule
	// Firing are the alerts firing that this run did not step (another
	// source's), which may inhibit this run's, and keep their incident
	// told (see incidentLive).
	Firing []Firing
	// AckState is the state DB that the notices' ack command names with
	// --state (AckCommandState); "" for the default, which it leaves out.
	AckState string
}

// Decide plans the notifications of one run at at over items (sorted by
// the caller, for stable incident leaders and notice order), with the
// config's inhibit rules over items alone.
func Decide(r Reader, cfg *config.Config, at time.Time, items []*Item) (Plan, error) {
	return DecideWith(r, cfg, at, items, DecideOptions{Inhibit: cfg.InhibitRules})
}

// DecideWith is Decide with o's inhibit rules and other firing alerts.
func DecideWith(r Reader, cfg *config.Config, at time.Time, items []*Item, o DecideOptions) (Plan, error) {
	p := &planner{cfg: cfg, at: at, r: r, channels: map[string]config.Channel{}, opened: map[string]*state.Incident{},
		inhibit: newInhibitor(o.Inhibit, items, o.Firing), ackState: o.AckState, members: map[string][]member{}}
	for _, c := range cfg.Channels {
		p.channels[c.Name] = c
	}
	for _, it := range items {
		if it.Alert.Incident != "" {
			p.addMember(it)
		}
	}
	for _, f := range o.Firing {
		if f.Incident != "" {
			p.members[f.Incident] = append(p.members[f.Incident], member{fp: f.Fingerprint, told: f.Told})
		}
	}
	for _, it := range items {
		if err := p.item(it); err != nil {
			return Plan{}, err
		}
	}
	if err := p.closeIncidents(items); err != nil {
		return Plan{}, err
	}
	if p.err != nil {
		return Plan{}, p.err
	}
	return p.plan, nil
}

// addMember records it as a member of its incident.
func (p *planner) addMember(it *Item) {
	p.members[it.Alert.Incident] = append(p.members[it.Alert.Incident], member{it: it, fp: it.Alert.Fingerprint})
}

// incidentLive says whether a member of it's incident other than it
// still fires and was told in its episode: only then do the channels
// told of the incident still believe it fires, so that it's own first
// notice would repeat what they know. Once every told member resolved
// (their receivers were told "resolved"), a member never told, held by
// an inhibition or a silence until now, is news to them (h30 D27).
func (p *planner) incidentLive(it *Item) bool {
	for _, m := range p.members[it.Alert.Incident] {
		if m.fp == it.Alert.Fingerprint {
			continue
		}
		if m.it == nil {
			if m.told {
				return true
			}
			continue
		}
		if a := &m.it.Alert; firingNow(m.it) && !a.LastNotified.IsZero() && !a.LastNotified.Before(a.FiredAt) {
			return true
		}
	}
	return false
}

func (p *planner) item(it *Item) error {
	a := &it.Alert
	labels := route.Labels(it.Rule, a.Labels)
	silenced := p.silenced(labels)
	st := a.State
	if st == state.NoData && it.Rule.NoData == state.NoDataAlert {
		st = state.Firing // losing data is this rule's alert: notified like a firing one
	}
	// A firing alert that lost its data (nodata: ok) ended its episode:
	// Prometheus resolves an alert whose series vanished, and so do the
	// receivers told it fired.
	lost := st == state.NoData && it.Prev.State == state.Firing
	// Held back by inhibition is this run's verdict, stored with the
	// alert for vigil alerts list: a run that does not hold it clears it.
	a.InhibitedBy = ""
	switch {
	case st == state.Firing:
		if p.cfg.Settings.EnableCorrelation && a.Incident == "" {
			if err := p.correlate(a, labels); err != nil {
				return err
			}
			if a.Incident != "" {
				p.addMember(it)
			}
		}
		// Before silences, as in Alertmanager. Held, not lost: the alert
		// was not told of, so a later run that finds it no longer
		// inhibited sends its first notice then. Alertmanager channels
		// still hear of it (refresh): inhibiting there is theirs.
		if by := p.inhibit.by(a.Fingerprint, labels); by != "" {
			it.SuppressedBy, it.InhibitedBy, a.InhibitedBy = ByInhibit, by, by
			p.refresh(it, labels, nil)
			return nil
		}
		if silenced {
			it.SuppressedBy = BySilence
			return nil
		}
		sent, err := p.firing(it, labels)
		if err != nil {
			return err
		}
		p.refresh(it, labels, sent)
	case st == state.Resolved || lost:
		if silenced {
			it.SuppressedBy = BySilence
			return nil
		}
		return p.resolved(it)
	}
	return nil
}

// resolved tells the channels told that the alert fired in this episode,
// those that want resolutions, that it no longer does.
func (p *planner) resolved(it *Item) error {
	a := &it.Alert
	names, err := p.r.EpisodeChannels(a.Fingerprint, a.FiredAt)
	if err != nil {
		return err
	}
	chans := map[string]int{}
	for _, n := range names {
		if c, ok := p.channels[n]; ok && c.SendResolved {
			chans[n] = -1
		}
	}
	p.enqueue(it, "resolved", chans)
	return nil
}

// cooldown says whether a new episode's first notification must wait
// because the alert was notified less than its cooldown_period ago (it
// flapped): the user's own damper, which deduplication is not.
func (p *planner) cooldown(it *Item) bool {
	last := it.Alert.LastNotified
	return !last.IsZero() && it.Rule.CooldownPeriod > 0 && p.at.Sub(last) < it.Rule.CooldownPeriod
}

func (p *planner) route(chans map[string]int, labels map[string]string) {
	for _, c := range route.Channels(p.cfg.Channels, labels) {
		if _, ok := chans[c.Name]; !ok {
			chans[c.Name] = -1
		}
	}
}

// escalate runs the steps of the alert's escalation policy whose delay has
// passed since it fired and that have not run yet in this episode.
func (p *planner) escalate(a *state.Alert, labels map[string]string, chans map[string]int) {
	var pol *config.EscalationPolicy
	for i := range p.cfg.Escalation {
		if route.Matches(p.cfg.Escalation[i].Triggers, labels) {
			pol = &p.cfg.Escalation[i]
			break
		}
	}
	if pol == nil {
		return
	}
	if a.EscPolicy != pol.Name { // first step, or the config changed
		a.EscPolicy, a.EscSteps = pol.Name, 0
	}
	for a.EscSteps < len(pol.Steps) && p.at.Sub(a.FiredAt) >= pol.Steps[a.EscSteps].Delay {
		for _, n := range pol.Steps[a.EscSteps].Resolved {
			if c, ok := p.channels[n]; ok && c.Enabled {
				chans[n] = a.EscSteps
			}
		}
		a.EscSteps++
	}
}

// recipients are the recipients of the policy steps that chose channel at
// step.
func (p *planner) recipients(a *state.Alert, step int) []string {
	for _, pol := range p.cfg.Escalation {
		if pol.Name == a.EscPolicy && step >= 0 && step < len(pol.Steps) {
			return pol.Steps[step].Recipients
		}
	}
	return nil
}

func (p *planner) enqueue(it *Item, kind string, chans map[string]int) {
	if len(chans) == 0 {
		return
	}
	a := &it.Alert
	for _, c := range p.cfg.Channels { // in the config's order
		step, ok := chans[c.Name]
		if !ok {
			continue
		}
		body, _ := json.Marshal(snapshot(it, step, p.ackState)) // plain data: cannot fail
		n := state.Notice{Fingerprint: a.Fingerprint, Rule: it.Rule.Name, Channel: c.Name, Kind: kind, Step: step,
			Incident: a.Incident, Episode: a.FiredAt, Alert: body, Created: p.at}
		if c.Type == "email" {
			n.Recipients = p.recipients(a, step)
		}
		p.plan.Notices = append(p.plan.Notices, n)
		it.Queued = append(it.Queued, c.Name)
	}
	if kind == "firing" {
		a.LastNotified = p.at
		a.NotifyCount++
	}
}

func (p *planner) silenced(labels map[string]string) bool {
	for _, s := range p.cfg.Silences {
		if !s.StartsAt.IsZero() && p.at.Before(s.StartsAt) || !s.EndsAt.IsZero() && !p.at.Before(s.EndsAt) {
			continue
		}
		match := true
		for k, v := range s.Matchers {
			if labels[k] != v {
				match = false
				break
			}
		}
		if match {
			return true
		}
	}
	return false
}

// correlate puts a firing alert in an incident: the open incident of the
// first correlation rule it matches (its name matches a pattern, its
// labels the label matchers, and it has the group key label), if that
// incident opened within the rule's time window; otherwise a new one.
// Which channels then hear of the newcomer is firing's business: those
// not told of the incident yet.
func (p *planner) correlate(a *state.Alert, labels map[string]string) error {
	for _, cr := range p.cfg.CorrelationRules {
		gv, ok := labels[cr.GroupKey]
		if !ok || !matchesCorrelation(cr, labels) {
			continue
		}
		key := cr.Name + "\xff" + gv
		if inc, ok := p.opened[key]; ok {
			a.Incident = inc.ID
			return nil
		}
		inc, ok, err := p.r.OpenIncident(cr.Name, gv)
		if err != nil {
			return err
		}
		if ok && p.at.Sub(inc.Opened) <= cr.TimeWindow {
			a.Incident = inc.ID
			return nil
		}
		inc = state.Incident{ID: fmt.Sprintf("%s/%s/%s", cr.Name, gv, p.at.UTC().Format(time.RFC3339)),
			Correlation: cr.Name, GroupValue: gv, Opened: p.at}
		p.opened[key] = &inc
		p.plan.Incidents = append(p.plan.Incidents, inc)
		a.Incident = inc.ID
		return nil
	}
	return nil
}

func matchesCorrelation(cr config.CorrelationRule, labels map[string]string) bool {
	if len(cr.AlertPatterns) > 0 {
		ok := false
		for _, pat := range cr.AlertPatterns {
			if m, _ := path.Match(pat, labels["alertname"]); m {
				ok = true
				break
			}
		}
		if !ok {
			return false
		}
	}
	for k, v := range cr.LabelMatchers {
		if labels[k] != v {
			return false
		}
	}
	return true
}

// closeIncidents closes the open incidents none of whose members fires
// any more.
func (p *planner) closeIncidents(items []*Item) error {
	open, err := p.r.Incidents()
	if err != nil {
		return err
	}
	firing := map[string]bool{}
	for _, it := range items {
		if it.Alert.State == state.Firing && it.Alert.Incident != "" {
			firing[it.Alert.Incident] = true
		}
	}
	for _, inc := range open {
		if !firing[inc.ID] {
			inc.Closed = p.at
			p.plan.Incidents = append(p.plan.Incidents, inc)
		}
	}
	sort.SliceStable(p.plan.Incidents, func(i, j int) bool { return p.plan.Incidents[i].Opened.Before(p.plan.Incidents[j].Opened) })
	return nil
}

// firing decides the notices of a firing alert that no silence mutes and
// returns the channels it queued.
func (p *planner) firing(it *Item, labels map[string]string) (map[string]int, error) {
	a := &it.Alert
	if a.Acked {
		it.SuppressedBy = ByAck
		return nil, nil
	}
	chans := map[string]int{} // channel -> escalation step, -1 none
	told := !a.LastNotified.IsZero() && !a.LastNotified.Before(a.FiredAt)
	switch {
	case !told:
		if p.cooldown(it) {
			it.SuppressedBy = ByCooldown
			return nil, nil
		}
		if err := p.first(it, labels, chans); err != nil {
			return nil, err
		}
		if it.SuppressedBy != "" && len(chans) == 0 {
			return nil, nil // still owed: no escalation before a first notice
		}
	case it.Rule.CooldownPeriod <= 0:
		// No cooldown: told once per episode, then only escalation.
	case p.at.Sub(a.LastNotified) < it.Rule.CooldownPeriod:
		it.SuppressedBy = ByCooldown
	case p.cfg.Settings.EnableDeduplication && p.at.Sub(a.LastNotified) < DedupWindow:
		it.SuppressedBy = ByDedup
		for _, c := range route.Channels(p.cfg.Channels, labels) {
			it.skip(c.Name, ByDedup)
		}
	default:
		p.route(chans, labels) // a reminder: still firing after the cooldown
	}
	// An escalation step overrides the channels' filters: the policy's
	// triggers are the step's filter, as each route of Alertmanager's tree
	// decides for its receivers (a pager may hear only from escalation).
	p.escalate(a, labels, chans)
	if len(chans) > 0 {
		it.SuppressedBy = "" // notified after all (some channels, or a step)
		for c := range chans {
			delete(it.Skipped, c) // an escalation step told it after all
		}
	}
	p.enqueue(it, "firing", chans)
	return chans, nil
}

// first adds the channels owed an episode's first notice: those whose
// filters match, but for a channel that already believes the alert fires
// (dedup) and, for a member of an incident, a channel told of the
// incident (it was the notification). A channel left out for those
// reasons stays so while the episode lasts (or, for the incident, while
// a member told of still fires: incidentLive); SuppressedBy names the
// reason when any was left out.
func (p *planner) first(it *Item, labels map[string]string, chans map[string]int) error {
	a := &it.Alert
	var incident []string
	if a.Incident != "" && p.incidentLive(it) {
		var err error
		if incident, err = p.r.IncidentChannels(a.Incident); err != nil {
			return err
		}
	}
	for _, c := range route.Channels(p.cfg.Channels, labels) {
		if _, ok := chans[c.Name]; ok {
			continue
		}
		if slices.Contains(incident, c.Name) {
			it.SuppressedBy = ByDedup
			it.skip(c.Name, ByDedup)
			continue
		}
		dup, err := p.dedup(a.Fingerprint, c.Name)
		if err != nil {
			return err
		}
		if dup {
			it.SuppressedBy = ByDedup
			it.skip(c.Name, ByDedup)
			continue
		}
		chans[c.Name] = -1
	}
	return nil
}

// dedup reports whether a firing notice about fp to channel would repeat
// what the receiver already believes: with deduplication on, its last
// word about the alert is "firing" (or a refresh), less than DedupWindow
// old. Once a channel was told "resolved", the next "firing" goes out
// whenever it comes, as Alertmanager sends a new firing after a resolved
// notification.
func (p *planner) dedup(fp uint64, channel string) (bool, error) {
	if !p.cfg.Settings.EnableDeduplication {
		return false, nil
	}
	kind, created, err := p.r.LastWord(fp, channel)
	if err != nil {
		return false, err
	}
	return (kind == "firing" || kind == Refresh) && p.at.Sub(created) < DedupWindow, nil
}

// refresh re-sends a firing alert to every Alertmanager channel its
// filters reach and that got nothing else this run: Alertmanager forgets
// an alert whose endsAt has passed (or after its resolve_timeout), so it
// must hear about a firing alert on every run, whatever the cooldown,
// deduplication or acknowledgement (those are Alertmanager's business
// there). A refresh is not a notification: it does not count toward the
// rate limit, cooldowns or notify_count, and none is queued while an
// earlier notice to that channel is still waiting.
func (p *planner) refresh(it *Item, labels map[string]string, sent map[string]int) {
	a := &it.Alert
	for _, c := range route.Channels(p.cfg.Channels, labels) {
		if c.Type != "alertmanager" {
			continue
		}
		if _, ok := sent[c.Name]; ok {
			continue
		}
		if waiting, err := p.r.Pending(a.Fingerprint, c.Name); err != nil || waiting {
			if err != nil {
				p.err = err
			}
			continue
		}
		body, _ := json.Marshal(snapshot(it, -1, p.ackState)) // plain data: cannot fail
		p.plan.Notices = append(p.plan.Notices, state.Notice{Fingerprint: a.Fingerprint, Rule: it.Rule.Name,
			Channel: c.Name, Kind: Refresh, Step: -1, Incident: a.Incident, Episode: a.FiredAt, Alert: body, Created: p.at})
	}
}
