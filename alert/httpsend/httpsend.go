// Package httpsend is how HTTP channels (webhook, slack, github,
// alertmanager, pagerduty, sentry) send a request within one run: any 2xx
// is success; network errors, 5xx and 429 are retried through the shared
// policy (alert/retry: exponential backoff, honouring Retry-After, capped)
// up to the channel's retry_attempts, each attempt under the channel's
// timeout; other statuses are permanent. A channel may read failed
// answers its own way (Classify: its error type, GitHub's rate-limited
// 403) and get a 2xx answer's body and headers back (Do). Errors never show more of a URL than its scheme
// and host (unless the channel's ShowURL says otherwise), and the
// channel's Secrets (internal/secret, registered by its Config) are
// scrubbed from failed answers' bodies and from every error. Retrying
// across runs is the outbox's job (alert/notify), not this package's.
//
// It is the ground the HTTP channels share (URL checks and redaction,
// headers, the defaults): it must not know a channel's payload nor import
// a channel's package, and a channel takes what it shares with another
// from here rather than from that channel.
package httpsend

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"math"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/vigil-metrics/vigil/alert/config"
	"github.com/vigil-metrics/vigil/alert/retry"
	"github.com/vigil-metrics/vigil/internal/noredirect"
	"github.com/vigil-metrics/vigil/internal/secret"
)

// Defaults for what the channel leaves out: the retry policy's, named
// here for the HTTP channels.
const (
	DefaultTimeout       = retry.DefaultTimeout
	DefaultRetryAttempts = retry.DefaultAttempts
	DefaultRetryDelay    = retry.DefaultDelay
	MaxRetryAfter        = retry.MaxRetryAfter
)

// maxErrorBody is how much of a failed response's body goes into an error.
const maxErrorBody = 512

// Poster sends requests with retries: network errors, 5xx and 429 are
// retried with exponential backoff from Delay (doubling, no jitter; a
// Retry-After in seconds replaces the delay, capped at MaxRetryAfter) for at
// most Attempts tries in all; any 2xx is success; any other status is
// permanent. Classify, when set, replaces that reading of a non-2xx answer.
type Poster struct {
	Client        *http.Client
	Timeout       time.Duration // per attempt
	Attempts      int
	Delay         time.Duration
	MaxRetryAfter time.Duration
	// MaxErrorBody is how much of a failed response's body is read for the
	// error (0: 512 bytes); MaxBody how much of a 2xx body Do returns (0:
	// none, the body is only drained).
	MaxErrorBody int64
	MaxBody      int64
	// Secrets are scrubbed from a failed answer's body before Classify
	// (or Describe) reads it, and from every error Do returns or
	// onAttempt gets: a receiver that echoes the request (its URL, its
	// headers, the body) must not put them in an error. nil scrubs
	// nothing.
	Secrets *secret.Set
	// Describe, when set, turns a failed response's body into the
	// error's detail (default Classify only).
	Describe func(body []byte) string
	// ShowURL is how a URL appears in errors; nil means RedactURL.
	ShowURL func(string) string
	// Classify, when set, reads a non-2xx answer (Body holds at most
	// MaxErrorBody bytes of it): its error, whether it is worth retrying,
	// and how long the server asked to wait. A wait beyond MaxRetryAfter
	// ends the call with retry=true: a later run tries again.
	Classify func(req *Request, shown string, resp *Response) Verdict
}

// Request is one request Do sends.
type Request struct {
	Method string // "" means POST
	URL    string
	Header http.Header
	Body   []byte // nil: no body
	// Decode, when set, reads a 2xx answer; its error ends the call as
	// permanent.
	Decode func(resp *Response) error
}

// Response is an answer: on success what Do returns, on failure what
// Classify reads.
type Response struct {
	Status int
	Header http.Header
	Body   []byte
}

// Verdict is Classify's reading of a failed answer.
type Verdict struct {
	Err   error
	Retry bool
	Wait  time.Duration // > 0: the server asked for this wait
}

// New reads the channel's timeout and retry settings as retry.FromChannel
// does: retry_attempts counts all tries; unset means
// DefaultRetryAttempts, an explicit 0 one try.
func New(ch config.Channel, client *http.Client) Poster {
	if client == nil {
		client = &http.Client{}
	}
	r := retry.FromChannel(ch)
	return Poster{Client: client, Timeout: r.Timeout, Attempts: r.Attempts, Delay: r.Delay, MaxRetryAfter: r.MaxWait}
}

// Post sends body to target with the retries poster describes. tries
// counts attempts across the calls of one notification (try numbers given
// to onAttempt continue from it). retry is true when a later run may send
// again: attempts ran out on a transient failure, or ctx ended.
func (p *Poster) Post(ctx context.Context, target string, header http.Header, body []byte, tries *int, onAttempt func(try, status int, err error)) (retry bool, err error) {
	_, retry, err = p.Do(ctx, &Request{URL: target, Header: header, Body: body}, tries, onAttempt)
	return retry, err
}

// Do sends req with the retries poster describes and returns the 2xx
// answer, or whether a later run may send again (as Post's retry) and
// the error. tries (nil: counted from 0) and onAttempt are as for Post;
// the errors onAttempt gets and Do returns show URLs as ShowURL does.
func (p *Poster) Do(ctx context.Context, req *Request, tries *int, onAttempt func(try, status int, err error)) (*Response, bool, error) {
	if tries == nil {
		tries = new(int)
	}
	// The policy only needs to know whether and when to retry; last keeps
	// the answer of the attempt that succeeded.
	var last result
	policy := retry.Policy{Timeout: p.Timeout, Attempts: p.Attempts, Delay: p.Delay, MaxWait: p.MaxRetryAfter}
	r := policy.Run(ctx, func(ctx context.Context) retry.Outcome {
		*tries++
		last = p.attempt(ctx, req)
		last.err = p.Secrets.Err(last.err)
		if onAttempt != nil {
			onAttempt(*tries, last.status, last.err)
		}
		return retry.Outcome{Err: last.err, Retry: last.retry, Wait: last.wait}
	})
	if r.Err != nil {
		return nil, r.Retry, r.Err
	}
	return last.resp, false, nil
}

// result is one attempt's outcome.
type result struct {
	status int // the response's status code, 0 when none came
	err    error
	retry  bool
	wait   time.Duration
	resp   *Response
}

// attempt makes one request; ctx carries the attempt's timeout.
func (p *Poster) attempt(ctx context.Context, r *Request) result {
	method := r.Method
	if method == "" {
		method = http.MethodPost
	}
	shown := p.show(r.URL)
	var body io.Reader
	if r.Body != nil {
		body = bytes.NewReader(r.Body)
	}
	req, err := http.NewRequestWithContext(ctx, method, r.URL, body)
	if err != nil {
		// Never wrap err: it quotes the URL.
		return result{err: fmt.Errorf("%s %s: cannot build the request", method, shown)}
	}
	for k, v := range r.Header {
		req.Header[k] = v
	}
	client := noredirect.Client(p.Client)
	resp, err := client.Do(req)
	if err != nil {
		var ue *url.Error
		if errors.As(err, &ue) {
			err = &url.Error{Op: ue.Op, URL: shown, Err: ue.Err}
		}
		// A malformed answer comes again on every try: not retried.
		var me *noredirect.MalformedError
		return result{err: err, retry: !errors.As(err, &me)}
	}
	defer resp.Body.Close()
	code := resp.StatusCode
	if code/100 == 3 {
		_, _ = io.Copy(io.Discard, io.LimitReader(resp.Body, 64<<10))
		return result{status: code, err: redirectError(method, shown, resp)}
	}
	out := &Response{Status: code, Header: resp.Header}
	if code/100 == 2 {
		if p.MaxBody > 0 {
			if out.Body, err = io.ReadAll(io.LimitReader(resp.Body, p.MaxBody)); err != nil {
				return result{status: code, err: fmt.Errorf("%s %s: reading the answer: %w", method, shown, err), retry: true}
			}
		}
		// Drain a little more so the connection can be reused.
		_, _ = io.Copy(io.Discard, io.LimitReader(resp.Body, 64<<10))
		if r.Decode != nil {
			if err := r.Decode(out); err != nil {
				return result{status: code, err: err}
			}
		}
		return result{status: code, resp: out}
	}
	limit := p.MaxErrorBody
	if limit <= 0 {
		limit = maxErrorBody
	}
	out.Body, _ = io.ReadAll(io.LimitReader(resp.Body, limit))
	_, _ = io.Copy(io.Discard, io.LimitReader(resp.Body, 64<<10))
	switch {
	case int64(len(out.Body)) == limit:
		// The limit may have cut through a secret the receiver echoed.
		out.Body = []byte(p.Secrets.ScrubCut(string(out.Body)))
	case p.Secrets.Len() > 0:
		out.Body = []byte(p.Secrets.Scrub(string(out.Body)))
	}
	classify := p.Classify
	if classify == nil {
		classify = p.classify
	}
	v := classify(r, shown, out)
	return result{status: code, err: v.Err, retry: v.Retry, wait: v.Wait}
}

// redirectError is a 3xx: not delivered, and not retried (noredirect:
// Go's client would follow it, a 302 turning the POST into an empty GET
// that a 200 makes look delivered, a 307 handing the headers and body
// to another host). It names the host it points to alone.
func redirectError(method, shown string, resp *http.Response) error {
	return fmt.Errorf("%s %s: %w", method, shown, &noredirect.Error{Code: resp.StatusCode, Host: noredirect.Target(resp)})
}

func (p *Poster) show(raw string) string {
	if p.ShowURL != nil {
		return p.ShowURL(raw)
	}
	return RedactURL(raw)
}

// classify is the default reading of a failed answer: a StatusError whose
// detail is the scrubbed (or described) body; 429 and 5xx are transient.
func (p *Poster) classify(_ *Request, shown string, resp *Response) Verdict {
	text := strings.TrimSpace(string(resp.Body)) // scrubbed by attempt
	detail := strconv.Quote(text)
	if text == "" {
		detail = ""
	}
	if p.Describe != nil && text != "" {
		if d := p.Describe([]byte(text)); d != "" {
			detail = d
		}
	}
	v := Verdict{Err: &StatusError{URL: shown, Code: resp.Status, Detail: detail}, Retry: Transient(resp.Status)}
	if resp.Status == http.StatusTooManyRequests {
		v.Wait = min(RetryAfter(resp.Header), p.MaxRetryAfter)
	}
	return v
}

// Transient tells whether a status is worth retrying: 429 and 5xx.
func Transient(code int) bool {
	return code == http.StatusTooManyRequests || code >= 500
}

// RetryAfter reads a Retry-After in seconds; 0 when absent or not a
// positive number. The HTTP-date form is not honoured (it would need the
// clock); the backoff delay applies instead.
func RetryAfter(h http.Header) time.Duration {
	n, err := strconv.Atoi(strings.TrimSpace(h.Get("Retry-After")))
	if err != nil || n <= 0 {
		return 0
	}
	return Seconds(n)
}

// Seconds is n (>= 0) seconds from a server's header, saturating at the
// largest Duration: a huge value must not wrap to a negative wait.
func Seconds(n int) time.Duration {
	if n > int(math.MaxInt64/time.Second) {
		return math.MaxInt64
	}
	return time.Duration(n) * time.Second
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

// RedactURL returns raw with everything that may be a secret removed: the
// user info, the path, the query and the fragment, leaving scheme and host
// ("https://hooks.slack.com/<redacted>"). Alertmanager's RedactURL hides
// only the user's password; webhook services put tokens in the path, so
// vigil hides more. A URL that does not parse is hidden entirely. Every
// channel, and vigil's output naming a channel's target, uses it.
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

// CheckEndpoint is what a channel posting to one configured URL (webhook,
// alertmanager) refuses: no url, a url that is not http(s) with a host, a
// header that cannot be sent. The error names the channel, never a secret.
func CheckEndpoint(name, rawURL string, headers map[string]string) error {
	if rawURL == "" {
		return fmt.Errorf("channel %q: url is required", name)
	}
	if _, err := CheckURL("url", rawURL); err != nil {
		return fmt.Errorf("channel %q: %w", name, err)
	}
	if _, err := ReadHeaders(headers); err != nil {
		return fmt.Errorf("channel %q: %w", name, err)
	}
	return nil
}

// ReadHeaders reads a channel's headers setting: the config's
// map[string]string and, for channels built by hand, map[string]any with
// string values. Its errors never quote a value (it may be a secret).
func ReadHeaders(v any) (http.Header, error) {
	h := http.Header{}
	add := func(k, v string) error {
		if k == "" || strings.ContainsAny(k, " \t\r\n:") {
			return fmt.Errorf("headers: %q is not a valid header name", k)
		}
		// The value may be a secret (Authorization), so it is never quoted.
		if strings.ContainsAny(v, "\r\n") {
			return fmt.Errorf("headers: the value of %s contains a line break", k)
		}
		// Header names ignore case: X-A and x-a are one header, and one of
		// the two values would be dropped silently.
		if _, dup := h[http.CanonicalHeaderKey(k)]; dup {
			return fmt.Errorf("headers: %s is given twice (header names ignore case)", http.CanonicalHeaderKey(k))
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
