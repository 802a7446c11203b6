//go:build e2e

package e2e

import (
	"path/filepath"
	"testing"

	"gotest.tools/v3/assert"
	is "gotest.tools/v3/assert/cmp"
	"gotest.tools/v3/icmd"
)

// TestInteropTrustCommands: the trust management commands and `docker
// trust` (v28 and older) work on the same repository and keys, and inspect
// prints byte for byte what `docker trust inspect` prints, JSON and
// --pretty, before and after signers are added and signatures revoked.
func TestInteropTrustCommands(t *testing.T) {
	requireDCTDocker(t)
	c := newClient(t).withPassphrases()
	repo := newRepo(t)
	dockerTrust := func(t *testing.T, args ...string) *icmd.Result {
		t.Helper()
		return c.run(t, icmd.Command(h.dctDocker, append([]string{"trust"}, args...)...), icmd.WithEnv(c.environ(dctEnv()...)...))
	}
	sameInspect := func(t *testing.T, what string) {
		t.Helper()
		for _, pretty := range [][]string{nil, {"--pretty"}} {
			theirs := dockerTrust(t, append(append([]string{"inspect"}, pretty...), repo)...)
			theirs.Assert(t, icmd.Success)
			ours := c.acrtrust(t, append(append([]string{"inspect"}, pretty...), repo)...)
			ours.Assert(t, icmd.Success)
			assert.Check(t, is.Equal(ours.Stdout(), theirs.Stdout()), "inspect %v %s differs from docker trust inspect", pretty, what)
		}
	}

	for _, tag := range []string{"v1", "v2"} {
		c.importImage(t, repo+":"+tag)
		c.acrtrust(t, "push", repo+":"+tag).Assert(t, icmd.Expected{Out: "Successfully signed " + repo + ":" + tag})
	}
	sameInspect(t, "after two signed pushes")

	// A signer added by docker; acrtrust signs as that signer.
	keyDir := t.TempDir()
	dockerTrust(t, "key", "generate", "alice", "--dir", keyDir).Assert(t, icmd.Success)
	dockerTrust(t, "signer", "add", "--key", filepath.Join(keyDir, "alice.pub"), "alice", repo).
		Assert(t, icmd.Expected{Out: "Successfully added signer: alice to " + repo})
	c.importImage(t, repo+":v3")
	sign := c.acrtrust(t, "sign", "--local", repo+":v3")
	sign.Assert(t, icmd.Expected{Out: "Successfully signed " + repo + ":v3"})
	digest3 := pushedDigest(t, sign.Stdout(), "v3")
	pretty := dockerTrust(t, "inspect", "--pretty", repo)
	assert.Check(t, is.Regexp(`(?m)^v3\s+`+digest3[len("sha256:"):]+`\s+alice$`, pretty.Stdout()))

	// A signer added by acrtrust; docker signs as that signer.
	c.acrtrust(t, "key", "generate", "bob", "--dir", keyDir).Assert(t, icmd.Success)
	c.acrtrust(t, "signer", "add", "--key", filepath.Join(keyDir, "bob.pub"), "bob", repo).
		Assert(t, icmd.Expected{Out: "Successfully added signer: bob to " + repo})
	c.importImage(t, repo+":v4")
	dockerTrust(t, "sign", repo+":v4").Assert(t, icmd.Expected{Out: "Successfully signed " + repo + ":v4"})
	sameInspect(t, "after signers were added")
	c.rmi(t, repo+":v4")
	c.acrtrust(t, "pull", repo+":v4").Assert(t, icmd.Expected{Out: "Pull (1 of 1): " + repo + ":v4@"})

	// A signature revoked by acrtrust: docker's trusted pull refuses the tag.
	c.acrtrust(t, "revoke", "-y", repo+":v1").Assert(t, icmd.Expected{Out: "Successfully deleted signature for " + repo + ":v1"})
	c.rmi(t, repo+":v1")
	refused := c.run(t, icmd.Command(h.dctDocker, "pull", repo+":v1"), icmd.WithEnv(c.environ(dctEnv()...)...))
	assert.Check(t, refused.ExitCode != 0, refused.Combined())
	assert.Check(t, is.Contains(refused.Stderr(), "No valid trust data for v1"))
	sameInspect(t, "after a revoke")
}
