//go:build e2e

package e2e

import (
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"gotest.tools/v3/assert"
	is "gotest.tools/v3/assert/cmp"
	"gotest.tools/v3/icmd"

	"github.com/acrtrust/docker-acrtrust/sandbox"
)

// rootKeyOf is the root key ID that inspect shows for repo.
func rootKeyOf(t *testing.T, c *client, repo string) string {
	t.Helper()
	res := c.acrtrust(t, "inspect", repo)
	res.Assert(t, icmd.Success)
	var out []struct {
		AdministrativeKeys []struct {
			Name string
			Keys []struct{ ID string }
		}
	}
	assert.NilError(t, json.Unmarshal([]byte(res.Stdout()), &out))
	assert.Equal(t, out[0].AdministrativeKeys[0].Name, "Root")
	return out[0].AdministrativeKeys[0].Keys[0].ID
}

// TestPinnedPull: through the real docker CLI, a consumer pins a repository
// and pulls it with pins required; a consumer whose pin names another root
// pulls nothing; an unpinned repository is refused under
// ACRTRUST_REQUIRE_PIN; an unreachable trust server is an error even with
// a warm cache, unless --offline.
func TestPinnedPull(t *testing.T) {
	publisher := newClient(t).withPassphrases()
	repo := newRepo(t)
	_, digest := publisher.signedPush(t, repo, "v1")
	other := newRepo(t) + "-other"
	publisher.signedPush(t, other, "v1")
	root := rootKeyOf(t, publisher, repo)
	// One engine serves every client: only pulls may bring these back.
	publisher.rmi(t, repo+":v1", other+":v1")

	t.Run("pin add, then a pull with pins required", func(t *testing.T) {
		c := newClient(t)
		res := c.acrtrust(t, "pin", "add", "-y", repo)
		res.Assert(t, icmd.Success)
		assert.Check(t, is.Contains(res.Stderr(), "root key IDs: "+root))
		pins, err := os.ReadFile(filepath.Join(c.config, "trust", "pins.json"))
		assert.NilError(t, err)
		assert.Check(t, is.Contains(string(pins), root))

		res = c.acrtrust(t, "--require-pin", "pull", repo+":v1")
		res.Assert(t, icmd.Success)
		assert.Check(t, is.Contains(c.repoDigests(t, repo+":v1"), repo+"@"+digest))
		c.rmi(t, repo+":v1")

		res = c.acrtrust(t, "inspect", "--pretty", repo)
		res.Assert(t, icmd.Success)
		assert.Check(t, is.Contains(res.Stdout(), "Pinned ("+repo+") to root key "+root))

		res = c.acrtrust(t, "--require-pin", "pull", other+":v1")
		assert.Check(t, is.Equal(res.ExitCode, 1))
		assert.Check(t, is.Contains(res.Stderr(), other+" is not pinned, and pins are required"))
		assert.Check(t, is.Contains(res.Stderr(), "docker acrtrust pin add "+other+" --key-id ROOT_KEY_ID"))
		assert.Check(t, !c.imageExists(t, other+":v1"))
	})

	t.Run("a pin naming another root pulls nothing", func(t *testing.T) {
		c := newClient(t)
		pins := filepath.Join(t.TempDir(), "pins.json")
		bogus := strings.Repeat("0", 63) + "1"
		assert.NilError(t, os.WriteFile(pins, []byte(`{"trust_pinning": {"certs": {"`+repo+`": ["`+bogus+`"]}}}`), 0o644))
		c.env["ACRTRUST_PINS"] = pins
		res := c.acrtrust(t, "pull", repo+":v1")
		assert.Check(t, is.Equal(res.ExitCode, 1))
		assert.Check(t, is.Contains(res.Stderr(), "Warning: potential malicious behavior - the root of trust for "+repo+" does not match its pin"))
		assert.Check(t, is.Contains(res.Stderr(), "presented root key IDs ["+root+"]"))
		assert.Check(t, !c.imageExists(t, repo+":v1"))
	})

	t.Run("a compromised trust server", func(t *testing.T) {
		pinned := newClient(t)
		pinned.acrtrust(t, "pin", "add", repo, "--key-id", root).Assert(t, icmd.Success)
		warm := newClient(t)
		warm.acrtrust(t, "resolve", repo+":v1").Assert(t, icmd.Success)

		path := strings.TrimPrefix(repo, h.sandbox.Host()+"/")
		assert.NilError(t, h.sandbox.SetHostile(path, sandbox.HostileCompromise))
		defer func() { assert.NilError(t, h.sandbox.SetHostile(path, sandbox.HostileOff)) }()

		res := pinned.acrtrust(t, "pull", repo+":v1")
		assert.Check(t, is.Equal(res.ExitCode, 1))
		assert.Check(t, is.Contains(res.Stderr(), "the root of trust for "+repo+" does not match its pin"))
		assert.Check(t, !pinned.imageExists(t, repo+":v1"))

		res = warm.acrtrust(t, "pull", repo+":v1")
		assert.Check(t, is.Equal(res.ExitCode, 1))
		assert.Check(t, is.Contains(res.Stderr(), "Warning: potential malicious behavior - trust data mismatch for remote repository "+repo))
		assert.Check(t, is.Contains(res.Stderr(), "the root this machine trusts did not sign"))
		assert.Check(t, !warm.imageExists(t, repo+":v1"))

		res = newClient(t).acrtrust(t, "--require-pin", "pull", repo+":v1")
		assert.Check(t, is.Equal(res.ExitCode, 1))
		assert.Check(t, is.Contains(res.Stderr(), repo+" is not pinned, and pins are required"))
	})

	t.Run("fail closed, and --offline", func(t *testing.T) {
		c := newClient(t)
		c.acrtrust(t, "resolve", repo+":v1").Assert(t, icmd.Success) // warm cache
		c.env["DOCKER_CONTENT_TRUST_SERVER"] = "https://127.0.0.1:1"
		res := c.acrtrust(t, "pull", repo+":v1")
		assert.Check(t, is.Equal(res.ExitCode, 1))
		assert.Check(t, is.Contains(res.Stderr(), "the trust data cached on this machine was not used"))
		assert.Check(t, !c.imageExists(t, repo+":v1"))

		res = c.acrtrust(t, "--offline", "pull", repo+":v1")
		res.Assert(t, icmd.Success)
		assert.Check(t, is.Contains(res.Stderr(), "freshness was not checked"))
		assert.Check(t, is.Contains(c.repoDigests(t, repo+":v1"), repo+"@"+digest))
		c.rmi(t, repo+":v1")
	})
}
