package main

import (
	"slices"
	"strings"

	"github.com/spf13/cobra"

	"github.com/vigil-metrics/vigil/cmd/internal/cli"
)

// formatsKey is the --output flag's annotation holding the formats its
// command writes, so that one check serves every command.
const formatsKey = "vigil_output_formats"

// outputFlag adds -o/--output to cmd: one of formats, the first the default.
func outputFlag(cmd *cobra.Command, p *string, formats ...string) {
	cmd.Flags().StringVarP(p, "output", "o", formats[0], "output: "+orList(formats))
	_ = cmd.Flags().SetAnnotation("output", formatsKey, formats) // the flag was just added
}

// checkOutput refuses an --output value its command does not write (exit 2).
func checkOutput(cmd *cobra.Command) error {
	f := cmd.Flags().Lookup("output")
	if f == nil {
		return nil
	}
	formats := f.Annotations[formatsKey]
	if v := f.Value.String(); len(formats) > 0 && !slices.Contains(formats, v) {
		return cli.Usagef("--output %q: want %s", v, orList(formats))
	}
	return nil
}

// orList writes "a, b or c".
func orList(xs []string) string {
	if len(xs) < 2 {
		return strings.Join(xs, "")
	}
	return strings.Join(xs[:len(xs)-1], ", ") + " or " + xs[len(xs)-1]
}
