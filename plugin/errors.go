package plugin

import (
	"context"
	"errors"
	"fmt"

	"github.com/docker/cli/cli"
	"github.com/spf13/cobra"
)

// Exit codes, as docker uses them.
const (
	exitFailure = 1
	exitUsage   = 125
	// exitInterrupted is 128 + SIGINT, as a shell reports a command
	// stopped by Ctrl-C.
	exitInterrupted = 130
)

// flagErrorFunc makes flag errors usage errors (exit 125), as in docker.
func flagErrorFunc(cmd *cobra.Command, err error) error {
	return cli.StatusError{
		Status:     fmt.Sprintf("%s\nSee '%s --help'.", err, cmd.CommandPath()),
		StatusCode: exitUsage,
	}
}

// userError turns an error into what the user reads: the message
// (Docker's wording where scripts grep it), then the remedy the error
// carries, and an exit code.
func (d *deps) userError(err error) error {
	if err == nil {
		return nil
	}
	var st cli.StatusError
	if errors.As(err, &st) {
		return err
	}
	var ue usageError
	if errors.As(err, &ue) {
		return cli.StatusError{Status: err.Error(), StatusCode: exitUsage}
	}
	msg := err.Error()
	if r := RemedyOf(err); r != "" {
		msg += "\n" + r
	}
	code := exitFailure
	if d.ctx != nil && errors.Is(context.Cause(d.ctx), errInterrupted) {
		code = exitInterrupted
	}
	return cli.StatusError{Status: msg, StatusCode: code}
}
