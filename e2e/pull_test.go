//go:build e2e

package e2e

import (
	"encoding/json"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"testing"

	"gotest.tools/v3/assert"
	is "gotest.tools/v3/assert/cmp"
	"gotest.tools/v3/icmd"
)

// TestPullTrusted: pulls resolve tags from verified trust data, pull by
// digest, and tag locally; unsigned tags and repositories without trust
// data pull nothing.
func TestPullTrusted(t *testing.T) {
	c := newClient(t).withPassphrases()
	repo := newRepo(t)

	// v1 and v2 signed, "unsigned" pushed without a signature.
	digests := map[string]string{}
	for _, tag := range []string{"v1", "v2"} {
		_, digests[tag] = c.signedPush(t, repo, tag)
	}
	c.importImage(t, repo+":unsigned")
	res := c.acrtrust(t, "push", "--disable-content-trust", repo+":unsigned")
	res.Assert(t, icmd.Success)
	unsignedDigest := pushedDigest(t, res.Stdout(), "unsigned")
	c.rmi(t, repo+":v1", repo+":v2", repo+":unsigned")

	t.Run("a signed tag", func(t *testing.T) {
		res := c.acrtrust(t, "pull", repo+":v1")
		res.Assert(t, icmd.Success)
		assert.Check(t, is.Contains(res.Stdout(), "Pull (1 of 1): "+repo+":v1@"+digests["v1"]))
		assert.Check(t, is.Contains(res.Stderr(), "Tagging "+repo+"@"+digests["v1"]+" as "+repo+":v1"))
		assert.Check(t, strings.HasSuffix(res.Stdout(), repo+":v1\n"), "the last line is the reference")
		assert.Check(t, is.Contains(c.repoDigests(t, repo+":v1"), repo+"@"+digests["v1"]))
		c.rmi(t, repo+":v1")
	})

	t.Run("a warm pull asks the token service nothing, the engine included", func(t *testing.T) {
		c.acrtrust(t, "pull", repo+":v1").Assert(t, icmd.Success) // the trust and token caches warm
		c.rmi(t, repo+":v1")
		h.sandbox.ResetStats()
		res := c.acrtrust(t, "pull", repo+":v1")
		res.Assert(t, icmd.Success)
		st := h.sandbox.Stats()
		assert.Check(t, is.Equal(st.TokenRequests, 0), "the engine was handed the cached token")
		assert.Check(t, is.Equal(st.TrustRequests, 1), "the timestamp only")
		assert.Check(t, is.Contains(c.repoDigests(t, repo+":v1"), repo+"@"+digests["v1"]))
		c.rmi(t, repo+":v1")
	})

	t.Run("a cached token the registry refuses: pulled again with the login", func(t *testing.T) {
		// resolve keeps a token for the trust data alone; put it in place
		// of every token cached for the repository (pull's, push's): the
		// trust server takes it, the registry refuses it to the engine.
		c.acrtrust(t, "pull", repo+":v1").Assert(t, icmd.Success)
		c.rmi(t, repo+":v1")
		c.acrtrust(t, "resolve", repo+":v1").Assert(t, icmd.Success)
		trustOnly := swapTokens(t, c.config, repo)
		h.sandbox.ResetStats()
		res := c.acrtrust(t, "pull", repo+":v1")
		res.Assert(t, icmd.Success)
		assert.Check(t, is.Contains(c.repoDigests(t, repo+":v1"), repo+"@"+digests["v1"]))
		assert.Check(t, is.Equal(h.sandbox.Stats().TokenRequests, 1), "the engine asked for a token with the login")
		assert.Check(t, !strings.Contains(readTokenFiles(t, c.config), trustOnly), "the refused token was dropped")
		c.rmi(t, repo+":v1")
	})

	t.Run("every signed tag with -a", func(t *testing.T) {
		res := c.acrtrust(t, "pull", "-a", repo)
		res.Assert(t, icmd.Success)
		assert.Check(t, is.Contains(res.Stdout(), "Pull (1 of 2): "+repo+":v1@"+digests["v1"]))
		assert.Check(t, is.Contains(res.Stdout(), "Pull (2 of 2): "+repo+":v2@"+digests["v2"]))
		assert.Check(t, is.Contains(c.repoDigests(t, repo+":v1"), repo+"@"+digests["v1"]))
		assert.Check(t, is.Contains(c.repoDigests(t, repo+":v2"), repo+"@"+digests["v2"]))
		assert.Check(t, !c.imageExists(t, repo+":unsigned"), "the unsigned tag was pulled")
		c.rmi(t, repo+":v1", repo+":v2")
	})

	t.Run("quiet", func(t *testing.T) {
		res := c.acrtrust(t, "pull", "-q", repo+":v2")
		res.Assert(t, icmd.Success)
		assert.Check(t, is.Equal(res.Stdout(), repo+":v2\n"))
		assert.Check(t, is.Contains(c.repoDigests(t, repo+":v2"), repo+"@"+digests["v2"]))
		c.rmi(t, repo+":v2")
	})

	t.Run("with a platform", func(t *testing.T) {
		res := c.acrtrust(t, "pull", "--platform", "linux/"+runtime.GOARCH, repo+":v1")
		res.Assert(t, icmd.Success)
		assert.Check(t, is.Contains(res.Stdout(), "Pull (1 of 1): "+repo+":v1@"+digests["v1"]))
		assert.Check(t, is.Contains(c.repoDigests(t, repo+":v1"), repo+"@"+digests["v1"]))
		c.rmi(t, repo+":v1")
	})

	t.Run("a digest reference is pulled as it is", func(t *testing.T) {
		// The digest of the unsigned tag: a digest needs no trust data.
		ref := repo + "@" + unsignedDigest
		res := c.acrtrust(t, "pull", ref)
		res.Assert(t, icmd.Success)
		assert.Check(t, !strings.Contains(res.Stdout(), "Pull ("), res.Stdout())
		assert.Check(t, c.imageExists(t, ref))
		assert.Check(t, !c.imageExists(t, repo+":unsigned"), "a digest pull must not tag")
		c.rmi(t, ref)
	})

	t.Run("an unsigned tag pulls nothing", func(t *testing.T) {
		res := c.acrtrust(t, "pull", repo+":unsigned")
		res.Assert(t, icmd.Expected{ExitCode: 1, Err: "No valid trust data for unsigned"})
		// Under docker the command is still known as pull: its own remedy.
		assert.Check(t, is.Contains(res.Stderr(), "The tag is not signed, so nothing was pulled."))
		assert.Check(t, is.Contains(res.Stderr(), "or pull with --disable-content-trust"))
		assert.Check(t, !strings.Contains(res.Combined(), "Pulling from"), "the engine was asked to pull")
		assert.Check(t, !c.imageExists(t, repo+":unsigned"))
		assert.Check(t, !c.imageExists(t, repo+"@"+unsignedDigest))
	})

	t.Run("a repository without trust data pulls nothing", func(t *testing.T) {
		plain := newRepo(t)
		c.importImage(t, plain+":v1")
		c.acrtrust(t, "push", "--disable-content-trust", plain+":v1").Assert(t, icmd.Success)
		c.rmi(t, plain+":v1")

		res := c.acrtrust(t, "pull", plain+":v1")
		res.Assert(t, icmd.Expected{ExitCode: 1, Err: "remote trust data does not exist for " + plain})
		assert.Check(t, !strings.Contains(res.Combined(), "Pulling from"), "the engine was asked to pull")
		assert.Check(t, !c.imageExists(t, plain+":v1"))
	})
}

// TestContentTrustDisabled: --disable-content-trust and
// DOCKER_CONTENT_TRUST=0 make push and pull plain docker push and pull,
// with a warning on stderr.
func TestContentTrustDisabled(t *testing.T) {
	c := newClient(t) // no passphrases: nothing may be signed
	repo := newRepo(t)

	tests := []struct {
		name string
		env  []string
		flag []string
		tag  string
	}{
		{name: "flag", flag: []string{"--disable-content-trust"}, tag: "flag"},
		{name: "DOCKER_CONTENT_TRUST=0", env: []string{"DOCKER_CONTENT_TRUST=0"}, tag: "env"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			ref := repo + ":" + tc.tag
			c.importImage(t, ref)

			push := c.dockerEnv(t, tc.env, append(append([]string{"acrtrust", "push"}, tc.flag...), ref)...)
			push.Assert(t, icmd.Expected{Err: "WARNING:"})
			assert.Check(t, !strings.Contains(push.Stdout(), "Signing"), push.Stdout())
			assert.Check(t, is.Len(c.keyFiles(t), 0), "a key was made")
			digest := pushedDigest(t, push.Stdout(), tc.tag)

			c.rmi(t, ref)
			pull := c.dockerEnv(t, tc.env, append(append([]string{"acrtrust", "pull"}, tc.flag...), ref)...)
			pull.Assert(t, icmd.Expected{Err: "WARNING:"})
			assert.Check(t, !strings.Contains(pull.Stdout(), "Pull ("), pull.Stdout())
			assert.Check(t, is.Contains(c.repoDigests(t, ref), repo+"@"+digest))
		})
	}

	// Nothing was signed: with trust on, there is no trust data.
	c.acrtrust(t, "pull", repo+":flag").Assert(t, icmd.Expected{ExitCode: 1, Err: "remote trust data does not exist for " + repo})
}

// readTokenFiles is the token cache of config, its files joined.
func readTokenFiles(t *testing.T, config string) string {
	t.Helper()
	files, err := filepath.Glob(filepath.Join(config, "acrtrust", "tokens", "*.json"))
	assert.NilError(t, err)
	var all strings.Builder
	for _, f := range files {
		b, err := os.ReadFile(f)
		assert.NilError(t, err)
		all.Write(b)
	}
	return all.String()
}

// swapTokens puts the cached token that covers repo's trust data alone in
// place of every other token cached for repo (those that also cover its
// registry repository), and returns it.
func swapTokens(t *testing.T, config, repo string) string {
	t.Helper()
	files, err := filepath.Glob(filepath.Join(config, "acrtrust", "tokens", "*.json"))
	assert.NilError(t, err)
	assert.Assert(t, is.Len(files, 1))
	b, err := os.ReadFile(files[0])
	assert.NilError(t, err)
	var cache struct {
		Tokens map[string]map[string]any `json:"tokens"`
	}
	assert.NilError(t, json.Unmarshal(b, &cache))
	gun := "repository:" + repo + ":pull"
	trustOnly, ok := cache.Tokens[gun]
	assert.Assert(t, ok, "no token for %s alone in %s", gun, b)
	swapped := false
	for key, entry := range cache.Tokens {
		if strings.HasPrefix(key, "repository:"+repo+":") && key != gun {
			entry["token"] = trustOnly["token"]
			swapped = true
		}
	}
	assert.Assert(t, swapped, "no token for %s and its repository in %s", gun, b)
	b, err = json.Marshal(cache)
	assert.NilError(t, err)
	assert.NilError(t, os.WriteFile(files[0], b, 0o600))
	return trustOnly["token"].(string)
}
