package keystore

import (
	"testing"

	"github.com/theupdateframework/notary/cryptoservice"
	"github.com/theupdateframework/notary/trustmanager"
	"github.com/theupdateframework/notary/tuf/data"
	"gotest.tools/v3/assert"
	is "gotest.tools/v3/assert/cmp"
)

// TestShortEnvPassphraseMakesKeysAndWarns: Docker took a passphrase from
// DOCKER_CONTENT_TRUST_*_PASSPHRASE whatever its length, so a pipeline
// with a short one still makes its keys and opens them later; each new key
// is reported once to ShortEnv, naming the variable, so the plugin can
// warn (issue 17). Keys opened later, and long passphrases, are not reported.
func TestShortEnvPassphraseMakesKeysAndWarns(t *testing.T) {
	dir := t.TempDir()
	var warned []*ShortEnvPassphrase
	env := Env{RootPassphrase: "rootpw", RepositoryPassphrase: "repo-passphrase"}
	r, lastErr := RetrieverFrom(Sources{Env: env, ShortEnv: func(w *ShortEnvPassphrase) { warned = append(warned, w) }})
	store, err := trustmanager.NewKeyFileStore(dir, r)
	assert.NilError(t, err)
	cs := cryptoservice.NewCryptoService(store)
	root, err := cs.Create(data.CanonicalRootRole, "", data.ECDSAKey)
	assert.NilError(t, err)
	_, err = cs.Create(data.CanonicalTargetsRole, "reg.example/app", data.ECDSAKey)
	assert.NilError(t, err)
	assert.NilError(t, lastErr())

	assert.Assert(t, is.Len(warned, 1), "%+v", warned)
	assert.Check(t, is.Equal(warned[0].Variable, EnvRootPassphrase))
	assert.Check(t, is.Equal(warned[0].KeyID, root.ID()))
	assert.Check(t, is.Error(warned[0], "the passphrase in DOCKER_CONTENT_TRUST_ROOT_PASSPHRASE is shorter than 8 characters; the new root key "+
		root.ID()[:7]+" is protected by it all the same, as Docker did"))

	// The key opens again with the same short passphrase, unreported.
	warned = nil
	r, _ = RetrieverFrom(Sources{Env: env, ShortEnv: func(w *ShortEnvPassphrase) { warned = append(warned, w) }})
	store, err = trustmanager.NewKeyFileStore(dir, r)
	assert.NilError(t, err)
	_, role, err := store.GetKey(root.ID())
	assert.NilError(t, err)
	assert.Check(t, is.Equal(role, data.CanonicalRootRole))
	assert.Check(t, is.Len(warned, 0))
}

// TestShortStdinPassphraseIsStillRefused: --passphrase-stdin keeps the
// minimum that the terminal prompt has.
func TestShortStdinPassphraseIsStillRefused(t *testing.T) {
	r, lastErr := RetrieverFrom(Sources{Stdin: "short", ShortEnv: func(*ShortEnvPassphrase) { t.Error("stdin reported as the environment") }})
	_, giveup, err := r("abc", "targets", true, 0)
	assert.Check(t, giveup)
	assert.Check(t, is.ErrorIs(err, ErrPassphraseTooShort))
	assert.Check(t, is.ErrorIs(lastErr(), ErrPassphraseTooShort))
}
