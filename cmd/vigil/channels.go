package main

import (
	"os"

	"github.com/vigil-metrics/vigil/alert/channels"
	alertconfig "github.com/vigil-metrics/vigil/alert/config"
	"github.com/vigil-metrics/vigil/alert/notify"
)

// senders builds a notifier for every enabled channel through the channel
// registry. A channel that cannot be built is an error of that channel
// alone (its notices stay queued, the run exits 1 naming it); the caller
// reports errs and sends through the others.
func senders(cfg *alertconfig.Config) (map[string]notify.Notifier, []*channels.BuildError) {
	return channels.Senders(cfg, os.LookupEnv)
}

// target names a channel's destination without its secrets.
func target(c alertconfig.Channel) string { return channels.Target(c) }
