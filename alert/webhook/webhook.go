// Package webhook sends vigil's alert notifications to HTTP endpoints as
// JSON in Alertmanager's webhook format, so receivers built for
// Alertmanager work with vigil unchanged.
//
// A Sender is built from one configured channel (type webhook) and
// delivers one Message per Notify call. Notify retries transient failures
// (network errors, 5xx, 429) with exponential backoff inside the call, and
// tells its caller through the retry result whether a later run may try
// again: vigil runs from cron, so giving up now is not giving up for good.
//
// Webhook URLs are credentials (Slack and many others put the token in the
// path), so no error from this package contains more of the URL than its
// scheme and host; see RedactURL.
package webhook

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/cenkalti/backoff/v5"

	"github.com/vigil-metrics/vigil/alert/config"
)

// Defaults for what the channel leaves out. Timeout matches the reference
// design; three tries with a short first delay ride out a receiver restart
// without holding a cron run for long.
const (
	DefaultTimeout       = 10 * time.Second
	DefaultRetryAttempts = 3
	DefaultRetryDelay    = time.Second
	// MaxRetryAfter caps a server's Retry-After, so a receiver cannot stall
	// an evaluate run; beyond it the next run retries instead.
	MaxRetryAfter = 30 * time.Second
)

// maxErrorBody is how much of a failed response's body goes into the error:
// enough for a receiver's reason ("invalid_token"), not a whole HTML page.
const maxErrorBody = 256

// Sender delivers messages to one webhook channel. It is safe for
// concurrent use.
type Sender struct {
	name          string
	url           string
	headers       http.Header
	client        *http.Client
	timeout       time.Duration // per attempt
	attempts      int
	delay         time.Duration
	maxRetryAfter time.Duration
}

// New builds the sender for ch, which must be a webhook channel with an
// http or https url. client may be nil (a fresh http.Client); it is not
// given a timeout, because the channel's timeout applies per attempt
// through the request's context.
//
// RetryAttempts counts all tries, as in the reference design. A channel
// that does not set retry_attempts gets DefaultRetryAttempts; an explicit
// 0 means one try and no retries.
func New(ch config.Channel, client *http.Client) (*Sender, error) {
	if ch.Type != "webhook" {
		return nil, fmt.Errorf("channel %q: type %q is not webhook", ch.Name, ch.Type)
	}
	raw, _ := ch.Settings["url"].(string)
	if raw == "" {
		return nil, fmt.Errorf("channel %q: url is required", ch.Name)
	}
	u, err := url.Parse(raw)
	if err != nil {
		// url.Parse's error quotes the whole URL; drop it.
		return nil, fmt.Errorf("channel %q: url %s is not a valid URL", ch.Name, RedactURL(raw))
	}
	if u.Scheme != "http" && u.Scheme != "https" {
		return nil, fmt.Errorf("channel %q: url %s: want an http or https URL", ch.Name, RedactURL(raw))
	}
	if u.Host == "" {
		return nil, fmt.Errorf("channel %q: url %s has no host", ch.Name, RedactURL(raw))
	}
	headers, err := readHeaders(ch.Settings["headers"])
	if err != nil {
		return nil, fmt.Errorf("channel %q: %w", ch.Name, err)
	}
	if client == nil {
		client = &http.Client{}
	}
	s := &Sender{
		name: ch.Name, url: raw, headers: headers, client: client,
		timeout: ch.Timeout, attempts: ch.RetryAttempts, delay: ch.RetryDelay,
		maxRetryAfter: MaxRetryAfter,
	}
	if s.timeout <= 0 {
		s.timeout = DefaultTimeout
	}
	if _, set := ch.Settings["retry_attempts"]; !set && s.attempts <= 0 {
		s.attempts = DefaultRetryAttempts
	}
	if s.attempts < 1 {
		s.attempts = 1
	}
	if s.delay <= 0 {
		s.delay = DefaultRetryDelay
	}
	return s, nil
}

// readHeaders accepts the config's map[string]string and, for channels
// built by hand, map[string]any with string values.
func readHeaders(v any) (http.Header, error) {
	h := http.Header{}
	add := func(k, v string) error {
		if k == "" || strings.ContainsAny(k, " \t\r\n:") {
			return fmt.Errorf("headers: %q is not a valid header name", k)
		}
		// The value may be a secret (Authorization), so it is never quoted.
		if strings.ContainsAny(v, "\r\n") {
			return fmt.Errorf("headers: the value of %s contains a line break", k)
		}
		h.Set(k, v)
		return nil
	}
	switch m := v.(type) {
	case nil:
	case map[string]string:
		for k, v := range m {
			if err := add(k, v); err != nil {
				return nil, err
			}
		}
	case map[string]any:
		for k, v := range m {
			s, ok := v.(string)
			if !ok {
				return nil, fmt.Errorf("headers: the value of %s is a %T, want a string", k, v)
			}
			if err := add(k, s); err != nil {
				return nil, err
			}
		}
	default:
		return nil, fmt.Errorf("headers: want a mapping of strings, got %T", v)
	}
	return h, nil
}

// Name is the channel's name.
func (s *Sender) Name() string { return s.name }

// Notify posts m as JSON, retrying network errors, 5xx and 429 with
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
	b := backoff.NewExponentialBackOff()
	b.InitialInterval = s.delay
	b.Multiplier = 2
	b.RandomizationFactor = 0 // one process per cron run: no herd to spread
	b.MaxInterval = 64 * s.delay

	// The backoff library only needs to know whether and when to retry;
	// last keeps the real outcome, so the error returned to the caller is
	// ours and its retry decision does not depend on the library's wrapping.
	var last error
	permanent := false
	tries := 0
	op := func() (struct{}, error) {
		tries++
		res := s.attempt(ctx, body)
		last = res.err
		switch {
		case res.err == nil:
			return struct{}{}, nil
		case !res.retry:
			permanent = true
			return struct{}{}, backoff.Permanent(res.err)
		case res.retryAfter > 0:
			return struct{}{}, &backoff.RetryAfterError{Duration: res.retryAfter}
		}
		return struct{}{}, res.err
	}
	_, rerr := backoff.Retry(ctx, op,
		backoff.WithBackOff(b),
		backoff.WithMaxTries(uint(s.attempts)),
		backoff.WithMaxElapsedTime(0), // attempts and ctx bound the time
	)
	if rerr == nil {
		return false, nil
	}
	if permanent {
		return false, fmt.Errorf("webhook %q: %w", s.name, last)
	}
	if cerr := ctx.Err(); cerr != nil {
		if last == nil { // stopped before the first attempt
			return true, fmt.Errorf("webhook %q: not sent: %w", s.name, cerr)
		}
		return true, fmt.Errorf("webhook %q: gave up after %d of %d attempts: %w (last error: %w)", s.name, tries, s.attempts, cerr, last)
	}
	return true, fmt.Errorf("webhook %q: %d attempts failed, last: %w", s.name, tries, last)
}

// result is one attempt's outcome.
type result struct {
	err        error
	retry      bool
	retryAfter time.Duration // > 0: the server asked for this wait
}

// attempt makes one POST under the channel's timeout.
func (s *Sender) attempt(ctx context.Context, body []byte) result {
	ctx, cancel := context.WithTimeout(ctx, s.timeout)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, s.url, bytes.NewReader(body))
	if err != nil {
		// Unreachable for a URL New accepted; never wrap err, it quotes the URL.
		return result{err: fmt.Errorf("build request for %s", RedactURL(s.url))}
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("User-Agent", "vigil")
	for k, v := range s.headers {
		req.Header[k] = v
	}
	resp, err := s.client.Do(req)
	if err != nil {
		return result{err: redactErr(err, s.url), retry: true}
	}
	defer resp.Body.Close()
	snippet, _ := io.ReadAll(io.LimitReader(resp.Body, maxErrorBody))
	// Drain a little more so the connection can be reused.
	_, _ = io.Copy(io.Discard, io.LimitReader(resp.Body, 64<<10))

	if resp.StatusCode/100 == 2 {
		return result{}
	}
	err = &StatusError{URL: RedactURL(s.url), Code: resp.StatusCode, Body: strings.TrimSpace(string(snippet))}
	switch {
	case resp.StatusCode == http.StatusTooManyRequests:
		return result{err: err, retry: true, retryAfter: s.retryAfter(resp.Header.Get("Retry-After"))}
	case resp.StatusCode >= 500:
		return result{err: err, retry: true}
	}
	return result{err: err}
}

// retryAfter reads a Retry-After in seconds. The HTTP-date form is not
// honoured (it would need the clock); it falls back to the backoff delay.
func (s *Sender) retryAfter(v string) time.Duration {
	n, err := strconv.Atoi(strings.TrimSpace(v))
	if err != nil || n <= 0 {
		return 0
	}
	if d := time.Duration(n) * time.Second; d < s.maxRetryAfter {
		return d
	}
	return s.maxRetryAfter
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

// redactErr replaces the URL in the client's *url.Error with its redacted
// form, keeping the error's type and cause for errors.As/Is.
func redactErr(err error, raw string) error {
	var ue *url.Error
	if errors.As(err, &ue) {
		return &url.Error{Op: ue.Op, URL: RedactURL(raw), Err: ue.Err}
	}
	return err
}

// RedactURL returns raw with everything that may be a secret removed: the
// user info, the path, the query and the fragment, leaving scheme and host
// ("https://hooks.slack.com/<redacted>"). Alertmanager's RedactURL hides
// only the user's password; webhook services put tokens in the path, so
// vigil hides more. A URL that does not parse is hidden entirely.
func RedactURL(raw string) string {
	u, err := url.Parse(raw)
	if err != nil || u.Host == "" {
		return "<redacted URL>"
	}
	out := u.Scheme + "://" + u.Host
	if u.User != nil || (u.Path != "" && u.Path != "/") || u.RawPath != "" || u.RawQuery != "" || u.ForceQuery || u.Fragment != "" {
		out += "/<redacted>"
	}
	return out
}
