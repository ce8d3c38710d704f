package sentry

import (
	"fmt"
	"os"
	"strings"

	sentrygo "github.com/getsentry/sentry-go"
	"go.yaml.in/yaml/v3"

	"github.com/vigil-metrics/vigil/alert/config"
	"github.com/vigil-metrics/vigil/alert/notify"
	"github.com/vigil-metrics/vigil/internal/secret"
	"github.com/vigil-metrics/vigil/internal/yamlconf"
)

// Config is a sentry channel's own settings, as the config file gives
// them (dsn, dsn_env, project, environment).
type Config struct {
	// DSN is the project's DSN (a secret: ${VAR} in the file); when empty
	// the DSN is read from DSNEnv (DefaultDSNEnv when empty) at build.
	DSN    string
	DSNEnv string
	// Project and Environment tag the events.
	Project     string
	Environment string
}

// Fields reads the settings from the channel's keys.
func (c *Config) Fields(d *yamlconf.Decoder) map[string]func(*yaml.Node) {
	return map[string]func(*yaml.Node){
		"dsn":         func(v *yaml.Node) { c.DSN, _ = d.Secret(v, "dsn") },
		"dsn_env":     func(v *yaml.Node) { c.DSNEnv, _ = d.EnvName(v, "dsn_env") },
		"project":     func(v *yaml.Node) { c.Project, _ = d.Str(v, "project") },
		"environment": func(v *yaml.Node) { c.Environment, _ = d.Str(v, "environment") },
	}
}

// Check warns when there is no dsn and the environment has none now, or
// holds one that is not a DSN. Both are warnings, not errors: the
// environment of a run is not check's, and a run must still evaluate and
// send elsewhere (evaluate fails this channel's notices alone, retried
// until the variable holds a DSN).
func (c *Config) Check(at config.ChannelAt) {
	name := c.dsnEnv()
	if at.Seen["dsn"] != nil {
		return
	}
	if at.Unset(name) {
		at.Warnf(at.Node, "%s: no dsn and %s is not set (the sentry channel needs one to send)", at.What, name)
		return
	}
	v, _ := at.Env(name)
	if _, err := sentrygo.NewDsn(strings.TrimSpace(v)); err != nil {
		at.Warnf(at.Node, "%s: %s is not a valid Sentry DSN (want https://KEY@HOST/PROJECT)%s; evaluate fails this channel's notifications until it is",
			at.What, name, dsnReason(err))
	}
}

func (c *Config) dsnEnv() string {
	if c.DSNEnv != "" {
		return c.DSNEnv
	}
	return DefaultDSNEnv
}

// Validate is what New refuses of the settings themselves: a dsn written
// in the file that is not a Sentry DSN (one from the environment is
// judged when the channel is built). The error does not quote the DSN.
func (c *Config) Validate(name string) error {
	raw := strings.TrimSpace(c.DSN)
	if raw == "" || envRef.MatchString(raw) {
		return nil
	}
	_, err := parseDSN(name, "dsn", raw)
	return err
}

func parseDSN(name, from, raw string) (*sentrygo.Dsn, error) {
	dsn, err := sentrygo.NewDsn(raw)
	if err != nil {
		return nil, fmt.Errorf("channel %q: %s is not a valid Sentry DSN (want https://KEY@HOST/PROJECT)%s", name, from, dsnReason(err))
	}
	return dsn, nil
}

// resolveDSN is the DSN the channel sends with and where it came from
// ("dsn" or the variable): the dsn setting (a ${VAR} in a channel built
// by hand read now), else the variable DSNEnv names.
func (c *Config) resolveDSN(lookupEnv func(string) (string, bool)) (raw, from string) {
	if lookupEnv == nil {
		lookupEnv = os.LookupEnv
	}
	raw = envRef.ReplaceAllStringFunc(c.DSN, func(m string) string {
		v, _ := lookupEnv(m[2 : len(m)-1])
		return v
	})
	if raw = strings.TrimSpace(raw); raw != "" {
		return raw, "dsn"
	}
	name := c.dsnEnv()
	v, _ := lookupEnv(name)
	return strings.TrimSpace(v), name
}

// RegisterSecrets registers the DSN (from the environment now): the
// whole of it and its keys.
func (c *Config) RegisterSecrets(set *secret.Set, lookupEnv func(string) (string, bool)) {
	raw, _ := c.resolveDSN(lookupEnv)
	set.AddURL(raw, true)
	if dsn, err := sentrygo.NewDsn(raw); err == nil {
		set.Add(dsn.GetPublicKey())
		set.Add(dsn.GetSecretKey())
	}
}

// Target is the project.
func (c *Config) Target() string { return c.Project }

// Notifier builds the channel's notifier (alert/channels' constructor).
func Notifier(ch config.Channel, _ *config.Config, lookupEnv func(string) (string, bool)) (notify.Notifier, error) {
	return New(ch, lookupEnv, nil)
}
