package sentry

import (
	"testing"

	"github.com/vigil-metrics/vigil/alert/config"
)

// A channel as the config file writes it builds.
func TestFromConfig(t *testing.T) {
	yaml := `
channels:
  - name: errors
    type: sentry
    dsn: ${MY_DSN}
    project: backend
    environment: staging
  - name: errors2
    type: sentry
    dsn_env: OTHER_DSN
`
	lookup := env(map[string]string{"MY_DSN": "https://" + key + "@o1.ingest.sentry.io/42", "OTHER_DSN": "https://" + key + "@sentry.example/7"})
	types := config.ChannelTypes{{Name: "sentry", Settings: func() config.ChannelSettings { return new(Config) }}}
	cfg, err := config.ParseEnv("vigil.yml", []byte(yaml), lookup, types)
	if err != nil {
		t.Fatal(err)
	}
	c, err := New(cfg.Channels[0], lookup, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	if c.dsn == nil || c.dsn.GetAPIURL().String() != "https://o1.ingest.sentry.io/api/42/envelope/" || c.project != "backend" || c.environment != "staging" {
		t.Errorf("channel %+v", c)
	}
	c2, err := New(cfg.Channels[1], lookup, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer c2.Close()
	if c2.dsn == nil || c2.dsn.GetAPIURL().String() != "https://sentry.example/api/7/envelope/" {
		t.Errorf("channel %+v", c2)
	}
}
