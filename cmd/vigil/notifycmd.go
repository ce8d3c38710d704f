package main

import (
	"fmt"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/vigil-metrics/vigil/alert/notify"
	"github.com/vigil-metrics/vigil/alert/state"
	"github.com/vigil-metrics/vigil/cmd/internal/cli"
)

func newNotifyCmd(a *app) *cobra.Command {
	cmd := &cobra.Command{
		Use:   "notify",
		Short: "Check notification channels",
	}
	var atFlag string
	test := &cobra.Command{
		Use:   "test CHANNEL",
		Short: "Send one test notification through a channel and print the outcome",
		Long: `Send one test notification (rule vigil_test, severity low, label test="true")
through the named channel of the config file, with the channel's own retries,
and print each attempt and the outcome. Nothing is recorded in the state DB.
Exit 1 when the channel does not accept it, with the receiver's answer.`,
		Example: `  vigil notify test slack_alerts --config /etc/vigil/vigil.yaml`,
		Args:    cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			at, err := a.at(atFlag)
			if err != nil {
				return err
			}
			cfg, err := a.loadAlertConfig()
			if err != nil {
				return err
			}
			var names []string
			for _, c := range cfg.Channels {
				names = append(names, c.Name)
				if c.Name != args[0] {
					continue
				}
				snd, errs := senders(cfg)
				for _, e := range errs {
					if e.Channel == c.Name {
						return cli.Usage(e)
					}
				}
				s := snd[c.Name]
				if s == nil {
					if !c.Enabled {
						return cli.Usagef("channel %q is disabled (enabled: false)", c.Name)
					}
					return fmt.Errorf("channel %q: vigil cannot send through type %s yet", c.Name, c.Type)
				}
				v := 1.0
				labels := map[string]string{"test": "true"}
				n := notify.Notification{Channel: c, At: at, Kind: "firing", Alerts: []notify.Alert{{
					Rule: "vigil_test", Severity: "low", Description: "a test notification from vigil notify test",
					Labels: labels, State: "firing", Value: &v, Threshold: 0, StartsAt: at,
					Fingerprint: state.FormatFingerprint(state.Fingerprint("vigil_test", labels)), EscalationStep: -1,
				}}}
				n.Attempt = func(try, status int, err error) {
					line := fmt.Sprintf("try %d: ok", try)
					if err != nil {
						line = fmt.Sprintf("try %d: error: %s", try, strings.ReplaceAll(err.Error(), "\n", " "))
					}
					if status != 0 {
						line += fmt.Sprintf(" (status %d)", status)
					}
					fmt.Fprintln(a.stdout, line)
				}
				start := time.Now() // for the user's information only
				if _, err := s.Notify(cmd.Context(), n); err != nil {
					return fmt.Errorf("channel %q (%s): %w", c.Name, c.Type, err)
				}
				fmt.Fprintf(a.stdout, "sent to %s (%s, %s) in %s\n", c.Name, c.Type, target(c), time.Since(start).Round(time.Millisecond))
				return nil
			}
			return cli.Usagef("no channel named %q in %s (have %s)", args[0], cfg.File, strings.Join(names, ", "))
		},
	}
	test.Flags().StringVar(&atFlag, "at", "", "the notification's time, RFC 3339 or unix seconds (default now)")
	cmd.AddCommand(test)
	return cmd
}
