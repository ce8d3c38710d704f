package github

import (
	"fmt"
	"net/url"
	"os"
	"strings"

	"go.yaml.in/yaml/v3"

	"github.com/vigil-metrics/vigil/alert/config"
	"github.com/vigil-metrics/vigil/alert/notify"
	"github.com/vigil-metrics/vigil/internal/secret"
	"github.com/vigil-metrics/vigil/internal/yamlconf"
)

// Config is a github channel's own settings, as the config file gives
// them (repo, labels, assignees, token_env, api_url, close_on_resolve).
type Config struct {
	// Repo is "owner/name" (required).
	Repo string
	// Labels and Assignees are given to every issue opened.
	Labels    []string
	Assignees []string
	// TokenEnv names the environment variable holding the token, read
	// when the channel is built (DefaultTokenEnv when empty).
	TokenEnv string
	// APIURL is GitHub's API (DefaultAPIURL when empty; GitHub
	// Enterprise's https://HOST/api/v3).
	APIURL string
	// CloseOnResolve closes an alert's issue when it resolves.
	CloseOnResolve bool
}

// Fields reads the settings from the channel's keys.
func (c *Config) Fields(d *yamlconf.Decoder) map[string]func(*yaml.Node) {
	return map[string]func(*yaml.Node){
		"repo": func(v *yaml.Node) {
			s, ok := d.Str(v, "repo")
			if ok && !validRepo(s) {
				d.Errf(v, "repo: want owner/name, got %q", s)
				return
			}
			c.Repo = s
		},
		"labels":           func(v *yaml.Node) { c.Labels, _ = d.Strings(v, "labels") },
		"assignees":        func(v *yaml.Node) { c.Assignees, _ = d.Strings(v, "assignees") },
		"token_env":        func(v *yaml.Node) { c.TokenEnv, _ = d.EnvName(v, "token_env") },
		"api_url":          func(v *yaml.Node) { c.APIURL, _ = d.HTTPURL(v, "api_url") },
		"close_on_resolve": func(v *yaml.Node) { c.CloseOnResolve, _ = d.Boolean(v, "close_on_resolve") },
	}
}

func validRepo(s string) bool {
	owner, name, ok := strings.Cut(s, "/")
	return ok && owner != "" && name != "" && !strings.Contains(name, "/") && !strings.ContainsAny(s, " \t\r\n")
}

// Check requires the repo and warns when the token is not in the
// environment now (it is read at send time).
func (c *Config) Check(at config.ChannelAt) {
	at.Require("repo")
	if name := c.tokenEnv(); at.Unset(name) {
		at.Warnf(at.Node, "%s: %s is not set (the github channel needs it to send)", at.What, name)
	}
}

func (c *Config) tokenEnv() string {
	if c.TokenEnv != "" {
		return c.TokenEnv
	}
	return DefaultTokenEnv
}

// Validate is what New refuses: a repo that is not owner/name, an api_url
// that is not an http(s) URL without query or fragment.
func (c *Config) Validate(name string) error {
	_, err := c.api(name)
	return err
}

// api checks the settings and returns the API's base URL.
func (c *Config) api(name string) (*url.URL, error) {
	if !validRepo(c.Repo) {
		return nil, fmt.Errorf("channel %q: repo: want owner/name, got %q", name, c.Repo)
	}
	raw := DefaultAPIURL
	if c.APIURL != "" {
		raw = c.APIURL
	}
	u, err := url.Parse(raw)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" || u.RawQuery != "" || u.Fragment != "" {
		// Never the value: its query may be a token.
		what := yamlconf.NotURL(raw)
		if err == nil && u.Host != "" && (u.Scheme == "http" || u.Scheme == "https") {
			what = fmt.Sprintf("an http(s) URL with a query or fragment (value redacted, %d characters)", len(raw))
		}
		return nil, fmt.Errorf("channel %q: api_url: %s; want an API base such as https://github.example.com/api/v3", name, what)
	}
	u.User = nil
	u.Path = strings.TrimRight(u.Path, "/")
	u.RawPath = ""
	return u, nil
}

// Target is the repo.
func (c *Config) Target() string { return c.Repo }

// RegisterSecrets registers the token (from the environment now) and
// the api_url's credentials and query values.
func (c *Config) RegisterSecrets(set *secret.Set, lookupEnv func(string) (string, bool)) {
	set.AddURL(c.APIURL, false)
	if lookupEnv == nil {
		lookupEnv = os.LookupEnv
	}
	if v, ok := lookupEnv(c.tokenEnv()); ok {
		set.Add(strings.TrimSpace(v))
	}
}

// Notifier builds the channel's notifier (alert/channels' constructor).
func Notifier(ch config.Channel, _ *config.Config, lookupEnv func(string) (string, bool)) (notify.Notifier, error) {
	return New(ch, lookupEnv, nil)
}
