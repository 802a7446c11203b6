package keystore

import (
	"errors"
	"io"
	"strings"
	"testing"
	"testing/iotest"

	"gotest.tools/v3/assert"
)

func TestReadPassphrases(t *testing.T) {
	for _, tc := range []struct {
		name  string
		input string
		n     int
		want  []string
		err   string
	}{
		{name: "one line", input: "secret passphrase\n", n: 1, want: []string{"secret passphrase"}},
		{name: "no final newline", input: "secret", n: 1, want: []string{"secret"}},
		{name: "crlf", input: "old-pass\r\nnew-pass\r\n", n: 2, want: []string{"old-pass", "new-pass"}},
		{name: "spaces kept", input: "  padded  \n", n: 1, want: []string{"  padded  "}},
		{name: "rest left unread", input: "first\nsecond\n", n: 1, want: []string{"first"}},
		{name: "empty input", input: "", n: 1, err: "expected 1 line(s), got 0"},
		{name: "empty line", input: "\n", n: 1, err: "line 1 is empty"},
		{name: "missing second", input: "old-pass\n", n: 2, err: "expected 2 line(s), got 1"},
		{name: "too long", input: strings.Repeat("x", maxPassphraseLine+1), n: 1, err: "longer than"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r := strings.NewReader(tc.input)
			got, err := ReadPassphrases(iotest.OneByteReader(r), tc.n)
			if tc.err != "" {
				assert.ErrorContains(t, err, tc.err)
				return
			}
			assert.NilError(t, err)
			assert.DeepEqual(t, got, tc.want)
			if tc.name == "rest left unread" {
				rest, _ := io.ReadAll(r)
				assert.Equal(t, string(rest), "second\n")
			}
		})
	}
}

func TestRetrieverStdin(t *testing.T) {
	r, lastErr := RetrieverFrom(Sources{
		Env:   Env{RootPassphrase: "root-from-env", RepositoryPassphrase: "repo-from-env"},
		Stdin: "from-stdin-123",
	})
	for _, tc := range []struct {
		name      string
		alias     string
		createNew bool
		want      string
	}{
		{"new key", "targets", true, "from-stdin-123"},
		{"new root key", "root", true, "from-stdin-123"},
		{"file being loaded", AliasEncryptedFile, false, "from-stdin-123"},
		{"existing root key", "root", false, "root-from-env"},
		{"existing signer key", "alice", false, "repo-from-env"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got, giveup, err := r("abcdef0123", tc.alias, tc.createNew, 0)
			assert.NilError(t, err)
			assert.Assert(t, !giveup)
			assert.Equal(t, got, tc.want)
		})
	}
	// Asked again, the stdin passphrase was wrong: give up and say so.
	_, giveup, err := r("abcdef0123", AliasEncryptedFile, false, 1)
	assert.Assert(t, giveup)
	var wrong *WrongPassphraseError
	assert.Assert(t, errors.As(err, &wrong))
	assert.Error(t, lastErr(), "the passphrase from stdin does not decrypt the encrypted key abcdef0")
}

func TestWrongPassphraseErrorWording(t *testing.T) {
	for _, tc := range []struct {
		err  WrongPassphraseError
		want string
	}{
		{WrongPassphraseError{Variable: EnvRootPassphrase, Role: "root", KeyID: "0123456789"}, "the passphrase in DOCKER_CONTENT_TRUST_ROOT_PASSPHRASE does not decrypt the root key 0123456"},
		{WrongPassphraseError{Source: SourceStdin, Role: "targets", KeyID: "0123456789"}, "the passphrase from stdin does not decrypt the targets key 0123456"},
		{WrongPassphraseError{Source: SourceTerminal, Role: "alice", KeyID: "0123456789"}, "the passphrases entered on the terminal do not decrypt the alice key 0123456"},
		{WrongPassphraseError{Source: SourceStdin, Role: AliasEncryptedFile}, "the passphrase from stdin does not decrypt the encrypted key"},
	} {
		t.Run(tc.want, func(t *testing.T) {
			assert.Error(t, &tc.err, tc.want)
		})
	}
}
