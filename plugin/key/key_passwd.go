package key

import (
	"errors"
	"fmt"

	"github.com/acrtrust/docker-acrtrust/plugin/internal/cmdutil"

	"github.com/docker/cli/cli"
	"github.com/spf13/cobra"
	"github.com/theupdateframework/notary"

	"github.com/acrtrust/docker-acrtrust/keystore"
)

type keyPasswdOptions struct {
	keyID           string
	passphraseStdin bool
}

// errPasswdNeedsTerminal: no terminal to ask, and no --passphrase-stdin.
var errPasswdNeedsTerminal = errors.New("key passwd needs a terminal to ask for the passphrases")

func newKeyPasswdCommand(d *cmdutil.Deps) *cobra.Command {
	var opts keyPasswdOptions
	cmd := &cobra.Command{
		Use:   "passwd [OPTIONS] KEYID",
		Short: "Change the passphrase of a key",
		Long: `Change the passphrase of the key KEYID (the full ID, or a unique prefix of at
least 7 characters, as "docker acrtrust key list" shows them). In a terminal
the current passphrase is asked once and the new one twice, hidden. With
--passphrase-stdin, stdin holds two lines: the current passphrase, then the
new one. The DOCKER_CONTENT_TRUST_*_PASSPHRASE variables are not used.

The key file is replaced atomically and stays 0600.`,
		Args: cli.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			opts.keyID = args[0]
			return runKeyPasswd(d, opts)
		},
	}
	addPassphraseStdinFlag(cmd.Flags(), &opts.passphraseStdin, "Read the current and the new passphrase from stdin (two lines)")
	return cmd
}

func runKeyPasswd(d *cmdutil.Deps, opts keyPasswdOptions) error {
	var current, next notary.PassRetriever
	if opts.passphraseStdin {
		lines, err := keystore.ReadPassphrases(d.CLI.In(), 2)
		if err != nil {
			return err
		}
		current = keystore.FixedRetriever(lines[0], keystore.SourceStdin)
		next = keystore.FixedRetriever(lines[1], keystore.SourceStdin)
	} else {
		if !d.CLI.In().IsTerminal() {
			return cmdutil.WithRemedy(errPasswdNeedsTerminal, "In a pipeline, use --passphrase-stdin with the current passphrase and the new one on two lines of stdin.")
		}
		// Two retrievers: notary's prompt caches per role, and the new
		// passphrase must not be the cached current one.
		current, _ = keystore.RetrieverFrom(keystore.Sources{Prompter: keyPrompter(d)})
		next, _ = keystore.RetrieverFrom(keystore.Sources{Prompter: keyPrompter(d)})
	}
	k, err := keystore.ChangePassphrase(d.TrustDir(), opts.keyID, current, next)
	if err != nil {
		return err
	}
	_, _ = fmt.Fprintf(d.CLI.Out(), "Successfully updated passphrase for key ID: %s\n", k.ID)
	return nil
}
