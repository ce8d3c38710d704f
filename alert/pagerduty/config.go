package pagerduty

import (
	"fmt"
	"os"
	"strings"

	"go.yaml.in/yaml/v3"

	"github.com/vigil-metrics/vigil/alert/config"
	"github.com/vigil-metrics/vigil/alert/httpsend"
	"github.com/vigil-metrics/vigil/alert/notify"
	"github.com/vigil-metrics/vigil/internal/secret"
	"github.com/vigil-metrics/vigil/internal/yamlconf"
)

// Config is a pagerduty channel's own settings, as the config file gives
// them (routing_key_env, url).
type Config struct {
	// RoutingKeyEnv names the environment variable holding the routing
	// key, read when the channel is built (DefaultRoutingKeyEnv when
	// empty).
	RoutingKeyEnv string
	// URL is the Events API endpoint (DefaultURL when empty).
	URL string
}

// Fields reads the settings from the channel's keys.
func (c *Config) Fields(d *yamlconf.Decoder) map[string]func(*yaml.Node) {
	return map[string]func(*yaml.Node){
		"routing_key_env": func(v *yaml.Node) { c.RoutingKeyEnv, _ = d.EnvName(v, "routing_key_env") },
		"url":             func(v *yaml.Node) { c.URL, _ = d.HTTPURL(v, "url") },
	}
}

// Check warns when the routing key is not in the environment now (it is
// read at send time, and a run must still evaluate and send elsewhere).
func (c *Config) Check(at config.ChannelAt) {
	if name := c.keyEnv(); at.Unset(name) {
		at.Warnf(at.Node, "%s: %s is not set (the pagerduty channel needs its routing key to send)", at.What, name)
	}
}

func (c *Config) keyEnv() string {
	if c.RoutingKeyEnv != "" {
		return c.RoutingKeyEnv
	}
	return DefaultRoutingKeyEnv
}

// Validate is what New refuses: a url that is not http(s) with a host.
func (c *Config) Validate(name string) error {
	if c.URL == "" {
		return nil
	}
	if _, err := httpsend.CheckURL("url", c.URL); err != nil {
		return fmt.Errorf("channel %q: %w", name, err)
	}
	return nil
}

// Target is the url without its secret part, or PagerDuty's host.
func (c *Config) Target() string {
	if c.URL != "" {
		return httpsend.RedactURL(c.URL)
	}
	return "https://events.pagerduty.com"
}

// RegisterSecrets registers the routing key (from the environment now)
// and the url's credentials and query values.
func (c *Config) RegisterSecrets(set *secret.Set, lookupEnv func(string) (string, bool)) {
	set.AddURL(c.URL, false)
	if lookupEnv == nil {
		lookupEnv = os.LookupEnv
	}
	if v, ok := lookupEnv(c.keyEnv()); ok {
		set.Add(strings.TrimSpace(v))
	}
}

// Notifier builds the channel's notifier (alert/channels' constructor).
func Notifier(ch config.Channel, _ *config.Config, lookupEnv func(string) (string, bool)) (notify.Notifier, error) {
	return New(ch, lookupEnv, nil)
}
