package keystore

import (
	"errors"
	"os"
	"testing"

	"github.com/theupdateframework/notary/tuf/data"
	"github.com/theupdateframework/notary/tuf/utils"
	"gotest.tools/v3/assert"
)

func TestChangePassphrase(t *testing.T) {
	trustDir, ids := populated(t)
	targets := ids[1]
	// A looser mode is tightened by the rewrite.
	assert.NilError(t, os.Chmod(KeyFile(trustDir, targets), 0o644))

	k, err := ChangePassphrase(trustDir, targets[:7], FixedRetriever(fixturePass, SourceStdin), FixedRetriever("new-passphrase", SourceStdin))
	assert.NilError(t, err)
	assert.Equal(t, k.ID, targets)
	assertStoredKey(t, trustDir, targets, data.CanonicalTargetsRole, "reg.example/app", "new-passphrase")
	b, err := os.ReadFile(KeyFile(trustDir, targets))
	assert.NilError(t, err)
	_, err = utils.ParsePEMPrivateKey(b, fixturePass)
	assert.Assert(t, err != nil, "the old passphrase still decrypts the key")
}

func TestChangePassphraseFailures(t *testing.T) {
	trustDir, ids := populated(t)
	before := tree(t, trustDir)

	t.Run("wrong current passphrase names key and role", func(t *testing.T) {
		_, err := ChangePassphrase(trustDir, ids[0], FixedRetriever("wrong-passphrase", SourceStdin), FixedRetriever("new-passphrase", SourceStdin))
		assert.ErrorContains(t, err, "decrypting the root key "+ids[0][:7]+": the passphrase from stdin does not decrypt the root key "+ids[0][:7])
		var wrong *WrongPassphraseError
		assert.Assert(t, errors.As(err, &wrong))
		assert.Equal(t, wrong.KeyID, ids[0])
		assert.Equal(t, wrong.Role, "root")
	})
	t.Run("wrong env passphrase", func(t *testing.T) {
		_, err := ChangePassphrase(trustDir, ids[2], envRetriever("", "wrong-passphrase"), FixedRetriever("new-passphrase", SourceStdin))
		assert.ErrorContains(t, err, "the passphrase in DOCKER_CONTENT_TRUST_REPOSITORY_PASSPHRASE does not decrypt the alice key "+ids[2][:7])
	})
	t.Run("short new passphrase", func(t *testing.T) {
		_, err := ChangePassphrase(trustDir, ids[2], FixedRetriever(fixturePass, SourceStdin), FixedRetriever("short", SourceStdin))
		assert.ErrorIs(t, err, ErrPassphraseTooShort)
	})
	t.Run("unknown key", func(t *testing.T) {
		_, err := ChangePassphrase(trustDir, "0123456789", FixedRetriever(fixturePass, SourceStdin), FixedRetriever("new-passphrase", SourceStdin))
		var nf *KeyNotFoundError
		assert.Assert(t, errors.As(err, &nf), "got %v", err)
	})
	t.Run("prefix too short", func(t *testing.T) {
		_, err := ChangePassphrase(trustDir, ids[0][:3], FixedRetriever(fixturePass, SourceStdin), FixedRetriever("new-passphrase", SourceStdin))
		var nf *KeyNotFoundError
		assert.Assert(t, errors.As(err, &nf), "got %v", err)
	})
	assert.DeepEqual(t, tree(t, trustDir), before)
}
