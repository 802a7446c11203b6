package key

import (
	"fmt"
	"os"

	"github.com/acrtrust/docker-acrtrust/plugin/internal/cmdutil"

	"github.com/docker/cli/cli"
	"github.com/spf13/cobra"

	"github.com/acrtrust/docker-acrtrust/keystore"
)

type keyGenerateOptions struct {
	name            string
	directory       string
	passphraseStdin bool
}

func newKeyGenerateCommand(d *cmdutil.Deps) *cobra.Command {
	var opts keyGenerateOptions
	cmd := &cobra.Command{
		Use:   "generate [OPTIONS] NAME",
		Short: "Generate and load a signing key-pair",
		Long: `Generate an ECDSA P-256 signing key named NAME, store the private key
(encrypted with a passphrase) in $DOCKER_CONFIG/trust/private, and write the
public key to NAME.pub, for a repository owner to add with
"docker acrtrust signer add --key NAME.pub NAME REPOSITORY".`,
		Args: cli.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			opts.name = args[0]
			return runKeyGenerate(d, opts)
		},
	}
	flags := cmd.Flags()
	flags.StringVar(&opts.directory, "dir", "", "Directory to generate key in, defaults to current directory")
	addPassphraseStdinFlag(flags, &opts.passphraseStdin, "Read the new key's passphrase from stdin (one line)")
	return cmd
}

func runKeyGenerate(d *cmdutil.Deps, opts keyGenerateOptions) error {
	dir := opts.directory
	if dir == "" {
		cwd, err := os.Getwd()
		if err != nil {
			return err
		}
		dir = cwd
	}
	gopts := keystore.GenerateOptions{Name: opts.name, PublicDir: dir}
	if err := keystore.CheckGenerate(gopts); err != nil {
		return err
	}
	retriever, err := newKeyRetriever(d, opts.passphraseStdin)
	if err != nil {
		return err
	}
	out := d.CLI.Out()
	_, _ = fmt.Fprintf(out, "Generating key for %s...\n", opts.name)
	res, err := keystore.Generate(d.TrustDir(), gopts, retriever)
	if err != nil {
		return fmt.Errorf("failed to generate key for %s: %w", opts.name, err)
	}
	_, _ = fmt.Fprintln(out, "Successfully generated and loaded private key. Corresponding public key available:", res.PublicKeyFile)
	_, _ = fmt.Fprintf(out, "Key ID: %s\n", res.ID)
	return nil
}
