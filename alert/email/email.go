// Package email sends vigil's alert notifications by SMTP, with the
// reference design's fields (EmailNotificationChannel) and what vigil adds.
//
// A channel of type email is configured with
//
//	smtp_server     the relay's host name or IP (required)
//	smtp_port       default 587 for starttls, 465 for implicit, 25 for none
//	tls             starttls (the default), implicit (SMTPS) or none
//	use_tls         legacy: true means starttls, false means none
//	username        the login, when the relay wants one
//	password_env    the variable holding the password (default SMTP_PASSWORD)
//	password_file   a file holding the password (a trailing newline is dropped)
//	from            the sender (from_email is the same; default: username)
//	to_emails       the recipients (required, at least one)
//
// plus every channel's timeout (per attempt, default 10s), retry_attempts
// and retry_delay. The password is never written in the configuration.
// tls: none sends in clear text, so it is accepted only for a loopback
// relay (localhost, 127.0.0.0/8, ::1), such as a local MTA that relays on.
//
// Each notification is one message, multipart/alternative with a
// text/plain and a text/html part, to to_emails and the notification's
// escalation step recipients (deduplicated). Its subject gives the
// severity, rule and status ("[CRITICAL] high_cpu firing",
// "[RESOLVED] high_cpu"), and for several alerts (an incident) their
// count; its body gives every alert's rule, state, value and threshold,
// labels, description, start and end, fingerprint and incident.
//
// Sending uses the standard library's net/smtp, which covers what vigil
// needs: STARTTLS, implicit TLS, PLAIN authentication (and LOGIN, added
// here, for relays that only offer it), only ever over TLS or to a
// loopback relay.
//
// Failures are retried within Notify like the webhook channel's, with
// exponential backoff from retry_delay for at most retry_attempts tries.
// Network errors, TLS handshake failures other than a refused
// certificate, and 4xx replies are transient (retry is true: a later run
// may send the message again); 5xx replies (550 unknown recipient, 535
// authentication failed) and a refused certificate are permanent.
//
// No error of this package contains the password.
package email

import (
	"bytes"
	"context"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"fmt"
	"html/template"
	"math"
	"mime"
	"mime/multipart"
	"mime/quotedprintable"
	"net"
	"net/mail"
	"net/smtp"
	"net/textproto"
	"os"
	"slices"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/cenkalti/backoff/v5"

	"github.com/vigil-metrics/vigil/alert/config"
	"github.com/vigil-metrics/vigil/alert/notify"
)

// Defaults for what the channel leaves out, as for webhooks.
const (
	DefaultTimeout       = 10 * time.Second
	DefaultRetryAttempts = 3
	DefaultRetryDelay    = time.Second
	DefaultPasswordEnv   = "SMTP_PASSWORD"
)

// TLS modes, the values of the tls setting (config.EmailTLS).
const (
	TLSStartTLS = "starttls" // plain connection upgraded with STARTTLS (default)
	TLSImplicit = "implicit" // TLS from the first byte (SMTPS)
	TLSNone     = "none"     // clear text; loopback relays only
)

// Channel sends notifications to one email channel. It implements
// notify.Notifier. It is safe for concurrent use once TLSConfig is set.
type Channel struct {
	// TLSConfig, when not nil, is the base of the TLS configuration
	// (STARTTLS and implicit): tests set RootCAs. Its ServerName defaults
	// to smtp_server. Set it before the first Notify.
	TLSConfig *tls.Config

	name      string
	server    string
	port      int
	mode      string
	username  string
	passEnv   string // the variable holding the password, when no file
	passFile  string
	from      *mail.Address
	to        []*mail.Address
	timeout   time.Duration
	attempts  int
	delay     time.Duration
	lookupEnv func(string) (string, bool)
	hello     string
	now       func() time.Time
}

// New builds the channel for ch, which must be of type email. lookupEnv
// reads password_env at send time (nil: os.LookupEnv); the password is
// read by Notify, not here, so a channel whose password is missing can be
// built (the config only warns) and fails to send with that reason.
func New(ch config.Channel, lookupEnv func(string) (string, bool)) (*Channel, error) {
	if ch.Type != "email" {
		return nil, fmt.Errorf("channel %q: type %q is not email", ch.Name, ch.Type)
	}
	errf := func(format string, args ...any) error {
		return fmt.Errorf("email channel %q: "+format, append([]any{ch.Name}, args...)...)
	}
	str := func(key string) (string, error) {
		switch v := ch.Settings[key].(type) {
		case nil:
			return "", nil
		case string:
			return strings.TrimSpace(v), nil
		default:
			return "", errf("%s: want a string, got %T", key, v)
		}
	}
	c := &Channel{name: ch.Name, timeout: ch.Timeout, attempts: ch.RetryAttempts, delay: ch.RetryDelay, lookupEnv: lookupEnv, now: time.Now}
	var err error
	if c.server, err = str("smtp_server"); err != nil {
		return nil, err
	}
	if c.server == "" {
		return nil, errf("smtp_server is required")
	}
	if strings.ContainsAny(c.server, " \t\r\n/") {
		return nil, errf("smtp_server %q is not a host name", c.server)
	}
	c.server = strings.TrimSuffix(strings.TrimPrefix(c.server, "["), "]") // [::1]

	// tls, or the legacy use_tls.
	c.mode = TLSStartTLS
	tlsSet := ch.Settings["tls"] != nil
	if tlsSet {
		m, err := str("tls")
		if err != nil {
			return nil, err
		}
		if m != TLSStartTLS && m != TLSImplicit && m != TLSNone {
			return nil, errf("unknown tls mode %q (want %s, %s or %s)", m, TLSStartTLS, TLSImplicit, TLSNone)
		}
		c.mode = m
	}
	if v, set := ch.Settings["use_tls"]; set {
		b, ok := v.(bool)
		if !ok {
			return nil, errf("use_tls: want true or false, got %T", v)
		}
		if tlsSet {
			return nil, errf("give tls or use_tls, not both")
		}
		if !b {
			c.mode = TLSNone
		}
	}
	if c.mode == TLSNone && !loopback(c.server) {
		setting := "tls: none"
		if !tlsSet {
			setting = "use_tls: false"
		}
		return nil, errf("%s sends mail and password in clear text, allowed only for a loopback relay (localhost, 127.0.0.1, ::1), not %q; use tls: starttls or tls: implicit", setting, c.server)
	}

	switch v := ch.Settings["smtp_port"].(type) {
	case nil:
		c.port = map[string]int{TLSStartTLS: 587, TLSImplicit: 465, TLSNone: 25}[c.mode]
	case int:
		c.port = v
	case int64:
		c.port = int(v)
	case float64:
		if v != math.Trunc(v) {
			return nil, errf("smtp_port: want a whole number, got %v", v)
		}
		c.port = int(v)
	default:
		return nil, errf("smtp_port: want a number, got %T", v)
	}
	if c.port < 1 || c.port > 65535 {
		return nil, errf("smtp_port: want a port from 1 to 65535, got %d", c.port)
	}

	if c.username, err = str("username"); err != nil {
		return nil, err
	}
	if c.passEnv, err = str("password_env"); err != nil {
		return nil, err
	}
	if c.passFile, err = str("password_file"); err != nil {
		return nil, err
	}
	if c.passEnv != "" && c.passFile != "" {
		return nil, errf("give password_env or password_file, not both")
	}
	if c.passEnv == "" {
		c.passEnv = DefaultPasswordEnv
	}
	if _, set := ch.Settings["password"]; set {
		return nil, errf("password must not be written in the configuration: use password_env or password_file")
	}

	from, err := str("from_email")
	if err != nil {
		return nil, err
	}
	if f, err := str("from"); err != nil {
		return nil, err
	} else if f != "" {
		if from != "" && f != from {
			return nil, errf("give from or from_email, not both")
		}
		from = f
	}
	if from == "" && c.username != "" {
		if c.from, err = mail.ParseAddress(c.username); err != nil {
			return nil, errf("username %q is not an address to send from: set from_email", c.username)
		}
	} else if from == "" {
		return nil, errf("from_email (or from, or username) is required")
	} else if c.from, err = mail.ParseAddress(from); err != nil {
		return nil, errf("from %q is not a valid address: %v", from, err)
	}

	var to []string
	switch v := ch.Settings["to_emails"].(type) {
	case []string:
		to = v
	case []any:
		for _, x := range v {
			s, ok := x.(string)
			if !ok {
				return nil, errf("to_emails: want a list of strings, got a %T in it", x)
			}
			to = append(to, s)
		}
	case string:
		to = []string{v}
	case nil:
	default:
		return nil, errf("to_emails: want a list of addresses, got %T", v)
	}
	for _, s := range to {
		a, err := mail.ParseAddress(s)
		if err != nil {
			return nil, errf("to_emails: %q is not a valid address: %v", s, err)
		}
		c.to = append(c.to, a)
	}
	if len(c.to) == 0 {
		return nil, errf("to_emails: want at least one address")
	}

	if c.timeout <= 0 {
		c.timeout = DefaultTimeout
	}
	if _, set := ch.Settings["retry_attempts"]; !set && c.attempts <= 0 {
		c.attempts = DefaultRetryAttempts
	}
	if c.attempts < 1 {
		c.attempts = 1
	}
	if c.delay <= 0 {
		c.delay = DefaultRetryDelay
	}
	c.hello = helloName()
	return c, nil
}

// Name is the channel's name.
func (c *Channel) Name() string { return c.name }

// Addr is the relay's host:port.
func (c *Channel) Addr() string { return net.JoinHostPort(c.server, strconv.Itoa(c.port)) }

// TLSMode is the channel's tls mode: TLSStartTLS, TLSImplicit or TLSNone.
func (c *Channel) TLSMode() string { return c.mode }

// loopback says whether host is a loopback relay.
func loopback(host string) bool {
	if strings.EqualFold(host, "localhost") || strings.HasSuffix(strings.ToLower(host), ".localhost") {
		return true
	}
	ip := net.ParseIP(host)
	return ip != nil && ip.IsLoopback()
}

// helloName is the name sent with EHLO: the host name when it looks like
// one, else localhost (what net/smtp sends by default).
func helloName() string {
	h, err := os.Hostname()
	if err != nil || h == "" || strings.ContainsAny(h, " \t\r\n<>[]") {
		return "localhost"
	}
	return h
}

// password reads the password at send time; "" when there is no username.
func (c *Channel) password() (string, error) {
	if c.username == "" {
		return "", nil
	}
	if c.passFile != "" {
		b, err := os.ReadFile(c.passFile)
		if err != nil {
			return "", fmt.Errorf("read password_file: %w", err)
		}
		p := strings.TrimRight(string(b), "\r\n")
		if p == "" {
			return "", fmt.Errorf("password_file %s is empty", c.passFile)
		}
		return p, nil
	}
	look := c.lookupEnv
	if look == nil {
		look = os.LookupEnv
	}
	p, ok := look(c.passEnv)
	if !ok || p == "" {
		return "", fmt.Errorf("%s is not set (needed to log in as %s)", c.passEnv, c.username)
	}
	return p, nil
}

// Notify sends n as one message to to_emails and n.Recipients, retrying
// transient failures with exponential backoff from the channel's
// retry_delay (doubling, no jitter) for at most retry_attempts tries, each
// under the channel's timeout, and stopping when ctx is done. n.Attempt,
// when set, is called after every attempt with the SMTP reply code of the
// failure (0 when there was none, or on success) and the error.
//
// err is nil when the relay accepted the message for every recipient.
// When some recipients are refused with a 5xx reply (or an escalation
// recipient is not a valid address) the message still goes to the others,
// and err names the refused ones with retry false. A 4xx reply to any
// recipient abandons the message, so a retry sends it to all of them once.
func (c *Channel) Notify(ctx context.Context, n notify.Notification) (retry bool, err error) {
	if len(n.Alerts) == 0 {
		return false, fmt.Errorf("email %q: no alerts to send", c.name)
	}
	rcpts, bad := c.recipients(n.Recipients)
	pass, err := c.password()
	if err != nil {
		return true, fmt.Errorf("email %q: not sent: %w", c.name, err)
	}
	red := newRedactor(c.username, pass)
	msg, err := c.message(n, rcpts)
	if err != nil {
		return false, fmt.Errorf("email %q: %w", c.name, err)
	}

	b := backoff.NewExponentialBackOff()
	b.InitialInterval = c.delay
	b.Multiplier = 2
	b.RandomizationFactor = 0
	b.MaxInterval = 64 * c.delay

	var last result
	tries := 0
	op := func() (struct{}, error) {
		tries++
		res := c.attempt(ctx, pass, msg, rcpts)
		res.err = red.redact(res.err)
		if n.Attempt != nil {
			n.Attempt(tries, res.code, res.err)
		}
		last = res
		switch {
		case res.err == nil:
			return struct{}{}, nil
		case !res.retry:
			return struct{}{}, backoff.Permanent(res.err)
		}
		return struct{}{}, res.err
	}
	_, rerr := backoff.Retry(ctx, op,
		backoff.WithBackOff(b),
		backoff.WithMaxTries(uint(c.attempts)),
		backoff.WithMaxElapsedTime(0),
	)
	if rerr == nil {
		if len(bad) > 0 {
			return false, fmt.Errorf("email %q: sent, but not to %s", c.name, strings.Join(bad, "; "))
		}
		return false, nil
	}
	if last.err != nil && !last.retry {
		if len(bad) > 0 {
			return false, fmt.Errorf("email %q: %w; not sent to %s", c.name, last.err, strings.Join(bad, "; "))
		}
		return false, fmt.Errorf("email %q: %w", c.name, last.err)
	}
	if cerr := ctx.Err(); cerr != nil {
		if last.err == nil {
			return true, fmt.Errorf("email %q: not sent: %w", c.name, cerr)
		}
		return true, fmt.Errorf("email %q: gave up after %d of %d attempts: %w (last error: %w)", c.name, tries, c.attempts, cerr, last.err)
	}
	return true, fmt.Errorf("email %q: %d attempts failed, last: %w", c.name, tries, last.err)
}

// recipients is to_emails then extra, deduplicated by address (case
// insensitively), and the extra ones that are not valid addresses.
func (c *Channel) recipients(extra []string) (out []*mail.Address, bad []string) {
	seen := map[string]bool{}
	add := func(a *mail.Address) {
		k := strings.ToLower(a.Address)
		if !seen[k] {
			seen[k] = true
			out = append(out, a)
		}
	}
	for _, a := range c.to {
		add(a)
	}
	for _, s := range extra {
		a, err := mail.ParseAddress(s)
		if err != nil {
			bad = append(bad, fmt.Sprintf("%q: not a valid address", s))
			continue
		}
		add(a)
	}
	return out, bad
}

// result is one attempt's outcome.
type result struct {
	code  int // the SMTP reply code of the failure, 0 when none
	err   error
	retry bool
}

// permanent marks errors of this package that a retry would not cure.
type permanentError struct{ msg string }

func (e *permanentError) Error() string { return e.msg }

func permanentf(format string, args ...any) error {
	return &permanentError{fmt.Sprintf(format, args...)}
}

// classify makes a result of a failed step.
func classify(step string, err error) result {
	err = fmt.Errorf("%s: %w", step, err)
	var te *textproto.Error
	if errors.As(err, &te) {
		return result{code: te.Code, err: err, retry: te.Code >= 400 && te.Code < 500}
	}
	var pe *permanentError
	var cv *tls.CertificateVerificationError
	var ua x509.UnknownAuthorityError
	var he x509.HostnameError
	var ci x509.CertificateInvalidError
	if errors.As(err, &pe) || errors.As(err, &cv) || errors.As(err, &ua) || errors.As(err, &he) || errors.As(err, &ci) {
		return result{err: err}
	}
	return result{err: err, retry: true} // network errors, timeouts
}

func (c *Channel) tlsConfig() *tls.Config {
	var cfg *tls.Config
	if c.TLSConfig != nil {
		cfg = c.TLSConfig.Clone()
	} else {
		cfg = &tls.Config{}
	}
	if cfg.ServerName == "" {
		cfg.ServerName = c.server
	}
	if cfg.MinVersion == 0 {
		cfg.MinVersion = tls.VersionTLS12
	}
	return cfg
}

// attempt sends msg once under the channel's timeout.
func (c *Channel) attempt(ctx context.Context, pass string, msg []byte, rcpts []*mail.Address) result {
	ctx, cancel := context.WithTimeout(ctx, c.timeout)
	defer cancel()
	addr := c.Addr()
	d := &net.Dialer{}
	var conn net.Conn
	var err error
	if c.mode == TLSImplicit {
		conn, err = (&tls.Dialer{NetDialer: d, Config: c.tlsConfig()}).DialContext(ctx, "tcp", addr)
	} else {
		conn, err = d.DialContext(ctx, "tcp", addr)
	}
	if err != nil {
		return classify("connect to "+addr, err)
	}
	defer conn.Close() //nolint:errcheck // the session's outcome is already decided
	if dl, ok := ctx.Deadline(); ok {
		_ = conn.SetDeadline(dl)
	}
	stop := context.AfterFunc(ctx, func() { _ = conn.SetDeadline(time.Unix(1, 0)) })
	defer stop()

	cl, err := smtp.NewClient(conn, c.server)
	if err != nil {
		return classify(addr+": greeting", err)
	}
	defer cl.Close() //nolint:errcheck // after QUIT or a failure: nothing to learn
	if err := cl.Hello(c.hello); err != nil {
		return classify(addr+": EHLO", err)
	}
	if c.mode == TLSStartTLS {
		if ok, _ := cl.Extension("STARTTLS"); !ok {
			return classify(addr, permanentf("the server does not offer STARTTLS (set tls: implicit for an SMTPS port)"))
		}
		if err := cl.StartTLS(c.tlsConfig()); err != nil {
			return classify(addr+": STARTTLS", err)
		}
	}
	if c.username != "" {
		if err := c.auth(cl, pass); err != nil {
			return classify(addr+": AUTH", err)
		}
	}
	if err := cl.Mail(c.from.Address); err != nil {
		return classify(addr+": MAIL FROM", err)
	}
	var refused []string
	var refusedCode int
	accepted := 0
	for _, r := range rcpts {
		if err := cl.Rcpt(r.Address); err != nil {
			res := classify(addr+": RCPT TO "+r.Address, err)
			if res.retry || res.code == 0 {
				// A transient refusal, or the connection broke: send to
				// nobody now, so the retry sends to everybody once.
				_ = cl.Reset()
				return res
			}
			refused = append(refused, fmt.Sprintf("%s: %s", r.Address, replyText(err)))
			refusedCode = res.code
			continue
		}
		accepted++
	}
	if accepted == 0 {
		_ = cl.Reset()
		return result{code: refusedCode, err: fmt.Errorf("%s: every recipient refused: %s", addr, strings.Join(refused, "; "))}
	}
	w, err := cl.Data()
	if err != nil {
		return classify(addr+": DATA", err)
	}
	if _, err := w.Write(msg); err != nil {
		return classify(addr+": DATA", err)
	}
	if err := w.Close(); err != nil {
		return classify(addr+": message", err)
	}
	_ = cl.Quit() // the message is accepted; a failed QUIT changes nothing
	if len(refused) > 0 {
		return result{code: refusedCode, err: fmt.Errorf("%s: sent, but recipients refused: %s", addr, strings.Join(refused, "; "))}
	}
	return result{}
}

// replyText is a refusal's reply, "550 5.1.1 unknown" for a
// *textproto.Error.
func replyText(err error) string {
	var te *textproto.Error
	if errors.As(err, &te) {
		return te.Error()
	}
	return err.Error()
}

// auth logs in with PLAIN, or LOGIN when the server offers only that,
// and only over TLS or to a loopback relay.
func (c *Channel) auth(cl *smtp.Client, pass string) error {
	ok, mechs := cl.Extension("AUTH")
	if !ok {
		return permanentf("the server does not offer AUTH, but username is set")
	}
	if _, isTLS := cl.TLSConnectionState(); !isTLS && !loopback(c.server) {
		return permanentf("refusing to send the password unencrypted")
	}
	fields := strings.Fields(strings.ToUpper(mechs))
	var a smtp.Auth
	switch {
	case slices.Contains(fields, "PLAIN"):
		a = plainAuth{c.username, pass}
	case slices.Contains(fields, "LOGIN"):
		a = loginAuth{c.username, pass}
	default:
		return permanentf("the server offers AUTH %s; vigil speaks PLAIN and LOGIN", mechs)
	}
	return cl.Auth(a)
}

// plainAuth is RFC 4616 PLAIN. net/smtp's PlainAuth refuses a clear-text
// connection to a loopback relay that is not named localhost, 127.0.0.1
// or ::1; auth has already checked the connection.
type plainAuth struct{ user, pass string }

func (a plainAuth) Start(*smtp.ServerInfo) (string, []byte, error) {
	return "PLAIN", []byte("\x00" + a.user + "\x00" + a.pass), nil
}

func (a plainAuth) Next(_ []byte, more bool) ([]byte, error) {
	if more {
		return nil, permanentf("unexpected server challenge during AUTH PLAIN")
	}
	return nil, nil
}

// loginAuth is the LOGIN mechanism, which some relays (Microsoft 365)
// offer instead of PLAIN.
type loginAuth struct{ user, pass string }

func (a loginAuth) Start(*smtp.ServerInfo) (string, []byte, error) { return "LOGIN", nil, nil }

func (a loginAuth) Next(challenge []byte, more bool) ([]byte, error) {
	if !more {
		return nil, nil
	}
	switch p := strings.ToLower(strings.TrimSpace(string(challenge))); {
	case strings.HasPrefix(p, "user"):
		return []byte(a.user), nil
	case strings.HasPrefix(p, "pass"):
		return []byte(a.pass), nil
	}
	return nil, permanentf("unexpected server challenge during AUTH LOGIN")
}

// redactor removes the password, in clear and in the encodings AUTH sends
// it, from errors.
type redactor struct{ secrets []string }

func newRedactor(user, pass string) redactor {
	if pass == "" {
		return redactor{}
	}
	enc := base64.StdEncoding.EncodeToString
	return redactor{secrets: []string{pass, enc([]byte("\x00" + user + "\x00" + pass)), enc([]byte(pass))}}
}

type redactedError struct {
	msg  string
	orig error
}

func (e *redactedError) Error() string { return e.msg }

// Unwrap keeps errors.Is and errors.As working (context errors, reply
// codes); only the text is redacted.
func (e *redactedError) Unwrap() error { return e.orig }

func (r redactor) redact(err error) error {
	if err == nil {
		return nil
	}
	msg := err.Error()
	changed := false
	for _, s := range r.secrets {
		if strings.Contains(msg, s) {
			msg, changed = strings.ReplaceAll(msg, s, "[redacted]"), true
		}
	}
	if !changed {
		return err
	}
	return &redactedError{msg: msg, orig: err}
}

// Subject is n's subject line: "[CRITICAL] high_cpu firing",
// "[RESOLVED] high_cpu", and for several alerts "[CRITICAL] 3 alerts
// firing: high_cpu, disk_full, +1 more (incident inc-1)".
func Subject(n notify.Notification) string {
	resolved := status(n) == "resolved"
	tag := "RESOLVED"
	if !resolved {
		tag = strings.ToUpper(topSeverity(n.Alerts))
	}
	if len(n.Alerts) == 1 {
		a := n.Alerts[0]
		if resolved {
			return fmt.Sprintf("[%s] %s", tag, a.Rule)
		}
		st := "firing"
		if a.State != "" && a.State != "firing" {
			st = a.State // pending, nodata
		}
		return fmt.Sprintf("[%s] %s %s", tag, a.Rule, st)
	}
	var rules []string
	seen := map[string]bool{}
	for _, a := range n.Alerts {
		if !seen[a.Rule] {
			seen[a.Rule] = true
			rules = append(rules, a.Rule)
		}
	}
	const show = 3
	list := strings.Join(rules[:min(show, len(rules))], ", ")
	if len(rules) > show {
		list += fmt.Sprintf(", +%d more", len(rules)-show)
	}
	s := fmt.Sprintf("[%s] %d alerts", tag, len(n.Alerts))
	if resolved {
		s += " resolved"
	} else {
		s += " firing"
	}
	s += ": " + list
	if inc := n.Alerts[0].Incident; inc != "" {
		s += " (incident " + inc + ")"
	}
	return s
}

// status is firing or resolved: n.Kind, else from the alerts' states.
func status(n notify.Notification) string {
	switch n.Kind {
	case "firing", "resolved":
		return n.Kind
	}
	for _, a := range n.Alerts {
		if a.State != "resolved" && a.State != "inactive" {
			return "firing"
		}
	}
	return "resolved"
}

// topSeverity is the most severe of the alerts' severities.
func topSeverity(alerts []notify.Alert) string {
	best, rank := "", len(config.Severities)+1
	for _, a := range alerts {
		r := slices.Index(config.Severities, a.Severity)
		if r < 0 {
			r = len(config.Severities)
		}
		if r < rank {
			best, rank = a.Severity, r
		}
	}
	if best == "" {
		best = "alert"
	}
	return best
}

// message is the whole message (headers and body, CRLF line ends) that
// Notify sends for n to rcpts.
func (c *Channel) message(n notify.Notification, rcpts []*mail.Address) ([]byte, error) {
	var buf bytes.Buffer
	h := func(k, v string) { fmt.Fprintf(&buf, "%s: %s\r\n", k, v) }
	var to []string
	for _, a := range rcpts {
		to = append(to, a.String())
	}
	now := c.now()
	h("From", c.from.String())
	h("To", strings.Join(to, ", "))
	h("Subject", mime.QEncoding.Encode("utf-8", Subject(n)))
	h("Date", now.Format(time.RFC1123Z))
	h("Message-ID", messageID(c.from.Address))
	h("MIME-Version", "1.0")
	h("Auto-Submitted", "auto-generated")
	h("X-Vigil-Status", status(n))
	if inc := n.Alerts[0].Incident; inc != "" && !strings.ContainsAny(inc, "\r\n") {
		h("X-Vigil-Incident", inc)
	}
	mw := multipart.NewWriter(&buf)
	h("Content-Type", mime.FormatMediaType("multipart/alternative", map[string]string{"boundary": mw.Boundary()}))
	buf.WriteString("\r\n")
	text, html, err := Body(c.name, n)
	if err != nil {
		return nil, err
	}
	for _, p := range []struct{ typ, body string }{{"text/plain", text}, {"text/html", html}} {
		w, err := mw.CreatePart(textproto.MIMEHeader{
			"Content-Type":              {p.typ + "; charset=utf-8"},
			"Content-Transfer-Encoding": {"quoted-printable"},
		})
		if err != nil {
			return nil, err
		}
		qw := quotedprintable.NewWriter(w)
		if _, err := qw.Write([]byte(strings.ReplaceAll(p.body, "\n", "\r\n"))); err != nil {
			return nil, err
		}
		if err := qw.Close(); err != nil {
			return nil, err
		}
	}
	if err := mw.Close(); err != nil {
		return nil, err
	}
	return buf.Bytes(), nil
}

func messageID(from string) string {
	var b [12]byte
	_, _ = rand.Read(b[:])
	domain := "vigil.invalid"
	if i := strings.LastIndexByte(from, '@'); i >= 0 && i+1 < len(from) {
		domain = from[i+1:]
	}
	return "<vigil." + hex.EncodeToString(b[:]) + "@" + domain + ">"
}

// row is one line of an alert's details.
type row struct{ Key, Value string }

type alertView struct {
	Title       string
	Description string
	Rows        []row
}

func fmtTime(t time.Time) string {
	if t.IsZero() {
		return ""
	}
	return t.UTC().Format("2006-01-02 15:04:05 UTC")
}

func fmtFloat(v float64) string {
	if math.IsNaN(v) {
		return "NaN"
	}
	return strconv.FormatFloat(v, 'g', -1, 64)
}

func view(a notify.Alert) alertView {
	v := alertView{Title: fmt.Sprintf("%s is %s (%s)", a.Rule, orDash(a.State), orDash(a.Severity)), Description: a.Description}
	add := func(k, val string) {
		if val != "" {
			v.Rows = append(v.Rows, row{k, val})
		}
	}
	add("Rule", a.Rule)
	add("Severity", a.Severity)
	add("State", a.State)
	val := "no value"
	if a.Value != nil {
		val = fmtFloat(*a.Value)
	}
	add("Value", fmt.Sprintf("%s (threshold %s)", val, fmtFloat(a.Threshold)))
	keys := make([]string, 0, len(a.Labels))
	for k := range a.Labels {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	var labels []string
	for _, k := range keys {
		labels = append(labels, k+"="+a.Labels[k])
	}
	add("Labels", strings.Join(labels, ", "))
	add("Started", fmtTime(a.StartsAt))
	ended := fmtTime(a.EndsAt)
	if ended != "" && !a.StartsAt.IsZero() && a.EndsAt.After(a.StartsAt) {
		ended += " (after " + a.EndsAt.Sub(a.StartsAt).Round(time.Second).String() + ")"
	}
	add("Ended", ended)
	add("Fingerprint", a.Fingerprint)
	add("Incident", a.Incident)
	if a.EscalationStep >= 0 {
		add("Escalation step", strconv.Itoa(a.EscalationStep+1))
	}
	return v
}

func orDash(s string) string {
	if s == "" {
		return "-"
	}
	return s
}

var htmlBody = template.Must(template.New("html").Parse(`<!DOCTYPE html>
<html><head><meta charset="utf-8"><title>{{.Subject}}</title></head>
<body style="font-family: sans-serif; font-size: 14px;">
<h2 style="margin: 0 0 12px 0;">{{.Subject}}</h2>
{{range .Alerts}}<h3 style="margin: 16px 0 4px 0;">{{.Title}}</h3>
{{if .Description}}<p style="margin: 0 0 8px 0;">{{.Description}}</p>
{{end}}<table style="border-collapse: collapse;">
{{range .Rows}}<tr><th style="text-align: left; padding: 2px 12px 2px 0; vertical-align: top;">{{.Key}}</th><td style="padding: 2px 0;">{{.Value}}</td></tr>
{{end}}</table>
{{end}}<p style="color: #666; font-size: 12px; margin-top: 16px;">Evaluated at {{.At}}. Sent by vigil through channel {{.Channel}}.</p>
</body></html>
`))

// Body is n's text and HTML bodies, for the channel named channel.
func Body(channel string, n notify.Notification) (text, html string, err error) {
	views := make([]alertView, len(n.Alerts))
	for i, a := range n.Alerts {
		views[i] = view(a)
	}
	subject := Subject(n)
	at := fmtTime(n.At)
	var t strings.Builder
	t.WriteString(subject + "\n")
	if len(n.Alerts) > 1 {
		fmt.Fprintf(&t, "\n%d alerts:\n", len(n.Alerts))
	}
	for _, v := range views {
		t.WriteString("\n" + v.Title + "\n")
		if v.Description != "" {
			t.WriteString(v.Description + "\n")
		}
		t.WriteString("\n")
		for _, r := range v.Rows {
			fmt.Fprintf(&t, "  %-16s %s\n", r.Key+":", r.Value)
		}
	}
	fmt.Fprintf(&t, "\n-- \nEvaluated at %s. Sent by vigil through channel %s.\n", orDash(at), channel)
	var h strings.Builder
	err = htmlBody.Execute(&h, map[string]any{"Subject": subject, "Alerts": views, "At": orDash(at), "Channel": channel})
	return t.String(), h.String(), err
}
