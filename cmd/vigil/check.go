package main

import (
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"strconv"
	"strings"

	"github.com/spf13/cobra"

	"github.com/vigil-metrics/vigil/alert/channels"
	alertconfig "github.com/vigil-metrics/vigil/alert/config"
	"github.com/vigil-metrics/vigil/analyze/promstore"
	"github.com/vigil-metrics/vigil/analyze/slo"
	"github.com/vigil-metrics/vigil/cmd/internal/cli"
	"github.com/vigil-metrics/vigil/internal/configfile"
	"github.com/vigil-metrics/vigil/internal/lint"
	"github.com/vigil-metrics/vigil/internal/secret"
	"github.com/vigil-metrics/vigil/internal/sources"
	"github.com/vigil-metrics/vigil/report"
)

// newCheckCmd validates the alerting sections of the config file with
// positions (viper's view has none), listing every problem.
func newCheckCmd(a *app) *cobra.Command {
	var output string
	cmd := &cobra.Command{
		Use:   "check",
		Short: "Validate the config file's alerting, slos and report sections and list every problem",
		Args:  cobra.NoArgs,
		// The root's hook decodes the file with viper, which stops at the
		// first problem and without its place: check reads it itself.
		PersistentPreRunE: func(cmd *cobra.Command, _ []string) error {
			a.cfg.LogLevel, _ = cmd.Flags().GetString("log-level")
			a.cfg.LogFormat, _ = cmd.Flags().GetString("log-format")
			return a.setupLog()
		},
		RunE: func(cmd *cobra.Command, _ []string) error {
			if err := checkOutput(cmd); err != nil {
				return err
			}
			file := a.cfgFile
			if file == "" {
				file = "vigil.yaml"
			}
			cfg, err := alertconfig.Load(file, channels.Types())
			ps, invalid := alertconfig.AsProblems(err)
			if err != nil && !invalid {
				var pe *fs.PathError
				if errors.As(err, &pe) {
					return cli.Usagef("read config %s: %v", file, pe.Err)
				}
				return cli.Usagef("read config %s: %v", file, err)
			}
			// What check prints is scrubbed like every command's output.
			var nSLOs int
			if f, err := configfile.Read(file); err == nil {
				a.registerSecrets(f)
				var more []alertconfig.Problem
				nSLOs, more = otherSectionProblems(f)
				ps = append(ps, more...)
			}
			cfg.Warnings = append(cfg.Warnings, secretWarnings(cfg, file, os.LookupEnv)...)
			for _, w := range cfg.Warnings {
				fmt.Fprintf(a.stderr, "vigil: warning: %s\n", w.Error())
			}
			for _, p := range ps {
				fmt.Fprintf(a.stderr, "vigil: error: %s\n", p.Error())
			}
			if output == "json" {
				out := struct {
					File             string                `json:"file"`
					Rules            int                   `json:"rules"`
					Channels         int                   `json:"channels"`
					Escalation       int                   `json:"escalation_policies"`
					Silences         int                   `json:"silences"`
					CorrelationRules int                   `json:"correlation_rules"`
					RecordingRules   int                   `json:"recording_rules"`
					SLOs             int                   `json:"slos"`
					OK               bool                  `json:"ok"`
					Problems         []alertconfig.Problem `json:"problems"`
					Warnings         []alertconfig.Problem `json:"warnings"`
				}{file, len(cfg.Rules), len(cfg.Channels), len(cfg.Escalation), len(cfg.Silences),
					len(cfg.CorrelationRules), len(cfg.RecordingRules), nSLOs, len(ps) == 0,
					append([]alertconfig.Problem{}, ps...), append([]alertconfig.Problem{}, cfg.Warnings...)}
				enc := json.NewEncoder(a.stdout)
				enc.SetIndent("", "  ")
				if err := enc.Encode(out); err != nil {
					return err
				}
			} else if len(ps) == 0 {
				fmt.Fprintf(a.stdout, "%s: %d rules, %d channels, %d escalation policies, %d silences: OK\n",
					file, len(cfg.Rules), len(cfg.Channels), len(cfg.Escalation), len(cfg.Silences))
			}
			if len(ps) > 0 {
				return &cli.SilentError{Code: cli.ExitUsage}
			}
			return nil
		},
	}
	outputFlag(cmd, &output, "table", "json")
	return cmd
}

// otherSectionProblems checks the sections besides alerting that vigil
// slo, budget, report, serve and lint read (slos: and OpenSLO documents,
// report:, serve:, lint:), so
// that a file check passes is one those commands accept: n is the
// objectives defined.
func otherSectionProblems(f *configfile.File) (n int, ps []alertconfig.Problem) {
	add := func(err error) {
		if err == nil {
			return
		}
		if more, ok := alertconfig.AsProblems(err); ok {
			ps = append(ps, more...)
			return
		}
		var p alertconfig.Problem
		if errors.As(err, &p) {
			ps = append(ps, p)
			return
		}
		// report's decode errors are FILE:LINE: text already, one a line.
		for _, line := range strings.Split(err.Error(), "\n") {
			p := alertconfig.Problem{File: f.Path, Message: line}
			if rest, ok := strings.CutPrefix(line, f.Path+":"); ok {
				p.Message = strings.TrimPrefix(rest, " ")
				if n, msg, ok := strings.Cut(rest, ": "); ok {
					if l, err := strconv.Atoi(n); err == nil {
						p.Line, p.Message = l, msg
					}
				}
			}
			ps = append(ps, p)
		}
	}
	objs, _, err := slo.FromConfig(f)
	add(err)
	_, err = report.FromConfig(f)
	add(err)
	_, err = promstore.FromConfig(f) // serve: (vigil serve, query --promql)
	add(err)
	_, err = lint.FromConfig(f) // lint: (vigil lint)
	add(err)
	return len(objs), ps
}

// secretWarnings are warnings, at each channel's and source's place,
// about a source's files that cannot be used now (sources.FileProblems)
// and the secrets vigil cannot scrub well: those shorter than
// secret.MinLen (never scrubbed: it would mangle all output) and those
// that are all digits or one lowercase word (scrubbed wherever they
// appear, from ordinary output too: a label "service", a value).
func secretWarnings(cfg *alertconfig.Config, file string, lookupEnv func(string) (string, bool)) []alertconfig.Problem {
	var out []alertconfig.Problem
	warn := func(line, col int, what string, set *secret.Set) {
		for _, m := range secretProblems(set) {
			out = append(out, alertconfig.Problem{File: file, Line: line, Col: col, Message: what + ": " + m})
		}
	}
	for _, c := range cfg.Channels {
		set := secret.New()
		channels.ChannelSecrets(c, set, lookupEnv)
		warn(c.Pos.Line, c.Pos.Col, fmt.Sprintf("channel %q", c.Name), set)
	}
	f, err := configfile.Read(file)
	if err != nil {
		return out
	}
	section, err := sources.FromConfig(f)
	n := f.Section("sources")
	if err != nil || n == nil {
		return out // its problems are the commands' that read it
	}
	for i := 0; i+1 < len(n.Content); i += 2 {
		k := n.Content[i]
		set := secret.New()
		section[k.Value].RegisterSecrets(set)
		warn(k.Line, k.Column, "source "+sources.Redact(k.Value), set)
		for _, m := range section[k.Value].FileProblems() {
			out = append(out, alertconfig.Problem{File: file, Line: k.Line, Col: k.Column, Message: "source " + sources.Redact(k.Value) + ": " + m})
		}
	}
	return out
}

// secretProblems says what is wrong with the secrets of one channel or
// source.
func secretProblems(set *secret.Set) []string {
	var out []string
	if n := set.Skipped(); n > 0 {
		out = append(out, fmt.Sprintf("%d of its secrets (a token, password or header value) are shorter than %d characters: vigil cannot scrub them from its output, logs and history", n, secret.MinLen))
	}
	switch n := set.Plain(); {
	case n == 1:
		out = append(out, "1 of its secrets (a token, password or header value) is all digits or a plain lowercase word: vigil scrubs it wherever it appears, ordinary output included; use a generated secret")
	case n > 1:
		out = append(out, fmt.Sprintf("%d of its secrets (a token, password or header value) are all digits or plain lowercase words: vigil scrubs them wherever they appear, ordinary output included; use generated secrets", n))
	}
	return out
}
