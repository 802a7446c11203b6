package cmdutil

import (
	"errors"
	"fmt"

	"github.com/acrtrust/docker-acrtrust/keystore"
)

// Remedies for the passphrases and key files that any command that signs
// meets; the key commands add their own (plugin/key/remedy.go).

// passphraseSourceRemedy says what to do about a passphrase that could not
// be had or was wrong, and a key file that is not private.
func passphraseSourceRemedy(err error) string {
	var (
		wrong *keystore.WrongPassphraseError
		open  *keystore.PermissionError
	)
	switch {
	case errors.As(err, &wrong) && wrong.Variable != "":
		return fmt.Sprintf("Set %s to the passphrase of that key (%s is for the root key, %s for repository and signer keys).",
			wrong.Variable, keystore.EnvRootPassphrase, keystore.EnvRepositoryPassphrase)
	case errors.As(err, &wrong) && wrong.Source == keystore.SourceStdin:
		return "Check the passphrase given on stdin: one line, without trailing spaces unless the passphrase has them."
	case errors.Is(err, keystore.ErrNoPassphraseSource):
		return "In a pipeline, set them from the pipeline's secrets (docs/ci.md); on a workstation, run the command in a terminal to be asked."
	case errors.As(err, &open):
		return fmt.Sprintf("Make it private to its owner first: chmod 600 %s", open.Path)
	}
	return ""
}
