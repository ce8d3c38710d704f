package cli

import (
	"bytes"
	"strings"
	"testing"

	"github.com/spf13/cobra"
)

// A small tree like vigil's: every mistake must come back as exit 2.
func TestUsageErrors(t *testing.T) {
	run := func(args ...string) (int, string, string) {
		ran := false
		root := &cobra.Command{Use: "prog", SilenceErrors: true, SilenceUsage: true}
		group := &cobra.Command{Use: "group"}
		leaf := &cobra.Command{Use: "leaf NAME", Args: cobra.ExactArgs(1), RunE: func(*cobra.Command, []string) error { ran = true; return nil }}
		leaf.Flags().Int("n", 0, "a number")
		leaf.Flags().String("must", "", "required")
		_ = leaf.MarkFlagRequired("must")
		other := &cobra.Command{Use: "other", Args: cobra.NoArgs, RunE: func(*cobra.Command, []string) error { ran = true; return nil }}
		group.AddCommand(leaf)
		root.AddCommand(group, other)
		UsageErrors(root)
		var out, errb bytes.Buffer
		root.SetArgs(args)
		root.SetOut(&out)
		root.SetErr(&errb)
		code := Report(&errb, "prog", root.Execute())
		if code != 0 && ran {
			t.Errorf("%v: the command ran, then failed", args)
		}
		return code, out.String(), errb.String()
	}
	cases := []struct {
		args []string
		want string
	}{
		{[]string{"nosuch"}, `prog: error: unknown command "nosuch" for "prog"`},
		{[]string{"othr"}, `prog: hint: did you mean 'prog other'?`},
		{[]string{"group", "nosuch"}, `prog: error: unknown command "nosuch" for "prog group"`},
		{[]string{"group", "leaf", "--must", "x"}, "prog: error: group leaf: accepts 1 arg(s), received 0\nprog: hint: usage: prog group leaf NAME [flags]"},
		{[]string{"group", "leaf", "a", "b", "--must", "x"}, "accepts 1 arg(s), received 2"},
		{[]string{"group", "leaf", "a"}, `prog: error: required flag(s) "must" not set`},
		{[]string{"group", "leaf", "a", "--must", "x", "--n", "x"}, `prog: error: invalid argument "x" for "--n" flag`},
		{[]string{"group", "leaf", "a", "--nope"}, "prog: error: unknown flag: --nope\nprog: hint: see 'prog group leaf --help'"},
		{[]string{"other", "x"}, `prog: error: unknown command "x" for "prog other"`},
		{[]string{"--nope"}, "unknown flag: --nope"},
		{[]string{"help", "nosuch"}, `prog: error: unknown help topic "nosuch"`},
		{[]string{"help", "group", "nosuch"}, `prog: error: unknown help topic "group nosuch"`},
		{[]string{"completion", "nosuch"}, `prog: error: unknown command "nosuch" for "prog completion"`},
		{[]string{"completion", "bash", "x"}, `prog: error: unknown command "x" for "prog completion bash"`},
	}
	for _, c := range cases {
		code, _, stderr := run(c.args...)
		if code != ExitUsage || !strings.Contains(stderr, c.want) {
			t.Errorf("prog %s: exit %d %q, want 2 and %q", strings.Join(c.args, " "), code, stderr, c.want)
		}
	}
	// Asking for help is not a mistake: exit 0, help on stdout.
	for _, args := range [][]string{{}, {"group"}, {"help"}, {"help", "group", "leaf"}, {"group", "leaf", "--help"}, {"completion"}} {
		code, stdout, stderr := run(args...)
		if code != 0 || !strings.Contains(stdout, "Usage:") || stderr != "" {
			t.Errorf("prog %s: exit %d, stdout %q, stderr %q; want 0 and help", strings.Join(args, " "), code, stdout, stderr)
		}
	}
	if code, _, stderr := run("group", "leaf", "a", "--must", "x"); code != 0 {
		t.Errorf("valid command: exit %d %s", code, stderr)
	}
}
