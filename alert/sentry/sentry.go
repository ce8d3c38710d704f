// Package sentry sends vigil's alert notifications to Sentry as events,
// with the Sentry Go SDK (github.com/getsentry/sentry-go).
//
// Every alert of a notification is one event:
//
//   - message "<rule>: <description>" ("<rule>" without a description),
//     with " (resolved)" appended for a resolution;
//   - level from the severity: critical fatal, high error, medium warning,
//     low info; a resolution is info;
//   - fingerprint [the alert's vigil fingerprint], so every notification
//     about one alert (firing again, reminders, escalations, its
//     resolution) lands in one Sentry issue;
//   - tags: the alert's labels, then alertname (the rule), severity, state,
//     fingerprint, status (firing or resolved), resolved ("true", on a
//     resolution only), project (the channel's project, when set) and
//     incident (when the alert is in one); vigil's tags win over labels of
//     the same name (the labels are all in the "alert" context too);
//   - environment: the channel's environment;
//   - timestamp: the run's evaluation time; logger "vigil";
//   - context "alert": rule, description, labels, value (null when not a
//     number), threshold, state, starts_at, ends_at, fingerprint, incident,
//     escalation_step.
//
// Each channel has its own sentry.Client and sentry.Hub (never the SDK's
// global hub) with no default integrations, and a Transport of this
// package that posts each event's envelope to the DSN's envelope endpoint
// (https://HOST/api/PROJECT/envelope/) synchronously, inside Notify, with
// the retries of a webhook channel: network errors, 5xx and 429 are
// retried (Retry-After honoured up to MaxRetryAfter); another status is
// permanent (400 a malformed event, 401/403 a bad key, 413 too large).
// The SDK's own HTTPTransport sends from a background goroutine and drops
// what fails, which would leave vigil unable to tell a delivered
// notification from a lost one.
//
// The DSN is the channel's dsn (${VAR} in it is read from the environment)
// or else the value of the environment variable dsn_env names (SENTRY_DSN
// by default). Its public key is a secret: no error of this package
// contains it.
//
// config.go is the channel's settings as the config file gives them
// (Config: its keys, checks, secrets read at send time, Validate, shared
// by vigil check and New) and Notifier, its line in alert/channels' registry.
//
// The package knows one channel, sentry: it must not import another
// channel's package.
package sentry

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"os"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"time"

	sentrygo "github.com/getsentry/sentry-go"

	"github.com/vigil-metrics/vigil/alert/config"
	"github.com/vigil-metrics/vigil/alert/httpsend"
	"github.com/vigil-metrics/vigil/alert/notify"
	"github.com/vigil-metrics/vigil/internal/secret"
)

// DefaultDSNEnv names the environment variable that holds the DSN when
// the channel has no dsn and no dsn_env.
const DefaultDSNEnv = "SENTRY_DSN"

// Sentry's limits on tags: longer values are dropped, so they are cut.
const maxTagValue = 200

// release is the placeholder release given to the SDK (which otherwise
// runs git to guess one) and removed from every event: the release of
// the project the alert is about is not vigil's to say.
const release = "vigil-no-release"

// ErrNoDSN is returned, wrapped, when the channel has no DSN to send to.
var ErrNoDSN = errors.New("no Sentry DSN")

// Channel sends notifications to one sentry channel. It is safe for
// concurrent use (one notification at a time).
type Channel struct {
	name        string
	project     string
	environment string
	dsnFrom     string // where the DSN comes from, for errors: "dsn" or the variable
	dsn         *sentrygo.Dsn
	client      *sentrygo.Client
	hub         *sentrygo.Hub
	tr          *transport
	timeout     time.Duration

	mu sync.Mutex
}

var envRef = regexp.MustCompile(`\$\{([A-Za-z_][A-Za-z0-9_]*)\}`)

// New builds the sender for ch, a sentry channel. lookupEnv reads the
// environment (nil: os.LookupEnv); client may be nil (a fresh
// http.Client; the channel's timeout applies per attempt).
//
// A DSN that is set but malformed is an error (it does not quote the
// DSN). No DSN at all is not (the config check only warns, and a run
// must still evaluate and send elsewhere): Notify reports it, with retry
// true, so what is owed goes out once it is set.
func New(ch config.Channel, lookupEnv func(string) (string, bool), client *http.Client) (*Channel, error) {
	cfg, err := config.SettingsOf[Config](ch, "sentry")
	if err != nil {
		return nil, err
	}
	if err := cfg.Validate(ch.Name); err != nil {
		return nil, err
	}
	if lookupEnv == nil {
		lookupEnv = os.LookupEnv
	}
	c := &Channel{name: ch.Name, timeout: ch.Timeout, project: cfg.Project, environment: cfg.Environment}
	if c.timeout <= 0 {
		c.timeout = DefaultTimeout
	}
	var raw string
	raw, c.dsnFrom = cfg.resolveDSN(lookupEnv)
	p := httpsend.New(ch, client)
	p.Secrets = secret.New()
	cfg.RegisterSecrets(p.Secrets, lookupEnv)
	c.tr = &transport{p: p}
	if raw == "" {
		return c, nil
	}
	dsn, err := parseDSN(ch.Name, c.dsnFrom, raw)
	if err != nil {
		return nil, err
	}
	c.dsn = dsn
	c.tr.dsn = dsn
	sc, err := sentrygo.NewClient(sentrygo.ClientOptions{
		Dsn:                  raw,
		Transport:            c.tr,
		Environment:          c.environment,
		Release:              release,
		Integrations:         func([]sentrygo.Integration) []sentrygo.Integration { return nil },
		DisableClientReports: true,
		DisableMetrics:       true,
		SampleRate:           1,
	})
	if err != nil {
		return nil, fmt.Errorf("channel %q: %s is not a valid Sentry DSN%s", ch.Name, c.dsnFrom, dsnReason(err))
	}
	c.client = sc
	c.hub = sentrygo.NewHub(sc, sentrygo.NewScope())
	return c, nil
}

// dsnReason is the part of a DSN parse error that cannot hold the DSN.
func dsnReason(err error) string {
	var pe *sentrygo.DsnParseError
	if errors.As(err, &pe) && !strings.HasPrefix(pe.Message, "invalid url") {
		return ": " + pe.Message
	}
	return ""
}

// Name is the channel's name.
func (c *Channel) Name() string { return c.name }

// Close releases the SDK client.
func (c *Channel) Close() {
	if c.client != nil {
		c.client.Close()
	}
}

// Level maps a vigil severity to a Sentry level: critical fatal, high
// error, medium warning, low info; anything else error.
func Level(severity string) sentrygo.Level {
	switch severity {
	case "critical":
		return sentrygo.LevelFatal
	case "high":
		return sentrygo.LevelError
	case "medium":
		return sentrygo.LevelWarning
	case "low":
		return sentrygo.LevelInfo
	}
	return sentrygo.LevelError
}

// NewEvent builds the event for a, one alert of a notification of kind
// ("firing" or "resolved") evaluated at at, for a channel with project
// project (may be empty): see the package comment. The SDK fills in the
// event id, the environment, the platform and the SDK.
func NewEvent(kind string, at time.Time, project string, a notify.Alert) *sentrygo.Event {
	resolved := kind == "resolved"
	e := sentrygo.NewEvent()
	e.Message = a.Rule
	if a.Description != "" {
		e.Message += ": " + a.Description
	}
	e.Level = Level(a.Severity)
	status := "firing"
	if resolved {
		e.Message += " (resolved)"
		e.Level = sentrygo.LevelInfo
		status = "resolved"
	}
	e.Fingerprint = []string{a.Fingerprint}
	e.Logger = "vigil"
	e.Timestamp = at
	for k, v := range a.Labels {
		e.Tags[k] = tagValue(v)
	}
	for k, v := range map[string]string{"alertname": a.Rule, "severity": a.Severity, "state": a.State,
		"fingerprint": a.Fingerprint, "status": status} {
		e.Tags[k] = tagValue(v)
	}
	if resolved {
		e.Tags["resolved"] = "true"
	}
	if project != "" {
		e.Tags["project"] = tagValue(project)
	}
	if a.Incident != "" {
		e.Tags["incident"] = tagValue(a.Incident)
	}
	labels := a.Labels
	if labels == nil {
		labels = map[string]string{}
	}
	ctx := sentrygo.Context{"rule": a.Rule, "description": a.Description, "labels": labels, "value": a.Value,
		"threshold": a.Threshold, "state": a.State, "fingerprint": a.Fingerprint, "escalation_step": a.EscalationStep}
	if !a.StartsAt.IsZero() {
		ctx["starts_at"] = a.StartsAt.UTC().Format(time.RFC3339Nano)
	}
	if !a.EndsAt.IsZero() {
		ctx["ends_at"] = a.EndsAt.UTC().Format(time.RFC3339Nano)
	}
	if a.Incident != "" {
		ctx["incident"] = a.Incident
	}
	// What a person reads (issue 30), those the notice has.
	for k, v := range map[string]string{"value_text": a.ValueText, "threshold_text": a.ThresholdText,
		"threshold_kind": a.ThresholdKind, "summary": a.Summary, "window": a.Window, "path": a.Path,
		"runbook_url": a.RunbookURL, "ack_command": a.AckCommand} {
		if v != "" {
			ctx[k] = v
		}
	}
	if len(a.Details) > 0 {
		ctx["details"] = a.Details
	}
	e.Contexts["alert"] = ctx
	return e
}

// tagValue makes v a valid Sentry tag value: one line, at most 200
// characters.
func tagValue(v string) string {
	v = strings.Join(strings.Fields(v), " ")
	if len(v) > maxTagValue {
		v = strings.ToValidUTF8(v[:maxTagValue-3], "") + "..."
	}
	return v
}

// Notify captures one event per alert of n through the channel's hub and
// flushes the client; the transport posts each event before the capture
// returns, stopping at the first that fails. retry is false when Sentry
// rejected an event (a 4xx other than 429); true when the failure was
// transient, the flush timed out, or there is no DSN. Re-sending events
// that went through only adds an event to the same issue.
func (c *Channel) Notify(ctx context.Context, n notify.Notification) (retry bool, err error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if len(n.Alerts) == 0 {
		return false, fmt.Errorf("sentry %q: no alerts to send", c.name)
	}
	if c.dsn == nil {
		return true, fmt.Errorf("sentry %q: %w: no dsn and environment variable %s is empty or unset", c.name, ErrNoDSN, c.dsnFrom)
	}
	c.tr.begin(ctx, n.Attempt)
	defer c.tr.end()
	for i, a := range n.Alerts {
		ev := NewEvent(n.Kind, n.At, c.project, a)
		ev.EventID = eventID(n.Key, a.Fingerprint)
		id := c.hub.CaptureEvent(ev)
		retry, err := c.tr.result()
		if err == nil && id == nil {
			err = errors.New("the SDK dropped the event")
		}
		if err != nil {
			what := ""
			if len(n.Alerts) > 1 {
				what = fmt.Sprintf(" (event %d of %d, %s)", i+1, len(n.Alerts), a.Fingerprint)
			}
			return retry, fmt.Errorf("sentry %q%s: %w", c.name, what, err)
		}
	}
	if !c.client.Flush(c.timeout) {
		return true, fmt.Errorf("sentry %q: flush timed out after %v", c.name, c.timeout)
	}
	return false, nil
}

// transport is the channel's sentry.Transport: SendEvent posts the
// event's envelope at once, with retries, under the context and attempt
// callback of the notification being sent, and keeps the outcome for
// Notify.
type transport struct {
	p   httpsend.Poster
	dsn *sentrygo.Dsn

	mu        sync.Mutex
	ctx       context.Context
	onAttempt func(try, status int, err error)
	tries     int
	sent      bool
	retry     bool
	err       error
}

func (t *transport) begin(ctx context.Context, onAttempt func(try, status int, err error)) {
	t.mu.Lock()
	defer t.mu.Unlock()
	t.ctx, t.onAttempt, t.tries = ctx, onAttempt, 0
	t.sent, t.retry, t.err = false, false, nil
}

func (t *transport) end() {
	t.mu.Lock()
	defer t.mu.Unlock()
	t.ctx, t.onAttempt = nil, nil
}

// result is the outcome of the last SendEvent, which it clears.
func (t *transport) result() (retry bool, err error) {
	t.mu.Lock()
	defer t.mu.Unlock()
	retry, err = t.retry, t.err
	if !t.sent && err == nil {
		err = errors.New("the SDK sent nothing")
	}
	t.sent, t.retry, t.err = false, false, nil
	return retry, err
}

func (t *transport) Configure(sentrygo.ClientOptions) {}

func (t *transport) SendEvent(e *sentrygo.Event) {
	t.mu.Lock()
	defer t.mu.Unlock()
	t.sent = true
	ctx := t.ctx
	if ctx == nil { // an event captured outside Notify: not ours to send
		t.err = errors.New("event captured outside Notify")
		return
	}
	if e.Release == release {
		e.Release = ""
	}
	// sent_at is when the request leaves (Sentry corrects clock drift with it),
	// not the evaluation instant: the real clock, as a lock wait reads it.
	body, err := envelope(e, t.dsn, time.Now())
	if err != nil {
		t.err = fmt.Errorf("encode event: %w", err)
		return
	}
	header := http.Header{
		"Content-Type": {"application/x-sentry-envelope"},
		"User-Agent":   {e.Sdk.Name + "/" + e.Sdk.Version},
		"X-Sentry-Auth": {fmt.Sprintf("Sentry sentry_version=7, sentry_client=%s/%s, sentry_key=%s",
			e.Sdk.Name, e.Sdk.Version, t.dsn.GetPublicKey())},
	}
	if s := t.dsn.GetSecretKey(); s != "" {
		header["X-Sentry-Auth"][0] += ", sentry_secret=" + s
	}
	t.retry, t.err = t.p.Post(ctx, t.dsn.GetAPIURL().String(), header, body, &t.tries, t.onAttempt)
}

func (t *transport) Flush(time.Duration) bool              { return true }
func (t *transport) FlushWithContext(context.Context) bool { return true }
func (t *transport) Close()                                {}

// envelope is e as a Sentry envelope: a header line (event_id, sent_at,
// dsn, sdk), an item header line (type event, length) and the event.
func envelope(e *sentrygo.Event, dsn *sentrygo.Dsn, sentAt time.Time) ([]byte, error) {
	payload, err := json.Marshal(e)
	if err != nil {
		return nil, err
	}
	head, err := json.Marshal(struct {
		EventID string            `json:"event_id"`
		SentAt  string            `json:"sent_at"`
		DSN     string            `json:"dsn"`
		SDK     map[string]string `json:"sdk"`
	}{string(e.EventID), sentAt.UTC().Format(time.RFC3339Nano), dsn.String(),
		map[string]string{"name": e.Sdk.Name, "version": e.Sdk.Version}})
	if err != nil {
		return nil, err
	}
	var b bytes.Buffer
	b.Write(head)
	b.WriteString("\n{\"type\":\"event\",\"length\":" + strconv.Itoa(len(payload)) + "}\n")
	b.Write(payload)
	b.WriteString("\n")
	return b.Bytes(), nil
}

// eventID is an event's id derived from the notification's idempotency
// key and the alert: every try of one notification, in any run, sends the
// same ids, and Sentry drops an event whose id it already has, so a retry
// after a timeout that did arrive is not a second event. Without a key (a
// notification built by hand) the SDK draws one.
func eventID(key, fingerprint string) sentrygo.EventID {
	if key == "" {
		return ""
	}
	sum := sha256.Sum256([]byte(key + "\x00" + fingerprint))
	return sentrygo.EventID(hex.EncodeToString(sum[:16]))
}
