package key

import (
	"github.com/acrtrust/docker-acrtrust/plugin/internal/cmdutil"

	"github.com/docker/cli/cli/command"
	"github.com/spf13/cobra"
	"github.com/spf13/pflag"
	"github.com/theupdateframework/notary"

	"github.com/acrtrust/docker-acrtrust/keystore"
)

func NewCommand(d *cmdutil.Deps) *cobra.Command {
	cmd := &cobra.Command{
		Use:   "key",
		Short: "Manage keys for signing Docker images",
		Long: `Manage the private keys of Docker content trust, kept where Docker kept them
($DOCKER_CONFIG/trust/private) and in the same format, so that keys made by
docker trust, the notary CLI and this plugin work with all three.`,
		Args: cmdutil.GroupArgs,
		RunE: command.ShowHelp(d.CLI.Err()),
	}
	cmd.AddCommand(
		newKeyGenerateCommand(d),
		newKeyLoadCommand(d),
		newKeyListCommand(d),
		newKeyBackupCommand(d),
		newKeyRestoreCommand(d),
		newKeyRotateCommand(d),
		newKeyPasswdCommand(d),
	)
	withKeyRemedies(d, cmd)
	return cmd
}

const passphraseStdinFlag = "passphrase-stdin"

func addPassphraseStdinFlag(flags *pflag.FlagSet, target *bool, usage string) {
	flags.BoolVar(target, passphraseStdinFlag, false, usage)
}

// keyPrompter prompts on the docker CLI's streams when stdin is a terminal.
func keyPrompter(d *cmdutil.Deps) keystore.Prompter {
	return keystore.Prompter{In: d.CLI.In(), Out: d.CLI.Out(), IsTerminal: d.CLI.In().IsTerminal()}
}

// newKeyRetriever is where key generate and key load get passphrases:
// with --passphrase-stdin one line of stdin (for the new key, and for an
// encrypted file being loaded), then the environment, then the terminal.
func newKeyRetriever(d *cmdutil.Deps, fromStdin bool) (notary.PassRetriever, error) {
	s := keystore.Sources{Env: d.Env.Passphrases, Prompter: keyPrompter(d), ShortEnv: d.WarnShortPassphrase}
	if fromStdin {
		lines, err := keystore.ReadPassphrases(d.CLI.In(), 1)
		if err != nil {
			return nil, err
		}
		// stdin is spoken for: never prompt on it as well.
		s.Stdin, s.Prompter = lines[0], keystore.Prompter{}
	}
	r, _ := keystore.RetrieverFrom(s)
	return r, nil
}
