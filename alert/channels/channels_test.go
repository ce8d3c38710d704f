package channels_test

import (
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/vigil-metrics/vigil/alert/alertmanager"
	"github.com/vigil-metrics/vigil/alert/channels"
	"github.com/vigil-metrics/vigil/alert/config"
	"github.com/vigil-metrics/vigil/alert/notify"
	"github.com/vigil-metrics/vigil/alert/webhook"
)

// The registry names every channel type, in the order messages have
// always listed them.
func TestTypes(t *testing.T) {
	if got := strings.Join(channels.Types().Names(), ", "); got != "webhook, email, github, sentry, slack, alertmanager, pagerduty" {
		t.Errorf("types %s", got)
	}
	seen := map[string]bool{}
	for _, ct := range channels.Types() {
		s := ct.Settings()
		if s == nil || s == ct.Settings() || seen[fmt.Sprintf("%T", s)] {
			t.Errorf("%s: settings %#v are not fresh settings of a type of its own", ct.Name, s)
		}
		seen[fmt.Sprintf("%T", s)] = true
	}
}

const all = `settings:
  evaluation_interval: 2m
channels:
  - {name: hook, type: webhook, url: "https://hooks.example.com/s3cret"}
  - {name: mail, type: email, smtp_server: smtp.example.com, from: v@example.com, to_emails: [a@example.com, b@example.com]}
  - {name: gh, type: github, repo: acme/shop}
  - {name: errs, type: sentry, project: backend, dsn: "https://k@o1.ingest.sentry.io/42"}
  - {name: chat, type: slack, webhook_url: "https://hooks.slack.com/services/T/B/s3cret"}
  - {name: am, type: alertmanager, url: "http://am:9093"}
  - {name: pd, type: pagerduty}
  - {name: off, type: webhook, enabled: false, url: "https://hooks.example.com/off"}
`

// Every channel's target, named without its secret; every enabled
// channel built, disabled ones left out; Alertmanager's alerts last four
// evaluation intervals.
func TestSendersAndTargets(t *testing.T) {
	cfg, err := config.ParseEnv("v.yaml", []byte(all), func(string) (string, bool) { return "", false }, channels.Types())
	if err != nil {
		t.Fatal(err)
	}
	want := map[string]string{
		"hook": "https://hooks.example.com/<redacted>", "mail": "a@example.com,b@example.com", "gh": "acme/shop",
		"errs": "backend", "chat": "https://hooks.slack.com/<redacted>", "am": "http://am:9093",
		"pd": "https://events.pagerduty.com", "off": "https://hooks.example.com/<redacted>",
	}
	for _, c := range cfg.Channels {
		if got := channels.Target(c); got != want[c.Name] {
			t.Errorf("%s: target %q, want %q", c.Name, got, want[c.Name])
		}
	}
	if channels.Target(config.Channel{Name: "x", Type: "nosuch"}) != "" {
		t.Error("a channel without settings has no target")
	}
	snd, errs := channels.Senders(cfg, func(string) (string, bool) { return "", false })
	if errs != nil {
		t.Fatal(errs)
	}
	if len(snd) != 7 || snd["off"] != nil {
		t.Errorf("senders %v", snd)
	}
	if _, ok := snd["hook"].(webhook.Channel); !ok {
		t.Errorf("hook: %T", snd["hook"])
	}
	if am, ok := snd["am"].(*alertmanager.Channel); !ok || am.Validity != 8*time.Minute {
		t.Errorf("am: %#v", snd["am"])
	}
}

// A channel that can be built only with what the environment holds at
// build time (a sentry DSN from dsn_env) and cannot be is an error of that
// channel alone, at its place in the file (issue 23: one broken channel
// never silences the others): its notifier fails every notice with the
// reason, asking for a retry, and the other channel is built.
func TestSendersError(t *testing.T) {
	cfg, err := config.ParseEnv("v.yaml", []byte("channels:\n  - {name: errs, type: sentry, dsn_env: D}\n  - {name: hook, type: webhook, url: \"https://hooks.example.com/x\"}\n"),
		func(string) (string, bool) { return "", false }, channels.Types())
	if err != nil {
		t.Fatal(err)
	}
	snd, errs := channels.Senders(cfg, func(k string) (string, bool) { return "https://h/1", k == "D" })
	const why = `channel "errs": D is not a valid Sentry DSN (want https://KEY@HOST/PROJECT): empty username`
	if len(errs) != 1 || errs[0].Channel != "errs" || errs[0].Error() != "v.yaml:2:5: "+why {
		t.Fatalf("errs = %v, want one for errs: v.yaml:2:5: %s", errs, why)
	}
	if _, ok := snd["hook"].(webhook.Channel); !ok {
		t.Errorf("hook: %T", snd["hook"])
	}
	retry, err := snd["errs"].Notify(context.Background(), notify.Notification{})
	if !retry || err == nil || err.Error() != why {
		t.Errorf("errs: Notify = %v, %v; want true, %s", retry, err, why)
	}
}
