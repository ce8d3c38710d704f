// Package pagerduty sends vigil's alert notifications to PagerDuty through
// the Events API v2: a firing alert triggers a PagerDuty alert, its
// resolution resolves it.
//
// Every alert of a notification is one event, POSTed as JSON to
// https://events.pagerduty.com/v2/enqueue (the channel's url replaces it):
//
//	{
//	  "routing_key": "…",                  // the integration key, from the environment
//	  "event_action": "trigger",            // or "resolve"
//	  "dedup_key": "f372fee676ae0d86",      // the alert's fingerprint
//	  "client": "vigil",
//	  "payload": {                          // trigger only
//	    "summary": "high_cpu: CPU above 80% (value 92.5, threshold 80)",
//	    "source": "db-01",                  // label instance, host or hostname; else "vigil"
//	    "severity": "critical",             // critical, error, warning or info
//	    "timestamp": "2026-11-29T10:00:30Z", // the evaluation time
//	    "component": "…",                   // label component, when there is one
//	    "group": "…",                       // the incident, when the alert is in one
//	    "class": "high_cpu",                // the rule
//	    "custom_details": {"labels": {…}, "value": 92.5, "threshold": 80,
//	      "description": "CPU above 80%", "state": "firing",
//	      "fingerprint": "f372fee676ae0d86", "starts_at": "…", "incident": "…"}
//	  }
//	}
//
// The dedup key is the alert's fingerprint, so a re-sent trigger (a
// reminder, an escalation step, a retry) adds to the open PagerDuty alert
// instead of opening another, and the resolution closes exactly that
// alert. The alerts of an incident are sent as one event each, with the
// incident as payload.group (PagerDuty's alert grouping can gather them):
// the members of an incident resolve one by one, and one dedup key for the
// incident would close it at the first member's recovery.
//
// vigil severities map to PagerDuty's: critical to critical, high to
// error, medium to warning, low to info.
//
// The routing key (the integration key) is read from the environment
// variable the channel's routing_key_env names, PAGERDUTY_ROUTING_KEY by
// default. It is a secret: no error of this package contains it.
//
// config.go is the channel's settings as the config file gives them
// (Config: its keys, checks, secrets read at send time, Validate, shared
// by vigil check and New) and Notifier, its line in alert/channels' registry.
//
// The package knows one channel, pagerduty: it must not import another
// channel's package.
package pagerduty

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"os"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/vigil-metrics/vigil/alert/config"
	"github.com/vigil-metrics/vigil/alert/httpsend"
	"github.com/vigil-metrics/vigil/alert/notify"
	"github.com/vigil-metrics/vigil/internal/secret"
)

// DefaultURL is the Events API v2 endpoint.
const DefaultURL = "https://events.pagerduty.com/v2/enqueue"

// DefaultRoutingKeyEnv names the environment variable that holds the
// routing key when the channel's routing_key_env does not.
const DefaultRoutingKeyEnv = "PAGERDUTY_ROUTING_KEY"

// maxSummary is the Events API's limit on payload.summary.
const maxSummary = 1024

// Channel sends notifications to one pagerduty channel. It is safe for
// concurrent use.
type Channel struct {
	name   string
	url    string
	keyEnv string
	key    string
	p      httpsend.Poster
	mu     sync.Mutex
}

// New builds the sender for ch, a pagerduty channel. lookupEnv reads the
// environment (nil: os.LookupEnv); client may be nil (a fresh
// http.Client; the channel's timeout applies per attempt).
//
// A routing key missing from the environment is not an error here (the
// config check only warns about it, and a run must still evaluate and
// send elsewhere): Notify reports it, with retry true, so what is owed
// goes out once the variable is set.
func New(ch config.Channel, lookupEnv func(string) (string, bool), client *http.Client) (*Channel, error) {
	cfg, err := config.SettingsOf[Config](ch, "pagerduty")
	if err != nil {
		return nil, err
	}
	if err := cfg.Validate(ch.Name); err != nil {
		return nil, err
	}
	if lookupEnv == nil {
		lookupEnv = os.LookupEnv
	}
	c := &Channel{name: ch.Name, url: DefaultURL, keyEnv: cfg.keyEnv(), p: httpsend.New(ch, client)}
	if cfg.URL != "" {
		c.url = cfg.URL
	}
	if v, ok := lookupEnv(c.keyEnv); ok {
		c.key = strings.TrimSpace(v)
	}
	c.p.Secrets = secret.New()
	cfg.RegisterSecrets(c.p.Secrets, lookupEnv)
	c.p.Describe = describe
	return c, nil
}

// Name is the channel's name.
func (c *Channel) Name() string { return c.name }

// Event is one Events API v2 request body.
type Event struct {
	RoutingKey  string   `json:"routing_key"`
	EventAction string   `json:"event_action"`
	DedupKey    string   `json:"dedup_key"`
	Client      string   `json:"client,omitempty"`
	Payload     *Payload `json:"payload,omitempty"`
	Links       []Link   `json:"links,omitempty"`
}

// Payload is a trigger event's payload.
type Payload struct {
	Summary       string        `json:"summary"`
	Source        string        `json:"source"`
	Severity      string        `json:"severity"`
	Timestamp     string        `json:"timestamp,omitempty"`
	Component     string        `json:"component,omitempty"`
	Group         string        `json:"group,omitempty"`
	Class         string        `json:"class,omitempty"`
	CustomDetails CustomDetails `json:"custom_details"`
}

// CustomDetails is what PagerDuty shows of the alert beyond the summary.
type CustomDetails struct {
	Labels      map[string]string `json:"labels"`
	Value       *float64          `json:"value"` // null: not a number
	Threshold   float64           `json:"threshold"`
	Description string            `json:"description,omitempty"`
	State       string            `json:"state"`
	Fingerprint string            `json:"fingerprint"`
	StartsAt    string            `json:"starts_at,omitempty"`
	Incident    string            `json:"incident,omitempty"`
	// For people (issue 30): notify.Alert's fields, under the webhook's
	// names.
	notify.Readable
}

// Link is a link PagerDuty shows with the incident (the runbook).
type Link struct {
	Href string `json:"href"`
	Text string `json:"text"`
}

// Severity maps a vigil severity to PagerDuty's: critical to critical,
// high to error, medium to warning, low to info; anything else to error.
func Severity(s string) string {
	switch s {
	case "critical":
		return "critical"
	case "high":
		return "error"
	case "medium":
		return "warning"
	case "low":
		return "info"
	}
	return "error"
}

// NewEvent builds the event for a, one alert of a notification of kind
// ("firing" or "resolved") evaluated at at, with routing key key: a
// resolve (event_action resolve, no payload) for kind resolved, else a
// trigger.
func NewEvent(key, kind string, at time.Time, a notify.Alert) Event {
	e := Event{RoutingKey: key, EventAction: "trigger", DedupKey: a.Fingerprint, Client: "vigil"}
	if kind == "resolved" {
		e.EventAction = "resolve"
		return e
	}
	labels := a.Labels
	if labels == nil {
		labels = map[string]string{}
	}
	p := &Payload{
		Summary: summary(a), Source: source(labels), Severity: Severity(a.Severity),
		Component: labels["component"], Group: a.Incident, Class: a.Rule,
		CustomDetails: CustomDetails{Labels: labels, Value: a.Value, Threshold: a.Threshold,
			Description: a.Description, State: a.State, Fingerprint: a.Fingerprint, Incident: a.Incident,
			Readable: a.Readable},
	}
	if a.RunbookURL != "" {
		e.Links = []Link{{Href: a.RunbookURL, Text: "Runbook"}}
	}
	if !at.IsZero() {
		p.Timestamp = at.UTC().Format(time.RFC3339Nano)
	}
	if !a.StartsAt.IsZero() {
		p.CustomDetails.StartsAt = a.StartsAt.UTC().Format(time.RFC3339Nano)
	}
	e.Payload = p
	return e
}

func summary(a notify.Alert) string {
	s := a.Rule
	if a.Description != "" {
		s += ": " + a.Description
	}
	if a.Value != nil {
		s += fmt.Sprintf(" (value %s, %s %s)", a.ValueString(), a.ThresholdWords(), a.ThresholdString())
	}
	if len(s) > maxSummary {
		s = strings.ToValidUTF8(s[:maxSummary-3], "") + "..."
	}
	return s
}

func fmtFloat(f float64) string { return strconv.FormatFloat(f, 'g', -1, 64) }

// source is where the alert is: the label instance, host or hostname, else
// "vigil" (the Events API requires one).
func source(labels map[string]string) string {
	for _, k := range []string{"instance", "host", "hostname"} {
		if v := labels[k]; v != "" {
			return v
		}
	}
	return "vigil"
}

// ErrNoRoutingKey is returned, wrapped, when the routing key's environment
// variable is unset or empty.
var ErrNoRoutingKey = errors.New("routing key not set")

// Notify sends one event per alert of n (see NewEvent), in order, each
// with the retries of a webhook channel (network errors, 5xx and 429,
// honouring Retry-After up to MaxRetryAfter; another 4xx is permanent).
// It stops at the first event that fails. retry is false when PagerDuty
// rejected an event (400: the error has its message and errors); true when
// the failure was transient or the routing key is not set. Re-sending
// events that went through is harmless: the dedup key makes them no-ops.
func (c *Channel) Notify(ctx context.Context, n notify.Notification) (retry bool, err error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if len(n.Alerts) == 0 {
		return false, fmt.Errorf("pagerduty %q: no alerts to send", c.name)
	}
	if c.key == "" {
		return true, fmt.Errorf("pagerduty %q: %w: environment variable %s is empty or unset", c.name, ErrNoRoutingKey, c.keyEnv)
	}
	header := http.Header{"Content-Type": {"application/json"}, "Accept": {"application/json"}, "User-Agent": {"vigil"}}
	tries := 0
	for i, a := range n.Alerts {
		body, err := json.Marshal(NewEvent(c.key, n.Kind, n.At, a))
		if err != nil {
			return false, fmt.Errorf("pagerduty %q: encode event: %w", c.name, err)
		}
		retry, err := c.p.Post(ctx, c.url, header, body, &tries, n.Attempt)
		if err != nil {
			what := ""
			if len(n.Alerts) > 1 {
				what = fmt.Sprintf(" (event %d of %d, %s)", i+1, len(n.Alerts), a.Fingerprint)
			}
			return retry, fmt.Errorf("pagerduty %q%s: %w", c.name, what, err)
		}
	}
	return false, nil
}

// describe renders an Events API error body: {"status": "invalid event",
// "message": "Event object is invalid", "errors": ["…"]}.
func describe(body []byte) string {
	var r struct {
		Status  string   `json:"status"`
		Message string   `json:"message"`
		Errors  []string `json:"errors"`
	}
	if json.Unmarshal(body, &r) != nil || (r.Message == "" && len(r.Errors) == 0) {
		return ""
	}
	parts := []string{}
	if r.Message != "" {
		parts = append(parts, r.Message)
	}
	if len(r.Errors) > 0 {
		parts = append(parts, strings.Join(r.Errors, "; "))
	}
	return strings.Join(parts, ": ")
}
