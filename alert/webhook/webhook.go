// Package webhook sends vigil's alert notifications to HTTP endpoints as
// JSON, in one of two formats chosen by the channel's format setting.
//
// The "vigil" format (the default) is the reference design's webhook
// payload (WebhookNotificationChannel) with what vigil adds; see Payload
// and NewPayload. One alert is one object:
//
//	{
//	  "timestamp": "2025-03-01T12:00:30Z",    // evaluation time, RFC 3339 UTC
//	  "alert_name": "HighLatency",            // the rule
//	  "severity": "critical",
//	  "description": "p99 latency above 500ms",
//	  "metric_value": 612.5,                  // null when NaN or infinite
//	  "threshold": 500,                       // null when NaN or infinite
//	  "labels": {"service": "api"},           // the alert's labels, {} when none
//	  "escalation_step": 0,                   // the escalation step, 0-based
//	  "status": "firing",                     // "firing" or "resolved"
//	  "state": "firing",                      // firing, pending, nodata, resolved or inactive
//	  "fingerprint": "00000000000000ab",
//	  "incident": "inc-20250301-1",           // left out when the alert is in no incident
//	  "starts_at": "2025-03-01T10:58:00Z",    // null when unknown
//	  "ends_at": null,                        // null while the alert is active
//	  "idempotency_key": "3f9c..."            // 32 hex digits, the same on every try
//	}
//
// status is the notification's: "resolved" for a resolution, including
// a firing alert whose data stopped (state nodata), "firing" otherwise;
// without one it is "resolved" for the states resolved and inactive and
// "firing" for every other state (pending and nodata are not recoveries);
// state is the exact vigil state. When one notification carries several
// alerts (an incident's alerts sent to the channel together) it is still
// one object: the first alert's fields at the top level, so a receiver
// written for the single-alert payload keeps working, plus "alerts", an
// array holding the same object for every alert, the first included. A single-alert payload
// has no "alerts" key.
//
// The "alertmanager" format is Alertmanager's webhook payload (version
// 4), so receivers built for Alertmanager work with vigil unchanged; see
// Message and NewMessage.
//
// A Sender is built from one configured channel (type webhook). Send
// builds the payload for the channel's format and posts it; Notify posts
// a prepared Message. Both retry transient failures (network errors, 5xx,
// 429) with exponential backoff inside the call, and tell their caller
// through the retry result whether a later run may try again: vigil runs
// from cron, so giving up now is not giving up for good. Any 2xx is
// success. Sender.OnAttempt, when set, sees every HTTP attempt.
//
// Webhook URLs are credentials (Slack and many others put the token in the
// path), so no error from this package contains more of the URL than its
// scheme and host; see httpsend.RedactURL.
//
// The package knows one channel, webhook: it must not import another
// channel's package, and no other channel imports it (what channels share
// lives in alert/httpsend).
//
// config.go is the channel's settings as the config file gives them
// (Config: its keys, checks, secrets read at send time, Validate, shared
// by vigil check and New) and Notifier, its line in alert/channels' registry.
package webhook

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/vigil-metrics/vigil/alert/config"
	"github.com/vigil-metrics/vigil/alert/httpsend"
	"github.com/vigil-metrics/vigil/internal/secret"
)

// Defaults for what the channel leaves out: the retry policy's
// (alert/retry), as for every channel.
const (
	DefaultTimeout       = httpsend.DefaultTimeout
	DefaultRetryAttempts = httpsend.DefaultRetryAttempts
	DefaultRetryDelay    = httpsend.DefaultRetryDelay
	MaxRetryAfter        = httpsend.MaxRetryAfter
)

// Payload formats, the values of a webhook channel's format setting
// (Formats).
const (
	FormatVigil        = "vigil"        // the reference design's payload, Payload
	FormatAlertmanager = "alertmanager" // Alertmanager's webhook payload v4, Message
)

// maxErrorBody is how much of a failed response's body goes into the error:
// enough for a receiver's reason ("invalid_token"), not a whole HTML page.
const maxErrorBody = 256

// Sender delivers notifications to one webhook channel. It is safe for
// concurrent use once OnAttempt is set.
type Sender struct {
	// OnAttempt, when not nil, is called after every HTTP attempt, on the
	// goroutine that called Send or Notify, with the try's number (1 for
	// the first), the response's status code (0 when no response came:
	// a network error, a timeout, a cancelled context) and the attempt's
	// error (nil for a 2xx). The error is already redacted like every
	// error of this package. Set it before the Sender is first used.
	OnAttempt func(try int, status int, err error)

	name     string
	format   string
	url      string
	headers  http.Header
	client   *http.Client
	timeout  time.Duration // per attempt
	attempts int
	delay    time.Duration
	// secrets are the url's and the headers': scrubbed from every error
	// (a receiver may echo the request in its answer).
	secrets *secret.Set
}

// New builds the sender for ch, a webhook channel whose settings (a
// *Config) pass Validate; an empty format means FormatVigil. client may be nil (a
// fresh http.Client); it is not given a timeout, because the channel's
// timeout applies per attempt through the request's context.
//
// RetryAttempts counts all tries, as in the reference design. A channel
// that does not set retry_attempts gets DefaultRetryAttempts; an explicit
// 0 means one try and no retries.
func New(ch config.Channel, client *http.Client) (*Sender, error) {
	cfg, err := config.SettingsOf[Config](ch, "webhook")
	if err != nil {
		return nil, err
	}
	if err := cfg.Validate(ch.Name); err != nil {
		return nil, err
	}
	headers, _ := httpsend.ReadHeaders(cfg.Headers) // checked by Validate
	format := FormatVigil
	if cfg.Format != "" {
		format = cfg.Format
	}
	p := httpsend.New(ch, client)
	set := secret.New()
	cfg.RegisterSecrets(set, nil)
	return &Sender{
		name: ch.Name, format: format, url: cfg.URL, headers: headers, client: p.Client,
		timeout: p.Timeout, attempts: p.Attempts, delay: p.Delay, secrets: set,
	}, nil
}

// Name is the channel's name.
func (s *Sender) Name() string { return s.name }

// Format is the channel's payload format, FormatVigil or
// FormatAlertmanager.
func (s *Sender) Format() string { return s.format }

// Encode returns the JSON body Send posts for alerts evaluated at at:
// NewPayload's in the vigil format, NewMessage(s.Name(), at, alerts)'s in
// the alertmanager format.
func (s *Sender) Encode(at time.Time, alerts []Alert) ([]byte, error) {
	return s.encode(at, alerts, "")
}

// encode is Encode with the idempotency key in the vigil format's
// payload (Alertmanager's format has no place for it: the header carries
// it).
func (s *Sender) encode(at time.Time, alerts []Alert, key string) ([]byte, error) {
	if len(alerts) == 0 {
		return nil, fmt.Errorf("webhook %q: no alerts to send", s.name)
	}
	var v any
	switch s.format {
	case FormatAlertmanager:
		v = NewMessage(s.name, at, alerts)
	default:
		p := NewPayload(at, alerts)
		p.IdempotencyKey = key
		v = p
	}
	body, err := json.Marshal(v)
	if err != nil {
		return nil, fmt.Errorf("webhook %q: encode payload: %w", s.name, err)
	}
	return body, nil
}

// Send posts one notification about alerts, evaluated at at, in the
// channel's format (see Encode), with Notify's retries and results.
// Several alerts make one request. An empty alerts is an error, and not
// one worth retrying.
func (s *Sender) Send(ctx context.Context, at time.Time, alerts []Alert) (retry bool, err error) {
	return s.SendKeyed(ctx, at, alerts, "")
}

// SendKeyed is Send with an idempotency key ("": none): sent as the
// Idempotency-Key header in both formats and as idempotency_key in the
// vigil format's payload, the same on every try.
func (s *Sender) SendKeyed(ctx context.Context, at time.Time, alerts []Alert, key string) (retry bool, err error) {
	body, err := s.encode(at, alerts, key)
	if err != nil {
		return false, err
	}
	return s.post(ctx, body, key)
}

// Notify posts m as JSON, whatever the channel's format, retrying network errors, 5xx and 429 with
// exponential backoff from the channel's retry_delay (doubling, no jitter,
// as in the reference design; a 429's Retry-After in seconds replaces the
// delay, capped at MaxRetryAfter) for at most the channel's retry_attempts
// tries, and stopping when ctx is done.
//
// err is nil when a 2xx answered. Otherwise retry tells whether a later run
// may send m again: true when the failure was transient (attempts ran out,
// ctx ended), false when the receiver rejected the request (a 4xx other
// than 429, or a status that is neither success nor worth retrying), since
// sending the same request again would be rejected again.
func (s *Sender) Notify(ctx context.Context, m Message) (retry bool, err error) {
	body, err := json.Marshal(m)
	if err != nil {
		return false, fmt.Errorf("webhook %q: encode message: %w", s.name, err)
	}
	return s.post(ctx, body, "")
}

// post sends body with the retries Notify describes.
func (s *Sender) post(ctx context.Context, body []byte, key string) (retry bool, err error) {
	p := httpsend.Poster{Client: s.client, Timeout: s.timeout, Attempts: s.attempts, Delay: s.delay,
		MaxRetryAfter: MaxRetryAfter, MaxErrorBody: maxErrorBody, Classify: classify, Secrets: s.secrets}
	h := http.Header{"Content-Type": {"application/json"}, "User-Agent": {"vigil"}}
	for k, v := range s.headers {
		h[k] = v
	}
	if key != "" {
		h.Set("Idempotency-Key", key)
	}
	_, retry, err = p.Do(ctx, &httpsend.Request{URL: s.url, Header: h, Body: body}, nil, s.OnAttempt)
	if err != nil {
		return retry, fmt.Errorf("webhook %q: %w", s.name, err)
	}
	return false, nil
}

// classify reads a failed answer as a StatusError; 429 (waiting as its
// Retry-After asks, capped at MaxRetryAfter) and 5xx are transient.
func classify(_ *httpsend.Request, shown string, resp *httpsend.Response) httpsend.Verdict {
	v := httpsend.Verdict{Err: &StatusError{URL: shown, Code: resp.Status, Body: strings.TrimSpace(string(resp.Body))},
		Retry: httpsend.Transient(resp.Status)}
	if resp.Status == http.StatusTooManyRequests {
		v.Wait = min(httpsend.RetryAfter(resp.Header), MaxRetryAfter)
	}
	return v
}

// StatusError is a non-2xx answer.
type StatusError struct {
	URL  string // redacted
	Code int
	Body string // the start of the response body
}

func (e *StatusError) Error() string {
	msg := fmt.Sprintf("POST %s: %d %s", e.URL, e.Code, http.StatusText(e.Code))
	if e.Body != "" {
		msg += ": " + strconv.Quote(e.Body)
	}
	return msg
}
