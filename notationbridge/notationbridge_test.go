package notationbridge

import (
	x509std "crypto/x509"
	"encoding/json"
	"os"
	"path/filepath"
	"testing"
	"time"

	corex509 "github.com/notaryproject/notation-core-go/x509"
	"github.com/notaryproject/notation-go/verifier/trustpolicy"
	"gotest.tools/v3/assert"
	is "gotest.tools/v3/assert/cmp"
)

func TestProvenanceUserMetadata(t *testing.T) {
	for _, tc := range []struct {
		name string
		p    Provenance
		want map[string]string
	}{
		{
			name: "a delegation signed two tags at the digest",
			p: Provenance{Repository: "r.example/app", Tags: []string{"v2", "latest"}, Roles: []string{"targets/releases", "targets/releases"},
				Signers: []string{"bob", "alice", "bob"}, RootKeyIDs: []string{"b1", "a1"}, TargetsVersion: 7},
			want: map[string]string{
				MetaRepository: "r.example/app", MetaTag: "latest,v2", MetaRole: "targets/releases",
				MetaSigners: "alice,bob", MetaRootKeyID: "a1,b1", MetaTargetsVersion: "7",
			},
		},
		{
			name: "the admin signed",
			p:    Provenance{Repository: "r.example/app", Tags: []string{"v1"}, Roles: []string{"targets"}, RootKeyIDs: []string{"a1"}, TargetsVersion: 2},
			want: map[string]string{MetaRepository: "r.example/app", MetaTag: "v1", MetaRole: "targets", MetaRootKeyID: "a1", MetaTargetsVersion: "2"},
		},
		{
			name: "unsigned: no content trust claims",
			p:    Provenance{Repository: "r.example/app", Tags: []string{"dev"}, Unsigned: true, TargetsVersion: 3},
			want: map[string]string{MetaRepository: "r.example/app", MetaTag: "dev", MetaUnsigned: "true"},
		},
	} {
		t.Run(tc.name, func(t *testing.T) {
			assert.Check(t, is.DeepEqual(tc.p.UserMetadata(), tc.want))
		})
	}
}

func TestTestCertificateIsANotationSigningCertificate(t *testing.T) {
	tc, err := GenerateTestCertificate("demo", time.Now(), time.Hour)
	assert.NilError(t, err)
	assert.NilError(t, corex509.ValidateCodeSigningCertChain([]*x509std.Certificate{tc.Cert}, nil))
	assert.Check(t, is.Equal(tc.Cert.Subject.String(), "CN=demo,O=Notary,L=Seattle,ST=WA,C=US"))

	dir := t.TempDir()
	key, cert := filepath.Join(dir, "k"), filepath.Join(dir, "c")
	assert.NilError(t, os.WriteFile(key, tc.KeyPEM, 0o600))
	assert.NilError(t, os.WriteFile(cert, tc.CertPEM, 0o644))
	s, err := LocalSigner(key, cert)
	assert.NilError(t, err)
	assert.Check(t, is.Len(s.Thumbprint(), 64))

	other, err := GenerateTestCertificate("other", time.Now(), time.Hour)
	assert.NilError(t, err)
	assert.NilError(t, os.WriteFile(key, other.KeyPEM, 0o600))
	_, err = LocalSigner(key, cert)
	assert.Check(t, is.ErrorContains(err, "reading signing key"), "a key that does not match the certificate")
}

func TestWritePolicyMergesScopes(t *testing.T) {
	tc, err := GenerateTestCertificate("demo", time.Now(), time.Hour)
	assert.NilError(t, err)
	dir := t.TempDir()
	// A statement of the user's own is kept.
	own := `{"version":"1.0","trustPolicies":[{"name":"mine","registryScopes":["r.example/other"],
	"signatureVerification":{"level":"audit"},"trustStores":["ca:mine"],"trustedIdentities":["*"]}]}`
	assert.NilError(t, os.WriteFile(filepath.Join(dir, PolicyFile), []byte(own), 0o644))
	_, err = WritePolicy(dir, PolicyOptions{Scopes: []string{"r.example/b"}, Chain: []*x509std.Certificate{tc.Cert}})
	assert.NilError(t, err)
	path, err := WritePolicy(dir, PolicyOptions{Scopes: []string{"r.example/a", "r.example/b"}, Chain: []*x509std.Certificate{tc.Cert}})
	assert.NilError(t, err)

	b, err := os.ReadFile(path)
	assert.NilError(t, err)
	var doc trustpolicy.Document
	assert.NilError(t, json.Unmarshal(b, &doc))
	assert.NilError(t, doc.Validate())
	assert.Assert(t, is.Len(doc.TrustPolicies, 2))
	assert.Check(t, is.Equal(doc.TrustPolicies[0].Name, "mine"))
	p := doc.TrustPolicies[1]
	assert.Check(t, is.DeepEqual(p.RegistryScopes, []string{"r.example/a", "r.example/b"}))
	assert.Check(t, is.DeepEqual(p.TrustStores, []string{"ca:" + PolicyName}))
	assert.Check(t, is.DeepEqual(p.TrustedIdentities, []string{"x509.subject: CN=demo,O=Notary,L=Seattle,ST=WA,C=US"}))
	assert.Check(t, is.Equal(p.SignatureVerification.VerificationLevel, "strict"))
	_, err = os.Stat(filepath.Join(dir, "truststore", "x509", "ca", PolicyName, PolicyName+".crt"))
	assert.NilError(t, err)
}
