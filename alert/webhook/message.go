package webhook

import (
	"encoding/json"
	"math"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/vigil-metrics/vigil/alert/notify"
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
	State string
	// Status is "firing" or "resolved" as the pipeline decided (the
	// notification's kind); "" derives it from State. A firing alert
	// whose data stopped is resolved with State nodata.
	Status    string
	Value     float64
	Threshold float64
	StartsAt  time.Time
	EndsAt    time.Time // zero: still active
	// Fingerprint is state.FormatFingerprint of the alert's fingerprint.
	Fingerprint string
	// EscalationStep is the escalation policy step (0-based, as in the
	// reference design) that caused this notification.
	EscalationStep int
	// EscalationPolicy names the policy of that step; "" when the
	// channel's filters sent it (then EscalationStep is 0 too).
	EscalationPolicy string
	// Incident is the id of the incident the alert belongs to, "" for
	// none.
	Incident string
	// Readable is what a person reads (notify.Alert's value_text to slo):
	// added to the payload as they are.
	Readable
}

// Readable are the fields of a notice meant for people, as notify
// records them.
type Readable = notify.Readable

// ReadableOf is a's fields for people.
func ReadableOf(a notify.Alert) Readable { return a.Readable }

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
			Status:      a.status(),
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
		// Alertmanager's conventional annotations, and what the threshold is.
		for k, v := range map[string]string{"summary": a.Summary, "runbook_url": a.RunbookURL, "threshold_kind": a.ThresholdKind} {
			if v != "" {
				ma.Annotations[k] = v
			}
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

func (a Alert) status() string {
	if a.Status != "" {
		return a.Status
	}
	return amStatus(a.State)
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

// Payload is one notification in the "vigil" format: the reference
// design's webhook payload (WebhookNotificationChannel) with what vigil
// adds. For a single alert it is that alert's object; for several (an
// incident's alerts sent together) it is the first alert's object with
// Alerts listing every alert, the first included. The package doc shows
// the JSON.
type Payload struct {
	Timestamp      time.Time         `json:"timestamp"`
	AlertName      string            `json:"alert_name"`
	Severity       string            `json:"severity"`
	Description    string            `json:"description"`
	MetricValue    Number            `json:"metric_value"`
	Threshold      Number            `json:"threshold"`
	Labels         map[string]string `json:"labels"`
	EscalationStep int               `json:"escalation_step"`
	// EscalationPolicy is set only on a policy step's notice (h31 H9).
	EscalationPolicy string `json:"escalation_policy,omitempty"`
	Status           string `json:"status"`
	State            string `json:"state"`
	Fingerprint      string `json:"fingerprint"`
	// Readable (fields added in issue 30) sits here, before incident and
	// the times, so that the payload still ends as it did.
	Readable
	Incident string     `json:"incident,omitempty"`
	StartsAt *time.Time `json:"starts_at"`
	EndsAt   *time.Time `json:"ends_at"`
	// IdempotencyKey is the notification's key (also the Idempotency-Key
	// header): every try of one notification has the same one, so a
	// receiver can drop a copy. Top level only; left out when there is
	// none (vigil notify --test).
	IdempotencyKey string    `json:"idempotency_key,omitempty"`
	Alerts         []Payload `json:"alerts,omitempty"`
}

// Number is a float64 whose JSON is null when it is NaN or infinite,
// which JSON numbers cannot express.
type Number float64

// MarshalJSON writes n as a JSON number, or null.
func (n Number) MarshalJSON() ([]byte, error) {
	f := float64(n)
	if math.IsNaN(f) || math.IsInf(f, 0) {
		return []byte("null"), nil
	}
	return json.Marshal(f)
}

// UnmarshalJSON reads a number, or null as NaN.
func (n *Number) UnmarshalJSON(b []byte) error {
	if string(b) == "null" {
		*n = Number(math.NaN())
		return nil
	}
	var f float64
	if err := json.Unmarshal(b, &f); err != nil {
		return err
	}
	*n = Number(f)
	return nil
}

// NewPayload builds the "vigil" format payload for alerts evaluated at at.
// alerts must not be empty. Times are UTC (RFC 3339 with "Z"); a zero
// StartsAt or EndsAt is null. Labels are the alert's own (never null);
// the rule's name and severity are alert_name and severity.
func NewPayload(at time.Time, alerts []Alert) Payload {
	if len(alerts) == 0 {
		return Payload{Timestamp: at.UTC(), Labels: map[string]string{}}
	}
	p := payloadAlert(at, alerts[0])
	if len(alerts) > 1 {
		p.Alerts = make([]Payload, len(alerts))
		for i, a := range alerts {
			p.Alerts[i] = payloadAlert(at, a)
		}
	}
	return p
}

func payloadAlert(at time.Time, a Alert) Payload {
	p := Payload{
		Timestamp:        at.UTC(),
		AlertName:        a.Rule,
		Severity:         a.Severity,
		Description:      a.Description,
		MetricValue:      Number(a.Value),
		Threshold:        Number(a.Threshold),
		Labels:           make(map[string]string, len(a.Labels)),
		EscalationStep:   a.EscalationStep,
		EscalationPolicy: a.EscalationPolicy,
		Status:           a.status(),
		State:            a.State,
		Fingerprint:      a.Fingerprint,
		Incident:         a.Incident,
		StartsAt:         utcOrNil(a.StartsAt),
		EndsAt:           utcOrNil(a.EndsAt),
		Readable:         a.Readable,
	}
	if p.Status == "resolved" {
		p.AckCommand = "" // nothing left to acknowledge (docs/channels.md)
	}
	for k, v := range a.Labels {
		p.Labels[k] = v
	}
	return p
}

func utcOrNil(t time.Time) *time.Time {
	if t.IsZero() {
		return nil
	}
	u := t.UTC()
	return &u
}
