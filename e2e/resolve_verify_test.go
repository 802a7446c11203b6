//go:build e2e

package e2e

import (
	"encoding/json"
	"testing"

	"gotest.tools/v3/assert"
	is "gotest.tools/v3/assert/cmp"
	"gotest.tools/v3/icmd"
)

// TestResolveAndVerify: resolve prints the signed digest references a
// deploy step pins; verify compares the registry's tags with the trust data
// and fails on unsigned (unless allowed) and drifted tags.
func TestResolveAndVerify(t *testing.T) {
	c := newClient(t).withPassphrases()
	repo, digests, _ := c.signedAndDev(t)

	t.Run("resolve", func(t *testing.T) {
		res := c.acrtrust(t, "resolve", repo+":v1", repo+":v2")
		res.Assert(t, icmd.Success)
		assert.Check(t, is.Equal(res.Stdout(), repo+"@"+digests["v1"]+"\n"+repo+"@"+digests["v2"]+"\n"))
	})

	t.Run("resolve --format json", func(t *testing.T) {
		res := c.acrtrust(t, "resolve", "--format", "json", repo+":v1")
		res.Assert(t, icmd.Success)
		var got []struct{ Tag, Digest, Pinned string }
		assert.NilError(t, json.Unmarshal([]byte(res.Stdout()), &got), res.Stdout())
		assert.Assert(t, is.Len(got, 1))
		assert.Check(t, is.Equal(got[0].Tag, "v1"))
		assert.Check(t, is.Equal(got[0].Digest, digests["v1"]))
		assert.Check(t, is.Equal(got[0].Pinned, repo+"@"+digests["v1"]))
	})

	t.Run("resolve an unsigned tag fails", func(t *testing.T) {
		res := c.acrtrust(t, "resolve", repo+":dev")
		assert.Check(t, is.Equal(res.ExitCode, 1), res.Combined())
		assert.Check(t, is.Equal(res.Stdout(), ""))
		assert.Check(t, is.Contains(res.Stderr(), "dev"))
	})

	t.Run("verify fails on an unsigned tag unless allowed", func(t *testing.T) {
		res := c.acrtrust(t, "verify", repo)
		assert.Check(t, is.Equal(res.ExitCode, 1), res.Combined())
		assert.Check(t, is.Contains(res.Combined(), "unsigned"))

		c.acrtrust(t, "verify", "--allow-unsigned", repo).Assert(t, icmd.Success)
	})

	t.Run("verify finds a drifted tag", func(t *testing.T) {
		// v2 overwritten in the registry without signing.
		c.importImage(t, repo+":v2")
		c.acrtrust(t, "push", "--disable-content-trust", repo+":v2").Assert(t, icmd.Success)

		res := c.acrtrust(t, "verify", "--allow-unsigned", "--format", "json", repo)
		assert.Check(t, is.Equal(res.ExitCode, 1), res.Combined())
		var got []struct {
			OK   bool
			Tags []struct{ Tag, Status, SignedDigest string }
		}
		assert.NilError(t, json.Unmarshal([]byte(res.Stdout()), &got), res.Stdout())
		assert.Assert(t, is.Len(got, 1))
		assert.Check(t, !got[0].OK)
		status := map[string]string{}
		for _, tg := range got[0].Tags {
			status[tg.Tag] = tg.Status
		}
		assert.Check(t, is.DeepEqual(status, map[string]string{"v1": "signed", "v2": "drifted", "dev": "unsigned"}))

		// And a trusted pull still gets what was signed, not the new push.
		c.rmi(t, repo+":v2")
		pull := c.acrtrust(t, "pull", repo+":v2")
		pull.Assert(t, icmd.Expected{Out: "Pull (1 of 1): " + repo + ":v2@" + digests["v2"]})
		assert.Check(t, is.Contains(c.repoDigests(t, repo+":v2"), repo+"@"+digests["v2"]))
	})
}
