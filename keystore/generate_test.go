package keystore

import (
	"encoding/pem"
	"io/fs"
	"os"
	"path/filepath"
	"testing"

	"github.com/theupdateframework/notary/tuf/utils"
	"gotest.tools/v3/assert"
)

func TestGenerate(t *testing.T) {
	trustDir, pubDir := filepath.Join(t.TempDir(), "trust"), t.TempDir()
	g, err := Generate(trustDir, GenerateOptions{Name: "alice", PublicDir: pubDir}, envRetriever("", fixturePass))
	assert.NilError(t, err)
	assert.Equal(t, g.PublicKeyFile, filepath.Join(pubDir, "alice.pub"))
	assertStoredKey(t, trustDir, g.ID, "alice", "", fixturePass)

	// The public key is Docker's: PEM "PUBLIC KEY" with a role header, and
	// it is the public half of the stored key.
	b, err := os.ReadFile(g.PublicKeyFile)
	assert.NilError(t, err)
	blk, _ := pem.Decode(b)
	assert.Equal(t, blk.Type, "PUBLIC KEY")
	assert.Equal(t, blk.Headers["role"], "alice")
	pub, err := utils.ParsePEMPublicKey(b)
	assert.NilError(t, err)
	assert.Equal(t, pub.ID(), g.ID)
	fi, err := os.Stat(g.PublicKeyFile)
	assert.NilError(t, err)
	assert.Equal(t, fi.Mode().Perm(), fs.FileMode(0o600))
}

func TestGenerateRefuses(t *testing.T) {
	pubDir := t.TempDir()
	assert.NilError(t, os.WriteFile(filepath.Join(pubDir, "taken.pub"), []byte("x"), 0o644))
	for _, tc := range []struct {
		name, dir, want string
	}{
		{"Alice", pubDir, `key name "Alice" must start with lowercase alphanumeric characters and can include "-" or "_" after the first character`},
		{"-alice", pubDir, `key name "-alice" must start with lowercase alphanumeric characters`},
		{"root", pubDir, `key name "root" is reserved`},
		{"releases", pubDir, `key name "releases" is reserved`},
		{"taken", pubDir, `public key file already exists: "` + filepath.Join(pubDir, "taken.pub") + `"`},
		{"alice", filepath.Join(pubDir, "missing"), `public key path does not exist: "` + filepath.Join(pubDir, "missing") + `"`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			trustDir := t.TempDir()
			_, err := Generate(trustDir, GenerateOptions{Name: tc.name, PublicDir: tc.dir}, envRetriever("", fixturePass))
			assert.ErrorContains(t, err, tc.want)
			keys, _ := List(trustDir)
			assert.Equal(t, len(keys), 0)
		})
	}
}

func TestGenerateShortStdinPassphrase(t *testing.T) {
	trustDir := t.TempDir()
	r, _ := RetrieverFrom(Sources{Stdin: "short"})
	_, err := Generate(trustDir, GenerateOptions{Name: "alice", PublicDir: t.TempDir()}, r)
	assert.ErrorIs(t, err, ErrPassphraseTooShort)
	keys, _ := List(trustDir)
	assert.Equal(t, len(keys), 0)
}
