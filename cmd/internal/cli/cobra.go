package cli

import (
	"fmt"
	"strings"

	"github.com/spf13/cobra"
)

// UsageErrors makes every command-line mistake in root's tree a
// UsageError (exit 2), once for all commands: wrong argument counts,
// unknown commands and help topics, bad flags and flag values, missing
// required flags. Cobra returns these as plain errors (exit 1), and a
// command group without a Run never checks its arguments at all, so
// `vigil store nosuch` would print help and exit 0. Call it after the
// whole tree is built.
func UsageErrors(root *cobra.Command) {
	// Cobra adds these lazily in Execute; add them now so that they are
	// covered too (it keeps existing ones).
	root.InitDefaultHelpCmd()
	root.InitDefaultCompletionCmd()
	root.SetFlagErrorFunc(func(c *cobra.Command, err error) error {
		return &UsageError{Err: err, Hint: fmt.Sprintf("see '%s --help'", c.CommandPath())}
	})
	var walk func(*cobra.Command)
	walk = func(c *cobra.Command) {
		for _, sub := range c.Commands() {
			walk(sub)
		}
		switch {
		case c.Name() == "help" && c.HasParent():
			c.Args = helpTopic
		case c.HasSubCommands() && !c.Runnable():
			// A group: without a Run cobra prints help for any arguments
			// and exits 0. With one, its arguments are checked: none shows
			// the help (exit 0), anything else is an unknown command.
			c.Args = unknownCommand
			c.RunE = func(c *cobra.Command, _ []string) error { return c.Help() }
		default:
			c.Args = checkArgs(c.Args)
		}
	}
	walk(root)
}

func checkArgs(orig cobra.PositionalArgs) cobra.PositionalArgs {
	return func(c *cobra.Command, args []string) error {
		if orig != nil {
			if err := orig(c, args); err != nil {
				if c.HasParent() && !strings.Contains(err.Error(), `"`+c.CommandPath()+`"`) {
					// "accepts 1 arg(s)" alone does not say whose.
					err = fmt.Errorf("%s: %w", strings.TrimPrefix(c.CommandPath(), c.Root().Name()+" "), err)
				}
				return &UsageError{Err: err, Hint: "usage: " + c.UseLine()}
			}
		}
		// Cobra checks these after the pre-run hooks and returns plain
		// errors; here, flags are parsed already and the error is typed.
		for _, check := range []func() error{c.ValidateRequiredFlags, c.ValidateFlagGroups} {
			if err := check(); err != nil {
				return &UsageError{Err: err, Hint: fmt.Sprintf("see '%s --help'", c.CommandPath())}
			}
		}
		return nil
	}
}

func unknownCommand(c *cobra.Command, args []string) error {
	if len(args) == 0 {
		return nil
	}
	hint := fmt.Sprintf("see '%s --help' for its commands", c.CommandPath())
	if c.SuggestionsMinimumDistance <= 0 {
		c.SuggestionsMinimumDistance = 2 // cobra's default, set lazily only on its own path
	}
	if s := c.SuggestionsFor(args[0]); len(s) > 0 {
		hint = fmt.Sprintf("did you mean '%s %s'?", c.CommandPath(), s[0])
	}
	return &UsageError{Err: fmt.Errorf("unknown command %q for %q", args[0], c.CommandPath()), Hint: hint}
}

// helpTopic refuses `help nosuch`, which cobra answers with the root's
// usage and exit 0.
func helpTopic(c *cobra.Command, args []string) error {
	if len(args) == 0 {
		return nil
	}
	found, rest, err := c.Root().Find(args)
	if err == nil && found != nil && len(rest) == 0 {
		return nil
	}
	return &UsageError{
		Err:  fmt.Errorf("unknown help topic %q", strings.Join(args, " ")),
		Hint: fmt.Sprintf("see '%s help' for the commands", c.Root().Name()),
	}
}
