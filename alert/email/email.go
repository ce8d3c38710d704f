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
// Failures are retried within Notify through the retry policy every
// channel shares (alert/retry): exponential backoff from retry_delay for
// at most retry_attempts tries. What is worth retrying is this
// package's reading of SMTP: network errors, TLS handshake failures other
// than a refused certificate, and 4xx replies are transient (retry is
// true: a later run may send the message again); 5xx replies (550 unknown recipient, 535
// authentication failed) and a refused certificate are permanent.
//
// No error of this package contains the password. The package knows one
// channel, email: it must not import another channel's package.
//
// The files: settings.go reads and checks the Config, send.go is the
// SMTP session and its retries, auth.go the login and the password's
// redaction, message.go the message.
//
// config.go is the channel's settings as the config file gives them
// (Config: its keys, checks, secrets read at send time, Validate, shared
// by vigil check and New) and Notifier, its line in alert/channels' registry.
package email

import (
	"crypto/tls"
	"fmt"
	"net"
	"net/mail"
	"os"
	"strconv"
	"strings"
	"time"

	"github.com/vigil-metrics/vigil/alert/config"
	"github.com/vigil-metrics/vigil/alert/retry"
	"github.com/vigil-metrics/vigil/internal/secret"
)

// Defaults for what the channel leaves out: the retry policy's, as for
// every channel, and the password's variable.
const (
	DefaultTimeout       = retry.DefaultTimeout
	DefaultRetryAttempts = retry.DefaultAttempts
	DefaultRetryDelay    = retry.DefaultDelay
	DefaultPasswordEnv   = "SMTP_PASSWORD"
)

// TLS modes, the values of the tls setting (TLSModes).
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
	cfg, err := config.SettingsOf[Config](ch, "email")
	if err != nil {
		return nil, err
	}
	s, err := cfg.parse(ch.Name) // Validate
	if err != nil {
		return nil, err
	}
	r := retry.FromChannel(ch)
	return &Channel{
		name: ch.Name, server: s.Server, port: s.Port, mode: s.TLS,
		username: s.Username, passEnv: s.PasswordEnv, passFile: s.PasswordFile, from: s.From, to: s.To,
		timeout: r.Timeout, attempts: r.Attempts, delay: r.Delay,
		lookupEnv: lookupEnv, hello: helloName(), now: time.Now,
	}, nil
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
		b, err := secret.ReadFile(c.passFile)
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
