package email

import (
	"encoding/base64"
	"os"
	"strings"

	"go.yaml.in/yaml/v3"

	"github.com/vigil-metrics/vigil/alert/config"
	"github.com/vigil-metrics/vigil/alert/notify"
	"github.com/vigil-metrics/vigil/internal/secret"
	"github.com/vigil-metrics/vigil/internal/yamlconf"
)

// TLSModes are the values of the tls setting, the default first.
var TLSModes = []string{TLSStartTLS, TLSImplicit, TLSNone}

// Config is an email channel's own settings, as the config file gives
// them. New reads and checks them into settings (parse).
type Config struct {
	SMTPServer string // required
	SMTPPort   int    // 0: the tls mode's usual port
	// TLS is the tls mode (TLSStartTLS when empty); UseTLS is the legacy
	// use_tls (nil when not given; false means TLSNone).
	TLS    string
	UseTLS *bool
	// Username logs in; its password comes from PasswordFile, else the
	// environment variable PasswordEnv (DefaultPasswordEnv when empty),
	// read at send time. A password is never written in the config.
	Username     string
	PasswordEnv  string
	PasswordFile string
	// FromEmail (or From; else Username when it is an address) sends.
	FromEmail string
	From      string
	ToEmails  []string // at least one
}

// Fields reads the settings from the channel's keys.
func (c *Config) Fields(d *yamlconf.Decoder) map[string]func(*yaml.Node) {
	str := func(into *string, key string) func(*yaml.Node) {
		return func(v *yaml.Node) { *into, _ = d.Str(v, key) }
	}
	return map[string]func(*yaml.Node){
		"smtp_server": str(&c.SMTPServer, "smtp_server"),
		"smtp_port":   func(v *yaml.Node) { c.SMTPPort, _ = d.Port(v, "smtp_port") },
		"username":    str(&c.Username, "username"),
		"from_email":  str(&c.FromEmail, "from_email"),
		"from":        str(&c.From, "from"),
		"password_file": func(v *yaml.Node) {
			// Relative to the config file's folder, as every path there.
			if f, ok := d.Str(v, "password_file"); ok {
				c.PasswordFile = d.Path(strings.TrimSpace(f))
			}
		},
		"password_env": func(v *yaml.Node) { c.PasswordEnv, _ = d.EnvName(v, "password_env") },
		"tls":          func(v *yaml.Node) { c.TLS, _ = d.Enum(v, "tls", "tls mode", TLSModes) },
		"use_tls": func(v *yaml.Node) {
			if b, ok := d.Boolean(v, "use_tls"); ok {
				c.UseTLS = &b
			}
		},
		"to_emails": func(v *yaml.Node) {
			to, ok := d.Strings(v, "to_emails")
			if ok && len(to) == 0 {
				d.Errf(v, "to_emails: want at least one address")
				return
			}
			c.ToEmails = to
		},
	}
}

// Check requires a server, recipients and a sender, refuses settings that
// exclude each other, and warns when the password the username needs is
// not in the environment now (it is read at send time).
func (c *Config) Check(at config.ChannelAt) {
	at.Require("smtp_server", "to_emails")
	seen := at.Seen
	if seen["password_env"] != nil && seen["password_file"] != nil {
		at.Errf(seen["password_file"], "%s: give password_env or password_file, not both", at.What)
	}
	if name := c.passwordEnv(); seen["username"] != nil && seen["password_file"] == nil && at.Unset(name) {
		at.Warnf(at.Node, "%s: %s is not set (needed to log in as the username at send time)", at.What, name)
	}
	if v := seen["password_file"]; v != nil && c.PasswordFile != "" {
		// As an unset password_env is: read at send time, so a wrong
		// path (relative ones are the config's folder's) is said now
		// (h31 H11). The path is no secret; the file is read as the
		// channel reads it at send time (secret.FileProblem), its content
		// never printed.
		switch p, why := secret.FileProblem(c.PasswordFile); {
		case p == "":
		case why != nil:
			at.Warnf(v, "%s: password_file %s %s (needed to log in at send time): %v", at.What, c.PasswordFile, p, why)
		default:
			at.Warnf(v, "%s: password_file %s %s (needed to log in at send time)", at.What, c.PasswordFile, p)
		}
	}
	if seen["username"] == nil && seen["from_email"] == nil && seen["from"] == nil {
		at.Errf(at.Node, "%s: missing required field \"from_email\" (or \"from\", or \"username\")", at.What)
	}
	if seen["tls"] != nil && seen["use_tls"] != nil {
		at.Errf(seen["use_tls"], "%s: give tls or use_tls, not both", at.What)
	}
}

func (c *Config) passwordEnv() string {
	if c.PasswordEnv != "" {
		return c.PasswordEnv
	}
	return DefaultPasswordEnv
}

// Validate is what New refuses: see parse.
func (c *Config) Validate(name string) error {
	_, err := c.parse(name)
	return err
}

// Target is the recipients.
func (c *Config) Target() string { return joinComma(c.ToEmails) }

// RegisterSecrets registers the login's password (from password_file,
// else the environment, now) and the forms AUTH PLAIN and LOGIN send it
// in. The channel's own errors are redacted by its redactor as well
// (auth.go), which also catches a password too short for a Set.
func (c *Config) RegisterSecrets(set *secret.Set, lookupEnv func(string) (string, bool)) {
	user := strings.TrimSpace(c.Username)
	if user == "" {
		return
	}
	var pass string
	if f := strings.TrimSpace(c.PasswordFile); f != "" {
		b, err := secret.ReadFile(f)
		if err != nil {
			return
		}
		pass = strings.TrimRight(string(b), "\r\n")
	} else {
		if lookupEnv == nil {
			lookupEnv = os.LookupEnv
		}
		pass, _ = lookupEnv(c.passwordEnv())
	}
	if pass == "" {
		return
	}
	set.Add(pass)
	enc := base64.StdEncoding.EncodeToString
	set.Add(enc([]byte("\x00" + user + "\x00" + pass)))
	set.Add(enc([]byte(pass)))
}

// Notifier builds the channel's notifier (alert/channels' constructor).
func Notifier(ch config.Channel, _ *config.Config, lookupEnv func(string) (string, bool)) (notify.Notifier, error) {
	return New(ch, lookupEnv)
}
