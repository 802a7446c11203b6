package keystore

import (
	"encoding/pem"
	"errors"
	"os"
	"path/filepath"
	"syscall"
	"testing"
	"time"

	"github.com/theupdateframework/notary/tuf/data"
	"github.com/theupdateframework/notary/tuf/utils"
	"gotest.tools/v3/assert"
	is "gotest.tools/v3/assert/cmp"
)

func TestLoadFormats(t *testing.T) {
	ecID, rsaID := fixtureID(t, "ec.pem"), fixtureID(t, "rsa.pem")
	for _, tc := range []struct {
		file string
		id   string
	}{
		{"ec.pem", ecID},
		{"ec-with-params.pem", ecID},
		{"ec-encrypted.pem", ecID},
		{"ec-pkcs8.pem", ecID},
		{"ec-pkcs8-encrypted-sha1.pem", ecID},
		{"ec-pkcs8-encrypted-sha256.pem", ecID},
		{"ec-pkcs8-scrypt.pem", ecID},
		{"rsa.pem", rsaID},
		{"rsa-encrypted.pem", rsaID},
		{"rsa-pkcs8.pem", rsaID},
		{"rsa-pkcs8-encrypted.pem", rsaID},
	} {
		t.Run(tc.file, func(t *testing.T) {
			trustDir := filepath.Join(t.TempDir(), "trust")
			b, err := ReadPrivateKeyFile(fixture(t, tc.file))
			assert.NilError(t, err)
			// As with Docker, the repository passphrase both opens an
			// encrypted input and protects the stored key.
			res, err := Load(trustDir, b, LoadOptions{Name: "alice"}, envRetriever("", fixturePass))
			assert.NilError(t, err)
			assert.Equal(t, res.ID, tc.id)
			assert.Equal(t, res.Role, data.RoleName("alice"))
			assert.Assert(t, !res.Existed)
			assert.Equal(t, res.File, KeyFile(trustDir, tc.id))
			assertStoredKey(t, trustDir, tc.id, "alice", "", fixturePass)
		})
	}
}

func TestLoadStdinPassphrase(t *testing.T) {
	trustDir := t.TempDir()
	b, err := ReadPrivateKeyFile(fixture(t, "ec-pkcs8-encrypted-sha256.pem"))
	assert.NilError(t, err)
	r, _ := RetrieverFrom(Sources{Env: Env{RepositoryPassphrase: "not-this-one"}, Stdin: fixturePass})
	res, err := Load(trustDir, b, LoadOptions{}, r)
	assert.NilError(t, err)
	assert.Equal(t, res.Role, data.RoleName(DefaultLoadName))
	assertStoredKey(t, trustDir, res.ID, DefaultLoadName, "", fixturePass)
}

func TestLoadRefuses(t *testing.T) {
	garbage := []byte("-----BEGIN EC PRIVATE KEY-----\nbm90IGEga2V5\n-----END EC PRIVATE KEY-----\n")
	twoKeys := append(readFixture(t, "ec.pem"), readFixture(t, "rsa.pem")...)
	for _, tc := range []struct {
		name     string
		input    []byte
		pass     string
		notKey   bool
		contains string
	}{
		{name: "public key", input: readFixture(t, "ec-public.pem"), notKey: true},
		{name: "certificate", input: readFixture(t, "ec-cert.pem"), notKey: true},
		{name: "empty", input: nil, notKey: true},
		{name: "text", input: []byte("hello\n"), notKey: true},
		{name: "corrupt key", input: garbage, notKey: true},
		{name: "two keys", input: twoKeys, contains: "holds 2 private keys"},
		{name: "PBKDF2 with HMAC-SHA512", input: readFixture(t, "ec-pkcs8-encrypted-aes128-sha512.pem"), pass: fixturePass,
			contains: "unsupported hash function (encrypted PKCS#8 with PBES2 is supported; convert with `openssl pkcs8 -topk8 -v2 aes256`)"},
		{name: "wrong passphrase", input: readFixture(t, "ec-pkcs8-encrypted-sha256.pem"), pass: "wrong-passphrase",
			contains: "the passphrase in DOCKER_CONTENT_TRUST_REPOSITORY_PASSPHRASE does not decrypt the encrypted key"},
		{name: "wrong passphrase legacy", input: readFixture(t, "rsa-encrypted.pem"), pass: "wrong-passphrase",
			contains: "does not decrypt the encrypted key"},
		{name: "no passphrase source", input: readFixture(t, "ec-encrypted.pem"), contains: "stdin is not a terminal"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			trustDir := t.TempDir()
			_, err := Load(trustDir, tc.input, LoadOptions{}, envRetriever("", tc.pass))
			assert.Assert(t, err != nil)
			if tc.notKey {
				assert.Assert(t, errors.Is(err, ErrNotPrivateKey), "got %v", err)
			} else {
				assert.ErrorContains(t, err, tc.contains)
			}
			keys, lerr := List(trustDir)
			assert.NilError(t, lerr)
			assert.Check(t, is.Len(keys, 0), "a refused load stored something")
		})
	}
}

func TestLoadWrongPassphraseNamesRole(t *testing.T) {
	_, err := Load(t.TempDir(), readFixture(t, "ec-encrypted.pem"), LoadOptions{}, FixedRetriever("wrong-passphrase", SourceStdin))
	var wrong *WrongPassphraseError
	assert.Assert(t, errors.As(err, &wrong), "got %v", err)
	assert.Equal(t, wrong.Role, AliasEncryptedFile)
	assert.Equal(t, wrong.Source, SourceStdin)
}

func TestLoadTwice(t *testing.T) {
	trustDir := t.TempDir()
	b := readFixture(t, "ec.pem")
	first, err := Load(trustDir, b, LoadOptions{Name: "alice"}, envRetriever("", fixturePass))
	assert.NilError(t, err)
	before := tree(t, trustDir)

	again, err := Load(trustDir, b, LoadOptions{Name: "alice"}, envRetriever("", "another-passphrase"))
	assert.NilError(t, err)
	assert.Assert(t, again.Existed)
	assert.Equal(t, again.ID, first.ID)
	assert.DeepEqual(t, tree(t, trustDir), before)

	_, err = Load(trustDir, b, LoadOptions{Name: "bob"}, envRetriever("", fixturePass))
	assert.ErrorContains(t, err, "is already in the key store as a alice key, not as a bob key")
	assert.DeepEqual(t, tree(t, trustDir), before)
}

func TestLoadKeepsRoleHeaders(t *testing.T) {
	k, err := utils.GenerateKey(data.ECDSAKey)
	assert.NilError(t, err)
	withHeaders := func(h map[string]string) []byte {
		b, err := utils.ConvertPrivateKeyToPKCS8(k, "", "", fixturePass)
		assert.NilError(t, err)
		blk, _ := pem.Decode(b)
		blk.Headers = h
		return pem.EncodeToMemory(blk)
	}
	t.Run("root", func(t *testing.T) {
		trustDir := t.TempDir()
		res, err := Load(trustDir, withHeaders(map[string]string{"role": "root", "gun": "ignored/for/root"}), LoadOptions{Name: "alice"}, envRetriever("root-passphrase", fixturePass))
		assert.NilError(t, err)
		assert.Equal(t, res.Role, data.CanonicalRootRole)
		// A root key is stored under the root passphrase.
		assertStoredKey(t, trustDir, k.ID(), data.CanonicalRootRole, "", "root-passphrase")
	})
	t.Run("targets with gun", func(t *testing.T) {
		trustDir := t.TempDir()
		_, err := Load(trustDir, withHeaders(map[string]string{"role": "targets", "gun": "reg.example/app"}), LoadOptions{}, envRetriever("", fixturePass))
		assert.NilError(t, err)
		assertStoredKey(t, trustDir, k.ID(), data.CanonicalTargetsRole, "reg.example/app", fixturePass)
	})
	t.Run("targets without gun", func(t *testing.T) {
		_, err := Load(t.TempDir(), withHeaders(map[string]string{"role": "targets"}), LoadOptions{}, envRetriever("", fixturePass))
		assert.ErrorContains(t, err, "no gun header")
	})
}

func TestReadPrivateKeyFilePermissions(t *testing.T) {
	for _, tc := range []struct {
		mode os.FileMode
		ok   bool
	}{
		{0o600, true},
		{0o400, true},
		{0o640, false},
		{0o604, false},
		{0o620, false},
		{0o644, false},
	} {
		t.Run(tc.mode.String(), func(t *testing.T) {
			p := fixture(t, "ec.pem")
			assert.NilError(t, os.Chmod(p, tc.mode))
			_, err := ReadPrivateKeyFile(p)
			if tc.ok {
				assert.NilError(t, err)
				return
			}
			assert.Error(t, err, "private key file "+p+" must not be readable or writable by others")
			assert.Assert(t, errors.Is(err, ErrTooOpen))
		})
	}
}

// TestReadPrivateKeyFileRefusesAFIFO: a named pipe with no writer is
// refused at once, not waited on.
func TestReadPrivateKeyFileRefusesAFIFO(t *testing.T) {
	p := filepath.Join(t.TempDir(), "key.pem")
	assert.NilError(t, syscall.Mkfifo(p, 0o600))
	done := make(chan error, 1)
	go func() {
		_, err := ReadPrivateKeyFile(p)
		done <- err
	}()
	select {
	case err := <-done:
		assert.ErrorContains(t, err, "not a regular file")
	case <-time.After(10 * time.Second):
		// Unblock the open so the goroutine ends, then fail.
		if w, err := os.OpenFile(p, os.O_WRONLY|syscall.O_NONBLOCK, 0); err == nil {
			_ = w.Close()
		}
		t.Fatal("ReadPrivateKeyFile waited for a writer on a FIFO")
	}
}

func readFixture(t *testing.T, name string) []byte {
	t.Helper()
	b, err := os.ReadFile(filepath.Join("testdata", name))
	assert.NilError(t, err)
	return b
}
