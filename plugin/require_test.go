package plugin

import (
	"context"
	"encoding/json"
	"testing"

	"github.com/acrtrust/docker-acrtrust/plugin/internal/cmdtest"

	"gotest.tools/v3/assert"
	is "gotest.tools/v3/assert/cmp"
	"oras.land/oras-go/v2/registry/remote"

	"github.com/acrtrust/docker-acrtrust/notationbridge"
	"github.com/acrtrust/docker-acrtrust/sandbox"
	"github.com/acrtrust/docker-acrtrust/trust"
)

func mustParseRef(t *testing.T, s string) trust.Ref {
	t.Helper()
	ref, err := trust.ParseRef(s)
	assert.NilError(t, err)
	return ref
}

// migratedStack is a migrateStack whose app repository was migrated, with
// the trust policy emitted into policyDir.
func migratedStack(t *testing.T) (migrateStack, string) {
	t.Helper()
	ms := newMigrateStack(t)
	policyDir := t.TempDir()
	_, err := ms.migrate(t, "--all-tags", "--emit-policy", policyDir, ms.sb.Host()+"/app")
	assert.NilError(t, err)
	return ms, policyDir
}

func TestRequireBoth(t *testing.T) {
	ms, policyDir := migratedStack(t)
	host := ms.sb.Host()

	t.Run("pull: content trust and Notation agree", func(t *testing.T) {
		d, _, eng := cmdtest.SandboxDeps(t, ms.sb, sandbox.UserPull, nil)
		assert.NilError(t, runCommand(t, d, "pull", "--require", "both", "--notation-dir", policyDir, host+"/app:v2"))
		assert.Check(t, is.DeepEqual(eng.Pulled, []string{host + "/app@" + ms.pushed["v2"].Digest.String()}))
	})

	t.Run("verify: every signed tag has its Notation signature", func(t *testing.T) {
		d, cli, _ := cmdtest.SandboxDeps(t, ms.sb, sandbox.UserPull, map[string]string{envRequire: "both"})
		assert.NilError(t, runCommand(t, d, "verify", "--notation-dir", policyDir, host+"/app"))
		assert.Check(t, is.Contains(cli.OutBuf.String(), "Notation signatures of "+host+"/app:\n"))
		assert.Check(t, is.Contains(cli.OutBuf.String(), "multi     verified"))
	})

	// v3 is signed with content trust after the migration: no Notation
	// signature yet.
	v3 := cmdtest.PushImages(t, ms.sb, "app", "v3")["v3"]
	ms.signAsAlice(t, "v3")

	t.Run("pull refuses a digest without a Notation signature", func(t *testing.T) {
		d, _, eng := cmdtest.SandboxDeps(t, ms.sb, sandbox.UserPull, nil)
		err := runCommand(t, d, "pull", "--require", "both", "--notation-dir", policyDir, host+"/app:v3")
		assert.Check(t, is.ErrorContains(err, "no Notation signature that the trust policy accepts on "+v3.Digest.String()))
		assert.Check(t, is.Len(eng.Pulled, 0))
		assert.Check(t, is.Len(eng.Tagged, 0))
	})

	t.Run("verify names the tag", func(t *testing.T) {
		d, cli, _ := cmdtest.SandboxDeps(t, ms.sb, sandbox.UserPull, nil)
		err := runCommand(t, d, "verify", "--require", "both", "--notation-dir", policyDir, "--format", "json", host+"/app")
		assert.Check(t, is.ErrorContains(err, "no accepted Notation signature: v3"))
		var reps []verifyReport
		assert.NilError(t, json.Unmarshal(cli.OutBuf.Bytes(), &reps))
		byTag := map[string]bool{}
		for _, n := range reps[0].Notation {
			byTag[n.Tag] = n.OK
		}
		assert.Check(t, is.DeepEqual(byTag, map[string]bool{"v1": true, "v2": true, "multi": true, "v3": false}))
	})

	// v1 is pushed over and signed again with content trust: its only
	// Notation signature sits on the digest content trust signed before.
	resigned, err := ms.sb.PushRandomImage(context.Background(), "app", "v1")
	assert.NilError(t, err)
	ms.signAsAlice(t, "v1")

	t.Run("both refuses a Notation signature on another digest", func(t *testing.T) {
		_, err := notationVerify(t, ms.sb, policyDir, "app", ms.pushed["v1"])
		assert.NilError(t, err, "the old digest keeps its Notation signature")
		d, _, eng := cmdtest.SandboxDeps(t, ms.sb, sandbox.UserPull, nil)
		err = runCommand(t, d, "pull", "--require", "both", "--notation-dir", policyDir, host+"/app:v1")
		assert.Check(t, is.ErrorContains(err, "no Notation signature that the trust policy accepts on "+resigned.Digest.String()))
		assert.Check(t, is.Len(eng.Pulled, 0))
		d, _, eng = cmdtest.SandboxDeps(t, ms.sb, sandbox.UserPull, nil)
		assert.NilError(t, runCommand(t, d, "pull", "--require", "dct", host+"/app:v1"), "content trust alone pulls it")
		assert.Check(t, is.DeepEqual(eng.Pulled, []string{host + "/app@" + resigned.Digest.String()}))
	})

	// v2 is pushed over and the new digest signed with Notation only.
	over, err := ms.sb.PushRandomImage(context.Background(), "app", "v2")
	assert.NilError(t, err)
	signer, err := notationbridge.LocalSigner(ms.key, ms.cert)
	assert.NilError(t, err)
	pusher, _, _ := cmdtest.SandboxDeps(t, ms.sb, sandbox.UserPush, nil)
	pusher.Init()
	assert.NilError(t, pusher.ORAS.WithRepository(mustParseRef(t, host+"/app:v2"), func(r *remote.Repository) error {
		return notationbridge.Sign(context.Background(), signer, notationbridge.NewRepository(r), over, notationbridge.SignOptions{})
	}))

	t.Run("notation alone follows the registry, both follows content trust", func(t *testing.T) {
		d, _, eng := cmdtest.SandboxDeps(t, ms.sb, sandbox.UserPull, nil)
		assert.NilError(t, runCommand(t, d, "pull", "--require", "notation", "--notation-dir", policyDir, host+"/app:v2"))
		assert.Check(t, is.DeepEqual(eng.Pulled, []string{host + "/app@" + over.Digest.String()}))
		d, _, eng = cmdtest.SandboxDeps(t, ms.sb, sandbox.UserPull, nil)
		assert.NilError(t, runCommand(t, d, "pull", "--require", "both", "--notation-dir", policyDir, host+"/app:v2"))
		assert.Check(t, is.DeepEqual(eng.Pulled, []string{host + "/app@" + ms.pushed["v2"].Digest.String()}))
	})
}

func TestPullRequireNotationWithContentTrustOff(t *testing.T) {
	ms, policyDir := migratedStack(t)
	host := ms.sb.Host()
	unsigned := cmdtest.PushImages(t, ms.sb, "app", "dev")["dev"]
	ms.sb.SetContentTrust(false)

	t.Run("content trust is gone", func(t *testing.T) {
		d, _, eng := cmdtest.SandboxDeps(t, ms.sb, sandbox.UserPull, nil)
		err := runCommand(t, d, "pull", host+"/app:v1")
		assert.Check(t, err != nil)
		assert.Check(t, is.Len(eng.Pulled, 0))
	})

	for _, tag := range []string{"v1", "v2", "multi"} {
		t.Run("pull "+tag, func(t *testing.T) {
			// Pipelines that turned content trust off keep verifying:
			// asking for Notation wins over DOCKER_CONTENT_TRUST=0.
			d, cli, eng := cmdtest.SandboxDeps(t, ms.sb, sandbox.UserPull, map[string]string{envRequire: "notation", "DOCKER_CONTENT_TRUST": "0"})
			assert.NilError(t, runCommand(t, d, "pull", "--notation-dir", policyDir, host+"/app:"+tag))
			byDigest := host + "/app@" + ms.pushed[tag].Digest.String()
			assert.Check(t, is.DeepEqual(eng.Pulled, []string{byDigest}))
			assert.Check(t, is.DeepEqual(eng.Tagged, [][2]string{{byDigest, host + "/app:" + tag}}))
			assert.Check(t, is.Contains(cli.OutBuf.String(), "Pull (1 of 1): "+host+"/app:"+tag+"@"+ms.pushed[tag].Digest.String()))
		})
	}

	t.Run("a tag without a Notation signature is refused", func(t *testing.T) {
		d, _, eng := cmdtest.SandboxDeps(t, ms.sb, sandbox.UserPull, nil)
		err := runCommand(t, d, "pull", "--require", "notation", "--notation-dir", policyDir, host+"/app:dev")
		assert.Check(t, is.ErrorContains(err, "no Notation signature that the trust policy accepts on "+unsigned.Digest.String()))
		assert.Check(t, is.Len(eng.Pulled, 0))
	})

	t.Run("a notation directory without a policy is refused", func(t *testing.T) {
		d, _, eng := cmdtest.SandboxDeps(t, ms.sb, sandbox.UserPull, nil)
		err := runCommand(t, d, "pull", "--require", "notation", "--notation-dir", t.TempDir(), host+"/app:v1")
		assert.Check(t, is.ErrorContains(err, "no Notation trust policy"))
		assert.Check(t, is.ErrorContains(err, "docker acrtrust migrate --emit-policy DIR"))
		assert.Check(t, is.Len(eng.Pulled, 0))
	})

	t.Run("verify --require notation", func(t *testing.T) {
		d, _, _ := cmdtest.SandboxDeps(t, ms.sb, sandbox.UserPull, nil)
		err := runCommand(t, d, "verify", "--require", "notation", "--notation-dir", policyDir, host+"/app")
		assert.Check(t, is.ErrorContains(err, "no accepted Notation signature: dev"))
		d, _, _ = cmdtest.SandboxDeps(t, ms.sb, sandbox.UserPull, nil)
		assert.NilError(t, runCommand(t, d, "verify", "--require", "notation", "--notation-dir", policyDir, host+"/app:v2"))
	})

	t.Run("invalid requirement", func(t *testing.T) {
		d, _, eng := cmdtest.SandboxDeps(t, ms.sb, sandbox.UserPull, map[string]string{envRequire: "nottion", "DOCKER_CONTENT_TRUST": "0"})
		err := runCommand(t, d, "pull", host+"/app:v1")
		assert.Check(t, is.ErrorContains(err, `invalid ACRTRUST_REQUIRE "nottion": use dct, notation or both`))
		assert.Check(t, is.Len(eng.Pulled, 0), "a typo never means unverified")
	})
}
