package webhook

import (
	"strings"
	"testing"

	"github.com/vigil-metrics/vigil/alert/config"
)

var types = config.ChannelTypes{{Name: "webhook", Settings: func() config.ChannelSettings { return new(Config) }}}

func parse(t *testing.T, channel string) (*config.Config, string) {
	t.Helper()
	cfg, err := config.ParseEnv("v.yaml", []byte("channels:\n  - name: hook\n    type: webhook\n"+channel), noEnv, types)
	if err == nil {
		return cfg, ""
	}
	return cfg, err.Error()
}

func noEnv(string) (string, bool) { return "", false }

// The config decodes a webhook channel into a *Config, which New takes.
func TestConfigDecodes(t *testing.T) {
	cfg, problems := parse(t, "    url: https://example.com/x\n    format: alertmanager\n    headers: {X-Api-Key: k3y}\n")
	if problems != "" {
		t.Fatal(problems)
	}
	c, ok := cfg.Channels[0].Settings.(*Config)
	if !ok || c.URL != "https://example.com/x" || c.Format != FormatAlertmanager || c.Headers["X-Api-Key"] != "k3y" {
		t.Fatalf("settings %#v", cfg.Channels[0].Settings)
	}
	if c.Target() != "https://example.com/<redacted>" {
		t.Errorf("target %q", c.Target())
	}
	s, err := New(cfg.Channels[0], nil)
	if err != nil || s.Format() != FormatAlertmanager {
		t.Errorf("New: %v, %v", s, err)
	}
}

// What New refuses, the config refuses at the channel's place: a header
// whose value holds a line break passed vigil check and failed evaluate
// whole before both ran Validate. Values that are not strings are refused
// at their own place.
func TestConfigRefuses(t *testing.T) {
	for _, c := range []struct{ channel, want string }{
		{"    url: https://example.com/x\n    headers: {X-Token: \"a\\nb\"}\n",
			`v.yaml:2:5: channel "hook": headers: the value of X-Token contains a line break`},
		{"    url: https://example.com/x\n    headers: {\"Bad Name\": k}\n",
			`v.yaml:2:5: channel "hook": headers: "Bad Name" is not a valid header name`},
		{"    url: https://example.com/x\n    headers: {X: 1}\n", `v.yaml:5:18: headers X: want a string, got the number 1`},
		{"    url: https://example.com/x\n    format: \"\"\n", `v.yaml:5:13: unknown webhook format "" (want vigil, alertmanager)`},
		{"    url: https://example.com/x\n    format: 1\n", `v.yaml:5:13: format: want a string, got the number 1`},
	} {
		if _, got := parse(t, c.channel); got != c.want {
			t.Errorf("%q:\ngot  %s\nwant %s", c.channel, got, c.want)
		}
	}
	// A disabled channel is not built, so it is not refused either.
	if _, got := parse(t, "    enabled: false\n    url: https://example.com/x\n    headers: {X-Token: \"a\\nb\"}\n"); got != "" {
		t.Errorf("disabled: %s", got)
	}
	if _, got := parse(t, ""); !strings.Contains(got, `v.yaml:2:5: channel "hook": missing required field "url"`) {
		t.Errorf("no url: %s", got)
	}
}
