package explain

import (
	"context"
	"errors"
	"fmt"

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
	var st cli.StatusError
	if errors.As(err, &st) {
		return err
	}
	var ue cmdutil.UsageError
	if errors.As(err, &ue) {
		return cli.StatusError{Status: err.Error(), StatusCode: cmdutil.ExitUsage}
	}
	msg := err.Error()
	if r := cmdutil.RemedyOf(err); r != "" {
		msg += "\n" + r
	}
	code := cmdutil.ExitFailure
	if d.Ctx != nil && errors.Is(context.Cause(d.Ctx), errInterrupted) {
		code = cmdutil.ExitInterrupted
	}
	return cli.StatusError{Status: msg, StatusCode: code}
}
