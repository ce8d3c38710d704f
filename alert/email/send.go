package email

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"net"
	"net/mail"
	"net/smtp"
	"net/textproto"
	"strings"
	"time"

	"github.com/vigil-metrics/vigil/alert/notify"
	"github.com/vigil-metrics/vigil/alert/retry"
)

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
func (c *Channel) Notify(ctx context.Context, n notify.Notification) (bool, error) {
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

	policy := retry.Policy{Timeout: c.timeout, Attempts: c.attempts, Delay: c.delay}
	tries := 0
	r := policy.Run(ctx, func(ctx context.Context) retry.Outcome {
		tries++
		res := c.attempt(ctx, pass, msg, rcpts)
		res.err = red.redact(res.err)
		if n.Attempt != nil {
			n.Attempt(tries, res.code, res.err)
		}
		return retry.Outcome{Err: res.err, Retry: res.retry}
	})
	switch {
	case r.Err == nil && len(bad) > 0:
		return false, fmt.Errorf("email %q: sent, but not to %s", c.name, strings.Join(bad, "; "))
	case r.Err == nil:
		return false, nil
	case !r.Retry && len(bad) > 0:
		return false, fmt.Errorf("email %q: %w; not sent to %s", c.name, r.Err, strings.Join(bad, "; "))
	}
	return r.Retry, fmt.Errorf("email %q: %w", c.name, r.Err)
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

// attempt sends msg once; ctx carries the attempt's timeout.
func (c *Channel) attempt(ctx context.Context, pass string, msg []byte, rcpts []*mail.Address) result {
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
