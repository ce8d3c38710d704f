// Package channels is the one registry of notification channel types (as
// alertmanager's BuildReceiverIntegrations): each type's settings, which
// alert/config decodes through it, and its constructor, through which
// evaluate, budget --notify and notify test build their notifiers.
//
// To add a channel: write its package (a typed Config with Fields, Check,
// Validate, Target and RegisterSecrets, a New, and a Notifier of this
// package's Build shape; see alert/webhook) and add one line to the list
// below. Nothing else names a channel type.
//
// Every channel declares its secrets here (RegisterSecrets: tokens,
// passwords, webhook URLs, header values), so that one internal/secret
// Set knows all of them and vigil scrubs them from every output, log and
// history row, whatever the channel.
//
// It must not hold a channel's settings, defaults or messages: those live
// in the channel's own package.
package channels

import (
	"context"

	"github.com/vigil-metrics/vigil/alert/alertmanager"
	"github.com/vigil-metrics/vigil/alert/config"
	"github.com/vigil-metrics/vigil/alert/email"
	"github.com/vigil-metrics/vigil/alert/github"
	"github.com/vigil-metrics/vigil/alert/notify"
	"github.com/vigil-metrics/vigil/alert/pagerduty"
	"github.com/vigil-metrics/vigil/alert/sentry"
	"github.com/vigil-metrics/vigil/alert/slack"
	"github.com/vigil-metrics/vigil/alert/webhook"
	"github.com/vigil-metrics/vigil/internal/secret"
	"github.com/vigil-metrics/vigil/internal/yamlconf"
)

// Build makes a channel's notifier: ch is the decoded channel, cfg the
// config it is in, lookupEnv reads the secrets it takes at build.
type Build func(ch config.Channel, cfg *config.Config, lookupEnv func(string) (string, bool)) (notify.Notifier, error)

// Type is one channel type: its name, settings, constructor and how its
// settings register their secrets.
type Type struct {
	config.ChannelType
	Build   Build
	Secrets func(s config.ChannelSettings, set *secret.Set, lookupEnv func(string) (string, bool))
}

// secretive is what every channel's settings add to
// config.ChannelSettings: RegisterSecrets puts every secret the channel
// sends with in set (those read from the environment or a file, read
// now with lookupEnv or from the file).
type secretive interface {
	config.ChannelSettings
	RegisterSecrets(set *secret.Set, lookupEnv func(string) (string, bool))
}

// all are the channel types, in the order messages list them.
var all = []Type{
	typ[webhook.Config]("webhook", webhook.Notifier),
	typ[email.Config]("email", email.Notifier),
	typ[github.Config]("github", github.Notifier),
	typ[sentry.Config]("sentry", sentry.Notifier),
	typ[slack.Config]("slack", slack.Notifier),
	typ[alertmanager.Config]("alertmanager", alertmanager.Notifier),
	typ[pagerduty.Config]("pagerduty", pagerduty.Notifier),
}

// typ is a Type whose settings are a *C.
func typ[C any, P interface {
	*C
	secretive
}](name string, build Build) Type {
	return Type{ChannelType: config.ChannelType{Name: name, Settings: func() config.ChannelSettings { return P(new(C)) }}, Build: build,
		Secrets: func(s config.ChannelSettings, set *secret.Set, lookupEnv func(string) (string, bool)) {
			if p, ok := s.(P); ok {
				p.RegisterSecrets(set, lookupEnv)
			}
		}}
}

// RegisterSecrets puts the secrets of every channel of cfg (enabled or
// not: a disabled one's may still be in a history row) in set.
func RegisterSecrets(cfg *config.Config, set *secret.Set, lookupEnv func(string) (string, bool)) {
	if cfg == nil {
		return
	}
	for _, c := range cfg.Channels {
		ChannelSecrets(c, set, lookupEnv)
	}
}

// ChannelSecrets puts the secrets of one channel in set.
func ChannelSecrets(c config.Channel, set *secret.Set, lookupEnv func(string) (string, bool)) {
	if t, ok := lookup(c.Type); ok && c.Settings != nil && t.Secrets != nil {
		t.Secrets(c.Settings, set, lookupEnv)
	}
}

// Types are the channel types a config may use, for alert/config.
func Types() config.ChannelTypes {
	out := make(config.ChannelTypes, len(all))
	for i, t := range all {
		out[i] = t.ChannelType
	}
	return out
}

// Senders builds a notifier for every enabled channel of cfg, by name. A
// channel that cannot be built (a DSN in the environment that is not one:
// what the config check can only warn about, since the environment at
// send time is not the one at check time) is an error of that channel
// alone, in errs, at its place in the file: its notifier fails every
// notice with the reason and asks for a retry, so they stay queued (the
// environment may be fixed by the next run) while every other channel
// sends. A channel of a type with no constructor is left out, and its
// notices fail with that reason.
func Senders(cfg *config.Config, lookupEnv func(string) (string, bool)) (map[string]notify.Notifier, []*BuildError) {
	out := map[string]notify.Notifier{}
	var errs []*BuildError
	for _, c := range cfg.Channels {
		if !c.Enabled {
			continue
		}
		t, ok := lookup(c.Type)
		if !ok || t.Build == nil {
			continue
		}
		n, err := t.Build(c, cfg, lookupEnv)
		if err != nil {
			be := &BuildError{Channel: c.Name, Err: err,
				place: yamlconf.Problem{File: cfg.File, Line: c.Pos.Line, Col: c.Pos.Col, Message: err.Error()}}
			errs = append(errs, be)
			n = unbuilt{err: err}
		}
		out[c.Name] = n
	}
	return out, errs
}

// BuildError is a channel that could not be built.
type BuildError struct {
	Channel string
	Err     error
	place   yamlconf.Problem
}

// Error is the reason at the channel's place in the file.
func (e *BuildError) Error() string { return e.place.Error() }
func (e *BuildError) Unwrap() error { return e.Err }

// unbuilt is the notifier of a channel that could not be built: every
// notice fails with why, to be retried by a later run.
type unbuilt struct{ err error }

func (u unbuilt) Notify(context.Context, notify.Notification) (bool, error) { return true, u.err }

func lookup(name string) (Type, bool) {
	for _, t := range all {
		if t.Name == name {
			return t, true
		}
	}
	return Type{}, false
}

// Target names where a channel sends, without its secrets ("" for a
// channel without settings).
func Target(c config.Channel) string {
	if c.Settings == nil {
		return ""
	}
	return c.Settings.Target()
}
