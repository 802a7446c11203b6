//go:build e2e

package e2e

import (
	"context"
	"encoding/json"
	"os"
	"path"
	"path/filepath"
	"strings"
	"testing"

	"github.com/notaryproject/notation-go"
	"github.com/notaryproject/notation-go/dir"
	notationregistry "github.com/notaryproject/notation-go/registry"
	"github.com/notaryproject/notation-go/verifier"
	"github.com/notaryproject/notation-go/verifier/trustpolicy"
	"github.com/notaryproject/notation-go/verifier/truststore"
	"gotest.tools/v3/assert"
	is "gotest.tools/v3/assert/cmp"
	"gotest.tools/v3/icmd"
	"oras.land/oras-go/v2/registry/remote"
	"oras.land/oras-go/v2/registry/remote/auth"

	"github.com/acrtrust/docker-acrtrust/notationbridge"
	"github.com/acrtrust/docker-acrtrust/sandbox"
)

// TestCopyBetweenRegistries promotes a signed image, with the Notation
// signature migrate made for it, from the harness's registry to a second
// one; Docker 28's own content trust pulls it at DST, and notation-go
// verifies the copied signature there.
func TestCopyBetweenRegistries(t *testing.T) {
	requireDCTDocker(t)
	c := newClient(t).withPassphrases()
	repo := newRepo(t)
	_, dgst := c.signedPush(t, repo, "v1")
	c.rmi(t, repo+":v1")
	notationDir := t.TempDir()
	c.acrtrust(t, "migrate", "cert", "generate-test", "--notation-dir", notationDir, "e2e").Assert(t, icmd.Success)
	key, cert := filepath.Join(notationDir, "localkeys", "e2e.key"), filepath.Join(notationDir, "localkeys", "e2e.crt")
	c.acrtrust(t, "migrate", "--key", key, "--cert", cert, repo+":v1").Assert(t, icmd.Success)

	dstSB, err := sandbox.Start(sandbox.Options{})
	assert.NilError(t, err)
	t.Cleanup(func() { _ = dstSB.Close() })
	assert.NilError(t, dstSB.InstallCA(c.config))
	c.run(t, icmd.Command(h.docker, "login", dstSB.Host(), "-u", sandbox.UserSigner, "--password-stdin"),
		icmd.WithStdin(strings.NewReader(sandbox.Password+"\n"))).Assert(t, icmd.Success)
	dst := dstSB.Host() + "/prod/" + path.Base(repo)

	res := c.acrtrust(t, "copy", "--sign", "both", repo+":v1", dst)
	res.Assert(t, icmd.Success)
	assert.Check(t, is.Contains(res.Stdout(), "Copied "+repo+":v1 to "+dst+":v1@"+dgst))
	assert.Check(t, is.Contains(res.Stdout(), "Successfully signed "+dst+":v1"))
	assertNoSecrets(t, res)

	t.Run("Docker's content trust pulls it at DST", func(t *testing.T) {
		pull := c.run(t, icmd.Command(h.dctDocker, "pull", dst+":v1"),
			icmd.WithEnv(c.environ("DOCKER_CONTENT_TRUST=1", "DOCKER_CONTENT_TRUST_SERVER=https://"+dstSB.Host())...))
		pull.Assert(t, icmd.Expected{Out: "Pull (1 of 1): " + dst + ":v1@" + dgst})
		assert.Check(t, is.Contains(c.repoDigests(t, dst+":v1"), dst+"@"+dgst))
	})

	t.Run("notation-go verifies the copied signature at DST", func(t *testing.T) {
		signer, err := notationbridge.LocalSigner(key, cert)
		assert.NilError(t, err)
		policyDir := t.TempDir()
		_, err = notationbridge.WritePolicy(policyDir, notationbridge.PolicyOptions{Scopes: []string{dst}, Chain: signer.Chain})
		assert.NilError(t, err)
		verifyWithNotation(t, dstSB, policyDir, dst, dgst)
	})

	t.Run("a second copy copies and signs nothing", func(t *testing.T) {
		dstSB.ResetStats()
		res := c.acrtrust(t, "copy", "--sign", "both", repo+":v1", dst)
		res.Assert(t, icmd.Success)
		assert.Check(t, is.Contains(res.Stdout(), "0 copied"))
		assert.Check(t, is.Equal(dstSB.Stats().BlobUploads, 0))
		assert.Check(t, is.Equal(dstSB.Stats().Publishes, 0))
	})
}

// verifyWithNotation verifies name@dgst in sb with notation-go's own
// verifier, trust policy and trust store, as `notation verify` does.
func verifyWithNotation(t *testing.T, sb *sandbox.Sandbox, policyDir, name, dgst string) {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(policyDir, "trustpolicy.json"))
	assert.NilError(t, err)
	var doc trustpolicy.Document
	assert.NilError(t, json.Unmarshal(b, &doc))
	v, err := verifier.New(&doc, truststore.NewX509TrustStore(dir.NewSysFS(policyDir)), nil)
	assert.NilError(t, err)
	r, err := remote.NewRepository(name)
	assert.NilError(t, err)
	r.Client = &auth.Client{
		Client:     sb.HTTPClient(),
		Cache:      auth.NewCache(),
		Credential: auth.StaticCredential(sb.Host(), auth.Credential{Username: sandbox.UserPull, Password: sandbox.Password}),
	}
	_, outcomes, err := notation.Verify(context.Background(), v, notationregistry.NewRepository(r), notation.VerifyOptions{
		ArtifactReference:    name + "@" + dgst,
		MaxSignatureAttempts: 10,
	})
	assert.NilError(t, err)
	assert.Check(t, is.Len(outcomes, 1))
}
