package main

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"unicode"
	"unicode/utf8"

	"github.com/spf13/cobra"

	"github.com/vigil-metrics/vigil/cmd/internal/cli"
	"github.com/vigil-metrics/vigil/internal/atomicfile"
	"github.com/vigil-metrics/vigil/internal/safetext"
	"github.com/vigil-metrics/vigil/internal/sources"
	"github.com/vigil-metrics/vigil/internal/starter"
	"github.com/vigil-metrics/vigil/internal/store"
)

// defaultStores are where vigil init looks when no --db is given: the
// working directory's store, then the agent unit's (examples/systemd).
var defaultStores = []string{"vigil.db", "/var/lib/vigil/*.db"}

func newInitCmd(a *app) *cobra.Command {
	var out string
	cmd := &cobra.Command{
		Use:   "init",
		Short: "Write a starter vigil.yaml for this host (never overwrites one)",
		Long: `vigil init writes a starter config: the stores (--db, else ./vigil.db or
/var/lib/vigil/*.db when they exist), a heartbeat rule that fires when the
agent stops writing, CPU, memory and disk rules, an SLO skeleton fitted to
the SLI metrics the stores hold, a commented email and webhook channel,
and the crontab lines (evaluate, and budget --notify for the SLOs), run in
the written file's folder; store paths are written absolute. vigil check passes on what it writes. An existing
file is never overwritten (exit 2): use --out.`,
		Example: `  vigil init --db /var/lib/vigil/host.db
  vigil init --db 'hosts/*.db' --out /etc/vigil/vigil.yaml`,
		Args:        cobra.NoArgs,
		Annotations: map[string]string{noImplicitConfig: "true"},
		RunE:        func(cmd *cobra.Command, _ []string) error { return a.runInit(cmd, out) },
	}
	cmd.Flags().StringSlice("db", nil, "stores the config names (paths or globs; repeat); default: ./vigil.db or /var/lib/vigil/*.db where they exist")
	cmd.Flags().StringVar(&out, "out", "vigil.yaml", "the file to write; an existing one is refused")
	return cmd
}

func (a *app) runInit(cmd *cobra.Command, out string) error {
	if out == "" || out == "-" {
		return cli.WithHint(cli.Usagef("--out %q: vigil init writes a file; name one", out), "--out vigil.yaml (the default), or ./- for a file named -")
	}
	if _, err := os.Lstat(out); err == nil {
		return cli.WithHint(cli.Usagef("%s exists: vigil init never overwrites a config", out),
			"use --out FILE for a new one, then compare: vigil check --config FILE")
	} else if !errors.Is(err, fs.ErrNotExist) {
		return err
	}
	pats, err := cmd.Flags().GetStringSlice("db")
	if err != nil {
		return err
	}
	named := len(pats) > 0
	if !named {
		for _, p := range defaultStores {
			if m, _ := filepath.Glob(p); len(m) > 0 {
				pats = append(pats, p)
			}
		}
	}
	var files []string
	for _, p := range pats {
		if !utf8.ValidString(p) {
			// YAML has no escape for a raw byte: the path would come back
			// as another name.
			return cli.Usagef("--db %q: not valid UTF-8, which a YAML config cannot name", p)
		}
		if strings.Contains(p, "://") {
			// Redacted: a URL may carry a password or a token (h31 H2).
			return cli.Usagef("--db %s: vigil init names store files; a Prometheus-compatible source goes in sources: (docs/scale.md)", sources.Redact(p))
		}
		m, err := filepath.Glob(p)
		if err != nil {
			return cli.Usagef("--db %q: %v", p, err)
		}
		if len(m) == 0 {
			// The agent may not have run yet: the rules fit its metrics.
			fmt.Fprintf(a.stderr, "vigil: warning: --db %s: no store there yet; the config names it anyway\n", p)
		}
		files = append(files, m...)
	}
	// The config is read from its crontab line's folder (cd there), not
	// from here: relative store paths are written absolute (h30 D1).
	absOut, err := filepath.Abs(out)
	if err != nil {
		return err
	}
	// The path goes into a comment line of the file: a newline (or a
	// YAML line break such as U+0085 or U+2028) would end the comment.
	if strings.ContainsFunc(absOut, func(r rune) bool { return !unicode.IsPrint(r) }) {
		return cli.Usagef("--out %q: a non-printable character in the path would break the crontab line written in the file", absOut)
	}
	stores := make([]string, len(pats))
	for i, p := range pats {
		if stores[i], err = filepath.Abs(p); err != nil {
			return err
		}
	}
	in := starter.Inputs{Stores: stores, Generated: "written by vigil init " + version(),
		Dir: filepath.Dir(absOut), Config: filepath.Base(absOut)}
	readers := make([]starter.Reader, 0, len(files))
	for _, f := range files {
		if strings.HasSuffix(f, ".duckdb") || strings.HasSuffix(f, "-wal") || strings.HasSuffix(f, "-shm") {
			continue
		}
		st, err := store.Open(cmd.Context(), f, store.Options{ReadOnly: true})
		if err != nil {
			return err
		}
		defer st.Close()
		readers = append(readers, st)
	}
	if err := starter.Inspect(cmd.Context(), &in, readers); err != nil {
		return err
	}
	text, err := starter.Render(in)
	if err != nil {
		return err
	}
	// Linked into place, never renamed over: a file that appeared since
	// the check above is left as it was (h30 D16).
	if err := atomicfile.WriteNew(out, text); errors.Is(err, fs.ErrExist) {
		return cli.WithHint(cli.Usagef("%s appeared while vigil init ran: vigil init never overwrites a config", out),
			"use --out FILE for a new one, then compare: vigil check --config FILE")
	} else if err != nil {
		return err
	}
	a.initSummary(out, in, text, len(readers))
	return nil
}

// initSummary tells what vigil init wrote (on stdout) and what cannot
// work yet (on stderr).
func (a *app) initSummary(out string, in starter.Inputs, text []byte, stores int) {
	slo := "an SLO skeleton (commented: the stores hold no SLI metrics yet)"
	if len(in.Services) > 0 && strings.Contains(string(text), "\nslos:\n") {
		names := make([]string, len(in.Services))
		for i, s := range in.Services {
			names[i] = safetext.Terminal(s) // from the data: inert on a terminal
		}
		slo = fmt.Sprintf("SLOs for %s", strings.Join(names, ", "))
	}
	for _, s := range in.NoSuccess {
		fmt.Fprintf(a.stderr, "vigil: warning: service %q left out of the SLOs: its sli_requests_total has no success label, so none of it would count good\n", s)
	}
	for _, s := range in.NotHTTP {
		fmt.Fprintf(a.stderr, "vigil: warning: service %q left out of the SLOs: its http_requests_total has status values that are not HTTP codes, so 5xx would not name its failures\n", s)
	}
	for _, s := range in.LeftOut {
		fmt.Fprintf(a.stderr, "vigil: warning: service %q left out of the SLOs: only spaces or a non-printable character, which vigil check refuses\n", s)
	}
	if starter.NoHeartbeat(in) {
		fmt.Fprintf(a.stderr, "vigil: warning: no store holds %s (the agent's heartbeat): agent_down cannot fire until a vigil-agent of this version writes it\n", starter.Heartbeat)
	}
	fmt.Fprintf(a.stdout, "wrote %s: %d store(s), rules %s; %s\n", out, stores, strings.Join(starter.Rules(in), ", "), slo)
	fmt.Fprintf(a.stdout, "next: fill in a channel, then vigil check --config %s\n", out)
}
