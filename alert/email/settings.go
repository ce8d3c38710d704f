package email

import (
	"fmt"
	"net/mail"
	"strings"
)

// settings are an email channel's own settings, read and checked from its
// Config; the common timeout and retry settings are the retry policy's
// (retry.FromChannel).
type settings struct {
	Server       string // host name or IP, without brackets
	Port         int
	TLS          string // TLSStartTLS, TLSImplicit or TLSNone
	Username     string
	PasswordEnv  string // DefaultPasswordEnv when not given; PasswordFile, when set, wins
	PasswordFile string
	From         *mail.Address
	To           []*mail.Address // at least one
}

// parse reads and checks c for the channel name. Its errors name the
// channel and the setting, and never quote a password.
func (c *Config) parse(name string) (settings, error) {
	r := reader{name: name, c: c}
	var s settings
	var err error
	if s.Server, s.TLS, err = r.serverTLS(); err != nil {
		return settings{}, err
	}
	if s.Port, err = r.port(s.TLS); err != nil {
		return settings{}, err
	}
	if s.Username, s.PasswordEnv, s.PasswordFile, err = r.login(); err != nil {
		return settings{}, err
	}
	if s.From, err = r.from(s.Username); err != nil {
		return settings{}, err
	}
	if s.To, err = r.to(); err != nil {
		return settings{}, err
	}
	return s, nil
}

// reader reads one channel's Config.
type reader struct {
	name string
	c    *Config
}

func (r reader) errf(format string, args ...any) error {
	return fmt.Errorf("email channel %q: "+format, append([]any{r.name}, args...)...)
}

// serverTLS reads smtp_server and the tls mode (tls, or the legacy
// use_tls), refusing clear text to a relay that is not loopback.
func (r reader) serverTLS() (server, mode string, err error) {
	server = strings.TrimSpace(r.c.SMTPServer)
	if server == "" {
		return "", "", r.errf("smtp_server is required")
	}
	if strings.ContainsAny(server, " \t\r\n/") {
		return "", "", r.errf("smtp_server %q is not a host name", server)
	}
	server = strings.TrimSuffix(strings.TrimPrefix(server, "["), "]") // [::1]

	mode = TLSStartTLS
	tlsSet := r.c.TLS != ""
	if tlsSet {
		m := strings.TrimSpace(r.c.TLS)
		if m != TLSStartTLS && m != TLSImplicit && m != TLSNone {
			return "", "", r.errf("unknown tls mode %q (want %s, %s or %s)", m, TLSStartTLS, TLSImplicit, TLSNone)
		}
		mode = m
	}
	if r.c.UseTLS != nil {
		if tlsSet {
			return "", "", r.errf("give tls or use_tls, not both")
		}
		if !*r.c.UseTLS {
			mode = TLSNone
		}
	}
	if mode == TLSNone && !loopback(server) {
		setting := "tls: none"
		if !tlsSet {
			setting = "use_tls: false"
		}
		return "", "", r.errf("%s sends mail and password in clear text, allowed only for a loopback relay (localhost, 127.0.0.1, ::1), not %q; use tls: starttls or tls: implicit", setting, server)
	}
	return server, mode, nil
}

// port reads smtp_port; absent, the tls mode's usual port.
func (r reader) port(mode string) (int, error) {
	port := r.c.SMTPPort
	if port == 0 {
		return map[string]int{TLSStartTLS: 587, TLSImplicit: 465, TLSNone: 25}[mode], nil
	}
	if port < 1 || port > 65535 {
		return 0, r.errf("smtp_port: want a port from 1 to 65535, got %d", port)
	}
	return port, nil
}

// login reads username and where the password comes from.
func (r reader) login() (username, passEnv, passFile string, err error) {
	username = strings.TrimSpace(r.c.Username)
	passEnv = strings.TrimSpace(r.c.PasswordEnv)
	passFile = strings.TrimSpace(r.c.PasswordFile)
	if passEnv != "" && passFile != "" {
		return "", "", "", r.errf("give password_env or password_file, not both")
	}
	if passEnv == "" {
		passEnv = DefaultPasswordEnv
	}
	return username, passEnv, passFile, nil
}

// from reads from_email (or from); absent, username when it is an address.
func (r reader) from(username string) (*mail.Address, error) {
	from := strings.TrimSpace(r.c.FromEmail)
	if f := strings.TrimSpace(r.c.From); f != "" {
		if from != "" && f != from {
			return nil, r.errf("give from or from_email, not both")
		}
		from = f
	}
	switch {
	case from == "" && username != "":
		a, err := mail.ParseAddress(username)
		if err != nil {
			return nil, r.errf("username %q is not an address to send from: set from_email", username)
		}
		return a, nil
	case from == "":
		return nil, r.errf("from_email (or from, or username) is required")
	}
	a, err := mail.ParseAddress(from)
	if err != nil {
		return nil, r.errf("from %q is not a valid address: %v", from, err)
	}
	return a, nil
}

// to reads to_emails: at least one address.
func (r reader) to() ([]*mail.Address, error) {
	var out []*mail.Address
	for _, s := range r.c.ToEmails {
		a, err := mail.ParseAddress(s)
		if err != nil {
			return nil, r.errf("to_emails: %q is not a valid address: %v", s, err)
		}
		out = append(out, a)
	}
	if len(out) == 0 {
		return nil, r.errf("to_emails: want at least one address")
	}
	return out, nil
}

// joinComma joins a list with commas, for a target.
func joinComma(l []string) string { return strings.Join(l, ",") }
