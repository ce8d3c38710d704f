// Package slack posts vigil's alert notifications to a Slack incoming
// webhook (channel type slack) as readable Block Kit messages.
//
// A message (see Message and NewMessage) has:
//
//   - text: a one-line fallback, for notifications and clients that do not
//     show blocks ("[CRITICAL] high_cpu firing: value 92.5, threshold 80
//     (host=db-01, team=infra)"), with &, < and > escaped as Slack asks,
//     so that a label value such as <!channel> pings no one; the
//     attachment's fallback is the same text. Values from data (label
//     keys and values, rule names, incident ids) holding a newline, a
//     control, bidi or zero-width character are Go-quoted first (data),
//     everywhere in the message, so none can forge a line;
//   - blocks: a header block with the severity and the rule ("CRITICAL:
//     high_cpu firing", "Resolved: high_cpu"; for an incident's alerts
//     "CRITICAL: incident <id> (2 alerts)");
//   - attachments: one attachment whose color is the severity's
//     (critical #d00000, high #ff8c00, medium #ffd000, low #439fe0;
//     resolved #2eb886, whatever the severity) holding the details as
//     blocks, so the color bar runs along them: a section with the value
//     against the threshold, the state and since when; the labels as
//     fields; the description; a context element with the fingerprint,
//     incident and escalation step. An incident's alerts get one section
//     each instead (at most 20, then a count of the rest);
//   - channel and username, when the channel sets them (legacy webhooks
//     honour them; Slack apps' webhooks post to their own channel).
//
// The webhook URL (url, or webhook_url) is a secret: no error of this
// package holds more of it than its scheme and host
// (httpsend.RedactURL). Slack answers 200 "ok"; 400 (invalid_payload,
// no_text, ...), 403 (invalid_token, action_prohibited), 404 (no_service,
// channel_not_found) and 410 (channel_is_archived) are permanent and the
// error quotes Slack's text with what to fix; 429 (honouring Retry-After
// up to MaxRetryAfter), 5xx and network errors are retried inside Notify
// with exponential backoff from retry_delay for at most retry_attempts
// tries, through httpsend and the retry policy every channel shares. The
// package knows one channel, slack: it must not import another channel's
// package.
//
// config.go is the channel's settings as the config file gives them
// (Config: its keys, checks, secrets read at send time, Validate, shared
// by vigil check and New) and Notifier, its line in alert/channels' registry.
package slack

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"maps"
	"net/http"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/vigil-metrics/vigil/alert/config"
	"github.com/vigil-metrics/vigil/alert/httpsend"
	"github.com/vigil-metrics/vigil/alert/notify"
	"github.com/vigil-metrics/vigil/internal/safetext"
	"github.com/vigil-metrics/vigil/internal/secret"
)

// Defaults for what the channel leaves out; every HTTP channel's.
const (
	DefaultTimeout       = httpsend.DefaultTimeout
	DefaultRetryAttempts = httpsend.DefaultRetryAttempts
	DefaultRetryDelay    = httpsend.DefaultRetryDelay
	// MaxRetryAfter caps the wait a 429's Retry-After asks for; a longer
	// one ends the call with retry=true and a later run tries again.
	MaxRetryAfter = httpsend.MaxRetryAfter
)

// Colors of the attachment's bar, by severity, and for resolutions.
var Colors = map[string]string{
	"critical": "#d00000",
	"high":     "#ff8c00",
	"medium":   "#ffd000",
	"low":      "#439fe0",
}

const (
	ColorResolved = "#2eb886"
	colorOther    = "#808080" // a severity vigil does not know
)

const (
	maxErrorBody = 256
	maxAlerts    = 20 // an incident's alerts shown one by one
)

// Channel is one slack channel, a notify.Notifier. It is safe for
// concurrent use.
type Channel struct {
	name     string
	url      string // secret
	channel  string
	username string
	client   *http.Client
	timeout  time.Duration
	attempts int
	delay    time.Duration
	// secrets are the URL's: scrubbed from every error (an answer that
	// echoes the request).
	secrets *secret.Set
}

var envRef = regexp.MustCompile(`\$\{([A-Za-z_][A-Za-z0-9_]*)\}`)

// New builds the channel for ch, which must be a slack channel with an
// http(s) url or webhook_url. A ${NAME} still in the URL (a channel built
// by hand; vigil's config loader expands them) is read with lookupEnv.
// client may be nil (a fresh http.Client); the channel's timeout applies
// per attempt through the request's context.
func New(ch config.Channel, lookupEnv func(string) (string, bool), client *http.Client) (*Channel, error) {
	cfg, err := config.SettingsOf[Config](ch, "slack")
	if err != nil {
		return nil, err
	}
	if err := cfg.Validate(ch.Name); err != nil {
		return nil, err
	}
	field, raw, missing := cfg.resolveURL(lookupEnv)
	if len(missing) > 0 {
		return nil, fmt.Errorf("channel %q: %s: environment variable %s is not set (it holds the Slack incoming webhook URL)", ch.Name, field, strings.Join(missing, ", "))
	}
	if err := checkURL(ch.Name, field, raw); err != nil {
		return nil, err
	}
	p := httpsend.New(ch, client)
	set := secret.New()
	cfg.RegisterSecrets(set, lookupEnv)
	return &Channel{name: ch.Name, url: raw, client: p.Client, timeout: p.Timeout, attempts: p.Attempts, delay: p.Delay,
		channel: cfg.Channel, username: cfg.Username, secrets: set}, nil
}

// Name is the channel's name.
func (c *Channel) Name() string { return c.name }

// Message is the JSON body posted to the webhook.
type Message struct {
	Channel     string       `json:"channel,omitempty"`
	Username    string       `json:"username,omitempty"`
	Text        string       `json:"text"`
	Blocks      []Block      `json:"blocks"`
	Attachments []Attachment `json:"attachments"`
}

// Attachment is a secondary attachment: the color bar and the details.
type Attachment struct {
	Color    string  `json:"color"`
	Fallback string  `json:"fallback"`
	Blocks   []Block `json:"blocks"`
}

// Block is a Block Kit layout block: header, section or context.
type Block struct {
	Type     string `json:"type"`
	Text     *Text  `json:"text,omitempty"`
	Fields   []Text `json:"fields,omitempty"`
	Elements []Text `json:"elements,omitempty"`
}

// Text is a Block Kit text object, plain_text or mrkdwn.
type Text struct {
	Type  string `json:"type"`
	Text  string `json:"text"`
	Emoji bool   `json:"emoji,omitempty"`
}

func plain(s string, limit int) *Text {
	return &Text{Type: "plain_text", Text: clip(s, limit), Emoji: true}
}
func md(s string, limit int) Text { return Text{Type: "mrkdwn", Text: clip(s, limit)} }

// clip keeps s within Slack's limit for the field, in runes.
func clip(s string, limit int) string {
	r := []rune(s)
	if len(r) <= limit {
		return s
	}
	return string(r[:limit-1]) + "…"
}

// data is a value from data (a label's key or value, a rule name, an
// incident id holding a group's label value) as the message shows it:
// Go-quoted when it holds a newline, a control character, an ESC/OSC
// sequence or a bidi, zero-width or line-separator character
// (safetext.Terminal, as vigil query shows it), so that a label value
// cannot forge a line of the notification nor reorder or hide text.
// Slack's escaping (esc) comes after, on the quoted form.
func data(s string) string { return safetext.Terminal(s) }

// esc escapes what Slack's mrkdwn reserves.
func esc(s string) string {
	return strings.NewReplacer("&", "&amp;", "<", "&lt;", ">", "&gt;").Replace(s)
}

// clipEscaped is s escaped (esc) and clipped to limit runes, never in
// the middle of an entity (a cut "&am" would show as text).
func clipEscaped(s string, limit int) string {
	e := esc(s)
	r := []rune(e)
	if len(r) <= limit {
		return e
	}
	r = r[:limit-1]
	if i := strings.LastIndexByte(string(r), '&'); i >= 0 && !strings.Contains(string(r)[i:], ";") {
		r = []rune(string(r)[:i])
	}
	return string(r) + "…"
}

// readable are the lines of a notice for people beyond the value (those
// it has): the summary, window and path, the runbook, the acknowledge
// command; each on its own line after a newline.
func readable(a notify.Alert) string {
	var b strings.Builder
	if a.Summary != "" {
		b.WriteString("\n" + esc(data(a.Summary)))
	}
	if a.Window != "" || a.Path != "" {
		b.WriteString("\n*Window:* " + esc(data(a.Window)))
		if a.Path != "" {
			b.WriteString(" · *Metric:* `" + esc(strings.ReplaceAll(data(a.Path), "`", "'")) + "`")
		}
	}
	if a.RunbookURL != "" {
		b.WriteString("\n*Runbook:* " + esc(data(a.RunbookURL)))
	}
	if a.Acknowledgeable() {
		b.WriteString("\n*Acknowledge:* `" + esc(data(a.AckCommand)) + "`")
	}
	return b.String()
}

// when is t in the reader's time zone, with UTC as the fallback.
func when(t time.Time) string {
	if t.IsZero() {
		return "unknown"
	}
	return fmt.Sprintf("<!date^%d^{date_short} {time_secs}|%s>", t.Unix(), t.UTC().Format(time.RFC3339))
}

func labels(l map[string]string) []string { return slices.Sorted(maps.Keys(l)) }

func inline(l map[string]string) string {
	var parts []string
	for _, k := range labels(l) {
		parts = append(parts, data(k)+"="+data(l[k]))
	}
	return strings.Join(parts, ", ")
}

func highest(alerts []notify.Alert) string {
	best, rank := "", len(config.Severities)+1
	for _, a := range alerts {
		r := slices.Index(config.Severities, a.Severity)
		if r < 0 {
			r = len(config.Severities)
		}
		if best == "" || r < rank {
			best, rank = a.Severity, r
		}
	}
	return best
}

func incident(alerts []notify.Alert) string {
	for _, a := range alerts {
		if a.Incident != "" {
			return a.Incident
		}
	}
	return ""
}

// NewMessage is the message Notify posts for n (dry runs show it).
func (c *Channel) NewMessage(n notify.Notification) Message {
	resolved := n.Kind == "resolved"
	sev := highest(n.Alerts)
	color, ok := Colors[sev]
	if !ok {
		color = colorOther
	}
	if resolved {
		color = ColorResolved
	}
	m := Message{Channel: c.channel, Username: c.username}
	var head string
	var details []Block
	inc := incident(n.Alerts)
	if len(n.Alerts) == 1 {
		head, m.Text, details = oneAlert(n.Alerts[0], inc, resolved)
	} else {
		head, m.Text, details = severalAlerts(n, sev, inc, resolved)
	}
	m.Blocks = []Block{{Type: "header", Text: plain(head, 150)}}
	// Slack reads text and fallback as mrkdwn: a label value <!channel>
	// would ping the workspace, <@U123> a person, <http://x|click> make a
	// disguised link. Neither has markup of vigil's own, so all of it is
	// escaped.
	m.Text = clipEscaped(m.Text, 3000)
	m.Attachments = []Attachment{{Color: color, Fallback: m.Text, Blocks: details}}
	return m
}

// oneAlert is the header, fallback text and detail blocks of a
// notification about a, the only alert, in incident inc ("" for none).
func oneAlert(a notify.Alert, inc string, resolved bool) (head, text string, details []Block) {
	a.Rule, inc = data(a.Rule), data(inc)
	st := a.State
	if st == "" {
		st = "firing"
	}
	head = fmt.Sprintf("%s: %s %s", strings.ToUpper(a.Severity), a.Rule, st)
	text = fmt.Sprintf("[%s] %s %s: value %s, %s %s", strings.ToUpper(a.Severity), a.Rule, st, a.ValueString(), a.ThresholdWords(), a.ThresholdString())
	state := fmt.Sprintf("*State:* %s since %s", a.State, when(a.StartsAt))
	if resolved {
		head = "Resolved: " + a.Rule
		text = fmt.Sprintf("[RESOLVED] %s resolved: value %s, %s %s", a.Rule, a.ValueString(), a.ThresholdWords(), a.ThresholdString())
		state = fmt.Sprintf("*State:* %s at %s (fired %s)", a.State, when(a.EndsAt), when(a.StartsAt))
	}
	if l := inline(a.Labels); l != "" {
		text += " (" + l + ")"
	}
	sec := md(fmt.Sprintf("*Value:* `%s` vs *%s:* `%s` · *Severity:* %s\n%s%s", a.ValueString(),
		a.ThresholdWords(), a.ThresholdString(), a.Severity, state, readable(a)), 3000)
	details = append(details, Block{Type: "section", Text: &sec})
	keys := labels(a.Labels)
	for len(keys) > 0 { // at most 10 fields a section
		k := min(len(keys), 10)
		var fs []Text
		for _, key := range keys[:k] {
			fs = append(fs, md(fmt.Sprintf("*%s*\n%s", esc(data(key)), esc(data(a.Labels[key]))), 2000))
		}
		details = append(details, Block{Type: "section", Fields: fs})
		keys = keys[k:]
	}
	if d := strings.TrimSpace(a.Description); d != "" {
		t := md(esc(d), 3000)
		details = append(details, Block{Type: "section", Text: &t})
	}
	ctx := []Text{md("fingerprint `"+a.Fingerprint+"`", 2000)}
	if inc != "" {
		ctx = append(ctx, md("incident `"+esc(inc)+"`", 2000))
	}
	if a.EscalationStep >= 0 {
		ctx = append(ctx, md(fmt.Sprintf("escalation step %d", a.EscalationStep+1), 2000))
	}
	ctx = append(ctx, md("vigil", 2000))
	details = append(details, Block{Type: "context", Elements: ctx})
	return head, text, details
}

// severalAlerts is the header, fallback text and detail blocks of a
// notification about several alerts (an incident's), sev the highest
// severity among them: one section an alert, at most maxAlerts.
func severalAlerts(n notify.Notification, sev, inc string, resolved bool) (head, text string, details []Block) {
	inc = data(inc)
	what := "incident " + inc
	if inc == "" {
		what = "alerts"
	}
	head = fmt.Sprintf("%s: %s (%d alerts)", strings.ToUpper(sev), what, len(n.Alerts))
	verb := "firing"
	if resolved {
		head, verb = fmt.Sprintf("Resolved: %s (%d alerts)", what, len(n.Alerts)), "resolved"
	}
	rules := make([]string, len(n.Alerts))
	for i, a := range n.Alerts {
		rules[i] = data(a.Rule)
	}
	tag := strings.ToUpper(sev)
	if resolved {
		tag = "RESOLVED"
	}
	text = fmt.Sprintf("[%s] %s: %d alerts %s: %s", tag, what, len(n.Alerts), verb, strings.Join(rules, ", "))
	for i, a := range n.Alerts {
		if i == maxAlerts {
			t := md(fmt.Sprintf("… and %d more", len(n.Alerts)-maxAlerts), 3000)
			details = append(details, Block{Type: "section", Text: &t})
			break
		}
		s := fmt.Sprintf("*%s* (%s) %s · value `%s` vs %s `%s`", esc(data(a.Rule)), a.Severity, a.State, a.ValueString(),
			a.ThresholdWords(), a.ThresholdString())
		if l := inline(a.Labels); l != "" {
			s += "\n" + esc(l)
		}
		if d := strings.TrimSpace(a.Description); d != "" {
			s += "\n" + esc(d)
		}
		t := md(s, 3000)
		details = append(details, Block{Type: "section", Text: &t})
	}
	ctx := []Text{}
	if inc != "" {
		ctx = append(ctx, md("incident `"+esc(inc)+"`", 2000))
	}
	ctx = append(ctx, md("at "+when(n.At), 2000), md("vigil", 2000))
	details = append(details, Block{Type: "context", Elements: ctx})
	return head, text, details
}

// Encode is the JSON body Notify posts for n: NewMessage's, with &, <
// and > left as they are (Slack reads both forms).
func (c *Channel) Encode(n notify.Notification) ([]byte, error) {
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(c.NewMessage(n)); err != nil {
		return nil, fmt.Errorf("slack %q: encode message: %w", c.name, err)
	}
	return bytes.TrimSuffix(buf.Bytes(), []byte("\n")), nil
}

// Notify posts n's message, retrying as the package describes.
func (c *Channel) Notify(ctx context.Context, n notify.Notification) (retry bool, err error) {
	if len(n.Alerts) == 0 {
		return false, fmt.Errorf("slack %q: no alerts to send", c.name)
	}
	body, err := c.Encode(n)
	if err != nil {
		return false, err
	}
	p := httpsend.Poster{Client: c.client, Timeout: c.timeout, Attempts: c.attempts, Delay: c.delay,
		MaxRetryAfter: MaxRetryAfter, MaxErrorBody: maxErrorBody, Secrets: c.secrets, Classify: c.classify}
	h := http.Header{"Content-Type": {"application/json; charset=utf-8"}, "User-Agent": {"vigil"}}
	if _, retry, err = p.Do(ctx, &httpsend.Request{URL: c.url, Header: h, Body: body}, nil, n.Attempt); err != nil {
		return retry, fmt.Errorf("slack %q: %w", c.name, err)
	}
	return false, nil
}

// classify reads Slack's failed answer as an Error with what to fix; 429
// (waiting as its Retry-After asks) and 5xx are transient.
func (c *Channel) classify(_ *httpsend.Request, shown string, resp *httpsend.Response) httpsend.Verdict {
	code := resp.Status
	e := &Error{URL: shown, Code: code, Text: strings.TrimSpace(string(resp.Body))} // scrubbed by the Poster
	v := httpsend.Verdict{Err: e, Retry: httpsend.Transient(code)}
	switch {
	case code == http.StatusTooManyRequests:
		e.Hint = "rate limited by Slack"
		if v.Wait = httpsend.RetryAfter(resp.Header); v.Wait > 0 {
			e.Hint += fmt.Sprintf(" for %s", v.Wait)
		}
	case code >= 500:
		e.Hint = "Slack failed to answer"
	case code == http.StatusBadRequest:
		e.Hint = "Slack refused the message as invalid"
	case code == http.StatusForbidden:
		e.Hint = "the webhook may no longer post (its token was revoked or the app lost access): create a new incoming webhook and update the channel's url"
	case code == http.StatusNotFound:
		e.Hint = "the webhook or its channel does not exist: check the channel's url, or create a new incoming webhook"
	case code == http.StatusGone:
		e.Hint = "the webhook's Slack channel is archived: unarchive it or create a webhook for another channel"
	}
	return v
}

// Error is a non-2xx answer from the webhook.
type Error struct {
	URL  string // scheme and host only
	Code int
	Text string // Slack's answer, such as "invalid_payload"
	Hint string // what to fix
}

func (e *Error) Error() string {
	msg := fmt.Sprintf("POST %s: %d %s", e.URL, e.Code, http.StatusText(e.Code))
	if e.Text != "" {
		msg += ": " + strconv.Quote(e.Text)
	}
	if e.Hint != "" {
		msg += ": " + e.Hint
	}
	return msg
}
