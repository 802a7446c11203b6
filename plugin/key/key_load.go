package key

import (
	"errors"
	"fmt"

	"github.com/acrtrust/docker-acrtrust/plugin/internal/cmdutil"

	"github.com/docker/cli/cli"
	"github.com/spf13/cobra"

	"github.com/acrtrust/docker-acrtrust/keystore"
)

type keyLoadOptions struct {
	keyName         string
	nameChanged     bool
	file            string
	passphraseStdin bool
}

func newKeyLoadCommand(d *cmdutil.Deps) *cobra.Command {
	var opts keyLoadOptions
	cmd := &cobra.Command{
		Use:   "load [OPTIONS] KEYFILE",
		Short: "Load a private key file for signing",
		Long: `Import a private key into $DOCKER_CONFIG/trust/private: PKCS#8, EC or RSA PEM,
encrypted or not. An encrypted file's passphrase is asked for (or taken from
DOCKER_CONTENT_TRUST_REPOSITORY_PASSPHRASE or --passphrase-stdin); the stored
copy is encrypted with the repository key passphrase, as with Docker. The key
file must be readable and writable by its owner only.

The command fails unless the key is in the key store afterwards.`,
		Args: cli.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			opts.file = args[0]
			opts.nameChanged = cmd.Flags().Changed("name")
			return runKeyLoad(d, opts)
		},
	}
	flags := cmd.Flags()
	flags.StringVar(&opts.keyName, "name", keystore.DefaultLoadName, "Name for the loaded key")
	addPassphraseStdinFlag(flags, &opts.passphraseStdin, "Read the passphrase from stdin (one line): of the file if encrypted, and for the stored key")
	return cmd
}

func runKeyLoad(d *cmdutil.Deps, opts keyLoadOptions) error {
	if err := keystore.CheckName(opts.keyName); err != nil {
		return err
	}
	retriever, err := newKeyRetriever(d, opts.passphraseStdin)
	if err != nil {
		return err
	}
	out := d.CLI.Out()
	_, _ = fmt.Fprintf(out, "Loading key from \"%s\"...\n", opts.file)
	b, err := keystore.ReadPrivateKeyFile(opts.file)
	if err != nil {
		return fmt.Errorf("refusing to load key from %s: %w", opts.file, err)
	}
	res, err := keystore.Load(d.TrustDir(), b, keystore.LoadOptions{Name: opts.keyName}, retriever)
	if errors.Is(err, keystore.ErrNotPrivateKey) {
		return fmt.Errorf("error importing key from %s: provided file %s is not a supported private key - to add a signer's public key use docker acrtrust signer add", opts.file, opts.file)
	}
	if err != nil {
		return fmt.Errorf("error importing key from %s: %w", opts.file, err)
	}
	if opts.nameChanged && res.Role.String() != opts.keyName {
		_, _ = fmt.Fprintf(d.CLI.Err(), "WARNING: %s names its role (%s) in its PEM headers; --name %s was not used\n", opts.file, res.Role, opts.keyName)
	}
	if res.Existed {
		_, _ = fmt.Fprintf(out, "Key %s is already in the key store as a %s key; nothing was changed\n", res.ID, res.Role)
	}
	_, _ = fmt.Fprintln(out, "Successfully imported key from", opts.file)
	_, _ = fmt.Fprintf(out, "Key ID: %s (role %s)\n", res.ID, res.Role)
	return nil
}
