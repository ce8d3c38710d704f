package main

import (
	"os"

	"github.com/vigil-metrics/vigil/alert/channels"
	alertconfig "github.com/vigil-metrics/vigil/alert/config"
	"github.com/vigil-metrics/vigil/alert/notify"
	"github.com/vigil-metrics/vigil/cmd/internal/cli"
)

// senders builds a notifier for every enabled channel through the channel
// registry. A channel that cannot be built is a config error (exit 2) at
// its place in the file.
func senders(cfg *alertconfig.Config) (map[string]notify.Notifier, error) {
	snd, err := channels.Senders(cfg, os.LookupEnv)
	if err != nil {
		return nil, cli.Usage(err)
	}
	return snd, nil
}

// target names a channel's destination without its secrets.
func target(c alertconfig.Channel) string { return channels.Target(c) }
