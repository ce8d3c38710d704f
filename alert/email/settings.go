package email

import (
	"fmt"
	"math"
	"net/mail"
	"strings"

	"github.com/vigil-metrics/vigil/alert/config"
)

// settings are an email channel's own settings, read and checked from the
// channel's map; the common timeout and retry settings are the retry
// policy's (retry.FromChannel).
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

// parseSettings reads ch's settings. Its errors name the channel and the
// setting, and never quote a password.
func parseSettings(ch config.Channel) (settings, error) {
	r := reader{name: ch.Name, m: ch.Settings}
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

// reader reads one channel's settings map.
type reader struct {
	name string
	m    map[string]any
}

func (r reader) errf(format string, args ...any) error {
	return fmt.Errorf("email channel %q: "+format, append([]any{r.name}, args...)...)
}

// str is a string setting, trimmed; "" when absent.
func (r reader) str(key string) (string, error) {
	switch v := r.m[key].(type) {
	case nil:
		return "", nil
	case string:
		return strings.TrimSpace(v), nil
	default:
		return "", r.errf("%s: want a string, got %T", key, v)
	}
}

// serverTLS reads smtp_server and the tls mode (tls, or the legacy
// use_tls), refusing clear text to a relay that is not loopback.
func (r reader) serverTLS() (server, mode string, err error) {
	if server, err = r.str("smtp_server"); err != nil {
		return "", "", err
	}
	if server == "" {
		return "", "", r.errf("smtp_server is required")
	}
	if strings.ContainsAny(server, " \t\r\n/") {
		return "", "", r.errf("smtp_server %q is not a host name", server)
	}
	server = strings.TrimSuffix(strings.TrimPrefix(server, "["), "]") // [::1]

	mode = TLSStartTLS
	tlsSet := r.m["tls"] != nil
	if tlsSet {
		m, err := r.str("tls")
		if err != nil {
			return "", "", err
		}
		if m != TLSStartTLS && m != TLSImplicit && m != TLSNone {
			return "", "", r.errf("unknown tls mode %q (want %s, %s or %s)", m, TLSStartTLS, TLSImplicit, TLSNone)
		}
		mode = m
	}
	if v, set := r.m["use_tls"]; set {
		b, ok := v.(bool)
		if !ok {
			return "", "", r.errf("use_tls: want true or false, got %T", v)
		}
		if tlsSet {
			return "", "", r.errf("give tls or use_tls, not both")
		}
		if !b {
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
	var port int
	switch v := r.m["smtp_port"].(type) {
	case nil:
		port = map[string]int{TLSStartTLS: 587, TLSImplicit: 465, TLSNone: 25}[mode]
	case int:
		port = v
	case int64:
		port = int(v)
	case float64:
		if v != math.Trunc(v) {
			return 0, r.errf("smtp_port: want a whole number, got %v", v)
		}
		port = int(v)
	default:
		return 0, r.errf("smtp_port: want a number, got %T", v)
	}
	if port < 1 || port > 65535 {
		return 0, r.errf("smtp_port: want a port from 1 to 65535, got %d", port)
	}
	return port, nil
}

// login reads username and where the password comes from; a password
// written in the configuration is refused.
func (r reader) login() (username, passEnv, passFile string, err error) {
	if username, err = r.str("username"); err != nil {
		return "", "", "", err
	}
	if passEnv, err = r.str("password_env"); err != nil {
		return "", "", "", err
	}
	if passFile, err = r.str("password_file"); err != nil {
		return "", "", "", err
	}
	if passEnv != "" && passFile != "" {
		return "", "", "", r.errf("give password_env or password_file, not both")
	}
	if passEnv == "" {
		passEnv = DefaultPasswordEnv
	}
	if _, set := r.m["password"]; set {
		return "", "", "", r.errf("password must not be written in the configuration: use password_env or password_file")
	}
	return username, passEnv, passFile, nil
}

// from reads from_email (or from); absent, username when it is an address.
func (r reader) from(username string) (*mail.Address, error) {
	from, err := r.str("from_email")
	if err != nil {
		return nil, err
	}
	if f, err := r.str("from"); err != nil {
		return nil, err
	} else if f != "" {
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

// to reads to_emails: a list of addresses (or one), at least one.
func (r reader) to() ([]*mail.Address, error) {
	var to []string
	switch v := r.m["to_emails"].(type) {
	case []string:
		to = v
	case []any:
		for _, x := range v {
			s, ok := x.(string)
			if !ok {
				return nil, r.errf("to_emails: want a list of strings, got a %T in it", x)
			}
			to = append(to, s)
		}
	case string:
		to = []string{v}
	case nil:
	default:
		return nil, r.errf("to_emails: want a list of addresses, got %T", v)
	}
	var out []*mail.Address
	for _, s := range to {
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
