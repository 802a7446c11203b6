package notationbridge

import (
	"context"
	x509std "crypto/x509"
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/notaryproject/notation-go"
	"github.com/notaryproject/notation-go/dir"
	"github.com/notaryproject/notation-go/verifier"
	"github.com/notaryproject/notation-go/verifier/trustpolicy"
	"github.com/notaryproject/notation-go/verifier/truststore"
	"gotest.tools/v3/assert"
	is "gotest.tools/v3/assert/cmp"
	"oras.land/oras-go/v2/registry/remote"

	"github.com/acrtrust/docker-acrtrust/sandbox"
	"github.com/acrtrust/docker-acrtrust/trust"
)

func testCert(t *testing.T, name string) TestCertificate {
	t.Helper()
	tc, err := GenerateTestCertificate(name, time.Now(), time.Hour)
	assert.NilError(t, err)
	return tc
}

// TestWritePolicySecondCertificate: a second certificate gets its own
// statement and trust store; the first statement, the user's own statement
// and every field the policy has that notation-go does not know stay as
// they were (the second run re-bound the first repository before).
func TestWritePolicySecondCertificate(t *testing.T) {
	first, second := testCert(t, "first"), testCert(t, "second")
	notationDir := t.TempDir()
	own := `{"version":"1.0","x-team":{"owner":"platform"},"trustPolicies":[{"name":"mine","registryScopes":["r.example/other"],
	"signatureVerification":{"level":"audit"},"trustStores":["ca:mine"],"trustedIdentities":["*"],"x-note":"keep me"}]}`
	path := filepath.Join(notationDir, PolicyFile)
	assert.NilError(t, os.WriteFile(path, []byte(own), 0o644))

	_, err := WritePolicy(notationDir, PolicyOptions{Scopes: []string{"r.example/a"}, Chain: []*x509std.Certificate{first.Cert}})
	assert.NilError(t, err)
	_, err = WritePolicy(notationDir, PolicyOptions{Scopes: []string{"r.example/b"}, Chain: []*x509std.Certificate{second.Cert}})
	assert.NilError(t, err)
	// Again, as a rerun of both migrations: nothing changes.
	before, err := os.ReadFile(path)
	assert.NilError(t, err)
	_, err = WritePolicy(notationDir, PolicyOptions{Scopes: []string{"r.example/a"}, Chain: []*x509std.Certificate{first.Cert}})
	assert.NilError(t, err)
	_, err = WritePolicy(notationDir, PolicyOptions{Scopes: []string{"r.example/b"}, Chain: []*x509std.Certificate{second.Cert}})
	assert.NilError(t, err)
	after, err := os.ReadFile(path)
	assert.NilError(t, err)
	assert.Check(t, is.Equal(string(after), string(before)))

	var doc trustpolicy.Document
	assert.NilError(t, json.Unmarshal(after, &doc))
	assert.NilError(t, doc.Validate())
	assert.Assert(t, is.Len(doc.TrustPolicies, 3))
	assert.Check(t, is.Equal(doc.TrustPolicies[0].Name, "mine"))
	a, b := doc.TrustPolicies[1], doc.TrustPolicies[2]
	assert.Check(t, is.DeepEqual(a.RegistryScopes, []string{"r.example/a"}))
	assert.Check(t, is.DeepEqual(a.TrustStores, []string{"ca:" + PolicyName}))
	assert.Check(t, is.DeepEqual(a.TrustedIdentities, []string{"x509.subject: " + first.Cert.Subject.String()}))
	assert.Check(t, is.DeepEqual(b.RegistryScopes, []string{"r.example/b"}))
	assert.Check(t, b.Name != a.Name && b.TrustStores[0] == "ca:"+b.Name, "%+v", b)
	assert.Check(t, is.DeepEqual(b.TrustedIdentities, []string{"x509.subject: " + second.Cert.Subject.String()}))
	assert.Check(t, holdsFile(t, notationDir, PolicyName, first.Cert))
	assert.Check(t, holdsFile(t, notationDir, b.Name, second.Cert))

	var raw struct {
		Team          map[string]string `json:"x-team"`
		TrustPolicies []map[string]any  `json:"trustPolicies"`
	}
	assert.NilError(t, json.Unmarshal(after, &raw))
	assert.Check(t, is.DeepEqual(raw.Team, map[string]string{"owner": "platform"}))
	assert.Check(t, is.Equal(raw.TrustPolicies[0]["x-note"], "keep me"))
}

func holdsFile(t *testing.T, notationDir, store string, cert *x509std.Certificate) bool {
	b, err := os.ReadFile(filepath.Join(caStoresDir(notationDir), store, store+".crt"))
	return err == nil && holds(b, cert)
}

// TestWritePolicyRefusesToRebind: a repository already covered by a
// statement that does not trust the certificate is a PolicyConflictError,
// from CheckPolicy before anything is signed and from WritePolicy, and
// nothing is written.
func TestWritePolicyRefusesToRebind(t *testing.T) {
	first, second := testCert(t, "first"), testCert(t, "second")
	notationDir := t.TempDir()
	path, err := WritePolicy(notationDir, PolicyOptions{Scopes: []string{"r.example/a"}, Chain: []*x509std.Certificate{first.Cert}})
	assert.NilError(t, err)
	before, err := os.ReadFile(path)
	assert.NilError(t, err)

	opts := PolicyOptions{Scopes: []string{"r.example/b", "r.example/a"}, Chain: []*x509std.Certificate{second.Cert}}
	for name, err := range map[string]error{"check": CheckPolicy(notationDir, opts), "write": func() error { _, err := WritePolicy(notationDir, opts); return err }()} {
		var ce *PolicyConflictError
		assert.Assert(t, errors.As(err, &ce), "%s: %v", name, err)
		assert.Check(t, is.Equal(ce.Scope, "r.example/a"))
		assert.Check(t, is.Equal(ce.Statement, PolicyName))
		assert.Check(t, is.ErrorContains(err, "already covers r.example/a with statement \"acrtrust-migrated\", which does not trust this signing certificate"))
	}
	after, err := os.ReadFile(path)
	assert.NilError(t, err)
	assert.Check(t, is.Equal(string(after), string(before)))
	stores, err := os.ReadDir(caStoresDir(notationDir))
	assert.NilError(t, err)
	assert.Check(t, is.Len(stores, 1), "no trust store for the refused certificate")
	assert.NilError(t, CheckPolicy(notationDir, PolicyOptions{Scopes: []string{"r.example/a"}, Chain: []*x509std.Certificate{first.Cert}}))
}

// TestTwoMigrationsIntoOneDirectoryVerify: two repositories signed with
// two certificates, their policies emitted into one directory: both
// verify with notation-go through LoadVerifier, and with the policy and
// trust store as the notation CLI loads them from its configuration
// directory.
func TestTwoMigrationsIntoOneDirectoryVerify(t *testing.T) {
	if testing.Short() {
		t.Skip("integration: needs the in-process sandbox")
	}
	ctx := context.Background()
	sb, err := sandbox.Start(sandbox.Options{})
	assert.NilError(t, err)
	defer sb.Close()
	assert.NilError(t, sb.Seed(ctx, []sandbox.SeedRepo{{Name: "a", Unsigned: []string{"v1"}}, {Name: "b", Unsigned: []string{"v1"}}}, 2))
	config := t.TempDir()
	assert.NilError(t, sb.InstallCA(config))
	reg := trust.NewRegistry(trust.Network{
		CertsDir: filepath.Join(config, "tls"),
		Credentials: func(string) (trust.Credential, error) {
			return trust.Credential{Username: sandbox.UserPush, Password: sandbox.Password}, nil
		},
	}, nil)

	notationDir := t.TempDir()
	refs := map[string]string{}
	for _, repo := range []string{"a", "b"} {
		tc := testCert(t, "publisher-"+repo)
		key, cert := filepath.Join(t.TempDir(), "key.pem"), filepath.Join(t.TempDir(), "cert.pem")
		assert.NilError(t, os.WriteFile(key, tc.KeyPEM, 0o600))
		assert.NilError(t, os.WriteFile(cert, tc.CertPEM, 0o644))
		signer, err := LocalSigner(key, cert)
		assert.NilError(t, err)
		ref, err := trust.ParseRef(sb.Host() + "/" + repo + ":v1")
		assert.NilError(t, err)
		opts := PolicyOptions{Scopes: []string{ref.Name.Name()}, Chain: signer.Chain}
		assert.NilError(t, CheckPolicy(notationDir, opts))
		assert.NilError(t, reg.WithRepository(ref, func(r *remote.Repository) error {
			desc, err := r.Resolve(ctx, "v1")
			if err != nil {
				return err
			}
			refs[repo] = ref.Name.Name() + "@" + desc.Digest.String()
			return Sign(ctx, signer, NewRepository(r), desc, SignOptions{})
		}))
		_, err = WritePolicy(notationDir, opts)
		assert.NilError(t, err)
	}

	v, err := LoadVerifier(notationDir)
	assert.NilError(t, err)
	old := dir.UserConfigDir
	dir.UserConfigDir = notationDir
	defer func() { dir.UserConfigDir = old }()
	doc, err := trustpolicy.LoadDocument()
	assert.NilError(t, err)
	cli, err := verifier.New(doc, truststore.NewX509TrustStore(dir.ConfigFS()), nil)
	assert.NilError(t, err)
	for repo, reference := range refs {
		ref, err := trust.ParseRef(reference)
		assert.NilError(t, err)
		assert.NilError(t, reg.WithRepository(ref, func(r *remote.Repository) error {
			if _, err := v.Verify(ctx, NewRepository(r), reference); err != nil {
				return err
			}
			_, _, err := notation.Verify(ctx, cli, NewRepository(r), notation.VerifyOptions{ArtifactReference: reference, MaxSignatureAttempts: 10})
			return err
		}), "repository %s", repo)
	}
}
