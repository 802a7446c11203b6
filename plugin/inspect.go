package plugin

import (
	"context"
	"errors"
	"fmt"
	"io"

	"github.com/acrtrust/docker-acrtrust/plugin/internal/cmdutil"

	"github.com/docker/cli/cli"
	"github.com/spf13/cobra"

	"github.com/acrtrust/docker-acrtrust/trust"
)

type inspectOptions struct {
	remotes []string
	pretty  bool
	format  string
}

func newInspectCommand(d *cmdutil.Deps) *cobra.Command {
	var opts inspectOptions
	cmd := &cobra.Command{
		Use:   "inspect [OPTIONS] IMAGE[:TAG] [IMAGE[:TAG]...]",
		Short: "Return low-level information about keys and signatures",
		Long: `Show the signed tags of a repository (or of one tag), their digests and who
signed them, the signers and their keys, and the repository's root and
repository keys, from trust data that notary has verified.

The JSON is the same as docker trust inspect printed, field for field;
--pretty prints the same tables as docker trust inspect --pretty. For a
pinned repository (see "docker acrtrust pin") both add what it is pinned
to: a "Pinned" object in the JSON, a "Pinned" line after the tables.`,
		Args: cli.RequiresMinArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			opts.remotes = args
			return runInspect(cmd.Context(), d, opts)
		},
	}
	cmd.Flags().BoolVar(&opts.pretty, "pretty", false, "Print the information in a human friendly format")
	cmdutil.AddFormatFlag(cmd, &opts.format, cmdutil.JSONOrTemplate)
	return cmd
}

func runInspect(ctx context.Context, d *cmdutil.Deps, opts inspectOptions) error {
	out := d.CLI.Out()
	if opts.pretty && opts.format != "" {
		return cmdutil.UsageError{Err: errors.New("--pretty and --format cannot be used together")}
	}
	if opts.pretty {
		for i, remote := range opts.remotes {
			r, err := inspectOne(ctx, d, remote)
			if err != nil {
				return err
			}
			if err := cmdutil.WriteInspectPretty(out, r); err != nil {
				return err
			}
			if i < len(opts.remotes)-1 {
				_, _ = io.WriteString(out, "\n\n")
			}
		}
		return nil
	}

	// As docker's inspect: every argument that can be read is printed,
	// and the errors of the others follow.
	var results []cmdutil.Inspected
	var errs []error
	invalid := 0
	for _, remote := range opts.remotes {
		ref, err := parseInspectArg(remote)
		if err != nil {
			invalid++
			errs = append(errs, err)
			continue
		}
		r, err := readInspect(ctx, d, remote, ref)
		if err != nil {
			errs = append(errs, err)
			continue
		}
		results = append(results, r)
	}
	// Docker printed "[]" even when no argument was a valid reference:
	// a typo then looked like an empty answer to scripts reading stdout.
	// When nothing could even be asked for, print nothing.
	if invalid == len(opts.remotes) {
		return errors.Join(errs...)
	}
	var err error
	if opts.format == "" || cmdutil.IsJSONFormat(opts.format) {
		err = cmdutil.WriteInspectJSON(out, results)
	} else {
		items := make([]cmdutil.InspectJSON, 0, len(results))
		for _, r := range results {
			items = append(items, cmdutil.ToInspectJSON(r))
		}
		err = cmdutil.WriteTemplate(out, opts.format, items)
	}
	if err != nil {
		return err
	}
	return errors.Join(errs...)
}

// inspectOne reads the trust data of one argument of inspect.
func inspectOne(ctx context.Context, d *cmdutil.Deps, remote string) (cmdutil.Inspected, error) {
	ref, err := parseInspectArg(remote)
	if err != nil {
		return cmdutil.Inspected{}, err
	}
	return readInspect(ctx, d, remote, ref)
}

// parseInspectArg checks one argument of inspect before anything is asked
// of a server: it must be a reference, and not a digest reference.
func parseInspectArg(remote string) (trust.Ref, error) {
	return cmdutil.ParseTrustRef(remote, false)
}

// readInspect reads the trust data of ref, the argument remote as typed.
func readInspect(ctx context.Context, d *cmdutil.Deps, remote string, ref trust.Ref) (cmdutil.Inspected, error) {
	repo, err := d.OpenRepo(ctx, ref, false)
	if err != nil {
		return cmdutil.Inspected{}, d.Explained(cmdutil.ConnectionError(err))
	}
	info, err := trust.Inspect(ctx, repo, ref.Tag)
	if err != nil {
		// Docker's words, which scripts look for, then why.
		return cmdutil.Inspected{}, d.Explained(fmt.Errorf("no signatures or cannot access %s: %w", remote, err))
	}
	r := cmdutil.Inspected{Name: remote, Info: info}
	if pin, ok := d.Pins.Lookup(ref.GUN()); ok {
		r.Pin = &pin
	}
	return r, nil
}
