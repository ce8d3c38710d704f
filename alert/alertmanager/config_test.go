package alertmanager

import (
	"testing"

	"github.com/vigil-metrics/vigil/alert/config"
)

// A channel as the config file writes it builds.
func TestFromConfig(t *testing.T) {
	yaml := `
channels:
  - name: am
    type: alertmanager
    url: https://am.example:9093/prefix
    headers:
      Authorization: Bearer ${AM_TOKEN}
`
	lookup := func(k string) (string, bool) { return map[string]string{"AM_TOKEN": "t0k"}[k], k == "AM_TOKEN" }
	types := config.ChannelTypes{{Name: "alertmanager", Settings: func() config.ChannelSettings { return new(Config) }}}
	cfg, err := config.ParseEnv("vigil.yml", []byte(yaml), lookup, types)
	if err != nil {
		t.Fatal(err)
	}
	c, err := New(cfg.Channels[0], lookup, nil)
	if err != nil {
		t.Fatal(err)
	}
	if c.Endpoint() != "https://am.example:9093/prefix/api/v2/alerts" || c.headers.Get("Authorization") != "Bearer t0k" || c.p.Attempts != DefaultRetryAttempts {
		t.Errorf("channel %+v", c)
	}
}
