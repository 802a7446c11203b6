//go:build e2e

package e2e

import (
	"archive/tar"
	"bytes"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"gotest.tools/v3/assert"
	"gotest.tools/v3/icmd"

	"github.com/acrtrust/docker-acrtrust/sandbox"
)

// Passphrases the tests sign with. They must never show up in any output.
const (
	rootPassphrase = "e2e-root-passphrase-0"
	repoPassphrase = "e2e-repository-passphrase-0"

	envRoot = "DOCKER_CONTENT_TRUST_ROOT_PASSPHRASE"
	envRepo = "DOCKER_CONTENT_TRUST_REPOSITORY_PASSPHRASE"
)

// commandTimeout bounds every command; a passphrase prompt waiting on stdin
// shows up as a timeout instead of a hung test run.
const commandTimeout = 2 * time.Minute

// client is one user of docker: an isolated DOCKER_CONFIG that finds the
// plugin under test through cliPluginsExtraDirs, trusts the sandbox's CA
// (tls/<host>/ca.crt, where docker's content trust and the plugin look) and
// is logged in to the sandbox as its signer (AcrPush + AcrImageSigner).
type client struct {
	config string
	env    map[string]string // variables on top of the base environment
}

// newClient returns a logged-in client without passphrases.
func newClient(t *testing.T) *client {
	t.Helper()
	requireHarness(t)
	dir := t.TempDir()
	cfg, err := json.Marshal(map[string]any{"cliPluginsExtraDirs": []string{h.pluginDir}})
	assert.NilError(t, err)
	assert.NilError(t, os.WriteFile(filepath.Join(dir, "config.json"), cfg, 0o600))
	assert.NilError(t, h.sandbox.InstallCA(dir))
	c := &client{config: dir, env: map[string]string{}}
	c.run(t, icmd.Command(h.docker, "login", h.sandbox.Host(), "-u", sandbox.UserSigner, "--password-stdin"),
		icmd.WithStdin(strings.NewReader(sandbox.Password+"\n"))).Assert(t, icmd.Success)
	return c
}

// withPassphrases sets both passphrase variables.
func (c *client) withPassphrases() *client {
	c.env[envRoot] = rootPassphrase
	c.env[envRepo] = repoPassphrase
	return c
}

// environ is the environment of every command: the test process's, minus
// every DOCKER_* and NOTARY_* variable, plus the engine, the config
// directory and the client's own variables.
func (c *client) environ(extra ...string) []string {
	var env []string
	for _, kv := range os.Environ() {
		if strings.HasPrefix(kv, "DOCKER_") || strings.HasPrefix(kv, "NOTARY_") {
			continue
		}
		env = append(env, kv)
	}
	env = append(env, "DOCKER_HOST="+h.dockerHost, "DOCKER_CONFIG="+c.config)
	for k, v := range c.env {
		env = append(env, k+"="+v)
	}
	return append(env, extra...)
}

// run runs cmd with the client's environment (ops may add to it with
// icmd.WithEnv(c.environ(...))), no stdin unless ops give one, and the
// command timeout. It logs the command line and the exit code.
func (c *client) run(t *testing.T, cmd icmd.Cmd, ops ...icmd.CmdOp) *icmd.Result {
	t.Helper()
	all := append([]icmd.CmdOp{icmd.WithEnv(c.environ()...), icmd.WithTimeout(commandTimeout)}, ops...)
	start := time.Now()
	res := icmd.RunCmd(cmd, all...)
	t.Logf("$ %s  # exit %d, %s", strings.Join(cmd.Command, " "), res.ExitCode, time.Since(start).Round(time.Millisecond))
	return res
}

// docker runs the docker CLI under test.
func (c *client) docker(t *testing.T, args ...string) *icmd.Result {
	t.Helper()
	return c.run(t, icmd.Command(h.docker, args...))
}

// dockerEnv runs the docker CLI under test with extra variables.
func (c *client) dockerEnv(t *testing.T, extra []string, args ...string) *icmd.Result {
	t.Helper()
	return c.run(t, icmd.Command(h.docker, args...), icmd.WithEnv(c.environ(extra...)...))
}

// acrtrust runs `docker acrtrust ARGS...`.
func (c *client) acrtrust(t *testing.T, args ...string) *icmd.Result {
	t.Helper()
	return c.docker(t, append([]string{"acrtrust"}, args...)...)
}

// importImage creates a one-file image tagged ref with `docker import`, from
// a tar made here: nothing can be pulled from the internet, and each call
// makes different content, so different digests.
func (c *client) importImage(t *testing.T, ref string) {
	t.Helper()
	var rnd [16]byte
	_, _ = rand.Read(rnd[:])
	content := []byte(ref + "\n" + hex.EncodeToString(rnd[:]) + "\n")
	var buf bytes.Buffer
	tw := tar.NewWriter(&buf)
	assert.NilError(t, tw.WriteHeader(&tar.Header{Name: "acrtrust-e2e", Mode: 0o644, Size: int64(len(content)), ModTime: time.Now()}))
	_, err := tw.Write(content)
	assert.NilError(t, err)
	assert.NilError(t, tw.Close())
	c.run(t, icmd.Command(h.docker, "import", "-", ref), icmd.WithStdin(&buf)).Assert(t, icmd.Success)
}

// signedPush imports a fresh image as repo:tag and pushes it with
// `docker acrtrust push`, which must sign it; it returns the push and the
// digest the push reported.
func (c *client) signedPush(t *testing.T, repo, tag string) (*icmd.Result, string) {
	t.Helper()
	c.importImage(t, repo+":"+tag)
	res := c.acrtrust(t, "push", repo+":"+tag)
	res.Assert(t, icmd.Expected{Out: "Successfully signed " + repo + ":" + tag})
	return res, pushedDigest(t, res.Stdout(), tag)
}

// imageExists reports whether the engine has an image named ref.
func (c *client) imageExists(t *testing.T, ref string) bool {
	t.Helper()
	return c.docker(t, "image", "inspect", "--format", "{{.Id}}", ref).ExitCode == 0
}

// repoDigests returns the RepoDigests of the local image ref.
func (c *client) repoDigests(t *testing.T, ref string) []string {
	t.Helper()
	res := c.docker(t, "image", "inspect", "--format", "{{json .RepoDigests}}", ref)
	res.Assert(t, icmd.Success)
	var digests []string
	assert.NilError(t, json.Unmarshal([]byte(strings.TrimSpace(res.Stdout())), &digests))
	return digests
}

// rmi removes the local tag ref, so that a pull has to fetch it.
func (c *client) rmi(t *testing.T, refs ...string) {
	t.Helper()
	c.docker(t, append([]string{"rmi"}, refs...)...).Assert(t, icmd.Success)
}

// keyFiles lists the private key files under $DOCKER_CONFIG/trust/private.
func (c *client) keyFiles(t *testing.T) []string {
	t.Helper()
	entries, err := os.ReadDir(filepath.Join(c.config, "trust", "private"))
	if os.IsNotExist(err) {
		return nil
	}
	assert.NilError(t, err)
	var keys []string
	for _, e := range entries {
		if strings.HasSuffix(e.Name(), ".key") {
			keys = append(keys, e.Name())
		}
	}
	return keys
}

// caFile is the sandbox CA as installed in the client's config.
func (c *client) caFile() string {
	return filepath.Join(c.config, "tls", h.sandbox.Host(), "ca.crt")
}

// newRepo returns "<sandbox host>/<name>" for a repository no other test
// uses: the test's name, lowercased, and a random suffix.
func newRepo(t *testing.T) string {
	t.Helper()
	name := strings.ToLower(t.Name())
	name = regexp.MustCompile(`[^a-z0-9]+`).ReplaceAllString(name, "-")
	name = strings.Trim(name, "-")
	if len(name) > 40 {
		name = strings.TrimRight(name[:40], "-")
	}
	var rnd [3]byte
	_, _ = rand.Read(rnd[:])
	return h.sandbox.Host() + "/" + name + "-" + hex.EncodeToString(rnd[:])
}

// pushedDigest finds "TAG: digest: sha256:... size: N" in the engine's push
// output, the digest the registry now serves for the tag.
func pushedDigest(t *testing.T, out, tag string) string {
	t.Helper()
	m := regexp.MustCompile(`(?m)^` + regexp.QuoteMeta(tag) + `: digest: (sha256:[0-9a-f]{64}) size: \d+`).FindStringSubmatch(out)
	assert.Assert(t, m != nil, "no digest line for tag %s in the push output:\n%s", tag, out)
	return m[1]
}

// assertNoSecrets fails when a passphrase shows up in a command's output.
func assertNoSecrets(t *testing.T, res *icmd.Result) {
	t.Helper()
	for _, secret := range []string{rootPassphrase, repoPassphrase, sandbox.Password} {
		assert.Check(t, !strings.Contains(res.Combined(), secret), "a passphrase or password shows up in the output of %v", res.Cmd.Args)
	}
}

// signedAndDev pushes v1 and v2 of a new repository signed, and dev
// unsigned; it returns the repository, the signed tags' digests and dev's.
func (c *client) signedAndDev(t *testing.T) (repo string, digests map[string]string, devDigest string) {
	t.Helper()
	repo = newRepo(t)
	digests = map[string]string{}
	for _, tag := range []string{"v1", "v2"} {
		_, digests[tag] = c.signedPush(t, repo, tag)
	}
	c.importImage(t, repo+":dev")
	res := c.acrtrust(t, "push", "--disable-content-trust", repo+":dev")
	res.Assert(t, icmd.Success)
	return repo, digests, pushedDigest(t, res.Stdout(), "dev")
}
