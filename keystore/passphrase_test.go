package keystore

import (
	"bytes"
	"errors"
	"strings"
	"testing"

	"gotest.tools/v3/assert"
)

func TestRetrieverEnvironment(t *testing.T) {
	r, lastErr := Retriever(Env{RootPassphrase: "root-pass", RepositoryPassphrase: "repo-pass"}, Prompter{})
	for alias, want := range map[string]string{
		"root": "root-pass", "targets": "repo-pass", "snapshot": "repo-pass", "targets/releases": "repo-pass", "targets/alice": "repo-pass",
	} {
		got, giveup, err := r("0123456789abcdef", alias, false, 0)
		assert.NilError(t, err)
		assert.Check(t, !giveup)
		assert.Check(t, got == want, "alias %s: got %q want %q", alias, got, want)
	}
	assert.NilError(t, lastErr())
}

func TestRetrieverWrongEnvPassphraseGivesUpAndNamesKey(t *testing.T) {
	r, lastErr := Retriever(Env{RepositoryPassphrase: "wrong"}, Prompter{})
	// notary asks again after a failed decryption; Docker retried once.
	_, giveup, err := r("4c6c56a0123456", "targets", false, 1)
	assert.NilError(t, err)
	assert.Check(t, !giveup)
	_, giveup, err = r("4c6c56a0123456", "targets", false, 2)
	assert.Check(t, giveup)
	var wp *WrongPassphraseError
	assert.Assert(t, errors.As(err, &wp))
	assert.Error(t, lastErr(), "the passphrase in DOCKER_CONTENT_TRUST_REPOSITORY_PASSPHRASE does not decrypt the targets key 4c6c56a")
}

func TestRetrieverNoTerminalNoEnvFailsAtOnce(t *testing.T) {
	// stdin has data but is not a terminal: it must not be read as a passphrase.
	r, lastErr := Retriever(Env{}, Prompter{In: strings.NewReader("secret123\n"), Out: &bytes.Buffer{}, IsTerminal: false})
	_, giveup, err := r("abc", "root", true, 0)
	assert.Check(t, giveup)
	assert.ErrorIs(t, err, ErrNoPassphraseSource)
	assert.ErrorContains(t, lastErr(), "DOCKER_CONTENT_TRUST_ROOT_PASSPHRASE")
	assert.ErrorContains(t, lastErr(), "DOCKER_CONTENT_TRUST_REPOSITORY_PASSPHRASE")
}

func TestRetrieverRootEnvDoesNotServeRepositoryKeys(t *testing.T) {
	r, _ := Retriever(Env{RootPassphrase: "root-pass"}, Prompter{})
	_, giveup, err := r("abc", "targets", true, 0)
	assert.Check(t, giveup)
	assert.ErrorIs(t, err, ErrNoPassphraseSource)
}
