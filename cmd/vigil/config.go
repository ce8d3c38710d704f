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
			return nil, cli.WithHint(cli.Usagef("read config %s: %v", file, pe.Err), "vigil evaluate needs alert_rules: see docs/alerting.md")
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

func (a *app) openState(cmd *cobra.Command) (*state.DB, error) {
	p := a.cfg.State
	if f, _ := cmd.Flags().GetString("state"); f != "" {
		p = f
	}
	if p == "" {
		p = "vigil-state.db"
	}
	return state.Open(cmd.Context(), p)
}

func holderName() string {
	host, _ := os.Hostname()
	return fmt.Sprintf("pid %d on %s", os.Getpid(), host)
}

func addStateFlag(cmd *cobra.Command) {
	cmd.Flags().String("state", "", "state DB (default: config state:, else vigil-state.db beside the config file)")
}
