package key

import (
	"errors"

	"github.com/spf13/cobra"

	"github.com/acrtrust/docker-acrtrust/keystore"
	"github.com/acrtrust/docker-acrtrust/plugin/internal/cmdutil"
	"github.com/acrtrust/docker-acrtrust/trust"
)

// withKeyRemedies makes the key commands' errors carry their remedies: the
// key commands' own (keyRemedy), else those of the step that failed
// (Deps.Explained: passphrases, key files, the trust server).
func withKeyRemedies(d *cmdutil.Deps, cmd *cobra.Command) {
	for _, c := range cmd.Commands() {
		run := c.RunE
		if run == nil {
			continue
		}
		c.RunE = func(c *cobra.Command, args []string) error {
			err := run(c, args)
			if r := keyRemedy(err); r != "" {
				return cmdutil.WithRemedy(err, r)
			}
			return d.Explained(err)
		}
	}
}

// keyRemedy says what to do about what the key commands meet: a backup or
// restore that would overwrite files, a key that is not there, a rotation
// of a role by the wrong side, and no passphrase.
func keyRemedy(err error) string {
	var (
		conflict *keystore.ConflictError
		exists   *keystore.ExistsError
		notFound *keystore.KeyNotFoundError
		rotate   *trust.RotateRoleError
	)
	switch {
	case errors.Is(err, keystore.ErrNoPassphraseSource):
		return "Key commands also read a passphrase from stdin with --passphrase-stdin."
	case errors.As(err, &conflict):
		return "Add --force to replace them with the archive's copies; the replaced files are lost unless backed up."
	case errors.As(err, &exists):
		return "Add --force to overwrite it, or name another file with -o."
	case errors.As(err, &notFound):
		return "List the keys on this machine with `docker acrtrust key list`."
	case errors.As(err, &rotate):
		switch rotate.Role.String() {
		case "snapshot", "timestamp":
			return "Add --server-managed."
		case "targets":
			return "Rotate it without --server-managed."
		case "root":
			return "Rotate it without --server-managed: the new root key is made on this machine."
		}
	}
	return ""
}
