package email

import (
	"testing"

	"github.com/vigil-metrics/vigil/alert/config"
)

func TestParseSettings(t *testing.T) {
	s, err := parseSettings(config.Channel{Name: "mail", Type: "email", Settings: map[string]any{
		"smtp_server": " [::1] ", "tls": "none", "username": "vigil@example.com", "password_file": "/run/pw",
		"to_emails": []any{"ops@example.com", "Dev <dev@example.com>"},
	}})
	if err != nil {
		t.Fatal(err)
	}
	if s.Server != "::1" || s.Port != 25 || s.TLS != TLSNone || s.Username != "vigil@example.com" ||
		s.PasswordEnv != DefaultPasswordEnv || s.PasswordFile != "/run/pw" || s.From.Address != "vigil@example.com" ||
		len(s.To) != 2 || s.To[1].Name != "Dev" || s.To[1].Address != "dev@example.com" {
		t.Errorf("settings %+v", s)
	}

	s, err = parseSettings(config.Channel{Name: "mail", Type: "email", Settings: map[string]any{
		"smtp_server": "smtp.example.com", "from": "alerts@example.com", "to_emails": "ops@example.com",
	}})
	if err != nil {
		t.Fatal(err)
	}
	if s.Port != 587 || s.TLS != TLSStartTLS || s.PasswordEnv != DefaultPasswordEnv || s.From.Address != "alerts@example.com" || len(s.To) != 1 {
		t.Errorf("settings %+v", s)
	}

	_, err = parseSettings(config.Channel{Name: "mail", Settings: map[string]any{"smtp_server": 25}})
	if err == nil || err.Error() != `email channel "mail": smtp_server: want a string, got int` {
		t.Errorf("err %v", err)
	}
}
