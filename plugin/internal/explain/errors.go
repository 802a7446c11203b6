package explain

import (
	"context"
	"errors"
	"fmt"

	"github.com/acrtrust/docker-acrtrust/internal/safetext"
	"github.com/acrtrust/docker-acrtrust/plugin/internal/cmdutil"

	"github.com/docker/cli/cli"
	"github.com/spf13/cobra"
)

// FlagErrorFunc makes flag errors usage errors (exit 125), as in docker.
func FlagErrorFunc(cmd *cobra.Command, err error) error {
	return cli.StatusError{
		Status:     fmt.Sprintf("%s\nSee '%s --help'.", err, cmd.CommandPath()),
		StatusCode: cmdutil.ExitUsage,
	}
}

// Error turns an error into what the user reads: the message
// (Docker's wording where scripts grep it), then the remedy the error
// carries, and an exit code.
func Error(d *cmdutil.Deps, err error) error {
	if err == nil {
		return nil
	}
	if st, ok := err.(cli.StatusError); ok {
		st.Status = safetext.EscapeText(st.Status)
		return st
	}
	var st cli.StatusError
	if errors.As(err, &st) {
		return err
	}
	var ue cmdutil.UsageError
	if errors.As(err, &ue) {
		return cli.StatusError{Status: safetext.EscapeText(err.Error()), StatusCode: cmdutil.ExitUsage}
	}
	code := cmdutil.ExitFailure
	if d.Ctx != nil && errors.Is(context.Cause(d.Ctx), errInterrupted) {
		code = cmdutil.ExitInterrupted
	}
	// Messages carry names and words from registries and trust servers:
	// shown on a terminal, their control characters are escaped.
	return cli.StatusError{Status: safetext.EscapeText(Message(err)), StatusCode: code}
}

// Message is the message and the remedy err carries, as they are: for
// reports whose JSON must stay exact (verify, audit, migrate). Text output
// escapes it (safetext.EscapeText) where it prints it.
func Message(err error) string {
	msg := err.Error()
	if r := cmdutil.RemedyOf(err); r != "" {
		msg += "\n" + r
	}
	return msg
}
