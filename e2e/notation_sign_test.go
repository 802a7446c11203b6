//go:build e2e

package e2e

import (
	"encoding/json"
	"os"
	"path/filepath"
	"testing"

	"gotest.tools/v3/assert"
	is "gotest.tools/v3/assert/cmp"
	"gotest.tools/v3/icmd"
)

// notationHome makes a notation configuration directory as the notation CLI
// leaves it: a test key and certificate made by `docker acrtrust migrate cert
// generate-test` (localkeys/ and the trust store, as `notation cert
// generate-test`), the key as the default in signingkeys.json, and a trust
// policy trusting it everywhere. It returns the directory.
func (c *client) notationHome(t *testing.T, dir string) string {
	t.Helper()
	c.acrtrust(t, "migrate", "cert", "generate-test", "--notation-dir", dir, "e2e").Assert(t, icmd.Success)
	write := func(name string, v any) {
		b, err := json.MarshalIndent(v, "", "    ")
		assert.NilError(t, err)
		assert.NilError(t, os.WriteFile(filepath.Join(dir, name), b, 0o600))
	}
	write("signingkeys.json", map[string]any{
		"default": "e2e",
		"keys": []map[string]string{{
			"name": "e2e", "keyPath": filepath.Join(dir, "localkeys", "e2e.key"), "certPath": filepath.Join(dir, "localkeys", "e2e.crt"),
		}},
	})
	write("trustpolicy.json", map[string]any{
		"version": "1.0",
		"trustPolicies": []map[string]any{{
			"name": "e2e", "registryScopes": []string{"*"},
			"signatureVerification": map[string]string{"level": "strict"},
			"trustStores":           []string{"ca:e2e"}, "trustedIdentities": []string{"*"},
		}},
	})
	return dir
}

// TestPushSignBoth: one push signs in both formats; Docker's own content
// trust pulls the tag, pull --require notation takes it too, and a second
// push signs nothing again.
func TestPushSignBoth(t *testing.T) {
	c := newClient(t).withPassphrases()
	notationDir := c.notationHome(t, t.TempDir())
	repo := newRepo(t)
	c.importImage(t, repo+":v1")

	push := c.acrtrust(t, "push", "--sign", "both", "--notation-dir", notationDir, repo+":v1")
	push.Assert(t, icmd.Expected{Out: "Successfully signed " + repo + ":v1\n"})
	assertNoSecrets(t, push)
	digest := pushedDigest(t, push.Stdout(), "v1")
	assert.Check(t, is.Contains(push.Stdout(), "Successfully signed "+repo+":v1 with Notation ("+digest+")"))

	again := c.acrtrust(t, "push", "--sign", "both", "--notation-dir", notationDir, repo+":v1")
	again.Assert(t, icmd.Success)
	assert.Check(t, is.Contains(again.Stdout(), "Tag "+repo+":v1 is already signed for "+digest))
	assert.Check(t, is.Contains(again.Stdout(), "Tag "+repo+":v1 is already signed with Notation by this key at "+digest+"; nothing to sign"))

	t.Run("Docker's content trust pulls it", func(t *testing.T) {
		requireDCTDocker(t)
		c.rmi(t, repo+":v1")
		pull := c.run(t, icmd.Command(h.dctDocker, "pull", repo+":v1"), icmd.WithEnv(c.environ(dctEnv()...)...))
		pull.Assert(t, icmd.Expected{Out: "Pull (1 of 1): " + repo + ":v1@" + digest})
	})

	t.Run("pull --require notation takes it", func(t *testing.T) {
		c.rmi(t, repo+":v1")
		pull := c.acrtrust(t, "pull", "--require", "notation", "--notation-dir", notationDir, repo+":v1")
		pull.Assert(t, icmd.Expected{Out: "Pull (1 of 1): " + repo + ":v1@" + digest})
		assert.Check(t, is.Contains(c.repoDigests(t, repo+":v1"), repo+"@"+digest))
	})
}

// TestNotationWithoutContentTrust: on a registry with content trust off,
// push --sign notation signs with notation's default key (found through
// XDG_CONFIG_HOME, as notation finds it) and pull --require notation pulls
// it by digest; the default push names --sign notation.
func TestNotationWithoutContentTrust(t *testing.T) {
	c := newClient(t).withPassphrases()
	xdg := t.TempDir()
	assert.NilError(t, os.Mkdir(filepath.Join(xdg, "notation"), 0o700))
	c.notationHome(t, filepath.Join(xdg, "notation"))
	c.env["XDG_CONFIG_HOME"] = xdg
	repo := newRepo(t)
	c.importImage(t, repo+":v1")

	h.sandbox.SetContentTrust(false)
	t.Cleanup(func() { h.sandbox.SetContentTrust(true) })

	refused := c.acrtrust(t, "push", repo+":v1")
	assert.Check(t, refused.ExitCode == 1, refused.Combined())
	assert.Check(t, is.Contains(refused.Stderr(), "--sign notation"))

	push := c.acrtrust(t, "push", "--sign", "notation", repo+":v1")
	push.Assert(t, icmd.Success)
	digest := pushedDigest(t, push.Stdout(), "v1")
	assert.Check(t, is.Contains(push.Stdout(), "Successfully signed "+repo+":v1 with Notation ("+digest+")"))

	c.rmi(t, repo+":v1")
	pull := c.acrtrust(t, "pull", "--require", "notation", repo+":v1")
	pull.Assert(t, icmd.Expected{Out: "Pull (1 of 1): " + repo + ":v1@" + digest})
	assert.Check(t, is.Contains(c.repoDigests(t, repo+":v1"), repo+"@"+digest))
}

// TestBuildRequireNotationRefusesUnsignedBase: a base image without a
// Notation signature stops build --require notation before anything is
// built, naming the format and the digest.
func TestBuildRequireNotationRefusesUnsignedBase(t *testing.T) {
	c := newClient(t)
	notationDir := c.notationHome(t, t.TempDir())
	base := newRepo(t)
	c.importFile(t, base+":v1", "an unsigned base\n")
	push := c.acrtrust(t, "push", "--disable-content-trust", base+":v1")
	push.Assert(t, icmd.Success)
	digest := pushedDigest(t, push.Stdout(), "v1")
	app := newRepo(t)

	res := c.acrtrust(t, "build", "--require", "notation", "--notation-dir", notationDir, "-t", app+":v1",
		buildContext(t, "FROM "+base+":v1\nCOPY hello.txt /hello.txt\n"))
	res.Assert(t, icmd.Expected{ExitCode: 1, Err: "no Notation signature that the trust policy accepts on " + digest})
	assert.Check(t, is.Contains(res.Stderr(), "Nothing was built"))
	assert.Check(t, !c.imageExists(t, app+":v1"), "nothing built")
}
