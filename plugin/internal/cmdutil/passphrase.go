package cmdutil

import (
	"fmt"

	"github.com/acrtrust/docker-acrtrust/internal/keyid"
	"github.com/acrtrust/docker-acrtrust/keystore"
)

// WarnShortPassphrase is keystore.Sources.ShortEnv for every command: a new
// key protected by a passphrase from the environment shorter than
// keystore.MinPassphraseLength is made, as Docker made it (pipelines that
// worked keep working), and the user is told how to strengthen it.
func (d *Deps) WarnShortPassphrase(w *keystore.ShortEnvPassphrase) {
	_, _ = fmt.Fprintf(d.CLI.Err(), "WARNING: %v. The terminal and --passphrase-stdin ask for at least %d: give the key a longer one with `docker acrtrust key passwd %s`, then set %s to it.\n",
		w, keystore.MinPassphraseLength, keyid.Short(w.KeyID), w.Variable)
}
