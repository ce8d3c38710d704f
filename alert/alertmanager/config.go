package alertmanager

import (
	"go.yaml.in/yaml/v3"

	"github.com/vigil-metrics/vigil/alert/config"
	"github.com/vigil-metrics/vigil/alert/httpsend"
	"github.com/vigil-metrics/vigil/alert/notify"
	"github.com/vigil-metrics/vigil/internal/secret"
	"github.com/vigil-metrics/vigil/internal/yamlconf"
)

// Config is an alertmanager channel's own settings, as the config file
// gives them (url, headers).
type Config struct {
	// URL is Alertmanager's base URL, with any --web.route-prefix path
	// (required).
	URL string
	// Headers go with every request (Authorization for a proxy in front).
	Headers map[string]string
}

// Fields reads the settings from the channel's keys.
func (c *Config) Fields(d *yamlconf.Decoder) map[string]func(*yaml.Node) {
	return map[string]func(*yaml.Node){
		"url":     func(v *yaml.Node) { c.URL, _ = d.HTTPURL(v, "url") },
		"headers": func(v *yaml.Node) { c.Headers, _ = d.StringMap(v, "headers") },
	}
}

// Check requires the url.
func (c *Config) Check(at config.ChannelAt) { at.Require("url") }

// Validate is what New refuses: no url, one that is not http(s) with a
// host, a header that cannot be sent.
func (c *Config) Validate(name string) error {
	if err := httpsend.CheckEndpoint(name, c.URL, c.Headers); err != nil {
		return err
	}
	return nil
}

// Target is the url without its secret part.
func (c *Config) Target() string { return httpsend.RedactURL(c.URL) }

// RegisterSecrets registers the url's credentials and credential query
// values and the headers that are credentials (Authorization for a proxy
// in front; secret.Set.AddHeader's rule).
func (c *Config) RegisterSecrets(set *secret.Set, _ func(string) (string, bool)) {
	set.AddURL(c.URL, false)
	for k, v := range c.Headers {
		set.AddHeader(k, v)
	}
}

// Notifier builds the channel's notifier (alert/channels' constructor).
// Alertmanager ends an alert at endsAt: long enough to survive a missed
// cron run or two (Prometheus's 4 x interval), short enough that it
// resolves if vigil stops.
func Notifier(ch config.Channel, cfg *config.Config, lookupEnv func(string) (string, bool)) (notify.Notifier, error) {
	c, err := New(ch, lookupEnv, nil)
	if err != nil {
		return nil, err
	}
	c.Validity = 4 * cfg.Settings.EvaluationInterval
	return c, nil
}
