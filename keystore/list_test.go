package keystore

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/theupdateframework/notary/tuf/data"
	"gotest.tools/v3/assert"
)

func TestList(t *testing.T) {
	trustDir := filepath.Join(t.TempDir(), "trust")
	signer := addKey(t, trustDir, "alice", "", fixturePass)
	targets := addKey(t, trustDir, data.CanonicalTargetsRole, "reg.example/app", fixturePass)
	root := addKey(t, trustDir, data.CanonicalRootRole, "", fixturePass)
	// Not keys, or not safe ones: reported, not hidden.
	assert.NilError(t, os.WriteFile(filepath.Join(PrivateDir(trustDir), "junk.key"), []byte("junk"), 0o600))
	assert.NilError(t, os.Chmod(KeyFile(trustDir, signer.ID()), 0o644))

	keys, err := List(trustDir)
	assert.NilError(t, err)
	assert.Equal(t, len(keys), 4)
	assert.DeepEqual(t, keys[0], Key{
		ID: root.ID(), Role: "root", File: KeyFile(trustDir, root.ID()), Encrypted: true,
	})
	assert.DeepEqual(t, keys[1], Key{
		ID: targets.ID(), Role: "targets", Repository: "reg.example/app", File: KeyFile(trustDir, targets.ID()), Encrypted: true,
	})
	assert.Equal(t, keys[2].Role, "") // junk sorts after the roles
	assert.Equal(t, keys[2].ID, "junk")
	assert.Assert(t, strings.HasPrefix(keys[2].Problem, "not a private key"), keys[2].Problem)
	assert.DeepEqual(t, keys[3], Key{
		ID: signer.ID(), Role: "alice", File: KeyFile(trustDir, signer.ID()), Encrypted: true,
		Problem: "readable or writable by others (mode -rw-r--r--)",
	})
}

func TestListEmpty(t *testing.T) {
	keys, err := List(filepath.Join(t.TempDir(), "missing"))
	assert.NilError(t, err)
	assert.Equal(t, len(keys), 0)
}
