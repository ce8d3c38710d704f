package email

import (
	"bufio"
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"errors"
	"io"
	"math/big"
	"mime"
	"mime/multipart"
	"net"
	"net/mail"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/vigil-metrics/vigil/alert/config"
	"github.com/vigil-metrics/vigil/alert/notify"
	"github.com/vigil-metrics/vigil/alert/notify/notifytest"
)

const password = "s3cr3t-Pa55word!"

// channel is an email channel to addr, from and to_emails set, with fast
// retries; mod, when not nil, changes its settings.
func channel(addr string, mod func(*Config)) config.Channel {
	host, port, _ := net.SplitHostPort(addr)
	s := &Config{SMTPServer: host, FromEmail: "Vigil <vigil@example.com>", ToEmails: []string{"ops@example.com", "dev@example.com"}}
	if p, err := strconv.Atoi(port); err == nil {
		s.SMTPPort = p
	}
	if mod != nil {
		mod(s)
	}
	return config.Channel{Name: "mail", Type: "email", Enabled: true, SendResolved: true,
		Timeout: 5 * time.Second, RetryAttempts: 2, RetryDelay: 10 * time.Millisecond, Settings: s}
}

func ptr[T any](v T) *T { return &v }

func noEnv(string) (string, bool) { return "", false }

func envWith(name, value string) func(string) (string, bool) {
	return func(k string) (string, bool) {
		if k == name {
			return value, true
		}
		return "", false
	}
}

func build(t *testing.T, ch config.Channel, env func(string) (string, bool), roots *x509.CertPool) *Channel {
	t.Helper()
	c, err := New(ch, env)
	if err != nil {
		t.Fatal(err)
	}
	if roots != nil {
		c.TLSConfig = &tls.Config{RootCAs: roots}
	}
	return c
}

type try struct {
	n, code int
	err     error
}

// send notifies n through c and returns the result and every attempt.
func send(t *testing.T, c *Channel, n notify.Notification) (bool, error, []try) { //nolint:staticcheck // Notify's results, then the attempts
	t.Helper()
	var tries []try
	n.Attempt = func(i, code int, err error) { tries = append(tries, try{i, code, err}) }
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	retry, err := c.Notify(ctx, n)
	texts := []string{notifytest.Err(err)}
	for _, x := range tries {
		texts = append(texts, notifytest.Err(x.err))
	}
	notifytest.NoSecrets(t, []string{password}, texts...)
	return retry, err, tries
}

// --- the real server ---------------------------------------------------

func aiosmtpd(t *testing.T) string {
	t.Helper()
	bin, err := exec.LookPath("aiosmtpd")
	if err == nil {
		if _, err = os.Stat("/usr/bin/python3"); err == nil {
			return bin
		}
	}
	if os.Getenv("CI") != "" {
		t.Fatal("aiosmtpd is not installed; .ci/run must install python3-aiosmtpd")
	}
	t.Skip("SKIPPING: aiosmtpd not installed (apt-get install python3-aiosmtpd); CI runs this test")
	return ""
}

func freeAddr(t *testing.T) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	return ln.Addr().String()
}

func newMaildir(t *testing.T) string {
	t.Helper()
	dir := filepath.Join(t.TempDir(), "Maildir")
	for _, d := range []string{"tmp", "new", "cur"} {
		if err := os.MkdirAll(filepath.Join(dir, d), 0o755); err != nil {
			t.Fatal(err)
		}
	}
	return dir
}

// serve starts cmd (a server listening on addr), waits until addr
// accepts, and kills it when the test ends.
func serve(t *testing.T, addr string, cmd *exec.Cmd) {
	t.Helper()
	stderr, _ := cmd.StderrPipe()
	cmd.Stdout = io.Discard
	var log strings.Builder
	done := make(chan struct{})
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	go func() {
		defer close(done)
		io.Copy(&log, bufio.NewReader(stderr))
	}()
	t.Cleanup(func() {
		cmd.Process.Kill()
		<-done
		cmd.Wait()
		if t.Failed() {
			t.Logf("server log:\n%s", log.String())
		}
	})
	deadline := time.Now().Add(20 * time.Second)
	for {
		c, err := net.DialTimeout("tcp", addr, time.Second)
		if err == nil {
			c.Close()
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("SMTP server on %s did not come up: %v", addr, err)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// startAiosmtpd runs the aiosmtpd command delivering to a new Maildir,
// with args before the Maildir (handler class, TLS files).
func startAiosmtpd(t *testing.T, args ...string) (addr, maildir string) {
	t.Helper()
	bin := aiosmtpd(t)
	addr, maildir = freeAddr(t), newMaildir(t)
	class := "aiosmtpd.handlers.Mailbox"
	for i, a := range args {
		if a == "-c" {
			class = args[i+1]
			args = append(args[:i:i], args[i+2:]...)
			break
		}
	}
	cmd := exec.Command(bin, append(append([]string{"-n", "-l", addr, "-c", class}, args...), maildir)...)
	wd, _ := os.Getwd()
	cmd.Env = append(os.Environ(), "PYTHONPATH="+filepath.Join(wd, "testdata"))
	serve(t, addr, cmd)
	return addr, maildir
}

// startAuthServer runs testdata/vigiltest.py, which wants AUTH as user with
// the test password; with certs it offers STARTTLS and wants it first.
func startAuthServer(t *testing.T, user string, loginOnly bool, tlsFiles ...string) (addr, maildir string) {
	t.Helper()
	aiosmtpd(t)
	addr, maildir = freeAddr(t), newMaildir(t)
	host, port, _ := net.SplitHostPort(addr)
	cmd := exec.Command("/usr/bin/python3", append([]string{"testdata/vigiltest.py", host, port, maildir, user}, tlsFiles...)...)
	cmd.Env = append(os.Environ(), "VIGILTEST_PASSWORD="+password)
	if loginOnly {
		cmd.Env = append(cmd.Env, "VIGILTEST_LOGIN_ONLY=1")
	}
	serve(t, addr, cmd)
	return addr, maildir
}

// selfSigned writes a self-signed certificate for 127.0.0.1 and
// localhost and returns its files and a pool trusting it.
func selfSigned(t *testing.T) (certFile, keyFile string, roots *x509.CertPool) {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{
		SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "vigil test"},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour),
		KeyUsage:    x509.KeyUsageDigitalSignature | x509.KeyUsageCertSign,
		ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth}, BasicConstraintsValid: true, IsCA: true,
		IPAddresses: []net.IP{net.ParseIP("127.0.0.1")}, DNSNames: []string{"localhost"},
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	kder, err := x509.MarshalECPrivateKey(key)
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	certFile, keyFile = filepath.Join(dir, "cert.pem"), filepath.Join(dir, "key.pem")
	if err := os.WriteFile(certFile, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(keyFile, pem.EncodeToMemory(&pem.Block{Type: "EC PRIVATE KEY", Bytes: kder}), 0o600); err != nil {
		t.Fatal(err)
	}
	cert, _ := x509.ParseCertificate(der)
	roots = x509.NewCertPool()
	roots.AddCert(cert)
	return certFile, keyFile, roots
}

// received is one delivered message, parsed.
type received struct {
	msg   *mail.Message
	rcpts []string          // the envelope's, from X-RcptTo
	parts map[string]string // decoded body by content type
}

// delivered reads the messages in maildir's new/.
func delivered(t *testing.T, maildir string) []received {
	t.Helper()
	ents, err := os.ReadDir(filepath.Join(maildir, "new"))
	if err != nil {
		t.Fatal(err)
	}
	var out []received
	for _, e := range ents {
		f, err := os.Open(filepath.Join(maildir, "new", e.Name()))
		if err != nil {
			t.Fatal(err)
		}
		m, err := mail.ReadMessage(f)
		if err != nil {
			t.Fatal(err)
		}
		r := received{msg: m, parts: map[string]string{}}
		for _, s := range strings.Split(m.Header.Get("X-RcptTo"), ",") {
			r.rcpts = append(r.rcpts, strings.TrimSpace(s))
		}
		sort.Strings(r.rcpts)
		mt, params, err := mime.ParseMediaType(m.Header.Get("Content-Type"))
		if err != nil || mt != "multipart/alternative" {
			t.Fatalf("Content-Type %q: want multipart/alternative (%v)", m.Header.Get("Content-Type"), err)
		}
		mr := multipart.NewReader(m.Body, params["boundary"])
		for {
			p, err := mr.NextPart() // decodes quoted-printable
			if errors.Is(err, io.EOF) {
				break
			}
			if err != nil {
				t.Fatal(err)
			}
			pt, _, _ := mime.ParseMediaType(p.Header.Get("Content-Type"))
			b, err := io.ReadAll(p)
			if err != nil {
				t.Fatal(err)
			}
			r.parts[pt] = string(b)
		}
		f.Close()
		out = append(out, r)
	}
	return out
}

func one(t *testing.T, maildir string) received {
	t.Helper()
	got := delivered(t, maildir)
	if len(got) != 1 {
		t.Fatalf("%d messages delivered, want 1", len(got))
	}
	return got[0]
}

func subject(t *testing.T, m *mail.Message) string {
	t.Helper()
	s, err := new(mime.WordDecoder).DecodeHeader(m.Header.Get("Subject"))
	if err != nil {
		t.Fatal(err)
	}
	return s
}

func contains(t *testing.T, what, text string, wants ...string) {
	t.Helper()
	for _, w := range wants {
		if !strings.Contains(text, w) {
			t.Errorf("%s lacks %q:\n%s", what, w, text)
		}
	}
}

func okTries(t *testing.T, retry bool, err error, tries []try) {
	t.Helper()
	if err != nil || retry {
		t.Fatalf("Notify = %v, %v; want false, nil", retry, err)
	}
	if len(tries) != 1 || tries[0] != (try{1, 0, nil}) {
		t.Errorf("attempts = %+v, want one successful", tries)
	}
}

// Clear text to a loopback relay: headers, envelope (escalation
// recipients added, deduplicated), both parts and what they say.
func TestRealServerPlainLoopback(t *testing.T) {
	addr, maildir := startAiosmtpd(t)
	c := build(t, channel(addr, func(c *Config) { c.TLS = "none" }), noEnv, nil)
	n := notifytest.Firing(c.chConfig())
	n.Alerts[0].Incident, n.Alerts[0].EscalationStep = "inc-20261129-1", 1
	n.Recipients = []string{"oncall@example.com", "OPS@example.com", "Pager <pager@example.com>"}
	retry, err, tries := send(t, c, n)
	okTries(t, retry, err, tries)

	r := one(t, maildir)
	if s := subject(t, r.msg); s != "[CRITICAL] high_cpu: host=db-01, team=infra" {
		t.Errorf("Subject = %q", s)
	}
	if from, err := r.msg.Header.AddressList("From"); err != nil || len(from) != 1 || from[0].Address != "vigil@example.com" || from[0].Name != "Vigil" {
		t.Errorf("From = %v (%v)", from, err)
	}
	if got := r.msg.Header.Get("X-MailFrom"); got != "vigil@example.com" {
		t.Errorf("envelope sender = %q", got)
	}
	want := []string{"dev@example.com", "oncall@example.com", "ops@example.com", "pager@example.com"}
	if strings.Join(r.rcpts, ",") != strings.Join(want, ",") {
		t.Errorf("envelope recipients = %v, want %v", r.rcpts, want)
	}
	to, err := r.msg.Header.AddressList("To")
	if err != nil || len(to) != 4 {
		t.Errorf("To = %v (%v), want 4 addresses", to, err)
	}
	if r.msg.Header.Get("Message-Id") == "" || r.msg.Header.Get("Date") == "" || r.msg.Header.Get("X-Vigil-Incident") != "inc-20261129-1" {
		t.Errorf("headers: %v", r.msg.Header)
	}
	for _, typ := range []string{"text/plain", "text/html"} {
		contains(t, typ, r.parts[typ], "high_cpu", "critical", "firing", "CPU above 80%", "92.5", "threshold 80",
			"host=db-01, team=infra", "2026-11-29 09:58:30 UTC", "f372fee676ae0d86", "inc-20261129-1", "Escalation step")
	}
	contains(t, "text/html", r.parts["text/html"], "<table", "<html")
}

// chConfig is the channel's name and type, enough for a Notification.
func (c *Channel) chConfig() config.Channel { return config.Channel{Name: c.name, Type: "email"} }

// STARTTLS with a self-signed certificate the client trusts; aiosmtpd
// requires STARTTLS before MAIL, so delivery proves it was used.
func TestRealServerStartTLS(t *testing.T) {
	cert, key, roots := selfSigned(t)
	addr, maildir := startAiosmtpd(t, "--tlscert", cert, "--tlskey", key)

	// Not trusted: a permanent failure, before anything is sent.
	c := build(t, channel(addr, nil), noEnv, nil)
	retry, err, tries := send(t, c, notifytest.Resolved(c.chConfig()))
	if err == nil || retry || len(tries) != 1 {
		t.Fatalf("untrusted certificate: Notify = %v, %v (%d attempts); want a permanent error after 1", retry, err, len(tries))
	}
	contains(t, "error", err.Error(), "certificate")

	c = build(t, channel(addr, nil), noEnv, roots)
	if c.TLSMode() != TLSStartTLS {
		t.Fatalf("default tls mode %q", c.TLSMode())
	}
	retry, err, tries = send(t, c, notifytest.Resolved(c.chConfig()))
	okTries(t, retry, err, tries)
	r := one(t, maildir)
	if s := subject(t, r.msg); s != "[RESOLVED] high_cpu: host=db-01, team=infra" {
		t.Errorf("Subject = %q", s)
	}
	contains(t, "text/plain", r.parts["text/plain"], "resolved", "2026-11-29 10:05:30 UTC (after 7m0s)", "41 (threshold 80)")
	if r.parts["text/html"] == "" {
		t.Error("no text/html part")
	}
}

// Implicit TLS (SMTPS) with an incident of two alerts.
func TestRealServerImplicitTLS(t *testing.T) {
	cert, key, roots := selfSigned(t)
	addr, maildir := startAiosmtpd(t, "--smtpscert", cert, "--smtpskey", key)
	c := build(t, channel(addr, func(c *Config) { c.TLS = "implicit" }), noEnv, roots)
	n := notifytest.Firing(c.chConfig())
	b := n.Alerts[0]
	b.Rule, b.Severity, b.Fingerprint, b.Description = "disk_full", "high", "00000000000000cd", "disk above 90%"
	n.Alerts = append(n.Alerts, b)
	n.Alerts[0].Incident, n.Alerts[1].Incident = "inc-7", "inc-7"
	retry, err, tries := send(t, c, n)
	okTries(t, retry, err, tries)
	r := one(t, maildir)
	if s := subject(t, r.msg); s != "[CRITICAL] 2 alerts firing: high_cpu, disk_full (incident inc-7)" {
		t.Errorf("Subject = %q", s)
	}
	for _, typ := range []string{"text/plain", "text/html"} {
		contains(t, typ, r.parts[typ], "high_cpu", "disk_full", "f372fee676ae0d86", "00000000000000cd", "disk above 90%", "inc-7")
	}
}

// tls: starttls against a server without STARTTLS is refused, not sent
// in clear text.
func TestRealServerNoStartTLS(t *testing.T) {
	addr, maildir := startAiosmtpd(t)
	c := build(t, channel(addr, func(c *Config) { c.TLS = "starttls" }), noEnv, nil)
	retry, err, tries := send(t, c, notifytest.Firing(c.chConfig()))
	if err == nil || retry || len(tries) != 1 {
		t.Fatalf("Notify = %v, %v (%d attempts); want a permanent error", retry, err, len(tries))
	}
	contains(t, "error", err.Error(), "STARTTLS")
	if got := delivered(t, maildir); len(got) != 0 {
		t.Errorf("%d messages delivered", len(got))
	}
}

// PLAIN auth over STARTTLS, the password from password_env and from
// password_file; a wrong password is a permanent 535 and never leaks.
func TestRealServerAuth(t *testing.T) {
	cert, key, roots := selfSigned(t)
	addr, maildir := startAuthServer(t, "vigil@example.com", false, cert, key)

	c := build(t, channel(addr, func(c *Config) { c.Username = "vigil@example.com"; c.FromEmail = "" }), envWith("SMTP_PASSWORD", password), roots)
	retry, err, tries := send(t, c, notifytest.Firing(c.chConfig()))
	okTries(t, retry, err, tries)
	r := one(t, maildir)
	if got := r.msg.Header.Get("X-Auth-User"); got != "vigil@example.com" {
		t.Errorf("logged in as %q", got)
	}
	if got := r.msg.Header.Get("From"); got != "<vigil@example.com>" && got != "vigil@example.com" {
		t.Errorf("From = %q, want the username", got)
	}

	pf := filepath.Join(t.TempDir(), "pw")
	os.WriteFile(pf, []byte(password+"\n"), 0o600)
	c = build(t, channel(addr, func(c *Config) { c.Username = "vigil@example.com"; c.PasswordFile = pf }), noEnv, roots)
	retry, err, tries = send(t, c, notifytest.Firing(c.chConfig()))
	okTries(t, retry, err, tries)
	if n := len(delivered(t, maildir)); n != 2 {
		t.Errorf("%d messages delivered, want 2", n)
	}

	c = build(t, channel(addr, func(c *Config) { c.Username = "vigil@example.com"; c.PasswordEnv = "MAIL_PW" }), envWith("MAIL_PW", password+"x"), roots)
	retry, err, tries = send(t, c, notifytest.Firing(c.chConfig()))
	if err == nil || retry || len(tries) != 1 || tries[0].code != 535 {
		t.Fatalf("wrong password: Notify = %v, %v, attempts %+v; want a permanent 535", retry, err, tries)
	}
	notifytest.NoSecrets(t, []string{password + "x"}, err.Error(), tries[0].err.Error())

	// No password at send time: not sent, retried by a later run.
	c = build(t, channel(addr, func(c *Config) { c.Username = "vigil@example.com" }), noEnv, roots)
	retry, err, tries = send(t, c, notifytest.Firing(c.chConfig()))
	if err == nil || !retry || len(tries) != 0 {
		t.Fatalf("no password: Notify = %v, %v, %d attempts", retry, err, len(tries))
	}
	contains(t, "error", err.Error(), "SMTP_PASSWORD is not set")
}

// Auth in clear text to a loopback relay, with LOGIN when the relay
// offers only that.
func TestRealServerAuthLoopbackClearText(t *testing.T) {
	for _, loginOnly := range []bool{false, true} {
		addr, maildir := startAuthServer(t, "relay", loginOnly)
		c := build(t, channel(addr, func(c *Config) { c.TLS = "none"; c.Username = "relay" }), envWith("SMTP_PASSWORD", password), nil)
		retry, err, tries := send(t, c, notifytest.Firing(c.chConfig()))
		okTries(t, retry, err, tries)
		if got := one(t, maildir).msg.Header.Get("X-Auth-User"); got != "relay" {
			t.Errorf("login only %v: logged in as %q", loginOnly, got)
		}
	}
}

// Refused recipients: 550 is permanent (the others still get the
// message), 451 is transient and sends nothing.
func TestRealServerRefusedRecipients(t *testing.T) {
	addr, maildir := startAiosmtpd(t, "-c", "vigiltest.Handler")

	c := build(t, channel(addr, func(c *Config) { c.TLS = "none"; c.ToEmails = []string{"unknown@example.com"} }), noEnv, nil)
	retry, err, tries := send(t, c, notifytest.Firing(c.chConfig()))
	if err == nil || retry || len(tries) != 1 || tries[0].code != 550 {
		t.Fatalf("550: Notify = %v, %v, attempts %+v; want permanent, one attempt, code 550", retry, err, tries)
	}
	contains(t, "error", err.Error(), "unknown@example.com", "550")
	if n := len(delivered(t, maildir)); n != 0 {
		t.Fatalf("%d messages delivered, want 0", n)
	}

	c = build(t, channel(addr, func(c *Config) { c.TLS = "none"; c.ToEmails = []string{"ops@example.com"} }), noEnv, nil)
	n := notifytest.Firing(c.chConfig())
	n.Recipients = []string{"unknown@example.com", "not an address"}
	retry, err, tries = send(t, c, n)
	if err == nil || retry || len(tries) != 1 {
		t.Fatalf("partly refused: Notify = %v, %v, attempts %+v; want permanent", retry, err, tries)
	}
	contains(t, "error", err.Error(), "unknown@example.com", `"not an address"`)
	if r := one(t, maildir); strings.Join(r.rcpts, ",") != "ops@example.com" {
		t.Errorf("delivered to %v, want ops@example.com", r.rcpts)
	}

	c = build(t, channel(addr, func(c *Config) { c.TLS = "none"; c.ToEmails = []string{"ops@example.com", "busy@example.com"} }), noEnv, nil)
	retry, err, tries = send(t, c, notifytest.Firing(c.chConfig()))
	if err == nil || !retry || len(tries) != 2 || tries[0].code != 451 || tries[1].code != 451 {
		t.Fatalf("451: Notify = %v, %v, attempts %+v; want transient after 2 attempts with 451", retry, err, tries)
	}
	if n := len(delivered(t, maildir)); n != 1 {
		t.Errorf("%d messages delivered, want still 1", n)
	}
}

// --- without a server --------------------------------------------------

func TestConnectionRefused(t *testing.T) {
	addr := freeAddr(t) // closed again: nothing listens
	c := build(t, channel(addr, func(c *Config) { c.TLS = "none" }), noEnv, nil)
	retry, err, tries := send(t, c, notifytest.Firing(c.chConfig()))
	if err == nil || !retry || len(tries) != 2 || tries[0].code != 0 {
		t.Fatalf("Notify = %v, %v, attempts %+v; want transient after 2", retry, err, tries)
	}
	contains(t, "error", err.Error(), "2 attempts failed", "connection refused")
}

// A server that accepts and never greets: the per-attempt timeout ends
// each attempt, and that is transient.
func TestTimeout(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	go func() {
		for {
			conn, err := ln.Accept()
			if err != nil {
				return
			}
			defer conn.Close()
		}
	}()
	ch := channel(ln.Addr().String(), func(c *Config) { c.TLS = "none" })
	ch.Timeout = 200 * time.Millisecond
	c := build(t, ch, noEnv, nil)
	start := time.Now()
	retry, err, tries := send(t, c, notifytest.Firing(c.chConfig()))
	if err == nil || !retry || len(tries) != 2 {
		t.Fatalf("Notify = %v, %v, attempts %+v; want transient after 2", retry, err, tries)
	}
	if d := time.Since(start); d > 3*time.Second {
		t.Errorf("took %v", d)
	}
	var ne net.Error
	if !errors.As(err, &ne) || !ne.Timeout() {
		t.Errorf("error %v is not a timeout", err)
	}
}

func TestCancelled(t *testing.T) {
	c := build(t, channel("127.0.0.1:1", func(c *Config) { c.TLS = "none" }), noEnv, nil)
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	retry, err := c.Notify(ctx, notifytest.Firing(c.chConfig()))
	if err == nil || !retry || !errors.Is(err, context.Canceled) {
		t.Fatalf("Notify = %v, %v; want transient, context.Canceled", retry, err)
	}
}

func TestNew(t *testing.T) {
	for _, tc := range []struct {
		name     string
		settings func(*Config)
		mode     string
		addr     string
		err      string
	}{
		{name: "defaults", settings: func(c *Config) { c.SMTPServer = "smtp.example.com"; c.SMTPPort = 0 }, mode: "starttls", addr: "smtp.example.com:587"},
		{name: "implicit", settings: func(c *Config) { c.SMTPServer = "smtp.example.com"; c.SMTPPort = 0; c.TLS = "implicit" }, mode: "implicit", addr: "smtp.example.com:465"},
		{name: "none loopback", settings: func(c *Config) { c.SMTPServer = "localhost"; c.SMTPPort = 0; c.TLS = "none" }, mode: "none", addr: "localhost:25"},
		{name: "none ipv6 loopback", settings: func(c *Config) { c.SMTPServer = "::1"; c.SMTPPort = 2525; c.TLS = "none" }, mode: "none", addr: "[::1]:2525"},
		{name: "use_tls true", settings: func(c *Config) { c.SMTPServer = "smtp.example.com"; c.UseTLS = ptr(true) }, mode: "starttls"},
		{name: "use_tls false loopback", settings: func(c *Config) { c.SMTPServer = "127.0.0.1"; c.UseTLS = ptr(false) }, mode: "none"},
		{name: "from", settings: func(c *Config) { c.FromEmail = ""; c.From = "alerts@example.com"; c.SMTPServer = "smtp.example.com" }, mode: "starttls"},
		{name: "port given", settings: func(c *Config) {
			c.SMTPServer = "smtp.example.com"
			c.SMTPPort = 2525
			c.ToEmails = []string{"a@example.com"}
		}, mode: "starttls", addr: "smtp.example.com:2525"},

		{name: "none remote", settings: func(c *Config) { c.SMTPServer = "smtp.example.com"; c.TLS = "none" }, err: `tls: none sends mail and password in clear text, allowed only for a loopback relay`},
		{name: "use_tls false remote", settings: func(c *Config) { c.SMTPServer = "10.0.0.5"; c.UseTLS = ptr(false) }, err: `use_tls: false sends mail and password in clear text`},
		{name: "tls and use_tls", settings: func(c *Config) { c.SMTPServer = "smtp.example.com"; c.TLS = "starttls"; c.UseTLS = ptr(true) }, err: "give tls or use_tls, not both"},
		{name: "bad tls", settings: func(c *Config) { c.SMTPServer = "smtp.example.com"; c.TLS = "ssl" }, err: `unknown tls mode "ssl"`},
		{name: "no server", settings: func(c *Config) { c.SMTPServer = "" }, err: "smtp_server is required"},
		{name: "no from", settings: func(c *Config) { c.SMTPServer = "smtp.example.com"; c.FromEmail = "" }, err: "from_email (or from, or username) is required"},
		{name: "bad from", settings: func(c *Config) { c.SMTPServer = "smtp.example.com"; c.FromEmail = "vigil" }, err: `from "vigil" is not a valid address`},
		{name: "no to", settings: func(c *Config) { c.SMTPServer = "smtp.example.com"; c.ToEmails = []string{} }, err: "to_emails: want at least one address"},
		{name: "username not an address", settings: func(c *Config) { c.SMTPServer = "smtp.example.com"; c.FromEmail = ""; c.Username = "apikey" }, err: `username "apikey" is not an address to send from: set from_email`},
		{name: "bad to", settings: func(c *Config) { c.SMTPServer = "smtp.example.com"; c.ToEmails = []string{"ops"} }, err: `to_emails: "ops" is not a valid address`},
		{name: "both passwords", settings: func(c *Config) { c.SMTPServer = "smtp.example.com"; c.PasswordEnv = "X"; c.PasswordFile = "/x" }, err: "give password_env or password_file, not both"},
		// (A password written in the config is an unknown field there:
		// TestConfigRefusesPassword.)
		{name: "bad port", settings: func(c *Config) { c.SMTPServer = "smtp.example.com"; c.SMTPPort = 70000 }, err: "smtp_port: want a port from 1 to 65535"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			ch := channel("", tc.settings)
			c, err := New(ch, noEnv)
			if tc.err != "" {
				if err == nil || !strings.Contains(err.Error(), tc.err) {
					t.Fatalf("New = %v, want an error with %q", err, tc.err)
				}
				notifytest.NoSecrets(t, []string{password}, err.Error())
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if c.TLSMode() != tc.mode {
				t.Errorf("mode %q, want %q", c.TLSMode(), tc.mode)
			}
			if tc.addr != "" && c.Addr() != tc.addr {
				t.Errorf("addr %q, want %q", c.Addr(), tc.addr)
			}
		})
	}
	if _, err := New(config.Channel{Name: "w", Type: "webhook"}, nil); err == nil {
		t.Error("New accepted a webhook channel")
	}
}

// A channel from a parsed configuration file.
func TestFromConfig(t *testing.T) {
	cfg, err := config.ParseEnv("alerts.yaml", []byte(`
channels:
  - name: mail
    type: email
    smtp_server: smtp.example.com
    username: vigil@example.com
    password_env: MAIL_PASSWORD
    to_emails: [ops@example.com]
    tls: implicit
    retry_attempts: 1
`), envWith("MAIL_PASSWORD", password), types)
	if err != nil {
		t.Skipf("config.Parse: %v", err)
	}
	c, err := New(cfg.Channels[0], nil)
	if err != nil {
		t.Fatal(err)
	}
	if c.Addr() != "smtp.example.com:465" || c.TLSMode() != TLSImplicit || c.from.Address != "vigil@example.com" || c.passEnv != "MAIL_PASSWORD" || c.attempts != 1 {
		t.Errorf("channel %+v", c)
	}
}

func TestSubject(t *testing.T) {
	ch := config.Channel{Name: "mail", Type: "email"}
	f := notifytest.Firing(ch)
	r := notifytest.Resolved(ch)
	pending := notifytest.Firing(ch)
	pending.Alerts[0].State = "nodata"
	inc := notifytest.Resolved(ch)
	for _, rule := range []string{"a", "b", "c", "d"} {
		x := inc.Alerts[0]
		x.Rule = rule
		inc.Alerts = append(inc.Alerts, x)
	}
	many := notifytest.Firing(ch)
	many.Alerts[0].Labels = map[string]string{"a": "1", "b": "2", "c": "3", "d": "4", "e": "5", "f": "6"}
	hostile := notifytest.Firing(ch)
	hostile.Alerts[0].Labels = map[string]string{"host": "db\r\n01\tx"}
	mixed := notifytest.Firing(ch)
	lo := mixed.Alerts[0]
	lo.Severity, mixed.Alerts[0].Severity = "critical", "low"
	mixed.Alerts = append(mixed.Alerts, lo)
	for _, tc := range []struct {
		n    notify.Notification
		want string
	}{
		// issue 30: severity, rule, the key labels
		{f, "[CRITICAL] high_cpu: host=db-01, team=infra"},
		{r, "[RESOLVED] high_cpu: host=db-01, team=infra"},
		{pending, "[CRITICAL] high_cpu (nodata): host=db-01, team=infra"},
		{many, "[CRITICAL] high_cpu: a=1, b=2, c=3, d=4, +2 more"},
		{hostile, "[CRITICAL] high_cpu: host=db 01 x"},
		{inc, "[RESOLVED] 5 alerts resolved: high_cpu, a, b, +2 more"},
		{mixed, "[CRITICAL] 2 alerts firing: high_cpu"},
	} {
		if got := Subject(tc.n); got != tc.want {
			t.Errorf("Subject = %q, want %q", got, tc.want)
		}
	}
}

// The message is well-formed even with hostile text: line breaks in
// labels and a description do not make headers, and HTML is escaped.
func TestMessageEscapes(t *testing.T) {
	c := build(t, channel("127.0.0.1:25", func(c *Config) { c.TLS = "none" }), noEnv, nil)
	n := notifytest.Firing(c.chConfig())
	n.Alerts[0].Description = "<script>alert(1)</script>\r\nBcc: evil@example.com"
	n.Alerts[0].Rule = "rülé"
	rcpts, _ := c.recipients(nil)
	msg, err := c.message(n, rcpts)
	if err != nil {
		t.Fatal(err)
	}
	m, err := mail.ReadMessage(strings.NewReader(string(msg)))
	if err != nil {
		t.Fatal(err)
	}
	if m.Header.Get("Bcc") != "" {
		t.Error("a Bcc header got in")
	}
	if s := subject(t, m); s != "[CRITICAL] rülé: host=db-01, team=infra" {
		t.Errorf("Subject = %q", s)
	}
	_, html, _ := Body("mail", n)
	if strings.Contains(html, "<script>") {
		t.Error("HTML not escaped")
	}
}

// The Message-ID is the notification's idempotency key: every try of one
// notification is the same message to a mail client (which shows a copy
// once), another notification another message; without a key (built by
// hand) each message gets a random one.
func TestMessageIDFromKey(t *testing.T) {
	c := build(t, channel("127.0.0.1:25", func(c *Config) { c.TLS = "none" }), noEnv, nil)
	rcpts, _ := c.recipients(nil)
	id := func(key string) string {
		n := notifytest.Firing(c.chConfig())
		n.Key = key
		msg, err := c.message(n, rcpts)
		if err != nil {
			t.Fatal(err)
		}
		m, err := mail.ReadMessage(strings.NewReader(string(msg)))
		if err != nil {
			t.Fatal(err)
		}
		return m.Header.Get("Message-Id")
	}
	const k = "0123456789abcdef0123456789abcdef"
	if got, want := id(k), "<vigil."+k+"@example.com>"; got != want || id(k) != want {
		t.Errorf("Message-ID = %q, want %q on every try", got, want)
	}
	if a, b := id(""), id(""); a == b || !strings.HasPrefix(a, "<vigil.") {
		t.Errorf("without a key: %q and %q", a, b)
	}
}
