//go:build unix

package keystore

import (
	"bytes"
	"errors"
	"os"
	"path/filepath"
	"testing"

	"gotest.tools/v3/assert"
	is "gotest.tools/v3/assert/cmp"
)

// TestUnsafeKeyStoreIsRefusedForWrites: a trust directory or private
// folder that others can write to, or a private folder that is a link out
// of the trust directory, makes key generate (and every other write)
// fail with the fix named, before any passphrase is asked or file written.
func TestUnsafeKeyStoreIsRefusedForWrites(t *testing.T) {
	outside := t.TempDir()
	for _, tc := range []struct {
		name    string
		prepare func(t *testing.T, trustDir string) string // returns the folder named
		fix     string
	}{
		{"a trust directory others can write to", func(t *testing.T, trustDir string) string {
			assert.NilError(t, os.Chmod(trustDir, 0o777))
			return trustDir
		}, "chmod 700 TRUST"},
		{"a private folder others can write to", func(t *testing.T, trustDir string) string {
			assert.NilError(t, os.Mkdir(PrivateDir(trustDir), 0o700))
			assert.NilError(t, os.Chmod(PrivateDir(trustDir), 0o770))
			return PrivateDir(trustDir)
		}, "chmod 700 PRIVATE"},
		{"a private folder linked out of the trust directory", func(t *testing.T, trustDir string) string {
			assert.NilError(t, os.Symlink(outside, PrivateDir(trustDir)))
			return PrivateDir(trustDir)
		}, "rm PRIVATE && mv OUTSIDE PRIVATE"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			trustDir := filepath.Join(t.TempDir(), "trust")
			assert.NilError(t, os.Mkdir(trustDir, 0o700))
			dir := tc.prepare(t, trustDir)
			asked := false
			retriever := func(string, string, bool, int) (string, bool, error) {
				asked = true
				return fixturePass, false, nil
			}
			_, err := Generate(trustDir, GenerateOptions{Name: "alice", PublicDir: t.TempDir()}, retriever)
			var ue *UnsafeDirError
			assert.Assert(t, errors.As(err, &ue), "%v", err)
			assert.Check(t, errors.Is(err, ErrUnsafeDir))
			assert.Check(t, is.Equal(ue.Path, dir))
			resolvedOutside, _ := filepath.EvalSymlinks(outside)
			want := tc.fix
			for old, new := range map[string]string{"TRUST": trustDir, "PRIVATE": PrivateDir(trustDir), "OUTSIDE": resolvedOutside} {
				want = replaceWord(want, old, new)
			}
			assert.Check(t, is.Equal(ue.Fix(), want))
			assert.Check(t, !asked, "no passphrase asked")
			entries, _ := os.ReadDir(outside)
			assert.Check(t, is.Len(entries, 0), "nothing written through the link")

			_, err = Restore(trustDir, bytes.NewReader(nil), RestoreOptions{})
			assert.Check(t, errors.Is(err, ErrUnsafeDir), "restore: %v", err)
			_, err = ChangePassphrase(trustDir, "abc", nil, nil)
			assert.Check(t, errors.Is(err, ErrUnsafeDir), "passwd: %v", err)
		})
	}
}

// TestKeyStoreLinkedInsideIsUsed: a private folder that is a link to a
// private folder inside the trust directory is fine, as is a store that
// does not exist yet.
func TestKeyStoreLinkedInsideIsUsed(t *testing.T) {
	trustDir := filepath.Join(t.TempDir(), "trust")
	assert.NilError(t, CheckWritable(trustDir), "nothing there yet")
	assert.NilError(t, os.MkdirAll(filepath.Join(trustDir, "keys"), 0o700))
	assert.NilError(t, os.Symlink("keys", PrivateDir(trustDir)))
	assert.NilError(t, CheckWritable(trustDir))
	_, err := Generate(trustDir, GenerateOptions{Name: "alice", PublicDir: t.TempDir()}, envRetriever("", fixturePass))
	assert.NilError(t, err)
}

func replaceWord(s, old, new string) string {
	return string(bytes.ReplaceAll([]byte(s), []byte(old), []byte(new)))
}
