package slack

import (
	"fmt"
	"net/url"
	"strings"

	"go.yaml.in/yaml/v3"

	"github.com/vigil-metrics/vigil/alert/config"
	"github.com/vigil-metrics/vigil/alert/httpsend"
	"github.com/vigil-metrics/vigil/alert/notify"
	"github.com/vigil-metrics/vigil/internal/secret"
	"github.com/vigil-metrics/vigil/internal/yamlconf"
)

// Config is a slack channel's own settings, as the config file gives them
// (url or webhook_url, channel, username).
type Config struct {
	// URL is the incoming webhook's URL (a credential); WebhookURL is its
	// other spelling. One of them is required.
	URL        string
	WebhookURL string
	// Channel and Username override the webhook's defaults.
	Channel  string
	Username string
}

// Fields reads the settings from the channel's keys.
func (c *Config) Fields(d *yamlconf.Decoder) map[string]func(*yaml.Node) {
	return map[string]func(*yaml.Node){
		"url":         func(v *yaml.Node) { c.URL, _ = d.HTTPURL(v, "url") },
		"webhook_url": func(v *yaml.Node) { c.WebhookURL, _ = d.HTTPURL(v, "webhook_url") },
		"channel":     func(v *yaml.Node) { c.Channel, _ = d.Str(v, "channel") },
		"username":    func(v *yaml.Node) { c.Username, _ = d.Str(v, "username") },
	}
}

// Check requires url or webhook_url, not both.
func (c *Config) Check(at config.ChannelAt) {
	switch {
	case at.Seen["url"] == nil && at.Seen["webhook_url"] == nil:
		at.Errf(at.Node, "%s: missing required field \"url\" (the incoming webhook URL)", at.What)
	case at.Seen["url"] != nil && at.Seen["webhook_url"] != nil:
		at.Errf(at.Seen["webhook_url"], "%s: give url or webhook_url, not both", at.What)
	}
}

// url is the webhook URL as written and the key it came from.
func (c *Config) url() (field, raw string) {
	if c.URL != "" {
		return "url", c.URL
	}
	return "webhook_url", c.WebhookURL
}

// Validate is what New refuses of the settings themselves: no URL, or
// one that is not http(s) with a host (one still holding a ${NAME}, in a
// channel built by hand, is judged when New has read the variable).
func (c *Config) Validate(name string) error {
	field, raw := c.url()
	if envRef.MatchString(raw) {
		return nil
	}
	return checkURL(name, field, strings.TrimSpace(raw))
}

func checkURL(name, field, raw string) error {
	if raw == "" {
		return fmt.Errorf("channel %q: url is required (the Slack incoming webhook URL, https://hooks.slack.com/services/...)", name)
	}
	u, err := url.Parse(raw)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return fmt.Errorf("channel %q: %s %s: want the incoming webhook's http(s) URL", name, field, httpsend.RedactURL(raw))
	}
	return nil
}

// resolveURL is the webhook URL the channel posts to and the key it came
// from: a ${NAME} still in it (a channel built by hand; the config loader
// expands them) read with lookupEnv, missing naming the unset ones.
func (c *Config) resolveURL(lookupEnv func(string) (string, bool)) (field, raw string, missing []string) {
	field, raw = c.url()
	raw = envRef.ReplaceAllStringFunc(raw, func(m string) string {
		name := m[2 : len(m)-1]
		var v string
		ok := false
		if lookupEnv != nil {
			v, ok = lookupEnv(name)
		}
		if !ok || v == "" {
			missing = append(missing, name)
		}
		return v
	})
	return field, strings.TrimSpace(raw), missing
}

// RegisterSecrets registers the webhook URL, a credential as a whole
// (Slack's team, bot and token are its path).
func (c *Config) RegisterSecrets(set *secret.Set, lookupEnv func(string) (string, bool)) {
	_, raw, _ := c.resolveURL(lookupEnv)
	set.AddURL(raw, true)
}

// Target is the webhook URL without its secret part.
func (c *Config) Target() string {
	_, raw := c.url()
	return httpsend.RedactURL(raw)
}

// Notifier builds the channel's notifier (alert/channels' constructor).
func Notifier(ch config.Channel, _ *config.Config, lookupEnv func(string) (string, bool)) (notify.Notifier, error) {
	return New(ch, lookupEnv, nil)
}
