package webhook

import (
	"fmt"
	"slices"
	"strings"

	"go.yaml.in/yaml/v3"

	"github.com/vigil-metrics/vigil/alert/config"
	"github.com/vigil-metrics/vigil/alert/httpsend"
	"github.com/vigil-metrics/vigil/alert/notify"
	"github.com/vigil-metrics/vigil/internal/secret"
	"github.com/vigil-metrics/vigil/internal/yamlconf"
)

// Formats are the values of the format setting, the default first.
var Formats = []string{FormatVigil, FormatAlertmanager}

// Config is a webhook channel's own settings, as the config file gives
// them (url, headers, format).
type Config struct {
	// URL is the endpoint, http or https (required). It is a credential:
	// messages show its scheme and host only.
	URL string
	// Headers go with every request (an API key).
	Headers map[string]string
	// Format is FormatVigil (when empty) or FormatAlertmanager.
	Format string
}

// Fields reads the settings from the channel's keys.
func (c *Config) Fields(d *yamlconf.Decoder) map[string]func(*yaml.Node) {
	return map[string]func(*yaml.Node){
		"url":     func(v *yaml.Node) { c.URL, _ = d.HTTPURL(v, "url") },
		"headers": func(v *yaml.Node) { c.Headers, _ = d.StringMap(v, "headers") },
		"format":  func(v *yaml.Node) { c.Format, _ = d.Enum(v, "format", "webhook format", Formats) },
	}
}

// Check requires the url.
func (c *Config) Check(at config.ChannelAt) { at.Require("url") }

// Validate is what New refuses: no url, a url that is not http(s) with a
// host, a header that cannot be sent, an unknown format. The error names
// the channel and never the url's secret part.
func (c *Config) Validate(name string) error {
	if err := httpsend.CheckEndpoint(name, c.URL, c.Headers); err != nil {
		return err
	}
	if c.Format != "" && !slices.Contains(Formats, c.Format) {
		return fmt.Errorf("channel %q: unknown webhook format %q (want %s)", name, c.Format, strings.Join(Formats, ", "))
	}
	return nil
}

// Target is the url without its secret part.
func (c *Config) Target() string { return httpsend.RedactURL(c.URL) }

// RegisterSecrets registers the url (a credential as a whole: services
// put the token in its path or query; its query values by
// secret.Set.AddURL's rule) and the headers that are credentials
// (secret.Set.AddHeader: X-Team: checkout is not one).
func (c *Config) RegisterSecrets(set *secret.Set, _ func(string) (string, bool)) {
	set.AddURL(c.URL, true)
	for k, v := range c.Headers {
		set.AddHeader(k, v)
	}
}

// Notifier builds the channel's notifier (alert/channels' constructor).
func Notifier(ch config.Channel, _ *config.Config, _ func(string) (string, bool)) (notify.Notifier, error) {
	s, err := New(ch, nil)
	if err != nil {
		return nil, err
	}
	return Channel{S: s}, nil
}
