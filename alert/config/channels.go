package config

import (
	"fmt"
	"maps"
	"net/url"
	"slices"
	"strings"
	"time"

	"go.yaml.in/yaml/v3"

	"github.com/vigil-metrics/vigil/internal/yamlconf"
)

type chanField struct {
	kind     string // str, int, bool, strs, map, dur, url, secret, repo, port, webhook_format
	required bool
}

var commonChannelFields = map[string]chanField{
	"timeout": {kind: "dur"}, "retry_attempts": {kind: "int0"}, "retry_delay": {kind: "dur"},
	"send_resolved": {kind: "bool"},
}

var channelFields = map[string]map[string]chanField{
	"webhook": {"url": {"url", true}, "headers": {"map", false}, "format": {"webhook_format", false}},
	"email": {"smtp_server": {"str", true}, "smtp_port": {"port", false}, "username": {"str", false},
		"from_email": {"str", false}, "from": {"str", false}, "to_emails": {"strs", true}, "use_tls": {"bool", false},
		"tls": {"email_tls", false}, "password_env": {"env", false}, "password_file": {"str", false}},
	"github": {"repo": {"repo", true}, "labels": {"strs", false}, "assignees": {"strs", false},
		"token_env": {"env", false}, "api_url": {"url", false}, "close_on_resolve": {"bool", false}},
	"sentry":       {"dsn": {"secret", false}, "dsn_env": {"env", false}, "project": {"str", false}, "environment": {"str", false}},
	"slack":        {"url": {"url", false}, "webhook_url": {"url", false}, "channel": {"str", false}, "username": {"str", false}},
	"alertmanager": {"url": {"url", true}, "headers": {"map", false}},
	"pagerduty":    {"routing_key_env": {"env", false}, "url": {"url", false}},
}

// EmailTLS are the email channel's tls modes, default first.
var EmailTLS = []string{"starttls", "implicit", "none"}

func (d *decoder) channels(n *yaml.Node) {
	names := map[string]*yaml.Node{}
	d.List(n, "channels", func(item *yaml.Node) {
		c := Channel{Pos: pos(item), Enabled: true, SendResolved: true, Settings: map[string]any{}}
		var typ string
		what := "channel"
		if item.Kind == yaml.MappingNode {
			for i := 0; i+1 < len(item.Content); i += 2 {
				k, v := item.Content[i], item.Content[i+1]
				if k.Value == "type" && v.Kind == yaml.ScalarNode && v.Tag == "!!str" {
					typ = v.Value
				}
				if k.Value == "name" && v.Kind == yaml.ScalarNode && v.Tag == "!!str" {
					what = fmt.Sprintf("channel %q", v.Value)
				}
			}
		}
		fs := map[string]func(*yaml.Node){
			"name": func(v *yaml.Node) { c.Name, _ = d.uniqueName(v, names, "channel") },
			"type": func(v *yaml.Node) {
				s, ok := d.Str(v, "type")
				if ok && !slices.Contains(ChannelTypes, s) {
					d.Errf(v, "unknown channel type %q (want %s)", s, strings.Join(ChannelTypes, ", "))
				}
				c.Type = s
			},
			"enabled": func(v *yaml.Node) { c.Enabled, _ = d.Boolean(v, "enabled") },
			"filters": func(v *yaml.Node) { c.Filters = d.filters(v, "filters") },
		}
		specific := channelFields[typ]
		all := map[string]chanField{}
		for k, f := range commonChannelFields {
			all[k] = f
		}
		for k, f := range specific {
			all[k] = f
		}
		for k, f := range all {
			fs[k] = func(v *yaml.Node) {
				if val, ok := d.channelValue(v, k, f.kind); ok {
					c.Settings[k] = val
				}
			}
		}
		if !slices.Contains(ChannelTypes, typ) {
			// Unknown or missing type: its fields cannot be judged, so
			// report the type alone rather than every field.
			for _, m := range channelFields {
				for k := range m {
					if fs[k] == nil {
						fs[k] = func(*yaml.Node) {}
					}
				}
			}
		}
		seen := d.Fields(item, what+channelKind(typ), fs)
		d.Required(item, seen, what, "name", "type")
		for _, k := range slices.Sorted(maps.Keys(specific)) {
			if specific[k].required {
				d.Required(item, seen, what, k)
			}
		}
		if v, ok := c.Settings["timeout"].(time.Duration); ok {
			c.Timeout = v
		}
		if v, ok := c.Settings["retry_delay"].(time.Duration); ok {
			c.RetryDelay = v
		}
		if v, ok := c.Settings["retry_attempts"].(int); ok {
			c.RetryAttempts = v
		}
		if v, ok := c.Settings["send_resolved"].(bool); ok {
			c.SendResolved = v
		}
		if item.Kind == yaml.MappingNode {
			d.secrets(item, seen, &c, what)
		}
		d.cfg.Channels = append(d.cfg.Channels, c)
	})
}

func channelKind(typ string) string {
	if slices.Contains(ChannelTypes, typ) {
		return " (type " + typ + ")"
	}
	return ""
}

// secrets warns about what a channel reads from the environment at send
// time and is missing now.
func (d *decoder) secrets(item *yaml.Node, seen map[string]*yaml.Node, c *Channel, what string) {
	unset := func(name string) bool { v, ok := d.Env(name); return !ok || v == "" }
	envOr := func(key, def string) string {
		if s, _ := c.Settings[key].(string); s != "" {
			return s
		}
		return def
	}
	switch c.Type {
	case "github":
		if name := envOr("token_env", "GITHUB_TOKEN"); unset(name) {
			d.Warnf(item, "%s: %s is not set (the github channel needs it to send)", what, name)
		}
	case "sentry":
		if name := envOr("dsn_env", "SENTRY_DSN"); seen["dsn"] == nil && unset(name) {
			d.Warnf(item, "%s: no dsn and %s is not set (the sentry channel needs one to send)", what, name)
		}
	case "pagerduty":
		if name := envOr("routing_key_env", "PAGERDUTY_ROUTING_KEY"); unset(name) {
			d.Warnf(item, "%s: %s is not set (the pagerduty channel needs its routing key to send)", what, name)
		}
	case "slack":
		switch {
		case seen["url"] == nil && seen["webhook_url"] == nil:
			d.Errf(item, "%s: missing required field \"url\" (the incoming webhook URL)", what)
		case seen["url"] != nil && seen["webhook_url"] != nil:
			d.Errf(seen["webhook_url"], "%s: give url or webhook_url, not both", what)
		}
	case "email":
		if seen["password_env"] != nil && seen["password_file"] != nil {
			d.Errf(seen["password_file"], "%s: give password_env or password_file, not both", what)
		}
		if name := envOr("password_env", "SMTP_PASSWORD"); seen["username"] != nil && seen["password_file"] == nil && unset(name) {
			d.Warnf(item, "%s: %s is not set (needed to log in as the username at send time)", what, name)
		}
		if seen["username"] == nil && seen["from_email"] == nil && seen["from"] == nil {
			d.Errf(item, "%s: missing required field \"from_email\" (or \"from\", or \"username\")", what)
		}
		if seen["tls"] != nil && seen["use_tls"] != nil {
			d.Errf(seen["use_tls"], "%s: give tls or use_tls, not both", what)
		}
	}
}

func (d *decoder) channelValue(v *yaml.Node, field, kind string) (any, bool) {
	switch kind {
	case "str":
		return d.Str(v, field)
	case "secret":
		if v.Kind != yaml.ScalarNode || v.Tag != "!!str" {
			d.Errf(v, "%s: want a string, got %s", field, yamlconf.Kind(v))
			return nil, false
		}
		return d.Expand(v, field, true)
	case "strs":
		ss, ok := d.Strings(v, field)
		if ok && len(ss) == 0 && field == "to_emails" {
			d.Errf(v, "%s: want at least one address", field)
			return nil, false
		}
		return ss, ok
	case "map":
		return d.StringMap(v, field)
	case "bool":
		return d.Boolean(v, field)
	case "int0":
		return d.Int(v, field, 0)
	case "port":
		p, ok := d.Int(v, field, 1)
		if ok && p > 65535 {
			d.Errf(v, "%s: want a port from 1 to 65535, got %d", field, p)
			return nil, false
		}
		return p, ok
	case "dur":
		return d.Duration(v, field, false)
	case "url":
		s, ok := d.NonEmpty(v, field)
		if !ok {
			return nil, false
		}
		u, err := url.Parse(s)
		if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
			d.Errf(v, "%s: want an http(s) URL, got %q", field, s)
			return nil, false
		}
		return s, true
	case "webhook_format":
		return d.Enum(v, field, "webhook format", WebhookFormats)
	case "email_tls":
		return d.Enum(v, field, "tls mode", EmailTLS)
	case "env":
		return d.EnvName(v, field)
	case "repo":
		s, ok := d.Str(v, field)
		if !ok {
			return nil, false
		}
		owner, name, found := strings.Cut(s, "/")
		if !found || owner == "" || name == "" || strings.Contains(name, "/") || strings.ContainsAny(s, " \t") {
			d.Errf(v, "%s: want owner/name, got %q", field, s)
			return nil, false
		}
		return s, true
	}
	panic("unknown field kind " + kind)
}

// filters reads [{label: value or [values]}, ...]; severity values must be
// known severities.
func (d *decoder) filters(n *yaml.Node, field string) []Filter {
	var out []Filter
	d.List(n, field, func(item *yaml.Node) {
		if item.Kind != yaml.MappingNode {
			d.Errf(item, "%s: want a mapping of label: values, got %s", field, yamlconf.Kind(item))
			return
		}
		f := Filter{}
		for i := 0; i+1 < len(item.Content); i += 2 {
			k, v := item.Content[i], item.Content[i+1]
			if k.Kind != yaml.ScalarNode || !yamlconf.IsLabelName(k.Value) {
				d.Errf(k, "%s: invalid label name %s", field, yamlconf.Kind(k))
				continue
			}
			vals, ok := d.StringOrList(v, field+" "+k.Value)
			if !ok {
				continue
			}
			if len(vals) == 0 {
				d.Errf(v, "%s %s: want at least one value", field, k.Value)
				continue
			}
			if k.Value == "severity" {
				for j, s := range vals {
					at := v
					if v.Kind == yaml.SequenceNode {
						at = v.Content[j]
					}
					if !slices.Contains(Severities, s) {
						d.Errf(at, "unknown severity %q (want %s)", s, strings.Join(Severities, ", "))
					}
				}
			}
			f[k.Value] = vals
		}
		out = append(out, f)
	})
	return out
}
