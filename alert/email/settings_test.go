package email

import (
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"

	"github.com/vigil-metrics/vigil/alert/config"
)

var types = config.ChannelTypes{{Name: "email", Settings: func() config.ChannelSettings { return new(Config) }}}

func TestParseSettings(t *testing.T) {
	s, err := (&Config{
		SMTPServer: " [::1] ", TLS: "none", Username: "vigil@example.com", PasswordFile: "/run/pw",
		ToEmails: []string{"ops@example.com", "Dev <dev@example.com>"},
	}).parse("mail")
	if err != nil {
		t.Fatal(err)
	}
	if s.Server != "::1" || s.Port != 25 || s.TLS != TLSNone || s.Username != "vigil@example.com" ||
		s.PasswordEnv != DefaultPasswordEnv || s.PasswordFile != "/run/pw" || s.From.Address != "vigil@example.com" ||
		len(s.To) != 2 || s.To[1].Name != "Dev" || s.To[1].Address != "dev@example.com" {
		t.Errorf("settings %+v", s)
	}

	s, err = (&Config{SMTPServer: "smtp.example.com", From: "alerts@example.com", ToEmails: []string{"ops@example.com"}}).parse("mail")
	if err != nil {
		t.Fatal(err)
	}
	if s.Port != 587 || s.TLS != TLSStartTLS || s.PasswordEnv != DefaultPasswordEnv || s.From.Address != "alerts@example.com" || len(s.To) != 1 {
		t.Errorf("settings %+v", s)
	}
}

// What the config file says of an email channel is checked where it is
// written: a value of the wrong kind at the value, a password written in
// the file as an unknown field, what New refuses at the channel.
func TestConfigRefuses(t *testing.T) {
	const head = "channels:\n  - name: mail\n    type: email\n    to_emails: [ops@example.com]\n    from_email: vigil@example.com\n"
	for _, c := range []struct{ more, want string }{
		{"    smtp_server: 25\n", `v.yaml:6:18: smtp_server: want a string, got the number 25`},
		{"    smtp_server: smtp.example.com\n    password: s3cret\n",
			`v.yaml:7:5: unknown field "password" in channel "mail" (type email) (want enabled, filters, from, from_email, name, password_env, password_file, retry_attempts, retry_delay, send_resolved, smtp_port, smtp_server, timeout, tls, to_emails, type, use_tls, username)`},
		{"    smtp_server: smtp.example.com\n    tls: none\n",
			`v.yaml:2:5: email channel "mail": tls: none sends mail and password in clear text, allowed only for a loopback relay (localhost, 127.0.0.1, ::1), not "smtp.example.com"; use tls: starttls or tls: implicit`},
		{"    smtp_server: smtp.example.com\n    from: other@example.com\n", `v.yaml:2:5: email channel "mail": give from or from_email, not both`},
	} {
		_, err := config.ParseEnv("v.yaml", []byte(head+c.more), noEnv, types)
		if err == nil || err.Error() != c.want {
			t.Errorf("%q:\ngot  %v\nwant %s", c.more, err, c.want)
		}
	}
	cfg, err := config.ParseEnv("v.yaml", []byte(head+"    smtp_server: smtp.example.com\n"), noEnv, types)
	if err != nil || cfg.Channels[0].Settings.Target() != "ops@example.com" {
		t.Errorf("good channel: %v", err)
	}
}

// password_file is read relative to the config file's folder, as every
// path in vigil.yaml (h30 D1); an absolute one is kept.
func TestPasswordFileRelativeToConfig(t *testing.T) {
	const head = "channels:\n  - name: mail\n    type: email\n    to_emails: [ops@example.com]\n    from_email: vigil@example.com\n    smtp_server: smtp.example.com\n    username: u\n"
	for file, want := range map[string]string{"secrets/pw": "/etc/vigil/secrets/pw", "/run/pw": "/run/pw", " pw ": "/etc/vigil/pw"} {
		cfg, err := config.ParseEnv("/etc/vigil/vigil.yaml", []byte(head+"    password_file: '"+file+"'\n"), noEnv, types)
		if err != nil {
			t.Fatal(err)
		}
		if got := cfg.Channels[0].Settings.(*Config).PasswordFile; got != want {
			t.Errorf("password_file %q: %q, want %q", file, got, want)
		}
	}
}

// A password_file that cannot be read now is warned of, with the path
// as resolved, as an unset password_env is (h31 H11); one that can is
// not.
func TestPasswordFileMissingWarned(t *testing.T) {
	dir := t.TempDir()
	if err := os.WriteFile(filepath.Join(dir, "pw"), []byte("s3cret\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	const head = "channels:\n  - name: mail\n    type: email\n    to_emails: [ops@example.com]\n    from_email: vigil@example.com\n    smtp_server: smtp.example.com\n    username: u\n"
	file := filepath.Join(dir, "vigil.yaml")
	cfg, err := config.ParseEnv(file, []byte(head+"    password_file: secrets/pw\n"), noEnv, types)
	if err != nil {
		t.Fatal(err)
	}
	want := file + ":8:20: channel \"mail\": password_file " + filepath.Join(dir, "secrets/pw") + " cannot be read (needed to log in at send time): no such file or directory"
	if len(cfg.Warnings) != 1 || cfg.Warnings[0].Error() != want {
		t.Errorf("warnings %v; want %q", cfg.Warnings, want)
	}
	if cfg, err = config.ParseEnv(file, []byte(head+"    password_file: pw\n"), noEnv, types); err != nil || len(cfg.Warnings) != 0 {
		t.Errorf("readable: %v, warnings %v", err, cfg.Warnings)
	}
	// A directory or an empty file cannot log in either (h31v V1).
	if err := os.Mkdir(filepath.Join(dir, "d"), 0o700); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, "empty"), nil, 0o600); err != nil {
		t.Fatal(err)
	}
	// Nor a file of line ends only, nor a named pipe, which is refused, not
	// waited on (h32 D1, D3).
	if err := os.WriteFile(filepath.Join(dir, "nl"), []byte("\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := syscall.Mkfifo(filepath.Join(dir, "fifo"), 0o600); err != nil {
		t.Fatal(err)
	}
	const need = " (needed to log in at send time)"
	for f, what := range map[string]string{"d": "is a directory" + need, "empty": "is empty" + need, "nl": "is empty" + need,
		"fifo": "cannot be read" + need + ": not a regular file"} {
		cfg, err := config.ParseEnv(file, []byte(head+"    password_file: "+f+"\n"), noEnv, types)
		if err != nil || len(cfg.Warnings) != 1 || !strings.Contains(cfg.Warnings[0].Error(), "password_file "+filepath.Join(dir, f)+" "+what) {
			t.Errorf("%s: %v, warnings %v", f, err, cfg.Warnings)
		}
	}
}
