// Package github files vigil's alerts as GitHub issues (channel type
// github), as the reference design's GitHubNotificationChannel does, and
// keeps one open issue per alert instead of one per notification.
//
// An issue is titled "Alert: <rule> - <SEVERITY>"; its body holds the
// alert's details (name, severity, time, value, threshold, description,
// labels as JSON) and the recommended action for the reference design's
// known alert names, and it carries the channel's labels, the label
// "vigil" and "severity-<severity>". The notification's alerts in one
// incident (see notify.Notification) share one issue titled
// "Incident: <id> - <SEVERITY>" listing its members.
//
// No duplicates: the body ends with a hidden marker,
//
//	<!-- vigil:fingerprint=f372fee676ae0d86 -->   (one alert)
//	<!-- vigil:incident=<query-escaped id> -->     (an incident's alerts)
//
// and before creating an issue the channel lists the repository's open
// issues labelled vigil (GET /repos/{owner}/{repo}/issues?labels=vigil&
// per_page=100&state=open, following the Link header's rel="next" for at
// most 10 pages) and looks for the marker. Listing is used rather than the
// search API because search is eventually consistent (a just-created issue
// may not be found for a while) and has a stricter rate limit. The label
// is how the list is narrowed, so it must stick: GitHub silently drops the
// labels of a token without push (triage) access, and then every firing
// opens a new issue.
//
// When an alert fires again while its issue is open, the channel comments
// on it (POST .../issues/{n}/comments). When it resolves, the channel
// comments and, with close_on_resolve: true, closes the issue (PATCH
// state=closed, state_reason=completed). A resolution with no open issue
// is nothing to do. An incident's issue also keeps the fingerprints of its
// firing members in a second marker (<!-- vigil:firing=fp1,fp2 -->),
// updated as members join and resolve, and is closed only when none is
// left firing.
//
// Requests carry Authorization: Bearer <token>, Accept:
// application/vnd.github+json and X-GitHub-Api-Version: 2022-11-28; the
// token is read from the environment variable named by token_env
// (default GITHUB_TOKEN). api_url points at GitHub Enterprise Server
// (https://HOST/api/v3); the default is https://api.github.com.
//
// Each request is retried inside Notify like the webhook channel's:
// network errors, 5xx, 429 and rate-limited 403s, with exponential backoff
// from retry_delay for at most retry_attempts tries, honouring
// Retry-After and x-ratelimit-reset up to MaxRetryAfter (a longer wait
// ends the call with retry=true: a later run tries again). 401, 404, 410,
// 422 and a 403 that is not a rate limit are permanent (retry=false), each
// with an error naming what to fix. The token never appears in an error.
//
// config.go is the channel's settings as the config file gives them
// (Config: its keys, checks, secrets read at send time, Validate, shared
// by vigil check and New) and Notifier, its line in alert/channels' registry.
//
// The package knows one channel, github: it must not import another
// channel's package.
package github

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/vigil-metrics/vigil/alert/config"
	"github.com/vigil-metrics/vigil/alert/httpsend"
	"github.com/vigil-metrics/vigil/alert/notify"
	"github.com/vigil-metrics/vigil/internal/secret"
)

// Defaults for what the channel leaves out; the retry settings are every
// channel's (alert/retry).
const (
	DefaultAPIURL        = "https://api.github.com"
	DefaultTokenEnv      = "GITHUB_TOKEN"
	DefaultTimeout       = httpsend.DefaultTimeout
	DefaultRetryAttempts = httpsend.DefaultRetryAttempts
	DefaultRetryDelay    = httpsend.DefaultRetryDelay
	// MaxRetryAfter caps how long one call waits for a rate limit to pass
	// (Retry-After, x-ratelimit-reset); beyond it the call gives up with
	// retry=true and a later run tries again.
	MaxRetryAfter = httpsend.MaxRetryAfter
	// Label is put on every issue vigil opens; the open issues carrying it
	// are the ones searched for an alert's marker.
	Label = "vigil"
	// APIVersion is the REST API version requested.
	APIVersion = "2022-11-28"
)

const (
	maxPages     = 10       // of 100 open vigil issues
	maxBody      = 16 << 20 // of a successful response
	maxErrorBody = 64 << 10
)

// Channel is one github channel, a notify.Notifier. It is safe for
// concurrent use.
type Channel struct {
	name           string
	owner, repo    string
	api            *url.URL
	tokenEnv       string
	token          string
	labels         []string
	assignees      []string
	closeOnResolve bool
	client         *http.Client
	timeout        time.Duration
	attempts       int
	delay          time.Duration
	now            func() time.Time
	// secrets are the token's (and api_url's): scrubbed from every error,
	// should GitHub or a proxy echo them.
	secrets *secret.Set
}

// New builds the channel for ch, which must be a github channel with a
// repo "owner/name". lookupEnv reads the token (os.LookupEnv in vigil);
// an unset token is not an error here but makes every Notify fail
// (retry=true) with an error naming the variable, so setting it lets
// later runs deliver. client may be nil (a fresh http.Client); the
// channel's timeout applies per request through its context.
//
// Settings read: repo (required), labels, assignees, token_env, api_url,
// close_on_resolve, and the common timeout, retry_attempts, retry_delay.
func New(ch config.Channel, lookupEnv func(string) (string, bool), client *http.Client) (*Channel, error) {
	cfg, err := config.SettingsOf[Config](ch, "github")
	if err != nil {
		return nil, err
	}
	api, err := cfg.api(ch.Name) // Validate
	if err != nil {
		return nil, err
	}
	owner, name, _ := strings.Cut(cfg.Repo, "/")
	p := httpsend.New(ch, client)
	c := &Channel{name: ch.Name, owner: owner, repo: name, tokenEnv: cfg.tokenEnv(), client: p.Client,
		timeout: p.Timeout, attempts: p.Attempts, delay: p.Delay, now: time.Now, api: api,
		labels: slices.Clone(cfg.Labels), assignees: slices.Clone(cfg.Assignees), closeOnResolve: cfg.CloseOnResolve}
	if lookupEnv != nil {
		c.token, _ = lookupEnv(c.tokenEnv)
		c.token = strings.TrimSpace(c.token)
	} else {
		lookupEnv = func(string) (string, bool) { return "", false }
	}
	c.secrets = secret.New()
	cfg.RegisterSecrets(c.secrets, lookupEnv)
	return c, nil
}

// Name is the channel's name.
func (c *Channel) Name() string { return c.name }

// Repo is the channel's repository, owner/name.
func (c *Channel) Repo() string { return c.owner + "/" + c.repo }

// Issue is what Notify files when no issue is open for n: the request
// body of POST /repos/{owner}/{repo}/issues.
type Issue struct {
	Title     string   `json:"title"`
	Body      string   `json:"body"`
	Labels    []string `json:"labels"`
	Assignees []string `json:"assignees,omitempty"`
}

// NewIssue is the issue Notify opens for n (dry runs show it).
func (c *Channel) NewIssue(n notify.Notification) Issue {
	sev := highest(n.Alerts)
	labels := slices.Clone(c.labels)
	for _, l := range []string{Label, "severity-" + sev} {
		if !slices.Contains(labels, l) {
			labels = append(labels, l)
		}
	}
	iss := Issue{Labels: labels, Assignees: c.assignees}
	if inc := incident(n.Alerts); inc != "" {
		iss.Title = fmt.Sprintf("Incident: %s - %s", inc, strings.ToUpper(sev))
		iss.Body = incidentBody(n, inc)
	} else {
		a := n.Alerts[0]
		iss.Title = fmt.Sprintf("Alert: %s - %s", a.Rule, strings.ToUpper(a.Severity))
		iss.Body = alertBody(n.At, a)
	}
	return iss
}

// Marker is the hidden line that identifies the issue of n's alerts: by
// incident when they are in one, else by the first alert's fingerprint.
func Marker(alerts []notify.Alert) string {
	if inc := incident(alerts); inc != "" {
		return "<!-- vigil:incident=" + url.QueryEscape(inc) + " -->"
	}
	if len(alerts) == 0 {
		return ""
	}
	return "<!-- vigil:fingerprint=" + alerts[0].Fingerprint + " -->"
}

func incident(alerts []notify.Alert) string {
	for _, a := range alerts {
		if a.Incident != "" {
			return a.Incident
		}
	}
	return ""
}

// Notify files n: it finds the open issue of n's alerts (see Marker) and
// comments on it, or opens one when there is none and n is a firing;
// a resolution comments and, with close_on_resolve, closes the issue.
func (c *Channel) Notify(ctx context.Context, n notify.Notification) (retry bool, err error) {
	if len(n.Alerts) == 0 {
		return false, fmt.Errorf("github %q: no alerts to send", c.name)
	}
	if c.token == "" {
		return true, fmt.Errorf("github %q: environment variable %s is not set: set it to a GitHub token that can write issues in %s", c.name, c.tokenEnv, c.Repo())
	}
	s := &session{c: c, attempt: n.Attempt}
	retry, err = s.notify(ctx, n)
	if err != nil {
		return retry, c.secrets.Err(fmt.Errorf("github %q: %w", c.name, err))
	}
	return false, nil
}

type ghIssue struct {
	Number      int    `json:"number"`
	Body        string `json:"body"`
	HTMLURL     string `json:"html_url"`
	PullRequest any    `json:"pull_request"`
}

// session is one Notify: it numbers the tries of all its requests.
type session struct {
	c       *Channel
	attempt func(try, status int, err error)
	tries   int
}

func (s *session) notify(ctx context.Context, n notify.Notification) (bool, error) {
	c := s.c
	marker := Marker(n.Alerts)
	iss, retry, err := s.find(ctx, marker)
	if err != nil {
		return retry, err
	}
	resolved := n.Kind == "resolved"
	inc := incident(n.Alerts) != ""
	issuePath := c.path("issues")
	switch {
	case iss == nil && resolved:
		return false, nil // nothing open to resolve
	case iss == nil:
		var created ghIssue
		return s.do(ctx, http.MethodPost, issuePath, c.NewIssue(n), &created)
	}
	numPath := c.path("issues", strconv.Itoa(iss.Number))
	closing := false
	var patch map[string]any
	if inc {
		before := firingSet(iss.Body)
		after := slices.Clone(before)
		for _, a := range n.Alerts {
			if resolved {
				after = slices.DeleteFunc(after, func(fp string) bool { return fp == a.Fingerprint })
			} else if !slices.Contains(after, a.Fingerprint) {
				after = append(after, a.Fingerprint)
			}
		}
		closing = resolved && c.closeOnResolve && len(after) == 0
		if !slices.Equal(before, after) {
			patch = map[string]any{"body": setFiring(iss.Body, after)}
		}
	} else {
		closing = resolved && c.closeOnResolve
	}
	if closing {
		if patch == nil {
			patch = map[string]any{}
		}
		patch["state"], patch["state_reason"] = "closed", "completed"
	}
	if retry, err := s.do(ctx, http.MethodPost, numPath+"/comments", map[string]string{"body": comment(n, closing)}, nil); err != nil {
		return retry, err
	}
	if patch != nil {
		return s.do(ctx, http.MethodPatch, numPath, patch, nil)
	}
	return false, nil
}

func (c *Channel) path(parts ...string) string {
	p := "/repos/" + url.PathEscape(c.owner) + "/" + url.PathEscape(c.repo)
	for _, x := range parts {
		p += "/" + x
	}
	return p
}

// find lists the open issues labelled Label and returns the first whose
// body holds marker, nil when none does.
func (s *session) find(ctx context.Context, marker string) (*ghIssue, bool, error) {
	c := s.c
	next := c.api.String() + c.path("issues") + "?" + url.Values{"state": {"open"}, "labels": {Label}, "per_page": {"100"}}.Encode()
	for page := 0; next != "" && page < maxPages; page++ {
		var list []ghIssue
		link, retry, err := s.request(ctx, http.MethodGet, next, nil, &list)
		if err != nil {
			return nil, retry, err
		}
		for i := range list {
			if list[i].PullRequest == nil && strings.Contains(list[i].Body, marker) {
				return &list[i], false, nil
			}
		}
		if next, err = c.nextPage(link); err != nil {
			return nil, false, err
		}
	}
	return nil, false, nil
}

var linkNext = regexp.MustCompile(`<([^>]*)>\s*;\s*rel="?next"?`)

// nextPage is the Link header's rel="next", refused when it leaves the
// API's host (the token would go with it).
func (c *Channel) nextPage(link string) (string, error) {
	m := linkNext.FindStringSubmatch(link)
	if m == nil {
		return "", nil
	}
	u, err := url.Parse(m[1])
	if err != nil || u.Scheme != c.api.Scheme || u.Host != c.api.Host {
		return "", fmt.Errorf("listing open issues of %s: refusing to follow a next-page link to another host", c.Repo())
	}
	return u.String(), nil
}

// do sends one API request to path under the API URL.
func (s *session) do(ctx context.Context, method, path string, in, out any) (bool, error) {
	_, retry, err := s.request(ctx, method, s.c.api.String()+path, in, out)
	return retry, err
}

// request sends one request with the retries the package describes and
// decodes a 2xx answer's JSON into out (when not nil). It returns the
// answer's Link header.
func (s *session) request(ctx context.Context, method, rawURL string, in, out any) (link string, retry bool, err error) {
	c := s.c
	req := &httpsend.Request{Method: method, URL: rawURL, Header: http.Header{
		"Authorization":        {"Bearer " + c.token},
		"Accept":               {"application/vnd.github+json"},
		"X-Github-Api-Version": {APIVersion},
		"User-Agent":           {"vigil"},
	}}
	if in != nil {
		if req.Body, err = json.Marshal(in); err != nil {
			return "", false, fmt.Errorf("encode request: %w", err)
		}
		req.Header.Set("Content-Type", "application/json")
	}
	req.Decode = func(resp *httpsend.Response) error {
		if out == nil || resp.Status == http.StatusNoContent {
			return nil
		}
		if err := json.Unmarshal(resp.Body, out); err != nil {
			return fmt.Errorf("%s %s: %d but the answer is not the JSON expected: %w", method, showURL(rawURL), resp.Status, err)
		}
		return nil
	}
	p := httpsend.Poster{Client: c.client, Timeout: c.timeout, Attempts: c.attempts, Delay: c.delay,
		MaxRetryAfter: MaxRetryAfter, MaxErrorBody: maxErrorBody, MaxBody: maxBody, ShowURL: showURL, Classify: c.classify,
		Secrets: c.secrets}
	resp, retry, err := p.Do(ctx, req, &s.tries, s.attempt)
	if err != nil {
		return "", retry, err
	}
	return resp.Header.Get("Link"), false, nil
}

// classify reads GitHub's failed answer as an APIError with what to fix;
// 5xx, 429 and a rate-limited 403 (waiting for Retry-After or
// x-ratelimit-reset) are transient.
func (c *Channel) classify(req *httpsend.Request, shown string, resp *httpsend.Response) httpsend.Verdict {
	code := resp.Status
	e := &APIError{Method: req.Method, URL: shown, Code: code, Message: apiMessage(resp.Body)}
	v := httpsend.Verdict{Err: e}
	switch {
	case code == http.StatusUnauthorized:
		e.Hint = fmt.Sprintf("bad credentials: the token in %s is invalid, expired or revoked; set it to a valid token", c.tokenEnv)
	case code == http.StatusForbidden || code == http.StatusTooManyRequests:
		if wait, limited := c.rateLimit(resp.Header); limited || code == http.StatusTooManyRequests {
			e.Hint = "rate limited by GitHub"
			if wait > 0 {
				e.Hint += fmt.Sprintf(" for %s", wait.Round(time.Second))
			}
			v.Retry, v.Wait = true, wait
		} else {
			e.Hint = fmt.Sprintf("the token in %s may not write issues in %s: a fine-grained token needs the Issues (read and write) permission on it, a classic token the repo scope (public_repo for a public repository)", c.tokenEnv, c.Repo())
		}
	case code == http.StatusNotFound:
		e.Hint = fmt.Sprintf("repository %s not found, or the token in %s cannot see it: check repo (and api_url for GitHub Enterprise) and the token's repository access", c.Repo(), c.tokenEnv)
	case code == http.StatusGone:
		e.Hint = fmt.Sprintf("issues are disabled in %s: enable them in the repository's settings (Features: Issues) or point the channel at another repo", c.Repo())
	case code == http.StatusUnprocessableEntity:
		e.Hint = "GitHub refused the request as invalid: check the channel's labels and assignees (assignees must be able to access the repository)"
	case code >= 500:
		e.Hint = "GitHub failed to answer"
		v.Retry = true
	}
	return v
}

// rateLimit tells whether a 403/429 is a rate limit and how long to wait:
// Retry-After (secondary limits), else x-ratelimit-reset when
// x-ratelimit-remaining is 0 (the primary limit). A 403 with neither is a
// permission problem.
func (c *Channel) rateLimit(h http.Header) (time.Duration, bool) {
	if v := strings.TrimSpace(h.Get("Retry-After")); v != "" {
		n, err := strconv.Atoi(v)
		if err == nil && n >= 0 {
			return httpsend.Seconds(n), true
		}
		if t, err := http.ParseTime(v); err == nil {
			return max(t.Sub(c.now()), 0), true
		}
		return 0, true
	}
	if strings.TrimSpace(h.Get("X-RateLimit-Remaining")) == "0" {
		if n, err := strconv.ParseInt(strings.TrimSpace(h.Get("X-RateLimit-Reset")), 10, 64); err == nil {
			// The reset is to the second: wait one more.
			return max(time.Unix(n, 0).Sub(c.now())+time.Second, 0), true
		}
		return 0, true
	}
	return 0, false
}

// showURL is rawURL without user info and query, for errors.
func showURL(rawURL string) string {
	u, err := url.Parse(rawURL)
	if err != nil {
		return "<invalid URL>"
	}
	return u.Scheme + "://" + u.Host + u.EscapedPath()
}

// apiMessage is GitHub's error message with its validation errors:
// {"message": "Validation Failed", "errors": [{"resource": "Issue",
// "field": "assignees", "code": "invalid", "value": "x"} or {"message":
// "..."}, ...]}.
func apiMessage(data []byte) string {
	var e struct {
		Message string `json:"message"`
		Errors  []json.RawMessage
	}
	if json.Unmarshal(data, &e) != nil {
		s := strings.TrimSpace(string(data))
		if len(s) > 256 {
			s = s[:256] + "…"
		}
		return s
	}
	msg := e.Message
	var details []string
	for _, raw := range e.Errors {
		var d struct {
			Resource, Field, Code, Message string
			Value                          any
		}
		if json.Unmarshal(raw, &d) != nil {
			var s string
			if json.Unmarshal(raw, &s) == nil && s != "" {
				details = append(details, s)
			}
			continue
		}
		switch {
		case d.Message != "":
			details = append(details, d.Message)
		case d.Field != "":
			x := d.Field + " " + d.Code
			if d.Value != nil {
				x += fmt.Sprintf(" (%v)", d.Value)
			}
			details = append(details, x)
		case d.Code != "":
			details = append(details, d.Code)
		}
	}
	if len(details) > 0 {
		msg += ": " + strings.Join(details, "; ")
	}
	return msg
}

// APIError is a non-2xx answer from GitHub.
type APIError struct {
	Method  string
	URL     string // without query or user info
	Code    int
	Message string // GitHub's message, with its validation errors
	Hint    string // what to fix
}

func (e *APIError) Error() string {
	msg := fmt.Sprintf("%s %s: %d %s", e.Method, e.URL, e.Code, http.StatusText(e.Code))
	if e.Message != "" {
		msg += ": " + strconv.Quote(e.Message)
	}
	if e.Hint != "" {
		msg += ": " + e.Hint
	}
	return msg
}
