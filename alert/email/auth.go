package email

import (
	"encoding/base64"
	"net/smtp"
	"slices"
	"strings"
)

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
