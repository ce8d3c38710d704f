package config

import (
	"fmt"
	"slices"
	"strings"

	"go.yaml.in/yaml/v3"

	"github.com/vigil-metrics/vigil/internal/store"
	"github.com/vigil-metrics/vigil/internal/yamlconf"
)

// ChannelSettings are one channel type's own settings, typed, defaulted,
// checked and named by its channel package (alert/webhook's *Config, ...):
// adding a channel is its folder and a line in alert/channels, and this
// package, which its packages import, imports none of them.
type ChannelSettings interface {
	// Fields are the type's own keys: each handler reads its value into
	// the settings, reporting problems at the value's place.
	Fields(d *yamlconf.Decoder) map[string]func(*yaml.Node)
	// Check runs once the fields are read: the keys the type requires,
	// keys that go together or exclude each other, and the secrets read
	// at send time that are missing now (warnings).
	Check(at ChannelAt)
	// Validate is what the channel's constructor refuses, with the same
	// code, so that vigil check and evaluate agree: a problem at the
	// channel's place. name is the channel's, for the message.
	Validate(name string) error
	// Target names where the channel sends, without its secrets.
	Target() string
}

// ChannelType is one channel type a config may use: its name and fresh
// settings of it.
type ChannelType struct {
	Name     string
	Settings func() ChannelSettings
}

// ChannelTypes are the channel types a config may use, in the order
// messages list them. alert/channels.Types() is every channel's (what the
// CLI passes); a channel package's tests pass their own type alone.
type ChannelTypes []ChannelType

// Names are the types' names, in order.
func (ts ChannelTypes) Names() []string {
	out := make([]string, len(ts))
	for i, t := range ts {
		out[i] = t.Name
	}
	return out
}

// settings are fresh settings of typ, or nil for a type not among ts.
func (ts ChannelTypes) settings(typ string) ChannelSettings {
	for _, t := range ts {
		if t.Name == typ {
			return t.Settings()
		}
	}
	return nil
}

// ChannelAt is a channel being decoded, as its settings' Check sees it.
type ChannelAt struct {
	*yamlconf.Decoder
	// Node is the channel's mapping, Seen its keys' values.
	Node *yaml.Node
	Seen map[string]*yaml.Node
	// What names the channel in messages (`channel "ops"`).
	What string
}

// Unset reports whether the environment variable name is unset or empty
// now: a secret the channel reads at send time.
func (at ChannelAt) Unset(name string) bool {
	if at.Env == nil {
		return true
	}
	v, ok := at.Env(name)
	return !ok || v == ""
}

// Require reports each of keys the channel lacks, at the channel.
func (at ChannelAt) Require(keys ...string) {
	at.Required(at.Node, at.Seen, at.What, keys...)
}

func (d *decoder) channels(n *yaml.Node) {
	names := map[string]*yaml.Node{}
	d.List(n, "channels", func(item *yaml.Node) { d.channel(item, names) })
}

func (d *decoder) channel(item *yaml.Node, names map[string]*yaml.Node) {
	c := Channel{Pos: pos(item), Enabled: true, SendResolved: true}
	typ, what := "", "channel"
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
	c.Settings = d.types.settings(typ)
	fs := d.channelFields(&c, names)
	kind := ""
	if c.Settings != nil {
		kind = " (type " + typ + ")"
		for k, h := range c.Settings.Fields(d.Decoder) {
			fs[k] = h
		}
	} else {
		// Unknown or missing type: its fields cannot be judged, so
		// report the type alone rather than every field.
		for _, t := range d.types {
			for k := range t.Settings().Fields(d.Decoder) {
				if _, ok := fs[k]; !ok {
					fs[k] = nil
				}
			}
		}
	}
	before := len(d.Problems)
	seen := d.Fields(item, what+kind, fs)
	d.Required(item, seen, what, "name", "type")
	if c.Settings != nil && item.Kind == yaml.MappingNode {
		c.Settings.Check(ChannelAt{Decoder: d.Decoder, Node: item, Seen: seen, What: what})
		// What sending would refuse, checked now by the same code, unless
		// the file already says what is wrong with the channel.
		if len(d.Problems) == before && c.Enabled {
			if err := c.Settings.Validate(c.Name); err != nil {
				d.Errf(item, "%v", err)
			}
		}
	}
	d.cfg.Channels = append(d.cfg.Channels, c)
}

// channelFields are the keys every channel has.
func (d *decoder) channelFields(c *Channel, names map[string]*yaml.Node) map[string]func(*yaml.Node) {
	return map[string]func(*yaml.Node){
		"name": func(v *yaml.Node) { c.Name, _ = d.uniqueName(v, names, "channel") },
		"type": func(v *yaml.Node) {
			s, ok := d.Str(v, "type")
			if ok && c.Settings == nil {
				d.Errf(v, "unknown channel type %q (want %s)", s, strings.Join(d.types.Names(), ", "))
			}
			c.Type = s
		},
		"enabled": func(v *yaml.Node) { c.Enabled, _ = d.Boolean(v, "enabled") },
		"filters": func(v *yaml.Node) { c.Filters = d.filters(v, "filters") },
		"timeout": func(v *yaml.Node) {
			if x, ok := d.durationIn(v, "timeout", false, 0, MaxTimeout, whyTimeout); ok {
				c.Timeout = x
			}
		},
		"retry_attempts": func(v *yaml.Node) {
			if x, ok := d.intIn(v, "retry_attempts", 0, MaxRetryAttempts, whyAttempts); ok {
				c.RetryAttempts, c.RetryAttemptsSet = x, true
			}
		},
		"retry_delay": func(v *yaml.Node) {
			if x, ok := d.durationIn(v, "retry_delay", false, 0, MaxRetryDelay, whyDelay); ok {
				c.RetryDelay = x
			}
		},
		"send_resolved": func(v *yaml.Node) {
			if x, ok := d.Boolean(v, "send_resolved"); ok {
				c.SendResolved = x
			}
		},
	}
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
			if k.Kind != yaml.ScalarNode || !store.ValidLabelName(k.Value) {
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

// SettingsOf is ch's settings as typ's package has them: a *C, or a fresh
// one when ch has none (a channel built by hand). A channel of another
// type is an error.
func SettingsOf[C any](ch Channel, typ string) (*C, error) {
	if ch.Type != typ {
		return nil, fmt.Errorf("channel %q: type %q is not %s", ch.Name, ch.Type, typ)
	}
	if ch.Settings == nil {
		return new(C), nil
	}
	if s, ok := any(ch.Settings).(*C); ok && s != nil {
		return s, nil
	}
	return nil, fmt.Errorf("channel %q: its settings are a %T, not a %s channel's", ch.Name, ch.Settings, typ)
}
