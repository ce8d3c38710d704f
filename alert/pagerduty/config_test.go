package pagerduty

import (
	"testing"
	"time"

	"github.com/vigil-metrics/vigil/alert/config"
)

// A channel as the config file writes it builds.
func TestFromConfig(t *testing.T) {
	yaml := `
channels:
  - name: pager
    type: pagerduty
    routing_key_env: PD_KEY
    url: http://127.0.0.1:1/v2/enqueue
    timeout: 5s
    retry_attempts: 0
    retry_delay: 2s
`
	lookup := env(map[string]string{"PD_KEY": key})
	types := config.ChannelTypes{{Name: "pagerduty", Settings: func() config.ChannelSettings { return new(Config) }}}
	cfg, err := config.ParseEnv("vigil.yml", []byte(yaml), lookup, types)
	if err != nil {
		t.Fatal(err)
	}
	c, err := New(cfg.Channels[0], lookup, nil)
	if err != nil {
		t.Fatal(err)
	}
	if c.key != key || c.url != "http://127.0.0.1:1/v2/enqueue" || c.p.Timeout != 5*time.Second || c.p.Attempts != 1 || c.p.Delay != 2*time.Second {
		t.Errorf("channel %+v", c)
	}
}
