package notify_test

import (
	"encoding/json"
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/vigil-metrics/vigil/alert/channels"
	"github.com/vigil-metrics/vigil/alert/config"
	"github.com/vigil-metrics/vigil/alert/notify"
	"github.com/vigil-metrics/vigil/alert/state"
)

// planConfig is the configuration of the Decide tests.
//
//   - cpu (high, cooldown 5m) and mem (critical, cooldown 10m) alerts carry
//     team=web: they route to ops and quiet. disk (critical, no cooldown)
//     alerts carry team=db: they route to no channel by filters.
//   - quiet is not told of resolutions (send_resolved: false).
//   - pager (email) and phone route nothing: they hear only from the
//     escalation policy "page" (critical alerts): step 0 at once -> ops,
//     step 1 after 5m -> every email channel (pager, named by type) with a
//     recipient, step 2 after 15m -> phone.
//   - host=m is silenced during [10:00, 11:00).
//   - svc_* alerts with env=prod correlate by service within 10m.
const planConfig = `
alert_rules:
  - {name: cpu, metric_path: cpu, condition: greater_than, threshold: 80, severity: high, evaluation_window: 60, cooldown_period: 5m}
  - {name: mem, metric_path: mem, condition: greater_than, threshold: 80, severity: critical, evaluation_window: 60, cooldown_period: 10m}
  - {name: disk, metric_path: disk, condition: greater_than, threshold: 90, severity: critical, evaluation_window: 60}
  - {name: svc_errors, metric_path: errors, condition: greater_than, threshold: 1, severity: high, evaluation_window: 60}
  - {name: svc_latency, metric_path: latency, condition: greater_than, threshold: 1, severity: high, evaluation_window: 60}
channels:
  - {name: ops, type: webhook, url: "http://hooks.test/ops", filters: [{team: [web, svc]}]}
  - {name: quiet, type: webhook, url: "http://hooks.test/quiet", send_resolved: false, filters: [{team: [web, svc]}]}
  - {name: pager, type: email, smtp_server: smtp.test, from_email: vigil@x.test, to_emails: [ops@x.test], filters: [{team: nobody}]}
  - {name: phone, type: webhook, url: "http://hooks.test/phone", filters: [{team: nobody}]}
escalation:
  - name: page
    triggers: [{severity: critical}]
    steps:
      - {delay: 0, channels: [ops]}
      - {delay: 5m, channels: [email], recipients: [oncall@x.test]}
      - {delay: 15m, channels: [phone]}
silences:
  - matchers: {host: m}
    starts_at: 2026-11-29T10:00:00Z
    ends_at: 2026-11-29T11:00:00Z
correlation_rules:
  - {name: burst, group_key: service, time_window: 10m, alert_patterns: ["svc_*"], label_matchers: {env: prod}}
settings:
  enable_deduplication: %v
`

func loadPlanConfig(t *testing.T, dedup bool) *config.Config {
	t.Helper()
	cfg, err := config.ParseEnv("plan.yaml", []byte(fmt.Sprintf(planConfig, dedup)), func(string) (string, bool) { return "", false }, channels.Types())
	if err != nil {
		t.Fatalf("config: %v", err)
	}
	return cfg
}

// fakeReader is the state Decide consults.
type fakeReader struct {
	episodes  map[uint64][]string       // fingerprint -> channels told of the episode
	open      map[string]state.Incident // correlation/group value -> open incident
	pending   map[string]bool           // "fingerprint channel" -> a notice waits
	last      map[string]lastWord       // "fingerprint channel" -> the receiver's last word
	incidents map[string][]string       // incident -> channels told of it
}

type lastWord struct {
	kind    string
	created time.Time
}

func (f *fakeReader) LastWord(fp uint64, ch string) (string, time.Time, error) {
	w := f.last[fmt.Sprintf("%x %s", fp, ch)]
	return w.kind, w.created, nil
}

func (f *fakeReader) IncidentChannels(incident string) ([]string, error) {
	return f.incidents[incident], nil
}

func (f *fakeReader) Pending(fp uint64, ch string) (bool, error) {
	return f.pending[fmt.Sprintf("%x %s", fp, ch)], nil
}

func (f *fakeReader) EpisodeChannels(fp uint64, _ time.Time) ([]string, error) {
	return f.episodes[fp], nil
}

func (f *fakeReader) OpenIncident(corr, gv string) (state.Incident, bool, error) {
	inc, ok := f.open[corr+"/"+gv]
	return inc, ok, nil
}

func (f *fakeReader) Incidents() ([]state.Incident, error) {
	var out []state.Incident
	for _, inc := range f.open {
		out = append(out, inc)
	}
	slices.SortFunc(out, func(a, b state.Incident) int { return strings.Compare(a.ID, b.ID) })
	return out, nil
}

var t0 = time.Date(2026, 11, 29, 10, 0, 0, 0, time.UTC)

func at(d time.Duration) time.Time { return t0.Add(d) }

// alert is an alert of rule with labels in state st, firing since fired
// (zero: never), last notified at told (zero: never).
func alert(rule string, labels map[string]string, st state.State, fired, told time.Time) state.Alert {
	a := state.NewAlert(rule, labels)
	a.State, a.FiredAt, a.LastNotified = st, fired, told
	if !told.IsZero() {
		a.NotifyCount = 1
	}
	if st == state.Resolved {
		a.ResolvedAt = fired.Add(time.Minute)
	}
	return a
}

func web(host string) map[string]string { return map[string]string{"host": host, "team": "web"} }
func db(host string) map[string]string  { return map[string]string{"host": host, "team": "db"} }

// notices renders the plan's notices as "channel kind step", in order.
func notices(p notify.Plan) []string {
	out := []string{}
	for _, n := range p.Notices {
		s := fmt.Sprintf("%s %s %d", n.Channel, n.Kind, n.Step)
		if len(n.Recipients) > 0 {
			s += " to " + strings.Join(n.Recipients, ",")
		}
		out = append(out, s)
	}
	return out
}

func TestDecide(t *testing.T) {
	type check func(t *testing.T, a state.Alert)
	steps := func(policy string, n int) check {
		return func(t *testing.T, a state.Alert) {
			if a.EscPolicy != policy || a.EscSteps != n {
				t.Errorf("escalation = %q %d steps, want %q %d", a.EscPolicy, a.EscSteps, policy, n)
			}
		}
	}
	notified := func(when time.Time, count int) check {
		return func(t *testing.T, a state.Alert) {
			if !a.LastNotified.Equal(when) || a.NotifyCount != count {
				t.Errorf("last notified %v (%d times), want %v (%d times)", a.LastNotified, a.NotifyCount, when, count)
			}
		}
	}
	acked := func(a state.Alert) state.Alert { a.Acked = true; return a }
	escalated := func(a state.Alert, n int) state.Alert { a.EscPolicy, a.EscSteps = "page", n; return a }

	cases := []struct {
		name     string
		dedup    bool
		alert    state.Alert
		at       time.Time
		episodes []string            // channels told the episode fired
		last     map[string]lastWord // channel -> its last word about the alert
		want     []string            // notices
		by       string              // SuppressedBy
		check    check
	}{
		// A new episode, never told: every routed channel, no step.
		{name: "first", alert: alert("cpu", web("a"), state.Firing, t0, time.Time{}), at: t0,
			want: []string{"ops firing -1", "quiet firing -1"}, check: notified(t0, 1)},

		// cpu's cooldown is 5m: within it nothing; at its end, with dedup
		// on, the hour of deduplication still holds the reminder back.
		{name: "cooldown", alert: alert("cpu", web("a"), state.Firing, t0, t0), at: at(5*time.Minute - time.Second),
			want: []string{}, by: notify.ByCooldown, check: notified(t0, 1)},
		{name: "cooldown over, dedup window", dedup: true, alert: alert("cpu", web("a"), state.Firing, t0, t0), at: at(5 * time.Minute),
			want: []string{}, by: notify.ByDedup},
		{name: "dedup window last instant", dedup: true, alert: alert("cpu", web("a"), state.Firing, t0, t0), at: at(time.Hour - time.Millisecond),
			want: []string{}, by: notify.ByDedup},
		{name: "dedup window over: reminder", dedup: true, alert: alert("cpu", web("a"), state.Firing, t0, t0), at: at(time.Hour),
			want: []string{"ops firing -1", "quiet firing -1"}, check: notified(at(time.Hour), 2)},
		{name: "cooldown over, no dedup: reminder", alert: alert("cpu", web("a"), state.Firing, t0, t0), at: at(5 * time.Minute),
			want: []string{"ops firing -1", "quiet firing -1"}, check: notified(at(5*time.Minute), 2)},
		// disk has no cooldown: told once per episode, never reminded.
		{name: "no cooldown: no reminder", alert: escalated(alert("disk", db("a"), state.Firing, t0, t0), 3), at: at(3 * time.Hour),
			want: []string{}},

		// A new episode of an alert notified recently (it flapped) waits
		// out the cooldown; then deduplication holds it back only from the
		// channels whose last word is still "firing" within the hour.
		{name: "flap inside cooldown", dedup: true, alert: alert("cpu", web("a"), state.Firing, at(2*time.Minute), t0), at: at(2 * time.Minute),
			want: []string{}, by: notify.ByCooldown, check: notified(t0, 1)},
		// Issue 23: the last episode (fired t0) resolved at t0+1m; ops was
		// told "resolved", quiet (send_resolved: false) was not. At t0+10m
		// a new episode fires: ops hears it; quiet still believes it fires
		// (told 10 minutes ago): a repeat, deduplicated.
		{name: "new episode after resolved notice", dedup: true, alert: alert("cpu", web("a"), state.Firing, at(10*time.Minute), t0),
			at: at(10 * time.Minute), last: map[string]lastWord{"ops": {"resolved", at(time.Minute)}, "quiet": {"firing", t0}},
			want: []string{"ops firing -1"}, check: notified(at(10*time.Minute), 2)},
		// The resolution reached nobody (it was silenced): both still
		// believe it fires, told 10 minutes ago: the episode waits.
		{name: "flap inside dedup window, last word firing", dedup: true, alert: alert("cpu", web("a"), state.Firing, at(10*time.Minute), t0),
			at: at(10 * time.Minute), last: map[string]lastWord{"ops": {"firing", t0}, "quiet": {"firing", t0}},
			want: []string{}, by: notify.ByDedup, check: notified(t0, 1)},
		// A refresh is a "firing" too, as far as the receiver knows.
		{name: "last word a refresh, an hour old", dedup: true, alert: alert("cpu", web("a"), state.Firing, at(70*time.Minute), t0),
			at: at(70 * time.Minute), last: map[string]lastWord{"ops": {"refresh", at(10 * time.Minute)}, "quiet": {"firing", t0}},
			want: []string{"ops firing -1", "quiet firing -1"}},
		{name: "flap, no dedup", alert: alert("cpu", web("a"), state.Firing, at(10*time.Minute), t0), at: at(10 * time.Minute),
			want: []string{"ops firing -1", "quiet firing -1"}, check: notified(at(10*time.Minute), 2)},

		// The silence covers [starts_at, ends_at).
		{name: "before silence", alert: alert("cpu", web("m"), state.Firing, at(-time.Second), time.Time{}), at: at(-time.Second),
			want: []string{"ops firing -1", "quiet firing -1"}},
		{name: "silence starts_at", alert: alert("cpu", web("m"), state.Firing, t0, time.Time{}), at: t0,
			want: []string{}, by: notify.BySilence, check: notified(time.Time{}, 0)},
		{name: "silence last instant", alert: alert("cpu", web("m"), state.Firing, t0, time.Time{}), at: at(time.Hour - time.Millisecond),
			want: []string{}, by: notify.BySilence},
		{name: "silence ends_at", alert: alert("cpu", web("m"), state.Firing, t0, time.Time{}), at: at(time.Hour),
			want: []string{"ops firing -1", "quiet firing -1"}, check: notified(at(time.Hour), 1)},
		{name: "silenced resolution", alert: alert("cpu", web("m"), state.Resolved, t0, t0), at: at(time.Minute),
			episodes: []string{"ops", "quiet"}, want: []string{}, by: notify.BySilence},

		// Acknowledged: nothing, not even a due escalation step.
		{name: "ack", alert: acked(alert("cpu", web("a"), state.Firing, t0, time.Time{})), at: t0,
			want: []string{}, by: notify.ByAck},
		{name: "ack stops escalation", alert: acked(escalated(alert("disk", db("a"), state.Firing, t0, t0), 1)), at: at(20 * time.Minute),
			want: []string{}, by: notify.ByAck, check: steps("page", 1)},

		// Escalation. disk routes nowhere by filters: step 0 is its first
		// notice. Later runs run the steps whose delay has passed since it
		// fired, each once, catching up on a missed run.
		{name: "escalation step 0, routed nowhere", alert: alert("disk", db("a"), state.Firing, t0, time.Time{}), at: t0,
			want: []string{"ops firing 0"}, check: steps("page", 1)},
		{name: "escalation step 1 not due", alert: escalated(alert("disk", db("a"), state.Firing, t0, t0), 1), at: at(5*time.Minute - time.Second),
			want: []string{}, check: steps("page", 1)},
		{name: "escalation step 1", alert: escalated(alert("disk", db("a"), state.Firing, t0, t0), 1), at: at(5 * time.Minute),
			want: []string{"pager firing 1 to oncall@x.test"}, check: steps("page", 2)},
		{name: "escalation catch-up", alert: escalated(alert("disk", db("a"), state.Firing, t0, t0), 1), at: at(20 * time.Minute),
			want: []string{"pager firing 1 to oncall@x.test", "phone firing 2"}, check: steps("page", 3)},
		{name: "escalation done", alert: escalated(alert("disk", db("a"), state.Firing, t0, t0), 3), at: at(2 * time.Hour),
			want: []string{}, check: steps("page", 3)},
		{name: "first run late: steps 0 and 1", alert: alert("disk", db("a"), state.Firing, t0, time.Time{}), at: at(6 * time.Minute),
			want: []string{"ops firing 0", "pager firing 1 to oncall@x.test"}, check: steps("page", 2)},
		// mem routes to ops and quiet: step 0 names ops too.
		{name: "escalation and routing", alert: alert("mem", web("a"), state.Firing, t0, time.Time{}), at: t0,
			want: []string{"ops firing 0", "quiet firing -1"}, check: steps("page", 1)},
		// In mem's cooldown the reminder is held, but the due step is not:
		// the alert was notified, so nothing was suppressed.
		{name: "escalation step inside cooldown", alert: escalated(alert("mem", web("a"), state.Firing, t0, t0), 1), at: at(5 * time.Minute),
			want: []string{"pager firing 1 to oncall@x.test"}, check: steps("page", 2)},
		{name: "resolved: no step", alert: escalated(alert("disk", db("a"), state.Resolved, t0, t0), 1), at: at(20 * time.Minute),
			episodes: []string{"ops"}, want: []string{"ops resolved -1"}, check: steps("page", 1)},

		// A resolution goes to the channels told the episode fired, but not
		// to one with send_resolved: false.
		{name: "resolved", alert: alert("cpu", web("a"), state.Resolved, t0, t0), at: at(2 * time.Minute),
			episodes: []string{"ops", "quiet"}, want: []string{"ops resolved -1"}, check: notified(t0, 1)},
		{name: "resolved, never told", alert: alert("cpu", web("a"), state.Resolved, t0, time.Time{}), at: at(2 * time.Minute),
			want: []string{}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			cfg := loadPlanConfig(t, c.dedup)
			var rule *config.Rule
			for i := range cfg.Rules {
				if cfg.Rules[i].Name == c.alert.Rule {
					rule = &cfg.Rules[i]
				}
			}
			r := &fakeReader{episodes: map[uint64][]string{c.alert.Fingerprint: c.episodes}, last: map[string]lastWord{}}
			for ch, w := range c.last {
				r.last[fmt.Sprintf("%x %s", c.alert.Fingerprint, ch)] = w
			}
			it := &notify.Item{Rule: rule, Prev: c.alert, Alert: c.alert}
			p, err := notify.Decide(r, cfg, c.at, []*notify.Item{it})
			if err != nil {
				t.Fatal(err)
			}
			if got := notices(p); !slices.Equal(got, c.want) {
				t.Errorf("notices = %q, want %q", got, c.want)
			}
			if it.SuppressedBy != c.by {
				t.Errorf("suppressed by %q, want %q", it.SuppressedBy, c.by)
			}
			for _, n := range p.Notices {
				if n.Fingerprint != c.alert.Fingerprint || n.Rule != c.alert.Rule || !n.Created.Equal(c.at) || !n.Episode.Equal(c.alert.FiredAt) {
					t.Errorf("notice %+v: want fingerprint %x, rule %s, created %v, episode %v", n, c.alert.Fingerprint, c.alert.Rule, c.at, c.alert.FiredAt)
				}
			}
			if c.check != nil {
				c.check(t, it.Alert)
			}
		})
	}
}

// Correlation: svc_* alerts with env=prod and the same service firing in
// one run share one new incident; a later member inside the window joins
// it and is not notified (dedup); after the window a new incident opens;
// an incident none of whose members fires is closed.
func TestDecideCorrelation(t *testing.T) {
	cfg := loadPlanConfig(t, false)
	rules := map[string]*config.Rule{}
	for i := range cfg.Rules {
		rules[cfg.Rules[i].Name] = &cfg.Rules[i]
	}
	svc := func(service, env string) map[string]string {
		return map[string]string{"service": service, "env": env, "team": "svc"}
	}
	item := func(rule string, labels map[string]string, st state.State) *notify.Item {
		a := alert(rule, labels, st, t0, time.Time{})
		return &notify.Item{Rule: rules[rule], Prev: a, Alert: a}
	}

	// One run: api's two svc_ alerts are one incident, web's its own;
	// env=dev matches no label matcher; cpu no pattern.
	items := []*notify.Item{
		item("cpu", map[string]string{"service": "api", "env": "prod", "team": "web"}, state.Firing),
		item("svc_errors", svc("api", "prod"), state.Firing),
		item("svc_errors", svc("web", "prod"), state.Firing),
		item("svc_errors", svc("api", "dev"), state.Firing),
		item("svc_latency", svc("api", "prod"), state.Firing),
	}
	p, err := notify.Decide(&fakeReader{}, cfg, t0, items)
	if err != nil {
		t.Fatal(err)
	}
	wantInc := []string{"", "burst/api/2026-11-29T10:00:00Z", "burst/web/2026-11-29T10:00:00Z", "", "burst/api/2026-11-29T10:00:00Z"}
	for i, it := range items {
		if it.Alert.Incident != wantInc[i] || it.SuppressedBy != "" || len(it.Queued) != 2 {
			t.Errorf("item %d (%s %v): incident %q, suppressed by %q, queued %v; want incident %q, not suppressed, queued to ops and quiet",
				i, it.Rule.Name, it.Alert.Labels, it.Alert.Incident, it.SuppressedBy, it.Queued, wantInc[i])
		}
	}
	var opened []string
	for _, inc := range p.Incidents {
		opened = append(opened, fmt.Sprintf("%s %s %s closed=%v", inc.ID, inc.Correlation, inc.GroupValue, !inc.Closed.IsZero()))
	}
	if want := []string{"burst/api/2026-11-29T10:00:00Z burst api closed=false", "burst/web/2026-11-29T10:00:00Z burst web closed=false"}; !slices.Equal(opened, want) {
		t.Errorf("incidents = %q, want %q", opened, want)
	}
	for _, n := range p.Notices {
		if n.Incident != items[slices.IndexFunc(items, func(it *notify.Item) bool { return it.Alert.Fingerprint == n.Fingerprint })].Alert.Incident {
			t.Errorf("notice %s %s: incident %q", n.Rule, n.Channel, n.Incident)
		}
	}

	// Later runs: api's incident is open since t0. A new member 10m later
	// (the window's last instant) joins it, unnotified; one a moment past
	// the window opens a new incident. web's incident has no firing member
	// left: it is closed.
	apiInc := state.Incident{ID: "burst/api/2026-11-29T10:00:00Z", Correlation: "burst", GroupValue: "api", Opened: t0}
	webInc := state.Incident{ID: "burst/web/2026-11-29T10:00:00Z", Correlation: "burst", GroupValue: "web", Opened: t0}
	for _, c := range []struct {
		at       time.Time
		incident string
		by       string
		queued   int
	}{
		{at(10 * time.Minute), apiInc.ID, notify.ByDedup, 0},
		{at(10*time.Minute + time.Millisecond), "burst/api/2026-11-29T10:10:00Z", "", 2},
	} {
		// The leader was told (ops and quiet) of api's incident.
		r := &fakeReader{open: map[string]state.Incident{"burst/api": apiInc, "burst/web": webInc},
			incidents: map[string][]string{apiInc.ID: {"ops", "quiet"}}}
		member := item("svc_latency", svc("api", "prod"), state.Firing)
		member.Alert.FiredAt = c.at
		leader := item("svc_errors", svc("api", "prod"), state.Firing)
		leader.Alert.Incident, leader.Alert.LastNotified = apiInc.ID, t0
		gone := item("svc_errors", svc("web", "prod"), state.Resolved)
		gone.Alert.Incident = webInc.ID
		p, err := notify.Decide(r, cfg, c.at, []*notify.Item{leader, member, gone})
		if err != nil {
			t.Fatal(err)
		}
		if member.Alert.Incident != c.incident || member.SuppressedBy != c.by || len(member.Queued) != c.queued {
			t.Errorf("at %v: member in %q, suppressed by %q, queued %v; want %q, %q, %d notices",
				c.at, member.Alert.Incident, member.SuppressedBy, member.Queued, c.incident, c.by, c.queued)
		}
		var closed []string
		for _, inc := range p.Incidents {
			if !inc.Closed.IsZero() {
				closed = append(closed, inc.ID)
				if !inc.Closed.Equal(c.at) {
					t.Errorf("incident %s closed at %v, want %v", inc.ID, inc.Closed, c.at)
				}
			}
		}
		if want := []string{webInc.ID}; !slices.Equal(closed, want) {
			t.Errorf("at %v: closed %q, want %q", c.at, closed, want)
		}
	}
}

// An incident opened by a silenced alert was never notified: a member
// joining it later is put in it, and notified (it is the incident's first
// notice), not suppressed as a duplicate.
func TestDecideJoinUnnotifiedIncident(t *testing.T) {
	cfg := loadPlanConfig(t, false)
	rules := map[string]*config.Rule{}
	for i := range cfg.Rules {
		rules[cfg.Rules[i].Name] = &cfg.Rules[i]
	}
	inc := state.Incident{ID: "burst/api/2026-11-29T10:00:00Z", Correlation: "burst", GroupValue: "api", Opened: t0}
	labels := func(host string) map[string]string {
		return map[string]string{"service": "api", "env": "prod", "team": "svc", "host": host}
	}
	for _, told := range []bool{false, true} {
		opener := alert("svc_errors", labels("m"), state.Firing, t0, time.Time{}) // silenced: never told
		if told {
			opener = alert("svc_errors", labels("a"), state.Firing, t0, t0)
		}
		opener.Incident = inc.ID
		member := alert("svc_latency", labels("b"), state.Firing, at(time.Minute), time.Time{})
		items := []*notify.Item{{Rule: rules["svc_errors"], Prev: opener, Alert: opener}, {Rule: rules["svc_latency"], Prev: member, Alert: member}}
		r := &fakeReader{open: map[string]state.Incident{"burst/api": inc}}
		if told {
			r.incidents = map[string][]string{inc.ID: {"ops", "quiet"}}
		}
		p, err := notify.Decide(r, cfg, at(time.Minute), items)
		if err != nil {
			t.Fatal(err)
		}
		m := items[1]
		wantBy, wantNotices := "", []string{"ops firing -1", "quiet firing -1"}
		if told {
			wantBy, wantNotices = notify.ByDedup, []string{}
		}
		if m.Alert.Incident != inc.ID || m.SuppressedBy != wantBy || !slices.Equal(notices(p), wantNotices) {
			t.Errorf("opener told=%v: member in %q, suppressed by %q, notices %q; want %q, %q, %q",
				told, m.Alert.Incident, m.SuppressedBy, notices(p), inc.ID, wantBy, wantNotices)
		}
	}
}

// Issue 23: a member joining an open incident is deduplicated only on the
// channels told of the incident; a channel its filters select that was not
// (pager takes critical alerts; the incident so far is high ones) hears it
// in the join run, not one run late, and the channels told of the
// incident never hear it as a member of its own, in any later run.
//
//	t0     svc_errors (high) opened the incident; ops was told of it
//	t0+1m  svc_down (critical) and svc_slow (high) join:
//	       svc_down -> pager (ops: dedup); svc_slow -> nothing (dedup)
//	t0+2m  both still fire: svc_down was told (no cooldown: no reminder);
//	       svc_slow still nothing (dedup), not routed to ops now
func TestDecideJoinReachesUntoldChannels(t *testing.T) {
	cfg, err := config.ParseEnv("join.yaml", []byte(`
alert_rules:
  - {name: svc_errors, metric_path: e, condition: greater_than, threshold: 1, severity: high, evaluation_window: 60}
  - {name: svc_slow, metric_path: l, condition: greater_than, threshold: 1, severity: high, evaluation_window: 60}
  - {name: svc_down, metric_path: d, condition: greater_than, threshold: 1, severity: critical, evaluation_window: 60}
channels:
  - {name: ops, type: webhook, url: "http://hooks.test/ops"}
  - {name: pager, type: webhook, url: "http://hooks.test/pager", filters: [{severity: critical}]}
correlation_rules:
  - {name: burst, group_key: service, time_window: 10m, alert_patterns: ["svc_*"]}
`), func(string) (string, bool) { return "", false }, channels.Types())
	if err != nil {
		t.Fatal(err)
	}
	rules := map[string]*config.Rule{}
	for i := range cfg.Rules {
		rules[cfg.Rules[i].Name] = &cfg.Rules[i]
	}
	inc := state.Incident{ID: "burst/api/2026-11-29T10:00:00Z", Correlation: "burst", GroupValue: "api", Opened: t0}
	r := &fakeReader{open: map[string]state.Incident{"burst/api": inc}, incidents: map[string][]string{inc.ID: {"ops"}}}
	api := map[string]string{"service": "api"}
	leader := alert("svc_errors", api, state.Firing, t0, t0)
	leader.Incident = inc.ID
	down := alert("svc_down", api, state.Firing, at(time.Minute), time.Time{})
	slow := alert("svc_slow", api, state.Firing, at(time.Minute), time.Time{})
	for _, run := range []struct {
		at                 time.Time
		want               []string
		downBy, slowBy     string
		downTold, slowTold time.Time
	}{
		{at(time.Minute), []string{"pager firing -1"}, "", notify.ByDedup, at(time.Minute), time.Time{}},
		{at(2 * time.Minute), []string{}, "", notify.ByDedup, at(time.Minute), time.Time{}},
	} {
		items := []*notify.Item{{Rule: rules["svc_down"], Prev: down, Alert: down},
			{Rule: rules["svc_errors"], Prev: leader, Alert: leader}, {Rule: rules["svc_slow"], Prev: slow, Alert: slow}}
		p, err := notify.Decide(r, cfg, run.at, items)
		if err != nil {
			t.Fatal(err)
		}
		d, s := items[0], items[2]
		if got := notices(p); !slices.Equal(got, run.want) {
			t.Errorf("at %v: notices %q, want %q", run.at, got, run.want)
		}
		if d.Alert.Incident != inc.ID || s.Alert.Incident != inc.ID {
			t.Errorf("at %v: incidents %q %q, want %q", run.at, d.Alert.Incident, s.Alert.Incident, inc.ID)
		}
		if d.SuppressedBy != run.downBy || s.SuppressedBy != run.slowBy {
			t.Errorf("at %v: svc_down suppressed by %q, svc_slow by %q; want %q, %q", run.at, d.SuppressedBy, s.SuppressedBy, run.downBy, run.slowBy)
		}
		if !d.Alert.LastNotified.Equal(run.downTold) || !s.Alert.LastNotified.Equal(run.slowTold) {
			t.Errorf("at %v: last notified %v %v, want %v %v", run.at, d.Alert.LastNotified, s.Alert.LastNotified, run.downTold, run.slowTold)
		}
		down, slow = d.Alert, s.Alert // the next run starts from what this one stored
		if len(d.Queued) > 0 {
			r.incidents[inc.ID] = append(r.incidents[inc.ID], d.Queued...)
		}
	}
}

// An Alertmanager channel hears of a firing alert on every run: first as
// a notification, then as refreshes the cooldown, dedup and ack do not
// stop (Alertmanager would otherwise time it out); a silence does, and
// none is queued while an earlier notice to it still waits.
func TestRefreshAlertmanager(t *testing.T) {
	cfg, err := config.ParseEnv("am.yaml", []byte(`
alert_rules:
  - {name: cpu, metric_path: cpu, condition: greater_than, threshold: 80, severity: high, evaluation_window: 60, cooldown_period: 5m}
channels:
  - {name: am, type: alertmanager, url: "http://am.test:9093"}
  - {name: ops, type: webhook, url: "http://hooks.test/ops"}
silences:
  - matchers: {host: m}
    ends_at: 2030-01-01T00:00:00Z
settings:
  enable_deduplication: true
`), func(string) (string, bool) { return "", false }, channels.Types())
	if err != nil {
		t.Fatal(err)
	}
	told := alert("cpu", web("a"), state.Firing, t0, t0)
	for _, c := range []struct {
		name    string
		a       state.Alert
		pending bool
		want    []string
	}{
		{"first", alert("cpu", web("a"), state.Firing, t0, time.Time{}), false, []string{"am firing -1", "ops firing -1"}},
		{"in cooldown", told, false, []string{"am refresh -1"}},
		{"acked", acked(told), false, []string{"am refresh -1"}},
		{"earlier notice waits", told, true, []string{}},
		{"silenced", alert("cpu", web("m"), state.Firing, t0, t0), false, []string{}},
	} {
		t.Run(c.name, func(t *testing.T) {
			r := &fakeReader{pending: map[string]bool{fmt.Sprintf("%x am", c.a.Fingerprint): c.pending}}
			it := &notify.Item{Rule: &cfg.Rules[0], Prev: c.a, Alert: c.a}
			p, err := notify.Decide(r, cfg, at(time.Minute), []*notify.Item{it})
			if err != nil {
				t.Fatal(err)
			}
			if got := notices(p); !slices.Equal(got, c.want) {
				t.Errorf("notices %v, want %v", got, c.want)
			}
			if c.name == "in cooldown" && (it.Alert.NotifyCount != 1 || !it.Alert.LastNotified.Equal(t0)) {
				t.Errorf("a refresh counted as a notification: %d, %v", it.Alert.NotifyCount, it.Alert.LastNotified)
			}
		})
	}
}

func acked(a state.Alert) state.Alert { a.Acked = true; return a }

// Issue 23: a firing alert whose data stops (nodata: ok, the default)
// ends its episode; the channels told it fired and that want resolutions
// hear "resolved" (state nodata, ends_at the run's time), as Prometheus
// resolves an alert whose series vanished. Only that transition says so:
// pending or already without data, nothing.
//
//	cpu fired at t0, told to ops and quiet (send_resolved: false);
//	at t0+3m no data -> ops resolved (quiet: none)
func TestDecideLostDataResolves(t *testing.T) {
	cfg := loadPlanConfig(t, true)
	rule := &cfg.Rules[0] // cpu, nodata: ok
	fired := alert("cpu", web("a"), state.Firing, t0, t0)
	lost := state.StepPolicy(fired, state.Observation{}, at(3*time.Minute), 0, rule.NoData)
	pending := alert("cpu", web("a"), state.Pending, time.Time{}, time.Time{})
	quiet := lost // already nodata
	for _, c := range []struct {
		name       string
		prev, next state.Alert
		want       []string
	}{
		{"firing loses data", fired, lost, []string{"ops resolved -1"}},
		{"pending loses data", pending, state.StepPolicy(pending, state.Observation{}, at(3*time.Minute), 0, rule.NoData), []string{}},
		{"still no data", quiet, state.StepPolicy(quiet, state.Observation{}, at(4*time.Minute), 0, rule.NoData), []string{}},
	} {
		r := &fakeReader{episodes: map[uint64][]string{fired.Fingerprint: {"ops", "quiet"}}}
		it := &notify.Item{Rule: rule, Prev: c.prev, Alert: c.next}
		p, err := notify.Decide(r, cfg, c.next.LastEval, []*notify.Item{it})
		if err != nil {
			t.Fatal(err)
		}
		if got := notices(p); !slices.Equal(got, c.want) {
			t.Errorf("%s: notices %q, want %q", c.name, got, c.want)
		}
		if len(p.Notices) == 1 {
			var body notify.Alert
			if err := json.Unmarshal(p.Notices[0].Alert, &body); err != nil {
				t.Fatal(err)
			}
			if body.State != "nodata" || !body.StartsAt.Equal(t0) || !body.EndsAt.Equal(at(3*time.Minute)) || !p.Notices[0].Episode.Equal(t0) {
				t.Errorf("%s: notice says state %s, %v to %v, episode %v; want nodata, %v to %v, episode %v", c.name,
					body.State, body.StartsAt, body.EndsAt, p.Notices[0].Episode, t0, at(3*time.Minute), t0)
			}
		}
	}
}

// Item.Skipped names, per channel, what held a notification back when
// the item's SuppressedBy cannot tell (issue 27: replay counts what dedup
// held back per channel): ops already heard this alert fire 10 minutes
// ago (dedup), quiet never did, so quiet is told, SuppressedBy is cleared,
// and Skipped keeps ops' reason. A reminder within the dedup window is
// held for every channel its filters reach.
func TestDecideSkippedPerChannel(t *testing.T) {
	cfg := loadPlanConfig(t, true)
	a := alert("cpu", web("a"), state.Firing, at(10*time.Minute), time.Time{})
	r := &fakeReader{last: map[string]lastWord{fmt.Sprintf("%x ops", a.Fingerprint): {"firing", at(0)}}}
	it := &notify.Item{Rule: &cfg.Rules[0], Prev: a, Alert: a}
	p, err := notify.Decide(r, cfg, at(10*time.Minute), []*notify.Item{it})
	if err != nil {
		t.Fatal(err)
	}
	if got := notices(p); !slices.Equal(got, []string{"quiet firing -1"}) {
		t.Errorf("notices %q, want [quiet firing -1]", got)
	}
	if it.SuppressedBy != "" || len(it.Skipped) != 1 || it.Skipped["ops"] != notify.ByDedup {
		t.Errorf("suppressed by %q, skipped %v; want \"\", map[ops:dedup]", it.SuppressedBy, it.Skipped)
	}

	// Told at 10:10, cooldown 5m: at 10:20 the reminder falls within the
	// dedup hour, held for both channels.
	b := alert("cpu", web("b"), state.Firing, at(10*time.Minute), at(10*time.Minute))
	it = &notify.Item{Rule: &cfg.Rules[0], Prev: b, Alert: b}
	if _, err := notify.Decide(&fakeReader{}, cfg, at(20*time.Minute), []*notify.Item{it}); err != nil {
		t.Fatal(err)
	}
	if it.SuppressedBy != notify.ByDedup || len(it.Skipped) != 2 || it.Skipped["ops"] != notify.ByDedup || it.Skipped["quiet"] != notify.ByDedup {
		t.Errorf("reminder: suppressed by %q, skipped %v; want dedup for ops and quiet", it.SuppressedBy, it.Skipped)
	}
}
