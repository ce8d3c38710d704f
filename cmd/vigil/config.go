package main

import (
	"errors"
	"fmt"
	"io/fs"
	"os"

	"github.com/spf13/cobra"

	"github.com/vigil-metrics/vigil/alert/channels"
	alertconfig "github.com/vigil-metrics/vigil/alert/config"
	"github.com/vigil-metrics/vigil/alert/state"
	"github.com/vigil-metrics/vigil/cmd/internal/cli"
)

// loadAlertConfig decodes the alerting sections of the config file read
// at start; their problems are listed on stderr, every one, exit 2.
func (a *app) loadAlertConfig() (*alertconfig.Config, error) {
	if a.file == nil || a.file.Path == "" {
		// No file was found: the same error as reading it would give.
		file := a.cfgFile
		if file == "" {
			file = "vigil.yaml"
		}
		_, err := os.Stat(file)
		var pe *fs.PathError
		if errors.As(err, &pe) {
			return nil, cli.WithHint(cli.Usagef("read config %s: %v", file, pe.Err), a.cmdPath+" reads alert_rules: see docs/alerting.md")
		}
		return nil, cli.Usagef("read config %s: %v", file, err)
	}
	return a.decodeAlertConfig()
}

// decodeAlertConfig decodes the alerting sections of the config file read
// at start; their problems are listed on stderr, every one, exit 2.
func (a *app) decodeAlertConfig() (*alertconfig.Config, error) {
	cfg, err := alertconfig.Decode(a.file, os.LookupEnv, channels.Types())
	if ps, invalid := alertconfig.AsProblems(err); invalid {
		for _, p := range ps {
			fmt.Fprintf(a.stderr, "vigil: error: %s\n", p.Error())
		}
		return nil, &cli.SilentError{Code: cli.ExitUsage}
	}
	return cfg, err
}

// openState opens the state DB, creating it when missing: for the
// commands that write it (threshold tune).
func (a *app) openState(cmd *cobra.Command) (*state.DB, error) {
	return state.Open(cmd.Context(), a.statePath(cmd))
}

// openStateExisting opens the state DB for a command that reads it (or
// acknowledges an alert in it): one that does not exist is an error, exit
// 1 as for a missing store (docs/cli.md), never a new empty file that
// would read as "no alerts".
func (a *app) openStateExisting(cmd *cobra.Command) (*state.DB, error) {
	return state.OpenExisting(cmd.Context(), a.statePath(cmd))
}

// namedStateMissing is the error for a state DB that the user named
// (--state, VIGIL_STATE, the config's state:) and that does not exist;
// nil when it exists or was not named. Commands for which the state DB is
// one input among others (report, threshold list) read a missing default
// as "none yet", but a name given is meant to exist: a typo must not pass
// for an empty history.
func (a *app) namedStateMissing(cmd *cobra.Command) error {
	named := cmd.Flags().Changed("state")
	if _, ok := os.LookupEnv("VIGIL_STATE"); ok {
		named = true
	}
	if a.file != nil {
		if _, ok := a.file.Core.Given()["state"]; ok {
			named = true
		}
	}
	p := a.statePath(cmd)
	if _, err := os.Stat(p); named && errors.Is(err, fs.ErrNotExist) {
		return &state.NotExistError{Path: p}
	}
	return nil
}

func holderName() string {
	host, _ := os.Hostname()
	return fmt.Sprintf("pid %d on %s", os.Getpid(), host)
}

func addStateFlag(cmd *cobra.Command) {
	cmd.Flags().String("state", "", "state DB (default: config state:, else vigil-state.db beside the config file)")
}
