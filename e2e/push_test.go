//go:build e2e

package e2e

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"gotest.tools/v3/assert"
	is "gotest.tools/v3/assert/cmp"
	"gotest.tools/v3/icmd"
)

// TestPushSigned: the first signed push initialises the repository's trust
// data with keys stored as Docker stores them; later pushes to the same
// repository need only the repository passphrase.
func TestPushSigned(t *testing.T) {
	c := newClient(t).withPassphrases()
	repo := newRepo(t)
	var firstKeys []string

	t.Run("first push initialises the repository", func(t *testing.T) {
		c.importImage(t, repo+":v1")
		res := c.acrtrust(t, "push", repo+":v1")
		res.Assert(t, icmd.Expected{Out: "Signing and pushing trust metadata"})
		assert.Check(t, is.Contains(res.Stdout(), `Finished initializing "`+repo+`"`))
		assert.Check(t, is.Contains(res.Stdout(), "Successfully signed "+repo+":v1"))
		assert.Check(t, is.Contains(res.Stdout(), "The push refers to repository ["+repo+"]"), "the engine's push progress is shown")
		assertNoSecrets(t, res)

		// A root key and the repository's targets key, each 0600 in a 0700
		// directory, where docker and notary look for them.
		private := filepath.Join(c.config, "trust", "private")
		fi, err := os.Stat(private)
		assert.NilError(t, err)
		assert.Check(t, is.Equal(fi.Mode().Perm(), os.FileMode(0o700)), "trust/private mode")
		firstKeys = c.keyFiles(t)
		assert.Check(t, is.Len(firstKeys, 2), "key files: %v", firstKeys)
		for _, k := range firstKeys {
			fi, err := os.Stat(filepath.Join(private, k))
			assert.NilError(t, err)
			assert.Check(t, is.Equal(fi.Mode().Perm(), os.FileMode(0o600)), "mode of %s", k)
			pem, err := os.ReadFile(filepath.Join(private, k))
			assert.NilError(t, err)
			assert.Check(t, is.Contains(string(pem), "ENCRYPTED PRIVATE KEY"), "%s is not encrypted", k)
		}
	})

	t.Run("second push needs only the repository passphrase", func(t *testing.T) {
		delete(c.env, envRoot)
		res, _ := c.signedPush(t, repo, "v2")
		assert.Check(t, !strings.Contains(res.Stdout(), "Finished initializing"), res.Stdout())
		assert.Check(t, is.DeepEqual(c.keyFiles(t), firstKeys), "no new key was made")
		assertNoSecrets(t, res)
	})

	t.Run("quiet push prints only the reference", func(t *testing.T) {
		c.importImage(t, repo+":v3")
		res := c.acrtrust(t, "push", "-q", repo+":v3")
		res.Assert(t, icmd.Success)
		assert.Check(t, is.Equal(res.Stdout(), repo+":v3\n"))
		// It is signed all the same.
		c.rmi(t, repo+":v3")
		c.acrtrust(t, "pull", repo+":v3").Assert(t, icmd.Success)
	})
}

// TestPushWithoutPassphrase: in a pipeline (stdin not a terminal) with no
// passphrase variables, the push fails at once instead of waiting for a
// prompt, names the variables, and says the image is in the registry
// unsigned; it is, and it has no trust data.
func TestPushWithoutPassphrase(t *testing.T) {
	c := newClient(t)
	repo := newRepo(t)
	c.importImage(t, repo+":v1")

	start := time.Now()
	res := c.acrtrust(t, "push", repo+":v1")
	elapsed := time.Since(start)
	res.Assert(t, icmd.Expected{ExitCode: 1, Err: "pushed to the registry but is NOT signed"})
	assert.Check(t, is.Contains(res.Stderr(), envRoot))
	assert.Check(t, is.Contains(res.Stderr(), envRepo))
	assert.Check(t, elapsed < 30*time.Second, "took %s: it waited for input", elapsed)

	// The image is in the registry, unsigned: a trusted pull finds no trust
	// data, an untrusted one gets the image.
	c.rmi(t, repo+":v1")
	c.acrtrust(t, "pull", repo+":v1").Assert(t, icmd.Expected{ExitCode: 1, Err: "remote trust data does not exist for " + repo})
	c.acrtrust(t, "pull", "--disable-content-trust", repo+":v1").Assert(t, icmd.Success)
}

// TestPushWithoutRepositoryKey: a second machine (its own DOCKER_CONFIG,
// same login) that lacks the repository key pushes the image but cannot
// sign: it fails closed and leaves the trust data as it was.
func TestPushWithoutRepositoryKey(t *testing.T) {
	owner := newClient(t).withPassphrases()
	other := newClient(t).withPassphrases()
	repo := newRepo(t)
	owner.importImage(t, repo+":v1")
	owner.acrtrust(t, "push", repo+":v1").Assert(t, icmd.Expected{Out: "Successfully signed " + repo + ":v1"})

	other.importImage(t, repo+":v2")
	res := other.acrtrust(t, "push", repo+":v2")
	res.Assert(t, icmd.Expected{ExitCode: 1, Err: repo + ":v2 was pushed to the registry but is NOT signed"})
	assert.Check(t, is.Contains(res.Stderr(), "could not find signing keys for remote repository "+repo))
	assert.Check(t, !strings.Contains(res.Stdout(), "Successfully signed"), res.Stdout())
	assert.Check(t, is.Len(other.keyFiles(t), 0), "a key was made on the machine that cannot sign")

	// The owner's trust data is unchanged: v1 still pulls, v2 is unsigned.
	owner.rmi(t, repo+":v1")
	owner.acrtrust(t, "pull", repo+":v1").Assert(t, icmd.Success)
	owner.acrtrust(t, "pull", repo+":v2").Assert(t, icmd.Expected{ExitCode: 1, Err: "No valid trust data for v2"})
}
