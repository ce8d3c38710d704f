// Package httpsend is how HTTP channels (alertmanager, pagerduty, sentry)
// post a notification within one run: any 2xx is success; network errors,
// 5xx and 429 are retried with exponential backoff (honouring Retry-After,
// capped) up to the channel's retry_attempts; other statuses are
// permanent. Errors never show more of a URL than its scheme and host, and
// a channel's Scrub removes its secrets from response bodies. Retrying
// across runs is the outbox's job (alert/notify), not this package's.
package httpsend

import (
	"bytes"
	"context"
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

// Defaults for what the channel leaves out, as for webhook channels.
const (
	DefaultTimeout       = 10 * time.Second
	DefaultRetryAttempts = 3
	DefaultRetryDelay    = time.Second
	// MaxRetryAfter caps a server's Retry-After, so a receiver cannot stall
	// an evaluate run; beyond it the next run retries instead.
	MaxRetryAfter = 30 * time.Second
)

// maxErrorBody is how much of a failed response's body goes into an error.
const maxErrorBody = 512

// Poster sends requests with retries: network errors, 5xx and 429 are
// retried with exponential backoff from delay (doubling, no jitter; a
// Retry-After in seconds replaces the delay, capped at MaxRetryAfter) for at
// most attempts tries in all; any 2xx is success; any other status is
// permanent.
type Poster struct {
	client        *http.Client
	Timeout       time.Duration // per attempt
	Attempts      int
	Delay         time.Duration
	MaxRetryAfter time.Duration
	// Scrub removes secrets from a response body before it goes into an
	// error; Describe, when set, turns a failed response's body into the
	// error's detail (it gets the scrubbed body).
	Scrub    func(string) string
	Describe func(body []byte) string
}

// New reads the channel's timeout and retry settings like
// webhook.New: retry_attempts counts all tries; unset means
// DefaultRetryAttempts, an explicit 0 one try.
func New(ch config.Channel, client *http.Client) Poster {
	if client == nil {
		client = &http.Client{}
	}
	p := Poster{client: client, Timeout: ch.Timeout, Attempts: ch.RetryAttempts, Delay: ch.RetryDelay, MaxRetryAfter: MaxRetryAfter}
	if p.Timeout <= 0 {
		p.Timeout = DefaultTimeout
	}
	if _, set := ch.Settings["retry_attempts"]; !set && p.Attempts <= 0 {
		p.Attempts = DefaultRetryAttempts
	}
	if p.Attempts < 1 {
		p.Attempts = 1
	}
	if p.Delay <= 0 {
		p.Delay = DefaultRetryDelay
	}
	return p
}

// Post sends body to target with the retries poster describes. tries
// counts attempts across the calls of one notification (try numbers given
// to onAttempt continue from it). retry is true when a later run may send
// again: attempts ran out on a transient failure, or ctx ended.
func (p *Poster) Post(ctx context.Context, target string, header http.Header, body []byte, tries *int, onAttempt func(try, status int, err error)) (retry bool, err error) {
	b := backoff.NewExponentialBackOff()
	b.InitialInterval = p.Delay
	b.Multiplier = 2
	b.RandomizationFactor = 0
	b.MaxInterval = 64 * p.Delay

	var last error
	permanent := false
	n := 0
	op := func() (struct{}, error) {
		n++
		*tries++
		res := p.attempt(ctx, target, header, body)
		if onAttempt != nil {
			onAttempt(*tries, res.status, res.err)
		}
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
		backoff.WithMaxTries(uint(p.Attempts)),
		backoff.WithMaxElapsedTime(0),
	)
	if rerr == nil {
		return false, nil
	}
	if permanent {
		return false, last
	}
	if cerr := ctx.Err(); cerr != nil {
		if last == nil {
			return true, fmt.Errorf("not sent: %w", cerr)
		}
		return true, fmt.Errorf("gave up after %d of %d attempts: %w (last error: %w)", n, p.Attempts, cerr, last)
	}
	return true, fmt.Errorf("%d attempts failed, last: %w", n, last)
}

type result struct {
	status     int
	err        error
	retry      bool
	retryAfter time.Duration
}

func (p *Poster) attempt(ctx context.Context, target string, header http.Header, body []byte) result {
	ctx, cancel := context.WithTimeout(ctx, p.Timeout)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, target, bytes.NewReader(body))
	if err != nil {
		return result{err: fmt.Errorf("build request for %s", RedactURL(target))}
	}
	for k, v := range header {
		req.Header[k] = v
	}
	resp, err := p.client.Do(req)
	if err != nil {
		return result{err: redactErr(err, target), retry: true}
	}
	defer resp.Body.Close()
	snippet, _ := io.ReadAll(io.LimitReader(resp.Body, maxErrorBody))
	_, _ = io.Copy(io.Discard, io.LimitReader(resp.Body, 64<<10))

	code := resp.StatusCode
	if code/100 == 2 {
		return result{status: code}
	}
	text := strings.TrimSpace(string(snippet))
	if p.Scrub != nil {
		text = p.Scrub(text)
	}
	detail := strconv.Quote(text)
	if text == "" {
		detail = ""
	}
	if p.Describe != nil && text != "" {
		if d := p.Describe([]byte(text)); d != "" {
			detail = d
		}
	}
	err = &StatusError{URL: RedactURL(target), Code: code, Detail: detail}
	switch {
	case code == http.StatusTooManyRequests:
		return result{status: code, err: err, retry: true, retryAfter: p.retryAfter(resp.Header.Get("Retry-After"))}
	case code >= 500:
		return result{status: code, err: err, retry: true}
	}
	return result{status: code, err: err}
}

func (p *Poster) retryAfter(v string) time.Duration {
	n, err := strconv.Atoi(strings.TrimSpace(v))
	if err != nil || n <= 0 {
		return 0
	}
	if d := time.Duration(n) * time.Second; d < p.MaxRetryAfter {
		return d
	}
	return p.MaxRetryAfter
}

// StatusError is a non-2xx answer.
type StatusError struct {
	URL    string // redacted: scheme and host only
	Code   int
	Detail string // what the body said, quoted or described; secrets removed
}

func (e *StatusError) Error() string {
	msg := fmt.Sprintf("POST %s: %d %s", e.URL, e.Code, http.StatusText(e.Code))
	if e.Detail != "" {
		msg += ": " + e.Detail
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

// RedactURL keeps a URL's scheme and host: user info, path and query may
// hold secrets (as webhook.RedactURL).
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

// CheckURL accepts an http(s) URL with a host; its errors never quote it.
func CheckURL(field, raw string) (*url.URL, error) {
	u, err := url.Parse(raw)
	if err != nil {
		return nil, fmt.Errorf("%s %s is not a valid URL", field, RedactURL(raw))
	}
	if u.Scheme != "http" && u.Scheme != "https" {
		return nil, fmt.Errorf("%s %s: want an http or https URL", field, RedactURL(raw))
	}
	if u.Host == "" {
		return nil, fmt.Errorf("%s %s has no host", field, RedactURL(raw))
	}
	return u, nil
}
