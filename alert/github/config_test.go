package github

import (
	"testing"

	"github.com/vigil-metrics/vigil/alert/config"
)

var types = config.ChannelTypes{{Name: "github", Settings: func() config.ChannelSettings { return new(Config) }}}

// A github channel as the config file writes it: typed settings New
// takes, a warning for the token missing now; values of the wrong kind
// are refused at their place.
func TestConfigRefuses(t *testing.T) {
	const head = "channels:\n  - name: gh\n    type: github\n    repo: acme/shop\n"
	cfg, err := config.ParseEnv("v.yaml", []byte(head+"    labels: [alert]\n    close_on_resolve: true\n"), env(nil), types)
	if err != nil {
		t.Fatal(err)
	}
	if s := cfg.Channels[0].Settings.(*Config); s.Repo != "acme/shop" || len(s.Labels) != 1 || !s.CloseOnResolve || s.Target() != "acme/shop" {
		t.Errorf("settings %+v", s)
	}
	if len(cfg.Warnings) != 1 || cfg.Warnings[0].Error() != `v.yaml:2:5: channel "gh": GITHUB_TOKEN is not set (the github channel needs it to send)` {
		t.Errorf("warnings %v", cfg.Warnings)
	}
	if _, err := New(cfg.Channels[0], env(nil), nil); err != nil {
		t.Error(err)
	}
	for _, c := range []struct{ more, want string }{
		{"    labels: [1]\n", `v.yaml:5:14: labels: want a string, got the number 1`},
		{"    close_on_resolve: \"yes\"\n", `v.yaml:5:23: close_on_resolve: want true or false, got the string "yes"`},
		{"    api_url: ftp://x\n", `v.yaml:5:14: api_url: not an http(s) URL (value redacted, 7 characters); want http:// or https:// and a host`},
		{"    api_url: https://ghe.example/api/v3?x=1\n", `v.yaml:2:5: channel "gh": api_url: an http(s) URL with a query or fragment (value redacted, 30 characters); want an API base such as https://github.example.com/api/v3`},
	} {
		_, err := config.ParseEnv("v.yaml", []byte(head+c.more), env(map[string]string{"GITHUB_TOKEN": "t"}), types)
		if err == nil || err.Error() != c.want {
			t.Errorf("%q:\ngot  %v\nwant %s", c.more, err, c.want)
		}
	}
}
