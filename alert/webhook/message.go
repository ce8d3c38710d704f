package webhook

import (
	"sort"
	"strconv"
	"strings"
	"time"
)

// Version is the Alertmanager webhook payload version Message follows.
const Version = "4"

// Alert is one alert as vigil knows it, flattened to what a notification
// needs. It is defined here rather than taken from alert/state so that the
// payload does not change shape when the state package does, and so that
// callers (cmd/) convert explicitly.
type Alert struct {
	Rule        string
	Severity    string
	Description string
	Labels      map[string]string
	// State is the vigil state name (state.State.String()): "firing",
	// "resolved", "pending", "nodata", "inactive".
	State     string
	Value     float64
	Threshold float64
	StartsAt  time.Time
	EndsAt    time.Time // zero: still active
	// Fingerprint is state.FormatFingerprint of the alert's fingerprint.
	Fingerprint string
}

// Message is one webhook notification. Its JSON is Alertmanager's webhook
// payload (version 4), so receivers written for Alertmanager (chat bridges,
// incident tools) accept vigil's notifications unchanged; the "vigil"
// object is an extension such receivers ignore.
type Message struct {
	Receiver          string            `json:"receiver"`
	Status            string            `json:"status"`
	Alerts            []MessageAlert    `json:"alerts"`
	GroupLabels       map[string]string `json:"groupLabels"`
	CommonLabels      map[string]string `json:"commonLabels"`
	CommonAnnotations map[string]string `json:"commonAnnotations"`
	ExternalURL       string            `json:"externalURL"`
	Version           string            `json:"version"`
	GroupKey          string            `json:"groupKey"`
	TruncatedAlerts   uint64            `json:"truncatedAlerts"`
	Vigil             *Vigil            `json:"vigil,omitempty"`
}

// MessageAlert is one alert in a Message, as Alertmanager writes it.
type MessageAlert struct {
	Status       string            `json:"status"`
	Labels       map[string]string `json:"labels"`
	Annotations  map[string]string `json:"annotations"`
	StartsAt     time.Time         `json:"startsAt"`
	EndsAt       time.Time         `json:"endsAt"`
	GeneratorURL string            `json:"generatorURL"`
	Fingerprint  string            `json:"fingerprint"`
}

// Vigil carries what Alertmanager's format has no place for.
type Vigil struct {
	// At is the evaluation time that produced the message.
	At time.Time `json:"at"`
	// States maps each alert's fingerprint to its vigil state, because
	// Alertmanager's status knows only firing and resolved while vigil
	// also notifies about pending and nodata.
	States map[string]string `json:"states"`
}

// NewMessage builds the message that notifies receiver (the channel name)
// about alerts, evaluated at at. Labels get alertname (the rule) and
// severity; annotations carry description, value and threshold. All times
// are UTC, so the JSON is RFC 3339 with "Z", and a zero EndsAt is written
// "0001-01-01T00:00:00Z" as Alertmanager writes it for active alerts.
func NewMessage(receiver string, at time.Time, alerts []Alert) Message {
	m := Message{
		Receiver:          receiver,
		Status:            "resolved",
		Alerts:            make([]MessageAlert, 0, len(alerts)),
		GroupLabels:       map[string]string{},
		CommonAnnotations: map[string]string{},
		Version:           Version,
		Vigil:             &Vigil{At: at.UTC(), States: map[string]string{}},
	}
	for _, a := range alerts {
		ma := MessageAlert{
			Status:      amStatus(a.State),
			Labels:      make(map[string]string, len(a.Labels)+2),
			Annotations: map[string]string{"value": formatFloat(a.Value), "threshold": formatFloat(a.Threshold)},
			StartsAt:    a.StartsAt.UTC(),
			EndsAt:      a.EndsAt.UTC(),
			Fingerprint: a.Fingerprint,
		}
		for k, v := range a.Labels {
			ma.Labels[k] = v
		}
		// The rule's name and severity win over same-named labels: they
		// are what routing and receivers key on.
		ma.Labels["alertname"] = a.Rule
		if a.Severity != "" {
			ma.Labels["severity"] = a.Severity
		}
		if a.Description != "" {
			ma.Annotations["description"] = a.Description
		}
		// Like Alertmanager, the group is firing while any alert fires.
		if ma.Status == "firing" {
			m.Status = "firing"
		}
		m.Vigil.States[a.Fingerprint] = a.State
		m.Alerts = append(m.Alerts, ma)
	}
	m.CommonLabels = common(m.Alerts, func(a MessageAlert) map[string]string { return a.Labels })
	m.CommonAnnotations = common(m.Alerts, func(a MessageAlert) map[string]string { return a.Annotations })
	m.GroupKey = groupKey(m.CommonLabels)
	return m
}

// amStatus maps a vigil state onto Alertmanager's two statuses. Pending
// and nodata are not recoveries, so they count as firing; the exact state
// is in Vigil.States.
func amStatus(state string) string {
	switch state {
	case "resolved", "inactive":
		return "resolved"
	}
	return "firing"
}

// formatFloat writes the shortest exact form ("0.5", "1e+06", "NaN",
// "+Inf"); annotations are strings in Alertmanager's format.
func formatFloat(f float64) string {
	return strconv.FormatFloat(f, 'g', -1, 64)
}

// common returns the pairs every alert shares (never nil, so it encodes as
// {} as Alertmanager's does).
func common(alerts []MessageAlert, get func(MessageAlert) map[string]string) map[string]string {
	out := map[string]string{}
	if len(alerts) == 0 {
		return out
	}
	for k, v := range get(alerts[0]) {
		out[k] = v
	}
	for _, a := range alerts[1:] {
		m := get(a)
		for k, v := range out {
			if w, ok := m[k]; !ok || w != v {
				delete(out, k)
			}
		}
	}
	return out
}

// groupKey imitates Alertmanager's "{route}:{group labels}" key with the
// common labels, so that the same set of alerts yields the same key on
// every run and receivers can deduplicate or thread on it.
func groupKey(labels map[string]string) string {
	keys := make([]string, 0, len(labels))
	for k := range labels {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	var b strings.Builder
	b.WriteString("{}:{")
	for i, k := range keys {
		if i > 0 {
			b.WriteByte(',')
		}
		b.WriteString(k)
		b.WriteString("=")
		b.WriteString(strconv.Quote(labels[k]))
	}
	b.WriteString("}")
	return b.String()
}
