// Package alertmanager sends vigil's alerts to a Prometheus Alertmanager
// through its API: POST {url}/api/v2/alerts with a JSON array of
// postable alerts, one per alert of the notification, the way Prometheus
// itself sends alerts. Alertmanager then groups, inhibits, silences and
// routes them to its own receivers.
//
// One alert is:
//
//	{
//	  "labels": {"alertname": "high_cpu", "severity": "critical", "host": "db-01", "team": "infra"},
//	  "annotations": {"description": "CPU above 80%", "value": "92.5", "threshold": "80",
//	                  "vigil_fingerprint": "f372fee676ae0d86", "incident": "…"},
//	  "startsAt": "2026-11-29T09:58:30Z",
//	  "endsAt": "2026-11-29T10:04:30Z"
//	}
//
// labels are the alert's labels plus alertname (the rule, replacing any
// alertname label) and severity (the rule's, unless the alert has a
// severity label of its own). annotations carry the description, value
// (left out when it is not a number), threshold, vigil's fingerprint and
// the incident when there is one. generatorURL is left out: vigil has no
// page to link to, and Alertmanager rejects one that is not a URL.
//
// A firing alert's endsAt is the run's evaluation time plus Validity (by
// default 4 minutes: four times the default evaluation interval, as
// Prometheus sends endsAt = now + 4 × its evaluation interval); vigil
// re-sends every firing alert on every run (notify's refresh notices), so
// the alert stays active while vigil runs and resolves by itself if vigil
// stops. vigil budget's SLO alerts get at least 4 × 15m (its runs are
// minutes apart: config.BudgetRunInterval). A resolved alert's endsAt is
// the time it resolved. startsAt is when the alert started firing.
//
// Alertmanager computes an alert's fingerprint from its labels; with the
// severity label added it differs from vigil's fingerprint (which hashes
// alertname and the alert's labels only), so vigil_fingerprint is kept as
// an annotation.
//
// config.go is the channel's settings as the config file gives them
// (Config: its keys, checks, secrets read at send time, Validate, shared
// by vigil check and New) and Notifier, its line in alert/channels' registry.
//
// The package knows one channel, alertmanager: it must not import another
// channel's package.
package alertmanager

import (
	"context"
	"encoding/json"
	"fmt"
	"math"
	"net/http"
	"strconv"
	"sync"
	"time"

	"github.com/vigil-metrics/vigil/alert/config"
	"github.com/vigil-metrics/vigil/alert/httpsend"
	"github.com/vigil-metrics/vigil/alert/notify"
	"github.com/vigil-metrics/vigil/internal/secret"
)

// DefaultValidity is how long after a run a firing alert sent by it stays
// active in Alertmanager unless a later run sends it again: four times the
// default evaluation interval (one minute).
const DefaultValidity = 4 * time.Minute

// Channel sends notifications to one Alertmanager. It is safe for
// concurrent use once Validity is set.
type Channel struct {
	// Validity is added to the run's time to make a firing alert's endsAt.
	// New sets DefaultValidity; the caller should set it to four times the
	// config's settings.evaluation_interval (see Prometheus's
	// rules.Alert.ResolvedAt / resendDelay) so that a missed run or two does
	// not resolve an alert that still fires.
	Validity time.Duration

	name     string
	endpoint string
	headers  http.Header
	p        httpsend.Poster
	mu       sync.Mutex
}

// New builds the sender for ch, an alertmanager channel: its url is
// Alertmanager's base URL (with any --web.route-prefix path), its headers
// (optional) go with every request (Authorization for a proxy in front of
// it). lookupEnv is not used (the config has already expanded ${VAR} in
// url and headers); it is there so that every channel constructor has the
// same shape. client may be nil (a fresh http.Client; the channel's
// timeout applies per attempt).
func New(ch config.Channel, lookupEnv func(string) (string, bool), client *http.Client) (*Channel, error) {
	_ = lookupEnv
	cfg, err := config.SettingsOf[Config](ch, "alertmanager")
	if err != nil {
		return nil, err
	}
	if err := cfg.Validate(ch.Name); err != nil {
		return nil, err
	}
	u, _ := httpsend.CheckURL("url", cfg.URL)       // checked by Validate
	headers, _ := httpsend.ReadHeaders(cfg.Headers) // likewise
	headers.Set("Content-Type", "application/json")
	if headers.Get("User-Agent") == "" {
		headers.Set("User-Agent", "vigil")
	}
	u.Fragment, u.RawFragment = "", ""
	c := &Channel{Validity: DefaultValidity, name: ch.Name, endpoint: u.JoinPath("api", "v2", "alerts").String(),
		headers: headers, p: httpsend.New(ch, client)}
	c.p.Describe = describe
	c.p.Secrets = secret.New()
	cfg.RegisterSecrets(c.p.Secrets, lookupEnv)
	return c, nil
}

// describe renders Alertmanager's error body: a JSON string ("invalid
// label set: …") or an object with a message ({"code": 400, "message":
// "…"}); anything else is quoted as it is.
func describe(body []byte) string {
	var s string
	if json.Unmarshal(body, &s) == nil && s != "" {
		return strconv.Quote(s)
	}
	var o struct {
		Message string `json:"message"`
	}
	if json.Unmarshal(body, &o) == nil && o.Message != "" {
		return strconv.Quote(o.Message)
	}
	return ""
}

// Name is the channel's name.
func (c *Channel) Name() string { return c.name }

// Endpoint is the URL alerts are posted to: the channel's url joined with
// api/v2/alerts. It may hold secrets (user info, a query): never log it.
func (c *Channel) Endpoint() string { return c.endpoint }

// PostableAlert is Alertmanager's API v2 postableAlert.
type PostableAlert struct {
	Labels       map[string]string `json:"labels"`
	Annotations  map[string]string `json:"annotations,omitempty"`
	StartsAt     string            `json:"startsAt,omitempty"`
	EndsAt       string            `json:"endsAt,omitempty"`
	GeneratorURL string            `json:"generatorURL,omitempty"`
}

// Alerts builds the alerts posted for n: see the package comment. A
// notification of kind "resolved" sends its alerts resolved; any other
// kind sends them firing until n.At + validity.
func Alerts(n notify.Notification, validity time.Duration) []PostableAlert {
	out := make([]PostableAlert, 0, len(n.Alerts))
	for _, a := range n.Alerts {
		labels := make(map[string]string, len(a.Labels)+2)
		for k, v := range a.Labels {
			labels[k] = v
		}
		labels["alertname"] = a.Rule
		if _, ok := labels["severity"]; !ok && a.Severity != "" {
			labels["severity"] = a.Severity
		}
		ann := map[string]string{"threshold": fmtFloat(a.Threshold), "vigil_fingerprint": a.Fingerprint}
		if a.Description != "" {
			ann["description"] = a.Description
		}
		if v := a.ValueOrNaN(); !math.IsNaN(v) { // +Inf too: not "no value"
			ann["value"] = fmtFloat(v)
		}
		if a.Incident != "" {
			ann["incident"] = a.Incident
		}
		// What a person reads (issue 30), under Alertmanager's
		// conventional names where there is one.
		ack := a.AckCommand
		if n.Kind == "resolved" {
			ack = "" // nothing left to acknowledge (docs/channels.md)
		}
		for k, v := range map[string]string{"summary": a.Summary, "runbook_url": a.RunbookURL,
			"threshold_kind": a.ThresholdKind, "vigil_ack_command": ack} {
			if v != "" {
				ann[k] = v
			}
		}
		var ends time.Time
		if n.Kind == "resolved" {
			ends = a.EndsAt
			if ends.IsZero() {
				ends = n.At
			}
		} else {
			ends = n.At.Add(validity)
			if _, ok := config.SLOAlerts[a.Rule]; ok {
				// vigil budget --notify runs every few minutes, not every
				// evaluation interval: 4 of its runs (h30 D24).
				ends = n.At.Add(max(validity, 4*config.BudgetRunInterval))
			}
		}
		// Alertmanager refuses an alert that ends before it starts.
		if !a.StartsAt.IsZero() && ends.Before(a.StartsAt) {
			ends = a.StartsAt
		}
		pa := PostableAlert{Labels: labels, Annotations: ann}
		if !a.StartsAt.IsZero() {
			pa.StartsAt = a.StartsAt.UTC().Format(time.RFC3339Nano)
		}
		if !ends.IsZero() {
			pa.EndsAt = ends.UTC().Format(time.RFC3339Nano)
		}
		out = append(out, pa)
	}
	return out
}

func fmtFloat(f float64) string { return strconv.FormatFloat(f, 'g', -1, 64) }

// Notify posts n's alerts (Alerts) in one request, with the retries of a
// webhook channel: network errors, 5xx and 429 are retried (Retry-After
// honoured up to MaxRetryAfter); another status is permanent (retry false:
// Alertmanager answers 400 with its reason to an alert it refuses). Any
// 2xx, normally 200, is success.
func (c *Channel) Notify(ctx context.Context, n notify.Notification) (retry bool, err error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if len(n.Alerts) == 0 {
		return false, fmt.Errorf("alertmanager %q: no alerts to send", c.name)
	}
	body, err := json.Marshal(Alerts(n, c.Validity))
	if err != nil {
		return false, fmt.Errorf("alertmanager %q: encode alerts: %w", c.name, err)
	}
	tries := 0
	retry, err = c.p.Post(ctx, c.endpoint, c.headers, body, &tries, n.Attempt)
	if err != nil {
		return retry, fmt.Errorf("alertmanager %q: %w", c.name, err)
	}
	return false, nil
}
