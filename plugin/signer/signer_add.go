package signer

import (
	"context"
	"errors"
	"fmt"
	"strings"

	"github.com/acrtrust/docker-acrtrust/plugin/internal/cmdutil"
	"github.com/acrtrust/docker-acrtrust/plugin/internal/explain"

	"github.com/docker/cli/cli"
	"github.com/spf13/cobra"
	"github.com/theupdateframework/notary/tuf/data"

	"github.com/acrtrust/docker-acrtrust/internal/capped"
	"github.com/acrtrust/docker-acrtrust/trust"
)

// maxPublicKeyFile bounds what is read from a --key file (as docker: 1 MiB).
const maxPublicKeyFile = 1 << 20

type signerAddOptions struct {
	keys   []string
	signer string
	repos  []string
}

func newSignerAddCommand(d *cmdutil.Deps) *cobra.Command {
	var opts signerAddOptions
	cmd := &cobra.Command{
		Use:   "add OPTIONS NAME REPOSITORY [REPOSITORY...]",
		Short: "Add a signer",
		Long: `Add signer NAME, with the public keys given by --key, to each REPOSITORY:
the keys go into the delegations targets/NAME and targets/releases (every
tag, threshold 1), so that what NAME signs pulls with content trust. A
repository without trust data is initialised first (root key reused or
created, new repository key). Changing delegations needs the repository key.`,
		Args: cli.RequiresMinArgs(2),
		RunE: func(cmd *cobra.Command, args []string) error {
			opts.signer = args[0]
			opts.repos = args[1:]
			return runSignerAdd(cmd.Context(), d, opts)
		},
	}
	cmd.Flags().StringArrayVar(&opts.keys, "key", nil, "Path to the signer's public key file")
	return cmd
}

func runSignerAdd(ctx context.Context, d *cmdutil.Deps, opts signerAddOptions) error {
	if err := trust.ValidateSignerName(opts.signer); err != nil {
		return err
	}
	if len(opts.keys) == 0 {
		return errors.New("path to a public key must be provided using the `--key` flag")
	}
	keys, err := readPublicKeys(opts.keys)
	if err != nil {
		return err
	}
	out := d.CLI.Out()
	var failed []string
	for _, repo := range opts.repos {
		_, _ = fmt.Fprintf(out, "Adding signer %q to %s...\n", opts.signer, repo)
		if err := addSignerToRepo(ctx, d, opts.signer, repo, keys); err != nil {
			_, _ = fmt.Fprintln(d.CLI.Err(), explain.Error(d, err).Error()+"\n")
			failed = append(failed, repo)
			continue
		}
		_, _ = fmt.Fprintf(out, "Successfully added signer: %s to %s\n\n", opts.signer, repo)
	}
	if len(failed) > 0 {
		return fmt.Errorf("failed to add signer to: %s", strings.Join(failed, ", "))
	}
	return nil
}

func addSignerToRepo(ctx context.Context, d *cmdutil.Deps, signer, repoName string, keys []data.PublicKey) error {
	ref, err := trust.ParseRef(repoName)
	if err != nil {
		return err
	}
	repo, err := cmdutil.OpenTrust(ctx, d, ref, true)
	if err != nil {
		return err
	}
	res, err := trust.AddSigner(ctx, repo, signer, keys, trust.AddSignerOptions{
		Initializing: func() {
			_, _ = fmt.Fprintf(d.CLI.Out(), "Initializing signed repository for %s...\n", repoName)
		},
	})
	if err != nil {
		return d.Fail(trust.OpTrustWrite, ref, err)
	}
	if res.Initialized {
		_, _ = fmt.Fprintf(d.CLI.Out(), "Successfully initialized %q\n", repoName)
	}
	return nil
}

// readPublicKeys reads and parses the --key files.
func readPublicKeys(paths []string) ([]data.PublicKey, error) {
	keys := make([]data.PublicKey, 0, len(paths))
	for _, p := range paths {
		b, err := capped.ReadFile(p, maxPublicKeyFile)
		if err != nil {
			return nil, fmt.Errorf("unable to read public key from file: %w", err)
		}
		k, err := trust.ParsePublicKey(b)
		if err != nil {
			return nil, fmt.Errorf("could not parse public key from file: %s: %w", p, err)
		}
		keys = append(keys, k)
	}
	return keys, nil
}
