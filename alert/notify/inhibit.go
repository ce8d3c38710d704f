package notify

import (
	"github.com/vigil-metrics/vigil/alert/config"
	"github.com/vigil-metrics/vigil/alert/route"
	"github.com/vigil-metrics/vigil/alert/state"
	"github.com/vigil-metrics/vigil/internal/metricpath"
)

// ByInhibit is the suppression reason of an alert an inhibit rule mutes
// (Item.InhibitedBy names the alert that does).
const ByInhibit = "inhibited"

// Firing is an alert that fires and was not stepped in this run (another
// source's: vigil budget's SLO alerts for an evaluate run), as inhibit
// rules see it: its rule and its labels.
type Firing struct {
	Fingerprint uint64
	Rule        *config.Rule
	Labels      map[string]string
	// Incident is the incident it belongs to ("" none), and Told whether
	// it was notified in its current episode: a told member keeps its
	// incident's channels believing the incident fires (incidentLive).
	Incident string
	Told     bool
}

// source is a firing alert as an inhibit rule's source: its labels with
// alertname and severity (route.Labels), and what its name in words is
// made of (only for the alert it inhibits: most never do).
type source struct {
	fp     uint64
	labels map[string]string
	rule   string
	own    map[string]string
}

// inhibitor finds, for a firing alert, the firing alert that inhibits it.
type inhibitor struct {
	rules   []config.InhibitRule
	sources []source
}

// newInhibitor gathers the sources of rules: the items firing after this
// run's step and the others firing in the state DB.
func newInhibitor(rules []config.InhibitRule, items []*Item, others []Firing) *inhibitor {
	in := &inhibitor{rules: rules}
	if len(rules) == 0 {
		return in
	}
	// Only an alert some rule's source matchers match can inhibit: the
	// others (every firing alert of a run, against the built-in SLO rules)
	// are not kept.
	add := func(fp uint64, r *config.Rule, labels map[string]string) {
		all := route.Labels(r, labels)
		for _, ir := range rules {
			if config.MatchAll(ir.SourceMatchers, all) {
				in.sources = append(in.sources, source{fp: fp, labels: all, rule: r.Name, own: labels})
				return
			}
		}
	}
	for _, it := range items {
		if firingNow(it) {
			add(it.Alert.Fingerprint, it.Rule, it.Alert.Labels)
		}
	}
	for _, o := range others {
		add(o.Fingerprint, o.Rule, o.Labels)
	}
	return in
}

// by is the alert that inhibits the alert fp with labels (route.Labels),
// "" when none does. As in Alertmanager, an alert never inhibits itself,
// and an alert that matches a rule's source and target matchers is not
// inhibited by another that matches both (two of a kind would mute each
// other).
func (in *inhibitor) by(fp uint64, labels map[string]string) string {
	for _, r := range in.rules {
		if !config.MatchAll(r.TargetMatchers, labels) {
			continue
		}
		both := config.MatchAll(r.SourceMatchers, labels)
		for _, s := range in.sources {
			if s.fp == fp || !config.MatchAll(r.SourceMatchers, s.labels) || both && config.MatchAll(r.TargetMatchers, s.labels) {
				continue
			}
			if equalLabels(r.Equal, labels, s.labels) {
				return s.rule + metricpath.FormatLabels(s.own)
			}
		}
	}
	return ""
}

// equalLabels says whether a and b have the same value of every label of
// names (a label missing from both is equal: empty).
func equalLabels(names []string, a, b map[string]string) bool {
	for _, n := range names {
		if a[n] != b[n] {
			return false
		}
	}
	return true
}

// firingNow says whether it fires after this run's step, as item decides
// (an alert that lost its data under nodata: alert fires).
func firingNow(it *Item) bool {
	st := it.Alert.State
	return st == state.Firing || st == state.NoData && it.Rule.NoData == state.NoDataAlert
}
