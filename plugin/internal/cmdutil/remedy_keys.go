package cmdutil

import (
	"errors"
	"fmt"

	"github.com/acrtrust/docker-acrtrust/keystore"
	"github.com/acrtrust/docker-acrtrust/trust"
)

// Remedies for the key commands' errors.

// passphraseSourceRemedy says what to do about the key store's errors:
// passphrases, key files, archives, and keys met by any command.
func passphraseSourceRemedy(err error) string {
	var (
		wrong    *keystore.WrongPassphraseError
		conflict *keystore.ConflictError
		exists   *keystore.ExistsError
		open     *keystore.PermissionError
		notFound *keystore.KeyNotFoundError
		rotate   *trust.RotateRoleError
	)
	switch {
	case errors.As(err, &wrong) && wrong.Variable != "":
		return fmt.Sprintf("Set %s to the passphrase of that key (%s is for the root key, %s for repository and signer keys).",
			wrong.Variable, keystore.EnvRootPassphrase, keystore.EnvRepositoryPassphrase)
	case errors.As(err, &wrong) && wrong.Source == keystore.SourceStdin:
		return "Check the passphrase given on stdin: one line, without trailing spaces unless the passphrase has them."
	case errors.Is(err, keystore.ErrNoPassphraseSource):
		return "In a pipeline, set them from the pipeline's secrets (docs/ci.md); on a workstation, run the command in a terminal to be asked."
	case errors.As(err, &conflict):
		return "Add --force to replace them with the archive's copies; the replaced files are lost unless backed up."
	case errors.As(err, &exists):
		return "Add --force to overwrite it, or name another file with -o."
	case errors.As(err, &open):
		return fmt.Sprintf("Make it private to its owner first: chmod 600 %s", open.Path)
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
