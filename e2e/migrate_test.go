//go:build e2e

package e2e

import (
	"path/filepath"
	"testing"

	"gotest.tools/v3/assert"
	is "gotest.tools/v3/assert/cmp"
	"gotest.tools/v3/icmd"
)

// TestMigrate: through the real docker CLI, content trust signatures move to
// Notation; a re-run changes nothing; pull --require both takes a tag that
// both agree on; with the registry's content trust turned off, pull
// --require notation still pulls migrated tags by digest and refuses the
// rest.
func TestMigrate(t *testing.T) {
	c := newClient(t).withPassphrases()
	repo, digests, devDigest := c.signedAndDev(t)
	c.rmi(t, repo+":v1", repo+":v2", repo+":dev")

	notationDir := t.TempDir()
	policyDir := t.TempDir()
	c.acrtrust(t, "migrate", "cert", "generate-test", "--notation-dir", notationDir, "e2e").Assert(t, icmd.Success)
	key := []string{
		"--key", filepath.Join(notationDir, "localkeys", "e2e.key"),
		"--cert", filepath.Join(notationDir, "localkeys", "e2e.crt"),
	}
	migrate := func(args ...string) *icmd.Result {
		return c.acrtrust(t, append(append([]string{"migrate"}, key...), args...)...)
	}

	t.Run("an unsigned tag is refused", func(t *testing.T) {
		res := migrate("--dry-run", "--all-tags", repo)
		res.Assert(t, icmd.Expected{ExitCode: 1, Err: repo + ":dev: unsigned"})
		assert.Check(t, is.Contains(res.Stdout(), "Dry run: 2 tags would be signed, 0 already signed, 1 refused; nothing was written"))
	})

	t.Run("migrate", func(t *testing.T) {
		res := migrate("--emit-policy", policyDir, repo+":v1", repo+":v2")
		res.Assert(t, icmd.Success)
		assert.Check(t, is.Contains(res.Stdout(), "(1 of 1) "+repo+"@"+digests["v1"]+" (v1): signed"))
		assert.Check(t, is.Contains(res.Stdout(), "Summary: 2 tags signed, 0 already signed, 0 refused, 0 failed"))
		assert.Check(t, is.Contains(res.Stdout(), "Trust policy written: "+filepath.Join(policyDir, "trustpolicy.json")))
	})

	t.Run("a re-run changes nothing", func(t *testing.T) {
		res := migrate(repo+":v1", repo+":v2")
		res.Assert(t, icmd.Success)
		assert.Check(t, is.Contains(res.Stdout(), "Summary: 0 tags signed, 2 already signed, 0 refused, 0 failed"))
	})

	t.Run("pull --require both", func(t *testing.T) {
		res := c.acrtrust(t, "pull", "--require", "both", "--notation-dir", policyDir, repo+":v1")
		res.Assert(t, icmd.Success)
		assert.Check(t, is.Contains(c.repoDigests(t, repo+":v1"), repo+"@"+digests["v1"]))
		c.rmi(t, repo+":v1")
	})

	// Content trust goes last: the registry deletes all trust data.
	h.sandbox.SetContentTrust(false)
	t.Cleanup(func() { h.sandbox.SetContentTrust(true) })

	t.Run("pull --require notation without content trust", func(t *testing.T) {
		res := c.acrtrust(t, "pull", "--require", "notation", "--notation-dir", policyDir, repo+":v2")
		res.Assert(t, icmd.Success)
		assert.Check(t, is.Contains(res.Stdout(), "Pull (1 of 1): "+repo+":v2@"+digests["v2"]))
		assert.Check(t, is.Contains(c.repoDigests(t, repo+":v2"), repo+"@"+digests["v2"]))
		c.rmi(t, repo+":v2")
	})

	t.Run("a tag without a Notation signature is refused", func(t *testing.T) {
		res := c.acrtrust(t, "pull", "--require", "notation", "--notation-dir", policyDir, repo+":dev")
		res.Assert(t, icmd.Expected{ExitCode: 1, Err: "no Notation signature that the trust policy accepts on " + devDigest})
		assert.Check(t, !c.imageExists(t, repo+":dev"), "nothing pulled")
	})

	t.Run("content trust alone is gone", func(t *testing.T) {
		res := c.acrtrust(t, "pull", repo+":v2")
		assert.Check(t, res.ExitCode != 0)
		assert.Check(t, !c.imageExists(t, repo+":v2"), "nothing pulled")
	})
}
