package key

import (
	"testing"

	"gotest.tools/v3/assert"
	is "gotest.tools/v3/assert/cmp"

	"github.com/acrtrust/docker-acrtrust/plugin/internal/cmdtest"
)

// TestKeyGenerateShortEnvPassphrase: a signer key made with a passphrase
// from DOCKER_CONTENT_TRUST_REPOSITORY_PASSPHRASE shorter than 8
// characters is made, as Docker made it, with a warning that names the
// variable and the fix; --passphrase-stdin keeps the minimum (issue 17).
func TestKeyGenerateShortEnvPassphrase(t *testing.T) {
	d, cli := cmdtest.KeyDeps(t, "", map[string]string{"DOCKER_CONTENT_TRUST_REPOSITORY_PASSPHRASE": "short"})
	assert.NilError(t, runCommand(t, d, "key", "generate", "alice", "--dir", t.TempDir()))
	ids := cmdtest.KeyIDs(t, d)
	assert.Assert(t, is.Len(ids, 1))
	cmdtest.StoredKey(t, d, ids[0], "alice", "short")
	assert.Check(t, is.Contains(cli.ErrBuf.String(), "WARNING: the passphrase in DOCKER_CONTENT_TRUST_REPOSITORY_PASSPHRASE is shorter than 8 characters; the new alice key "+
		ids[0][:7]+" is protected by it all the same, as Docker did. The terminal and --passphrase-stdin ask for at least 8: give the key a longer one with `docker acrtrust key passwd "+
		ids[0][:7]+"`, then set DOCKER_CONTENT_TRUST_REPOSITORY_PASSPHRASE to it.\n"))

	d, _ = cmdtest.KeyDeps(t, "short\n", nil)
	err := runCommand(t, d, "key", "generate", "bob", "--dir", t.TempDir(), "--passphrase-stdin")
	assert.Check(t, is.ErrorContains(err, "the passphrase for a new key must be at least 8 characters"))
	assert.Check(t, is.Len(cmdtest.KeyIDs(t, d), 0))
}
