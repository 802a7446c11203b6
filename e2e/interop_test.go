//go:build e2e

package e2e

import (
	"encoding/base64"
	"regexp"
	"strings"
	"testing"

	"gotest.tools/v3/assert"
	is "gotest.tools/v3/assert/cmp"
	"gotest.tools/v3/icmd"

	"github.com/acrtrust/docker-acrtrust/sandbox"
)

// dctEnv turns on Docker's own content trust against the sandbox.
func dctEnv() []string {
	return []string{"DOCKER_CONTENT_TRUST=1", "DOCKER_CONTENT_TRUST_SERVER=https://" + h.sandbox.Host()}
}

func requireDCTDocker(t *testing.T) {
	t.Helper()
	requireHarness(t)
	if h.dctDocker == "" {
		skipOrFail(t, "no docker CLI with content trust (older than v29) found: apt-get install docker.io")
	}
}

// TestInteropDockerPullsWhatAcrtrustSigned: a tag signed by `docker
// acrtrust push` is pulled by `DOCKER_CONTENT_TRUST=1 docker pull`.
func TestInteropDockerPullsWhatAcrtrustSigned(t *testing.T) {
	requireDCTDocker(t)
	c := newClient(t).withPassphrases()
	repo := newRepo(t)
	_, digest := c.signedPush(t, repo, "v1")
	c.rmi(t, repo+":v1")

	pull := c.run(t, icmd.Command(h.dctDocker, "pull", repo+":v1"), icmd.WithEnv(c.environ(dctEnv()...)...))
	pull.Assert(t, icmd.Expected{Out: "Pull (1 of 1): " + repo + ":v1@" + digest})
	assert.Check(t, is.Contains(c.repoDigests(t, repo+":v1"), repo+"@"+digest))

	// And Docker refuses a tag acrtrust left unsigned, as acrtrust does.
	c.importImage(t, repo+":unsigned")
	c.acrtrust(t, "push", "--disable-content-trust", repo+":unsigned").Assert(t, icmd.Success)
	c.rmi(t, repo+":unsigned")
	refused := c.run(t, icmd.Command(h.dctDocker, "pull", repo+":unsigned"), icmd.WithEnv(c.environ(dctEnv()...)...))
	assert.Check(t, refused.ExitCode != 0, refused.Combined())
	assert.Check(t, is.Contains(refused.Stderr(), "No valid trust data for unsigned"))
}

// TestInteropAcrtrustPullsWhatDockerSigned: a repository initialised and
// signed by `DOCKER_CONTENT_TRUST=1 docker push` is pulled by acrtrust, and
// acrtrust signs further tags in it with the same keys (only the repository
// passphrase needed, no new key), which Docker then pulls.
func TestInteropAcrtrustPullsWhatDockerSigned(t *testing.T) {
	requireDCTDocker(t)
	c := newClient(t).withPassphrases()
	repo := newRepo(t)
	c.importImage(t, repo+":v1")

	push := c.run(t, icmd.Command(h.dctDocker, "push", repo+":v1"), icmd.WithEnv(c.environ(dctEnv()...)...))
	push.Assert(t, icmd.Expected{Out: "Successfully signed " + repo + ":v1"})
	digest := pushedDigest(t, push.Stdout(), "v1")
	dockerKeys := c.keyFiles(t)
	assert.Assert(t, is.Len(dockerKeys, 2), "docker made a root and a repository key")

	c.rmi(t, repo+":v1")
	pull := c.acrtrust(t, "pull", repo+":v1")
	pull.Assert(t, icmd.Expected{Out: "Pull (1 of 1): " + repo + ":v1@" + digest})
	assert.Check(t, is.Contains(c.repoDigests(t, repo+":v1"), repo+"@"+digest))

	delete(c.env, envRoot)
	res, _ := c.signedPush(t, repo, "v2")
	assert.Check(t, !strings.Contains(res.Stdout(), "Finished initializing"), res.Stdout())
	assert.Check(t, is.DeepEqual(c.keyFiles(t), dockerKeys), "acrtrust made a new key instead of using docker's")
	digest2 := pushedDigest(t, res.Stdout(), "v2")

	c.rmi(t, repo+":v2")
	back := c.run(t, icmd.Command(h.dctDocker, "pull", repo+":v2"), icmd.WithEnv(c.environ(dctEnv()...)...))
	back.Assert(t, icmd.Expected{Out: "Pull (1 of 1): " + repo + ":v2@" + digest2})
}

// TestInteropNotaryListsWhatAcrtrustSigned: the notary CLI, reading the
// same trust directory and server, lists the tags acrtrust signed with
// their digests and sizes. notary authenticates from NOTARY_AUTH
// (base64 "user:password") when the server asks, through the same token
// service.
func TestInteropNotaryListsWhatAcrtrustSigned(t *testing.T) {
	requireHarness(t)
	if h.notary == "" {
		skipOrFail(t, "no notary CLI on PATH: apt-get install notary")
	}
	c := newClient(t).withPassphrases()
	repo := newRepo(t)
	digests := map[string]string{}
	for _, tag := range []string{"v1", "v2"} {
		_, digests[tag] = c.signedPush(t, repo, tag)
	}

	auth := base64.StdEncoding.EncodeToString([]byte(sandbox.UserSigner + ":" + sandbox.Password))
	res := c.run(t, icmd.Command(h.notary, "-s", "https://"+h.sandbox.Host(), "-d", c.config+"/trust",
		"--tlscacert", c.caFile(), "list", repo),
		icmd.WithEnv(c.environ("NOTARY_AUTH="+auth)...))
	res.Assert(t, icmd.Success)
	for tag, d := range digests {
		hex := strings.TrimPrefix(d, "sha256:")
		line := regexp.MustCompile(`(?m)^` + tag + `\s+` + hex + `\s+\d+\s+targets\s*$`)
		assert.Check(t, line.MatchString(res.Stdout()), "notary list has no line for %s with digest %s:\n%s", tag, hex, res.Stdout())
	}
}
