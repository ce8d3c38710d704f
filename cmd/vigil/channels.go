package main

import (
	"os"
	"strings"

	"github.com/vigil-metrics/vigil/alert/alertmanager"
	alertconfig "github.com/vigil-metrics/vigil/alert/config"
	"github.com/vigil-metrics/vigil/alert/email"
	"github.com/vigil-metrics/vigil/alert/github"
	"github.com/vigil-metrics/vigil/alert/httpsend"
	"github.com/vigil-metrics/vigil/alert/notify"
	"github.com/vigil-metrics/vigil/alert/pagerduty"
	"github.com/vigil-metrics/vigil/alert/sentry"
	"github.com/vigil-metrics/vigil/alert/slack"
	"github.com/vigil-metrics/vigil/alert/webhook"
	"github.com/vigil-metrics/vigil/cmd/internal/cli"
)

// senders builds a notifier for every enabled channel. A channel that
// cannot be built (a bad address, a tls mode its server forbids) is a
// config error. A channel type without a sender is left out, and its
// notices fail with that reason.
func senders(cfg *alertconfig.Config) (map[string]notify.Notifier, error) {
	out := map[string]notify.Notifier{}
	for _, c := range cfg.Channels {
		if !c.Enabled {
			continue
		}
		var (
			n   notify.Notifier
			err error
		)
		switch c.Type {
		case "webhook":
			var s *webhook.Sender
			if s, err = webhook.New(c, nil); err == nil {
				n = webhook.Channel{S: s}
			}
		case "email":
			n, err = email.New(c, os.LookupEnv)
		case "github":
			n, err = github.New(c, os.LookupEnv, nil)
		case "slack":
			n, err = slack.New(c, os.LookupEnv, nil)
		case "sentry":
			n, err = sentry.New(c, os.LookupEnv, nil)
		case "pagerduty":
			n, err = pagerduty.New(c, os.LookupEnv, nil)
		case "alertmanager":
			var am *alertmanager.Channel
			if am, err = alertmanager.New(c, os.LookupEnv, nil); err == nil {
				// Alertmanager ends an alert at endsAt: long enough to
				// survive a missed cron run or two (Prometheus's 4 x
				// interval), short enough that it resolves if vigil stops.
				am.Validity = 4 * cfg.Settings.EvaluationInterval
				n = am
			}
		default:
			continue
		}
		if err != nil {
			return nil, cli.Usagef("%s:%d:%d: %v", cfg.File, c.Pos.Line, c.Pos.Col, err)
		}
		out[c.Name] = n
	}
	return out, nil
}

func target(c alertconfig.Channel) string {
	str := func(k string) string { s, _ := c.Settings[k].(string); return s }
	switch c.Type {
	case "webhook", "alertmanager":
		return httpsend.RedactURL(str("url"))
	case "slack":
		if u := str("url"); u != "" {
			return httpsend.RedactURL(u)
		}
		return httpsend.RedactURL(str("webhook_url"))
	case "pagerduty":
		if u := str("url"); u != "" {
			return httpsend.RedactURL(u)
		}
		return "https://events.pagerduty.com"
	case "email":
		to, _ := c.Settings["to_emails"].([]string)
		return strings.Join(to, ",")
	case "github":
		return str("repo")
	case "sentry":
		return str("project")
	}
	return ""
}
