package cmdutil

import (
	"fmt"
	"slices"
	"strings"

	"github.com/docker/cli/cli"
	"github.com/spf13/cobra"
)

// suggestDistance is how far (in Levenshtein edits) a mistyped command may
// be from a real one to be suggested: cobra's default.
const suggestDistance = 2

// GroupArgs is the Args check of the root and of command groups (key,
// signer): cli.NoArgs, whose "unknown command" error says nothing of what
// was meant, plus cobra's "Did you mean this?" suggestions. Cobra adds
// those only for a root command without an Args check, so a group with
// cli.NoArgs never got them. The error stays a usage error (exit 125)
// through explain.Commands.
func GroupArgs(cmd *cobra.Command, args []string) error {
	if len(args) == 0 || !cmd.HasSubCommands() {
		return cli.NoArgs(cmd, args)
	}
	if cmd.SuggestionsMinimumDistance <= 0 {
		cmd.SuggestionsMinimumDistance = suggestDistance
	}
	var did string
	if s := closest(cmd, args[0]); len(s) > 0 {
		did = "\n\nDid you mean this?\n\t" + strings.Join(s, "\n\t")
	}
	// cli.NoArgs's words, with the suggestions before the usage line.
	return fmt.Errorf("%[1]s: unknown command: %[2]s %[3]s%[4]s\n\nUsage:  %[5]s\n\nRun '%[2]s --help' for more information",
		cmd.Root().Name(), cmd.CommandPath(), args[0], did, cmd.UseLine())
}

// closest is cobra's SuggestionsFor (names within suggestDistance edits or
// starting with what was typed, and each command's SuggestFor), narrowed
// to the nearest ones, as git does: "pul" suggests pull, not also push.
func closest(cmd *cobra.Command, typed string) []string {
	names := cmd.SuggestionsFor(typed)
	best, out := -1, []string(nil)
	for _, name := range names {
		d := editDistance(strings.ToLower(typed), strings.ToLower(name))
		for _, sub := range cmd.Commands() {
			if sub.Name() == name && slices.ContainsFunc(sub.SuggestFor, func(s string) bool { return strings.EqualFold(s, typed) }) {
				d = 0
			}
		}
		switch {
		case best < 0 || d < best:
			best, out = d, []string{name}
		case d == best && !slices.Contains(out, name):
			out = append(out, name)
		}
	}
	return out
}

// editDistance is the Levenshtein distance between a and b.
func editDistance(a, b string) int {
	ra, rb := []rune(a), []rune(b)
	prev := make([]int, len(rb)+1)
	for j := range prev {
		prev[j] = j
	}
	for i := 1; i <= len(ra); i++ {
		cur := make([]int, len(rb)+1)
		cur[0] = i
		for j := 1; j <= len(rb); j++ {
			cost := 1
			if ra[i-1] == rb[j-1] {
				cost = 0
			}
			cur[j] = min(prev[j]+1, cur[j-1]+1, prev[j-1]+cost)
		}
		prev = cur
	}
	return prev[len(rb)]
}
