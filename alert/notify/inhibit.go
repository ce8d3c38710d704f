package notify

import (
	"strconv"
	"strings"

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
	// index is, per rule, its sources by the values of its equal labels:
	// a target looks up its own values, so finding an inhibitor is linear
	// in the alerts, not quadratic (h30 D32: 20,000 hosts took a minute).
	index []ruleSources
}

// ruleSources are one rule's sources (indices into sources, in order) by
// equalKey: all that match its source matchers, and only those that do
// not match its target matchers too (all a target that matches both may
// be inhibited by: two of a kind never mute each other).
type ruleSources struct {
	all, only map[string][]int
}

// newInhibitor gathers the sources of rules: the items firing after this
// run's step and the others firing in the state DB.
func newInhibitor(rules []config.InhibitRule, items []*Item, others []Firing) *inhibitor {
	in := &inhibitor{rules: rules}
	if len(rules) == 0 {
		return in
	}
	in.index = make([]ruleSources, len(rules))
	for i := range in.index {
		in.index[i] = ruleSources{all: map[string][]int{}, only: map[string][]int{}}
	}
	// Only an alert some rule's source matchers match can inhibit: the
	// others (every firing alert of a run, against the built-in SLO rules)
	// are not kept.
	add := func(fp uint64, r *config.Rule, labels map[string]string) {
		all := route.Labels(r, labels)
		j := -1
		for i, ir := range rules {
			if !config.MatchAll(ir.SourceMatchers, all) {
				continue
			}
			if j < 0 {
				j = len(in.sources)
				in.sources = append(in.sources, source{fp: fp, labels: all, rule: r.Name, own: labels})
			}
			key := equalKey(ir.Equal, all)
			in.index[i].all[key] = append(in.index[i].all[key], j)
			if !config.MatchAll(ir.TargetMatchers, all) {
				in.index[i].only[key] = append(in.index[i].only[key], j)
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
	for i, r := range in.rules {
		if !config.MatchAll(r.TargetMatchers, labels) {
			continue
		}
		idx := in.index[i].all
		if config.MatchAll(r.SourceMatchers, labels) {
			idx = in.index[i].only
		}
		for _, j := range idx[equalKey(r.Equal, labels)] {
			if s := in.sources[j]; s.fp != fp {
				return s.rule + metricpath.FormatLabels(s.own)
			}
		}
	}
	return ""
}

// equalKey is the values of the labels names in labels, as one key (a
// label missing is the empty value: equal to another missing one).
func equalKey(names []string, labels map[string]string) string {
	if len(names) == 0 {
		return ""
	}
	var b strings.Builder
	for _, n := range names {
		v := labels[n]
		b.WriteString(strconv.Itoa(len(v))) // length-prefixed: any bytes, no two lists alike
		b.WriteByte(':')
		b.WriteString(v)
	}
	return b.String()
}

// firingNow says whether it fires after this run's step, as item decides
// (an alert that lost its data under nodata: alert fires).
func firingNow(it *Item) bool {
	st := it.Alert.State
	return st == state.Firing || st == state.NoData && it.Rule.NoData == state.NoDataAlert
}

// InhibitedByParts splits an inhibited_by name (Item.InhibitedBy, the
// state DB's alerts.inhibited_by: the source's rule, then its labels as
// metricpath.FormatLabels writes them) back into the rule and labels, for
// outputs that give them as data: the name's values are Go-quoted, which
// no consumer can match against the source's labels. ok is false for a
// string not of that form. A rule name may hold "{": the labels are the
// first suffix that reads whole.
func InhibitedByParts(by string) (rule string, labels map[string]string, ok bool) {
	for i := 1; i < len(by); i++ {
		if by[i] != '{' {
			continue
		}
		if m, ok := metricpath.ParseLabels(by[i:]); ok {
			return by[:i], m, true
		}
	}
	return "", nil, false
}
